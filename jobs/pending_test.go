package jobs

import (
	"context"
	"testing"

	"github.com/crmsync/crmsync/internal/pgtest"
)

// The resync waits while any push job may still run, and only then looks
// at the queues.
func TestPushJobsPending(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.New(t)
	insert := func(kind, state string) int64 {
		var id int64
		if err := pool.QueryRow(ctx, `INSERT INTO river_job (args, kind, max_attempts, state, finalized_at)
			VALUES ('{}', $1, 1, $2::river_job_state, CASE WHEN $2::text IN ('completed', 'cancelled', 'discarded') THEN now() END)
			RETURNING id`, kind, state).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	check := func(want bool) {
		t.Helper()
		if got, err := pushJobsPending(ctx, pool); err != nil || got != want {
			t.Fatalf("pushJobsPending = %v, %v; want %v", got, err, want)
		}
	}
	check(false)
	for _, st := range []string{"completed", "cancelled", "discarded"} {
		insert("crmsync.push", st)
	}
	insert("crmsync.list", "running")
	check(false)
	for _, st := range []string{"available", "running", "scheduled", "retryable"} {
		id := insert("crmsync.push", st)
		check(true)
		if _, err := pool.Exec(ctx, `DELETE FROM river_job WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		check(false)
	}
}
