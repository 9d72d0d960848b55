// Package jobs holds crmsync's River job args and workers: the periodic poll
// of each connection, the push of queued writes, and the full resync with its
// listing jobs. Each connection has its own queue, so a slow CRM does not
// hold the others back.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/crmsync/crmsync/engine"
	"github.com/crmsync/crmsync/providers"
)

// AdminQueue runs the resync coordinator.
const AdminQueue = "admin"

// Timeouts. RescueStuckJobsAfter is short so that the jobs of a worker
// killed with kill -9 run again within a few minutes, and longer than every
// job timeout but the listing's, so that no running job is rescued (a list
// job beats instead: see heartbeat).
const (
	PollTimeout = 150 * time.Second
	// ListTimeout is longer than the rescue: a listing of a large CRM takes
	// minutes, and its job beats (see heartbeat) so that it is not taken
	// for stuck while it runs.
	ListTimeout          = time.Hour
	PushTimeout          = 60 * time.Second
	RescueStuckJobsAfter = 170 * time.Second
	// pushSlice is how long one push job drains its queue before handing
	// over to a fresh job.
	pushSlice = 20 * time.Second
)

// EnvRescueAfter names the environment variable that overrides
// RescueStuckJobsAfter (a Go duration such as 10s). The job timeouts and the
// push slice scale down with it, so that they stay below the rescue and no
// running job is rescued. Tests use it to see a killed worker's jobs run
// again within seconds.
const EnvRescueAfter = "CRMSYNC_RESCUE_AFTER"

// EnvClientID names the environment variable that, when set, is the River
// client ID of a worker (recorded in each job's attempted_by), so that an
// operator or a test can tell which process ran a job.
const EnvClientID = "CRMSYNC_CLIENT_ID"

// Timeouts are the job timeouts and the stuck-job rescue of a client.
type Timeouts struct {
	Poll, List, Push, Rescue time.Duration
	// PushSlice is how long one push job drains its queue.
	PushSlice time.Duration
}

// DefaultTimeouts returns the package's default timeouts.
func DefaultTimeouts() Timeouts {
	return Timeouts{Poll: PollTimeout, List: ListTimeout, Push: PushTimeout, Rescue: RescueStuckJobsAfter, PushSlice: pushSlice}
}

// ScaledTimeouts returns the default timeouts with the rescue set to rescue;
// when rescue is shorter than the default, every job timeout shrinks in
// proportion, so that each stays below the rescue.
func ScaledTimeouts(rescue time.Duration) Timeouts {
	t := DefaultTimeouts()
	if rescue <= 0 || rescue >= t.Rescue {
		if rescue > 0 {
			t.Rescue = rescue
		}
		return t
	}
	scale := func(d time.Duration) time.Duration {
		return max(time.Duration(float64(d)*float64(rescue)/float64(RescueStuckJobsAfter)), 100*time.Millisecond)
	}
	return Timeouts{Poll: scale(t.Poll), List: scale(t.List), Push: scale(t.Push), Rescue: rescue, PushSlice: scale(t.PushSlice)}
}

// TimeoutsFromEnv returns ScaledTimeouts of $CRMSYNC_RESCUE_AFTER, or the
// defaults when it is unset or invalid.
func TimeoutsFromEnv() Timeouts {
	if v := os.Getenv(EnvRescueAfter); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			return ScaledTimeouts(d)
		}
	}
	return DefaultTimeouts()
}

// QueueFor names the queue of a connection.
func QueueFor(conn string) string { return "conn_" + conn }

// uniqueNotCompleted makes a job unique among jobs not yet finished, so a
// new one can be inserted as soon as the previous one completed.
var uniqueNotCompleted = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled,
}

// uniqueWaiting makes a job unique among jobs waiting to run (a running one
// does not block a new one).
var uniqueWaiting = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateScheduled,
}

// PollArgs polls one connection's changes.
type PollArgs struct {
	Connection string `json:"connection" river:"unique"`
}

// Kind names the job kind.
func (PollArgs) Kind() string { return "crmsync.poll" }

// InsertOpts puts the poll on its connection's queue, unique while one is
// queued or running, so a fleet never polls one CRM twice at once.
func (a PollArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueFor(a.Connection), MaxAttempts: 5,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueNotCompleted}}
}

