package jobs

import (
	"context"
	"log/slog"
	"testing"

	"github.com/crmsync/crmsync/engine"
	"github.com/crmsync/crmsync/internal/pgtest"
)

// The last listing of a run wakes the run's snoozed job, and only the last.
func TestWakeRunAfterTheLastListing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.New(t)
	e, err := engine.New(ctx, pool, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	cl, err := NewClient(pool, &Deps{Engine: e, Logger: slog.New(slog.DiscardHandler)}, ClientOptions{InsertOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var runID int64
	if err := pool.QueryRow(ctx, `WITH c AS (INSERT INTO crmsync_connection (name, provider) VALUES ('a', 'ligo'), ('b', 'skarbe') RETURNING id),
		r AS (INSERT INTO crmsync_resync_run (connections, state) VALUES ('{a,b}', 'ingesting') RETURNING id),
		p AS (INSERT INTO crmsync_resync_progress (run_id, connection_id, list_done) SELECT r.id, c.id, false FROM r, c)
		SELECT id FROM r`).Scan(&runID); err != nil {
		t.Fatal(err)
	}
	res, err := cl.Insert(ctx, ResyncArgs{RunID: runID}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// As a snooze leaves it.
	if _, err := pool.Exec(ctx, `UPDATE river_job SET state = 'scheduled', scheduled_at = now() + interval '1 hour' WHERE id = $1`, res.Job.ID); err != nil {
		t.Fatal(err)
	}
	state := func() string {
		var s string
		if err := pool.QueryRow(ctx, `SELECT state FROM river_job WHERE id = $1`, res.Job.ID).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	listDone := func(conn string) {
		if _, err := pool.Exec(ctx, `UPDATE crmsync_resync_progress SET list_done = true WHERE run_id = $1
			AND connection_id = (SELECT id FROM crmsync_connection WHERE name = $2)`, runID, conn); err != nil {
			t.Fatal(err)
		}
	}
	listDone("a")
	if err := wakeRunWith(ctx, cl, e, runID); err != nil {
		t.Fatal(err)
	}
	if s := state(); s != "scheduled" {
		t.Fatalf("after the first of two listings the run's job is %s, want scheduled", s)
	}
	listDone("b")
	if err := wakeRunWith(ctx, cl, e, runID); err != nil {
		t.Fatal(err)
	}
	if s := state(); s != "available" {
		t.Fatalf("after the last listing the run's job is %s, want available", s)
	}
	var jobs int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = $1`, ResyncArgs{}.Kind()).Scan(&jobs); err != nil {
		t.Fatal(err)
	}
	if jobs != 1 {
		t.Fatalf("%d resync jobs, want 1", jobs)
	}
}
