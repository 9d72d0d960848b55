package engine

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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

// A push inserts the links of the records it created without the upsert;
// when a listing linked one of them meanwhile, the insert gives way (its
// savepoint rolled back, the transaction still usable), and the upsert
// writes them all (the one linked meanwhile keeps its person). New links go
// to the person a merge kept.
func TestInsertNewLinksGivesWayToALinkWrittenMeanwhile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.New(t)
	if _, err := pool.Exec(ctx, `INSERT INTO crmsync_person (id) VALUES (7), (9);
		INSERT INTO crmsync_person (id, merged_into) VALUES (8, 9);
		INSERT INTO crmsync_link (connection_id, remote_id, person_id, base, base_hash) VALUES (1, 'taken', 7, '{}', 0)`); err != nil {
		t.Fatal(err)
	}
	c := &Conn{ID: 1}
	links := func(rids ...string) *linkWrites {
		l := &linkWrites{}
		for _, rid := range rids {
			l.rids, l.pids, l.bases = append(l.rids, rid), append(l.pids, 8), append(l.bases, `{"first_name":"Ana"}`)
			l.hashes, l.changed, l.versions = append(l.hashes, 1), append(l.changed, nil), append(l.versions, 3)
		}
		return l
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	fresh := links("new-1", "taken")
	if ok, err := fresh.insertNew(ctx, tx, c); err != nil || ok {
		t.Fatalf("insert over a taken key: %v, %v; want false, nil", ok, err)
	}
	var up linkWrites
	up.appendAll(fresh)
	b := &pgx.Batch{}
	up.queue(b, c)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		t.Fatal(err)
	}
	if ok, err := links("new-2").insertNew(ctx, tx, c); err != nil || !ok {
		t.Fatalf("insert of a new key after the rollback: %v, %v; want true, nil", ok, err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var n, merged, written int
	var taken int64
	if err := pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE person_id = 9),
		count(*) FILTER (WHERE base = '{"first_name":"Ana"}' AND synced_version = 3), max(person_id) FILTER (WHERE remote_id = 'taken')
		FROM crmsync_link`).Scan(&n, &merged, &written, &taken); err != nil {
		t.Fatal(err)
	}
	if n != 3 || merged != 2 || written != 3 || taken != 7 {
		t.Fatalf("%d links, %d to person 9, %d with the new base and version, 'taken' to person %d; want 3, 2, 3, 7", n, merged, written, taken)
	}
}