// PushSlots is how many push jobs drain one connection's queue at once
// (each claims its own people with SKIP LOCKED), so that CRM latency
// overlaps with the database work of the other slot.
const PushSlots = 2

// PushArgs drains one connection's push queue; Slot tells the concurrent
// push jobs of one connection apart.
type PushArgs struct {
	Connection string `json:"connection" river:"unique"`
	Slot       int    `json:"slot,omitempty" river:"unique"`
}

// Kind names the job kind.
func (PushArgs) Kind() string { return "crmsync.push" }

// InsertOpts puts the push on its connection's queue, unique while one waits.
func (a PushArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueFor(a.Connection), MaxAttempts: 25,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueNotCompleted}}
}

// ResyncArgs coordinates one resync run.
type ResyncArgs struct {
	RunID int64 `json:"run_id" river:"unique"`
}

// Kind names the job kind.
func (ResyncArgs) Kind() string { return "crmsync.resync" }

// InsertOpts puts the coordinator on the admin queue, unique per run.
func (ResyncArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: AdminQueue, MaxAttempts: 10,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueNotCompleted}}
}

// ListArgs lists one connection for a resync run.
type ListArgs struct {
	RunID      int64  `json:"run_id" river:"unique"`
	Connection string `json:"connection" river:"unique"`
}

// Kind names the job kind.
func (ListArgs) Kind() string { return "crmsync.list" }

// InsertOpts puts the listing on its connection's queue, unique per run.
func (a ListArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueFor(a.Connection), MaxAttempts: 10,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueNotCompleted}}
}

// Deps are what the workers need.
type Deps struct {
	Engine *engine.Engine
	Logger *slog.Logger
	// Hooks observe job outcomes (metrics); optional.
	OnPoll func(conn string, st engine.PollStats, d time.Duration, err error)
	OnPush func(conn string, st engine.PushStats, d time.Duration, err error)
	// Timeouts are the job timeouts; the zero value means DefaultTimeouts
	// (NewClient fills it from the environment, see EnvRescueAfter).
	Timeouts Timeouts
}

func (d *Deps) timeouts() Timeouts {
	if d.Timeouts.Rescue == 0 {
		return DefaultTimeouts()
	}
	return d.Timeouts
}

func client(ctx context.Context) (*river.Client[pgx.Tx], error) {
	return river.ClientFromContextSafely[pgx.Tx](ctx)
}

// requestPoll inserts a poll of the named connection (a no-op while one is
// queued or running).
func requestPoll(ctx context.Context, cl *river.Client[pgx.Tx], conn string) error {
	if _, err := cl.Insert(ctx, PollArgs{Connection: conn}, nil); err != nil {
		return fmt.Errorf("request a poll of %s: %w", conn, err)
	}
	return nil
}

// PollWorker works PollArgs.
type PollWorker struct {
	river.WorkerDefaults[PollArgs]
	Deps *Deps
}

// Timeout bounds one poll.
func (w *PollWorker) Timeout(*river.Job[PollArgs]) time.Duration { return w.Deps.timeouts().Poll }

// Work polls the connection and queues the pushes its changes need.
func (w *PollWorker) Work(ctx context.Context, job *river.Job[PollArgs]) error {
	e := w.Deps.Engine
	c, ok := e.Conn(job.Args.Connection)
	if !ok {
		return river.JobCancel(fmt.Errorf("unknown connection %q", job.Args.Connection))
	}
	start := time.Now()
	st, err := e.Poll(ctx, c)
	if w.Deps.OnPoll != nil {
		w.Deps.OnPoll(c.Name(), st, time.Since(start), err)
	}
	if err != nil {
		return retryOrSnooze(err)
	}
	return kickPushes(ctx, e)
}

// kickPushes inserts PushSlots push jobs for every connection with queued
// people (the jobs are unique: a slot already waiting or running is not
// inserted twice).
func kickPushes(ctx context.Context, e *engine.Engine) error {
	conns, err := e.QueuedConns(ctx)
	if err != nil {
		return err
	}
	return kick(ctx, conns)
}

