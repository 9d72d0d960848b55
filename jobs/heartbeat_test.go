package jobs

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestHeartbeatKeepsARunningJobFresh(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.New(t)
	var running, done int64
	for _, st := range []string{"running", "completed"} {
		var id int64
		if err := pool.QueryRow(ctx, `INSERT INTO river_job (args, kind, max_attempts, state, attempted_at, finalized_at)
			VALUES ('{}', 'crmsync.list', 1, $1::river_job_state, now() - interval '1 hour', CASE WHEN $1::text = 'completed' THEN now() END)
			RETURNING id`, st).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if st == "running" {
			running = id
		} else {
			done = id
		}
	}
	age := func(id int64) time.Duration {
		var secs float64
		if err := pool.QueryRow(ctx, `SELECT extract(epoch FROM now() - attempted_at) FROM river_job WHERE id = $1`, id).Scan(&secs); err != nil {
			t.Fatal(err)
		}
		return time.Duration(secs * float64(time.Second))
	}
	stop := heartbeat(ctx, pool, running, 20*time.Millisecond, slog.New(slog.DiscardHandler))
	deadline := time.Now().Add(5 * time.Second)
	for age(running) > time.Minute && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	if a := age(running); a > time.Minute {
		t.Fatalf("running job attempted %s ago after beating, want moments ago", a)
	}
	// Only its own, running job: a finished one is left alone.
	stop = heartbeat(ctx, pool, done, 20*time.Millisecond, slog.New(slog.DiscardHandler))
	time.Sleep(100 * time.Millisecond)
	stop()
	if a := age(done); a < 59*time.Minute {
		t.Fatalf("completed job's attempted_at moved (%s ago)", a)
	}
	// After stop, no more beats.
	if _, err := pool.Exec(ctx, `UPDATE river_job SET attempted_at = now() - interval '1 hour' WHERE id = $1`, running); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if a := age(running); a < 59*time.Minute {
		t.Fatalf("beating went on after stop (%s ago)", a)
	}
}
