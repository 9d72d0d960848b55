package engine

import (
	"context"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/pgtest"
)

// An ingest copies in the links it did not find; when a push linked one of
// them meanwhile, the copy gives way (its savepoint rolled back, the
// transaction still usable) and reports it, so the rows are upserted.
func TestCopyNewLinksGivesWayToALinkWrittenMeanwhile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.New(t)
	if _, err := pool.Exec(ctx, `INSERT INTO crmsync_link (connection_id, remote_id, person_id, base, base_hash)
		VALUES (1, 'taken', 7, '{}', 0)`); err != nil {
		t.Fatal(err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	at := time.Now()
	row := func(rid string) []any { return []any{int16(1), rid, int64(8), `{"first_name":"Ana"}`, int64(1), &at} }
	copied, err := copyNewLinks(ctx, tx, [][]any{row("new-1"), row("taken")})
	if err != nil || copied {
		t.Fatalf("copy over a taken key: copied %v, %v; want false, nil", copied, err)
	}
	copied, err = copyNewLinks(ctx, tx, [][]any{row("new-1"), row("new-2")})
	if err != nil || !copied {
		t.Fatalf("copy of new keys after the rollback: copied %v, %v; want true, nil", copied, err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	var base string
	if err := pool.QueryRow(ctx, `SELECT count(*), max(base) FILTER (WHERE remote_id = 'new-2') FROM crmsync_link`).Scan(&n, &base); err != nil {
		t.Fatal(err)
	}
	if n != 3 || base != `{"first_name":"Ana"}` {
		t.Fatalf("%d links, new-2's base %q; want 3 and the JSON as written", n, base)
	}
}