func kick(ctx context.Context, conns []*engine.Conn) error {
	if len(conns) == 0 {
		return nil
	}
	cl, err := client(ctx)
	if err != nil {
		return err
	}
	var params []river.InsertManyParams
	for _, c := range conns {
		for slot := range PushSlots {
			params = append(params, river.InsertManyParams{Args: PushArgs{Connection: c.Name(), Slot: slot}})
		}
	}
	if _, err := cl.InsertMany(ctx, params); err != nil {
		return fmt.Errorf("insert push jobs: %w", err)
	}
	return nil
}

// retryOrSnooze snoozes a rate-limited job for the CRM's Retry-After
// (without using an attempt) and lets River back off on other errors.
func retryOrSnooze(err error) error {
	var pe *providers.Error
	if errors.As(err, &pe) && pe.Class == providers.ClassRateLimited {
		return river.JobSnooze(max(pe.RetryAfter, time.Second))
	}
	return err
}

// PushWorker works PushArgs.
type PushWorker struct {
	river.WorkerDefaults[PushArgs]
	Deps *Deps
}

// Timeout bounds one push job.
func (w *PushWorker) Timeout(*river.Job[PushArgs]) time.Duration { return w.Deps.timeouts().Push }

// Work drains the connection's push queue in batches for a while, then
// hands over to a new job if people remain.
func (w *PushWorker) Work(ctx context.Context, job *river.Job[PushArgs]) error {
	e := w.Deps.Engine
	c, ok := e.Conn(job.Args.Connection)
	if !ok {
		return river.JobCancel(fmt.Errorf("unknown connection %q", job.Args.Connection))
	}
	if ing, err := e.Ingesting(ctx); err != nil {
		return err
	} else if ing {
		// A resync is still listing: creating now could duplicate people
		// whose records are not in yet.
		return river.JobSnooze(500 * time.Millisecond)
	}
	deadline := time.Now().Add(w.Deps.timeouts().PushSlice)
	// The job walks the queue in person order from where its last batch
	// ended, and starts a new pass from the beginning when nothing is left
	// after its cursor (people queued behind it, or left for later).
	var after int64
	passFinished, passLeft, passAwait := 0, 0, 0
	for time.Now().Before(deadline) {
		start := time.Now()
		st, err := e.PushBatch(ctx, c, engine.PushOptions{After: after, Settle: w.Deps.timeouts().Push * 3 / 2})
		if w.Deps.OnPush != nil {
			w.Deps.OnPush(c.Name(), st, time.Since(start), err)
		}
		if err != nil {
			return err
		}
		if st.Claimed == 0 {
			if after > 0 {
				if passFinished == 0 && passLeft > 0 {
					// A whole pass finished no one: only deferred creates
					// are left. Those that wait for the CRM's next listing
					// ask for it now (a poll, unique per connection) rather
					// than wait for the periodic one, which a worker may
					// not run at all (the bench runs none).
					if passAwait > 0 {
						cl, err := client(ctx)
						if err != nil {
							return err
						}
						if err := requestPoll(ctx, cl, c.Name()); err != nil {
							return err
						}
					}
					return river.JobSnooze(max(c.Config.PollInterval, time.Second))
				}
				after, passFinished, passLeft, passAwait = 0, 0, 0, 0
				continue
			}
			queued, err := e.HasQueued(ctx, c)
			if err != nil {
				return err
			}
			if !queued {
				return nil
			}
			// Rows locked by another push job, or just queued.
			return river.JobSnooze(200 * time.Millisecond)
		}
		after = st.Last
		passFinished += st.Claimed - st.Remaining
		passLeft += st.Remaining
		passAwait += st.AwaitListing
		if rerr := e.RecordRunPush(ctx, c, st); rerr != nil {
			return rerr
		}
		if st.RetryAfter > 0 {
			return river.JobSnooze(st.RetryAfter)
		}
		if st.Retryable != nil {
			return fmt.Errorf("push %s: %w", c.Name(), st.Retryable)
		}
	}
	return river.JobSnooze(0)
}

