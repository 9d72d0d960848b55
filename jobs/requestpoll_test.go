package jobs

import (
	"context"
	"log/slog"
	"testing"

	"github.com/crmsync/crmsync/internal/pgtest"
)

// A push that finds only creates waiting for a listing asks for a poll of
// its CRM: one poll job, however often it asks while that one waits.
func TestRequestPollInsertsOnePoll(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.New(t)
	cl, err := NewClient(pool, &Deps{Logger: slog.New(slog.DiscardHandler)}, ClientOptions{InsertOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := requestPoll(ctx, cl, "ligo"); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	var queue string
	if err := pool.QueryRow(ctx, `SELECT count(*), max(queue) FROM river_job WHERE kind = 'crmsync.poll' AND args->>'connection' = 'ligo'
		AND state = 'available'`).Scan(&n, &queue); err != nil {
		t.Fatal(err)
	}
	if n != 1 || queue != QueueFor("ligo") {
		t.Fatalf("%d poll jobs of ligo on queue %q, want 1 on %q", n, queue, QueueFor("ligo"))
	}
}