// heartbeat keeps a running job that may outlast RescueStuckJobsAfter (a
// listing of a large CRM) from being taken for stuck: every interval it
// moves the job's attempted_at, which River's rescuer compares with the
// rescue delay, to now. A worker killed mid-job stops beating, so its job is
// rescued as quickly as any other. stop ends the beating.
func heartbeat(ctx context.Context, pool *pgxpool.Pool, jobID int64, every time.Duration, logger *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := pool.Exec(ctx, `UPDATE river_job SET attempted_at = now() WHERE id = $1 AND state = 'running'`, jobID); err != nil && ctx.Err() == nil {
				logger.WarnContext(ctx, "job heartbeat", slog.Int64("job", jobID), slog.String("error", err.Error()))
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// ListWorker works ListArgs.
type ListWorker struct {
	river.WorkerDefaults[ListArgs]
	Deps *Deps
}

// Timeout bounds one listing.
func (w *ListWorker) Timeout(*river.Job[ListArgs]) time.Duration { return w.Deps.timeouts().List }

// Work lists the connection into the canonical store for the run.
func (w *ListWorker) Work(ctx context.Context, job *river.Job[ListArgs]) error {
	e := w.Deps.Engine
	c, ok := e.Conn(job.Args.Connection)
	if !ok {
		return river.JobCancel(fmt.Errorf("unknown connection %q", job.Args.Connection))
	}
	stop := heartbeat(ctx, e.Pool(), job.ID, w.Deps.timeouts().Rescue/3, w.Deps.Logger)
	st, err := e.ListForRun(ctx, job.Args.RunID, c)
	stop()
	if err != nil {
		return retryOrSnooze(err)
	}
	w.Deps.Logger.InfoContext(ctx, "listed", slog.String("connection", c.Name()), slog.Int("records", st.Records),
		slog.Int("new_people", st.NewPeople), slog.Int("merges", st.Merges))
	if err := wakeRun(ctx, e, job.Args.RunID); err != nil {
		// The run's job looks again after its snooze all the same.
		w.Deps.Logger.WarnContext(ctx, "wake the resync run", slog.Int64("run", job.Args.RunID), slog.String("error", err.Error()))
	}
	return nil
}

// wakeRun makes run runID's job available now when every listing of the
// run is in, instead of at the end of its snooze: the run's planning then
// starts at once.
func wakeRun(ctx context.Context, e *engine.Engine, runID int64) error {
	cl, err := client(ctx)
	if err != nil {
		return err
	}
	return wakeRunWith(ctx, cl, e, runID)
}

func wakeRunWith(ctx context.Context, cl *river.Client[pgx.Tx], e *engine.Engine, runID int64) error {
	run, err := e.GetRunUncounted(ctx, runID)
	if err != nil || run == nil || run.State != "ingesting" {
		return err
	}
	for _, p := range run.Progress {
		if !p.ListDone {
			return nil
		}
	}
	// The job is unique per run: the insert returns the waiting one.
	res, err := cl.Insert(ctx, ResyncArgs{RunID: runID}, nil)
	if err != nil {
		return fmt.Errorf("find the run's job: %w", err)
	}
	if res.UniqueSkippedAsDuplicate && res.Job.State == rivertype.JobStateScheduled {
		if _, err := cl.JobRetry(ctx, res.Job.ID); err != nil {
			return fmt.Errorf("wake the run's job: %w", err)
		}
	}
	return nil
}

// ResyncWorker works ResyncArgs: a small state machine that re-checks the
// run every half second (snoozing in between, so it holds no worker slot).
type ResyncWorker struct {
	river.WorkerDefaults[ResyncArgs]
	Deps *Deps

	mu sync.Mutex
	// probed is when this worker last looked for queued people (one run is
	// active at a time).
	probed time.Time
}

// queueProbeEvery is how often a pushing run's queues are looked at while
// push jobs are still pending (a job of a killed worker stays "running"
// until River rescues it, which must not hold up a run whose queues are
// empty).
const queueProbeEvery = 3 * time.Second

// probeDue reports whether the queues are due a look, and if so records
// that they get one now.
func (w *ResyncWorker) probeDue() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if time.Since(w.probed) < queueProbeEvery {
		return false
	}
	w.probed = time.Now()
	return true
}

// Work advances the run one step.
func (w *ResyncWorker) Work(ctx context.Context, job *river.Job[ResyncArgs]) error {
	e := w.Deps.Engine
	cl, err := client(ctx)
	if err != nil {
		return err
	}
	run, err := e.GetRunUncounted(ctx, job.Args.RunID)
	if err != nil {
		return err
	}
	if run == nil {
		return river.JobCancel(fmt.Errorf("resync run %d not found", job.Args.RunID))
	}
	const tick = 300 * time.Millisecond
	switch run.State {
	case "pending":
		var params []river.InsertManyParams
		for _, n := range run.Connections {
			params = append(params, river.InsertManyParams{Args: ListArgs{RunID: run.ID, Connection: n}})
		}
		if _, err := cl.InsertMany(ctx, params); err != nil {
			return fmt.Errorf("insert list jobs: %w", err)
		}
		if err := e.SetRunState(ctx, run.ID, "ingesting", ""); err != nil {
			return err
		}
		return river.JobSnooze(tick)
	case "ingesting":
		for _, p := range run.Progress {
			if !p.ListDone {
				if failed, err := listFailed(ctx, e.Pool(), run.ID, p.Connection); err != nil {
					return err
				} else if failed != "" {
					_ = e.SetRunState(ctx, run.ID, "failed", failed)
					return nil
				}
				// Make sure a listing job exists (after a rescue or a restart).
				if _, err := cl.Insert(ctx, ListArgs{RunID: run.ID, Connection: p.Connection}, nil); err != nil {
					return fmt.Errorf("insert list job: %w", err)
				}
				return river.JobSnooze(tick)
			}
		}
		// Every listing is in: pushes may start, and the run plans them
		// while they do (see plan).
		if err := e.SetRunState(ctx, run.ID, "pushing", ""); err != nil {
			return err
		}
		fallthrough
	case "pushing":
		if done, err := w.plan(ctx, e, run.ID); err != nil {
			return err
		} else if !done {
			return river.JobSnooze(tick)
		}
		// While push jobs are waiting or running, the queues are looked at
		// only every queueProbeEvery: a push job ends only once its queue
		// is empty, asking River's job table is cheap, and looking for a
		// queued row is not while the queues' fronts are full of rows
		// deleted since the last vacuum.
		if busy, err := pushJobsPending(ctx, e.Pool()); err != nil {
			return err
		} else if busy && !w.probeDue() {
			// The run is over once the last push job is: looked at more
			// often than the other states (two cheap reads a look), it
			// ends sooner after it.
			return river.JobSnooze(pushTick)
		}
		queued, err := e.QueuedConns(ctx)
		if err != nil {
			return err
		}
		if len(queued) > 0 {
			if err := kick(ctx, queued); err != nil {
				return err
			}
			return river.JobSnooze(tick)
		}
		return e.SetRunState(ctx, run.ID, "completed", "")
	}
	return nil
}

// pushTick is how long a pushing run's job waits between looks at its
// push jobs.
const pushTick = 100 * time.Millisecond

// planStep is how long one planning step of a run may start chunks for
// before the pushes are started again (a push job that found its queue
// empty has ended).
const planStep = 250 * time.Millisecond

// plan queues the run's people for their pushes, step by step (see
// engine.QueueStep), starting the pushes after the first step (a chunk)
// and again after each, so that the pushes run while the rest is planned.
// It reports whether everyone is planned; it stops after a third of the
// push timeout, and the next run of the job goes on from there.
func (w *ResyncWorker) plan(ctx context.Context, e *engine.Engine, runID int64) (bool, error) {
	if done, err := e.RunPlanned(ctx, runID); err != nil || done {
		return done, err
	}
	start := time.Now()
	budget := time.Nanosecond
	for {
		done, err := e.QueueStep(ctx, runID, budget)
		if err != nil {
			return false, err
		}
		if err := kickPushes(ctx, e); err != nil {
			return false, err
		}
		if done || time.Since(start) >= w.Deps.timeouts().Push/3 {
			return done, nil
		}
		budget = planStep
	}
}

// pushJobsPending reports whether any push job is waiting, scheduled or
// running.
func pushJobsPending(ctx context.Context, pool *pgxpool.Pool) (bool, error) {
	var busy bool
	err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM river_job WHERE kind = $1
		AND state IN ('available', 'pending', 'retryable', 'running', 'scheduled'))`, PushArgs{}.Kind()).Scan(&busy)
	if err != nil {
		return false, fmt.Errorf("check push jobs: %w", err)
	}
	return busy, nil
}

// listFailed returns the error of a discarded listing job of the run.
func listFailed(ctx context.Context, pool *pgxpool.Pool, runID int64, conn string) (string, error) {
	var msg string
	err := pool.QueryRow(ctx, `SELECT coalesce(errors[array_length(errors, 1)]->>'error', 'listing failed') FROM river_job
		WHERE kind = 'crmsync.list' AND state = 'discarded' AND (args->>'run_id')::bigint = $1 AND args->>'connection' = $2
		LIMIT 1`, runID, conn).Scan(&msg)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("check listing job: %w", err)
	}
	return fmt.Sprintf("listing %s failed: %s", conn, msg), nil
}

// Workers returns the project's workers.
func Workers(d *Deps) *river.Workers {
	ws := river.NewWorkers()
	river.AddWorker(ws, &PollWorker{Deps: d})
	river.AddWorker(ws, &PushWorker{Deps: d})
	river.AddWorker(ws, &ListWorker{Deps: d})
	river.AddWorker(ws, &ResyncWorker{Deps: d})
	return ws
}

// ClientOptions tune NewClient.
type ClientOptions struct {
	// NoPeriodic disables the periodic polls (the resync command's client
	// only inserts).
	NoPeriodic bool
	// Insert only: no queues are worked.
	InsertOnly bool
	// WorkersPerQueue is MaxWorkers of each connection queue (default 4).
	WorkersPerQueue int
}

// NewClient returns a River client with the project's workers, one queue per
// connection, the admin queue, the periodic polls and the short
// stuck-job rescue ($CRMSYNC_RESCUE_AFTER shortens it and the job
// timeouts, see EnvRescueAfter; d.Timeouts, when set, wins).
func NewClient(pool *pgxpool.Pool, d *Deps, opts ClientOptions) (*river.Client[pgx.Tx], error) {
	if d.Timeouts.Rescue == 0 {
		d.Timeouts = TimeoutsFromEnv()
	}
	t := d.timeouts()
	cfg := &river.Config{
		Logger:               d.Logger,
		RescueStuckJobsAfter: t.Rescue,
		JobTimeout:           t.Push,
		FetchCooldown:        20 * time.Millisecond,
		FetchPollInterval:    250 * time.Millisecond,
		ID:                   os.Getenv(EnvClientID),
	}
	if !opts.InsertOnly {
		per := opts.WorkersPerQueue
		if per == 0 {
			per = 4
		}
		cfg.Workers = Workers(d)
		cfg.Queues = map[string]river.QueueConfig{
			river.QueueDefault: {MaxWorkers: 1},
			AdminQueue:         {MaxWorkers: 2},
		}
		for _, c := range d.Engine.Conns() {
			cfg.Queues[QueueFor(c.Name())] = river.QueueConfig{MaxWorkers: per}
			if !opts.NoPeriodic {
				name := c.Name()
				cfg.PeriodicJobs = append(cfg.PeriodicJobs, river.NewPeriodicJob(
					river.PeriodicInterval(c.Config.PollInterval),
					func() (river.JobArgs, *river.InsertOpts) { return PollArgs{Connection: name}, nil },
					&river.PeriodicJobOpts{RunOnStart: true}))
			}
		}
	} else {
		cfg.Workers = Workers(d)
	}
	cl, err := river.NewClient(riverpgxv5.New(pool), cfg)
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	return cl, nil
}

// EnqueueResync starts a resync run of the named connections and inserts
// its coordinator job. When a run is active it returns that run's ID and
// engine.ErrRunActive.
func EnqueueResync(ctx context.Context, cl *river.Client[pgx.Tx], e *engine.Engine, names []string) (int64, error) {
	id, err := e.StartRun(ctx, names)
	if err != nil && !errors.Is(err, engine.ErrRunActive) {
		return 0, err
	}
	if _, ierr := cl.Insert(ctx, ResyncArgs{RunID: id}, nil); ierr != nil {
		return id, fmt.Errorf("insert resync job: %w", ierr)
	}
	return id, err
}
