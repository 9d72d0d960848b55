// Package bench measures crmsync end to end: it seeds the four simulated
// CRMs with the overlapping dataset (in this process, or each in a child
// process of its own for large datasets), runs a full resync to convergence
// on a real Postgres, checks convergence and duplicates from the
// simulators' own state (streamed, never held whole), counts API calls by
// CRM and kind, and sets the run beside a lower bound measured on the same
// machine in the same run. With Propagation it then edits records in random
// CRMs under 1 s polling and reports how long each edit takes to reach
// every other CRM.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/crmsync/crmsync/internal/app"
	"github.com/crmsync/crmsync/internal/config"
	"github.com/crmsync/crmsync/internal/dataset"
	"github.com/crmsync/crmsync/internal/embeddedpg"
	"github.com/crmsync/crmsync/internal/procstat"
	"github.com/crmsync/crmsync/internal/simulate"
	"github.com/crmsync/crmsync/internal/verify"
	"github.com/crmsync/crmsync/jobs"
	"github.com/crmsync/crmsync/schema"
)

// SimMode says where the bench runs the simulators.
type SimMode int

const (
	// SimAuto runs them in child processes above SplitAbove people, else
	// in this process.
	SimAuto SimMode = iota
	// SimInProcess runs them in this process.
	SimInProcess
	// SimProcesses runs each in a child process of its own (`crmsync
	// simulate … --admin-addr --ready-json`), driven through its admin
	// routes.
	SimProcesses
)

// SplitAbove is the dataset size above which SimAuto runs the simulators in
// child processes: beyond it, the records they hold would dominate this
// process's memory.
const SplitAbove = 200_000

// Options configure a bench run.
type Options struct {
	// People is the dataset's size (default 1000); Seed its seed.
	People int
	Seed   int64
	// Latency is added to every simulator answer.
	Latency time.Duration
	// Workers is River's MaxWorkers per connection queue (default 4).
	Workers int
	// PushConcurrency and BatchSize override the engine's (0: its default).
	PushConcurrency int
	BatchSize       int
	// ListBatchSize overrides the engine's resync listing batch (0: its
	// default).
	ListBatchSize int
	// DatabaseURL is an empty, reachable Postgres; "" starts an embedded one.
	DatabaseURL string
	// CallBurst is how many creates each round of the call-rate
	// measurement makes (default 10,000; its listing burst makes a tenth as
	// many calls); 0 with SkipLowerBound skips it.
	CallBurst int
	// SkipLowerBound skips the rate and COPY measurements (tests).
	SkipLowerBound bool
	// SettleMax is the longest the bench waits for the machine to go quiet
	// before the rate measurement (default 60 s; tests, whose packages run
	// side by side, wait a moment).
	SettleMax time.Duration
	// Propagation, when > 0, makes that many edits after the resync and
	// measures their propagation; EditRate is edits per second (default
	// 5), Poll the polling interval (default 1 s), PropagationWait how long
	// to wait after the last edit (default 30 s).
	Propagation     int
	EditRate        float64
	Poll            time.Duration
	PropagationWait time.Duration
	// Timeout bounds the resync (default 30 min).
	Timeout time.Duration
	// CallTimeout is each connection's HTTP timeout (default 10 min): it
	// bounds a whole streamed listing (NextLead's user-created feed,
	// Skarbe's bare array), which at 100k people outlasts 30 s when ingest
	// is slower than the stream.
	CallTimeout time.Duration
	// CPUProfile, when set, receives a pprof CPU profile of the resync.
	CPUProfile io.Writer
	// Progress receives a progress line per second (nil: none).
	Progress io.Writer
	// Logger receives River's and the engine's logs (nil: warnings to
	// io.Discard).
	Logger *slog.Logger
	// SimMode says where the simulators run (default SimAuto).
	SimMode SimMode
	// SimCommand is the command line that runs `crmsync simulate` for
	// SimProcesses, without the provider and flags (nil: this executable
	// with "simulate").
	SimCommand []string
}

// splitSims reports whether the simulators run in child processes.
func (o *Options) splitSims() bool {
	return o.SimMode == SimProcesses || (o.SimMode == SimAuto && o.People > SplitAbove)
}

func (o *Options) defaults() {
	if o.People <= 0 {
		o.People = 1000
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.SettleMax <= 0 {
		o.SettleMax = settleMax
	}
	if o.CallBurst <= 0 {
		o.CallBurst = 10_000
	}
	if o.EditRate <= 0 {
		o.EditRate = 5
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.PropagationWait <= 0 {
		o.PropagationWait = 30 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Minute
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = 10 * time.Minute
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

// Result is what a bench run measured. Its JSON form is `crmsync bench
// --json`'s output.
type Result struct {
	People    int     `json:"people"`
	Seed      int64   `json:"seed"`
	LatencyMS float64 `json:"latency_ms"`
	Workers   int     `json:"workers"`
	// Records is how many records were seeded across the CRMs;
	// RecordsAfter how many they hold after the resync.
	Records      int `json:"records"`
	RecordsAfter int `json:"records_after"`
	// Seconds is the resync's wall time, from enqueue to completion.
	Seconds         float64 `json:"seconds"`
	PeoplePerSecond float64 `json:"people_per_second"`
	SeedSeconds     float64 `json:"seed_seconds"`
	// APICalls are the calls the resync made, by CRM and kind.
	APICalls          CallCounts `json:"api_calls"`
	APICallsTotal     int64      `json:"api_calls_total"`
	APICallsPerPerson float64    `json:"api_calls_per_person"`
	// SimProcesses is true when the simulators ran in child processes.
	SimProcesses bool `json:"sim_processes"`
	// PeakRSSBytes is the largest peak RSS of any process of the run (see
	// PeakRSSByProcess).
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
	// PeakRSSByProcess holds each process's peak RSS: "bench" (engine,
	// worker, verify, and the simulators when in this process),
	// "sim-<kind>" for each simulator process, and "postgres", the largest
	// of the embedded Postgres server's processes (absent when the
	// Postgres is not a child of the bench: --database-url, Docker).
	PeakRSSByProcess map[string]int64 `json:"peak_rss_by_process"`
	// Converged and Duplicates come from the simulators' state: every
	// person in every CRM that can hold them; people held twice in a CRM
	// beyond the dataset's pre-existing Skarbe duplicates.
	Converged bool `json:"converged"`
	// DistinctPeople is the verify report's count.
	DistinctPeople int `json:"distinct_people"`
	Duplicates     int `json:"duplicates"`
	// Missing counts, per CRM, people it can hold but lacks.
	Missing map[string]int `json:"missing"`
	// LowerBound is the least a correct resync costs here (nil when skipped).
	LowerBound *LowerBound `json:"lower_bound,omitempty"`
	// Ratio is Seconds / LowerBound.Seconds; CallsRatio is APICallsTotal /
	// LowerBound.APICalls.
	Ratio      float64 `json:"ratio,omitempty"`
	CallsRatio float64 `json:"calls_ratio,omitempty"`
	// Propagation is set when propagation was measured.
	Propagation *Propagation `json:"propagation,omitempty"`
}

// Run runs the bench.
func Run(ctx context.Context, opts Options) (*Result, error) {
	opts.defaults()
	split := opts.splitSims()
	if split && opts.Propagation > 0 {
		return nil, errors.New("bench: propagation edits the simulators from this process: run them in it (--sim-processes=false)")
	}
	res := &Result{People: opts.People, Seed: opts.Seed, LatencyMS: float64(opts.Latency) / float64(time.Millisecond), Workers: opts.Workers,
		SimProcesses: split}
	out := opts.Progress
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // also kills the simulator processes

	url := opts.DatabaseURL
	if url == "" {
		fmt.Fprintln(out, "starting an embedded Postgres…")
		pg, err := embeddedpg.Start(ctx, embeddedpg.Options{Logger: opts.Logger})
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		defer func() { _ = pg.Stop(context.Background()) }()
		url = pg.URL()
	}

	where := "in this process"
	if split {
		where = "each in a child process (crmsync simulate)"
	}
	fmt.Fprintf(out, "seeding four simulated CRMs with %d people (seed %d), simulators %s…\n", opts.People, opts.Seed, where)
	seedStart := time.Now()
	sims, err := startSimulators(ctx, &opts, split)
	defer func() {
		for _, s := range sims {
			_ = s.Close()
		}
	}()
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	res.SeedSeconds = time.Since(seedStart).Seconds()
	cfg := &config.Config{DatabaseURL: url}
	for _, s := range sims {
		cfg.Connections = append(cfg.Connections, config.Connection{
			Name: s.Kind(), Provider: s.Kind(), BaseURL: s.URL(), Credentials: s.Credentials(),
			PollInterval: opts.Poll, Timeout: opts.CallTimeout,
		})
	}

	pool, err := app.Connect(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer pool.Close()
	if _, err := schema.Migrate(ctx, pool, opts.Logger); err != nil {
		return nil, fmt.Errorf("bench: migrate: %w", err)
	}
	var existing int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM crmsync_person`).Scan(&existing); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if existing > 0 {
		return nil, errors.New("bench: the database already holds people: give an empty database")
	}
	a, err := app.OpenPool(ctx, cfg, pool, opts.Logger)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if opts.PushConcurrency > 0 {
		a.Engine.PushConcurrency = opts.PushConcurrency
	}
	if opts.ListBatchSize > 0 {
		a.Engine.ListBatchSize = opts.ListBatchSize
	}
	if opts.BatchSize > 0 {
		a.Engine.BatchSize = opts.BatchSize
	}
	conns := a.Engine.Conns()

	// Before state, for the lower bound's write count: each simulator
	// remembers a hash of every record.
	seeded := make([]int, len(sims))
	for i, s := range sims {
		if seeded[i], err = s.MarkBaseline(ctx, conns[i].Caps.Holds); err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		res.Records += seeded[i]
	}

	var lb *LowerBound
	if !opts.SkipLowerBound {
		lb = &LowerBound{}
		// Simulator processes go on working after they answer that they
		// are seeded (collecting the garbage of a million records): bursts
		// measured meanwhile ran at half speed (4,962 and 6,860 calls/s in
		// a 1M run, against 11,698 and 12,183 once they were done).
		lb.SettleSeconds = settle(ctx, out, opts.SettleMax).Seconds()
		fmt.Fprintf(out, "measuring the simulators' call rate (bursts of %d creates, %d times) and a COPY of %d rows…\n", opts.CallBurst, rateRounds, opts.People)
		lb.ListRates, lb.WriteRates, err = callRates(ctx, opts.CallBurst, 16, opts.Latency, opts.Seed)
		lb.ListRate, lb.WriteRate = median(lb.ListRates), median(lb.WriteRates)
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		took, err := copyTime(ctx, pool, opts.Seed, opts.People)
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		lb.CopyRows, lb.CopySeconds = opts.People, took.Seconds()
	}
	for _, s := range sims {
		if err := s.SetLatency(ctx, opts.Latency); err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
	}

	// The resync.
	reqBefore := make([]map[string]int64, len(sims))
	for i, s := range sims {
		if reqBefore[i], err = s.Requests(ctx); err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
	}
	cl, err := jobs.NewClient(pool, &jobs.Deps{Engine: a.Engine, Logger: opts.Logger},
		jobs.ClientOptions{NoPeriodic: true, WorkersPerQueue: opts.Workers})
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if err := cl.Start(ctx); err != nil {
		return nil, fmt.Errorf("bench: start worker: %w", err)
	}
	stopClient := func(cl *river.Client[pgx.Tx]) {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := cl.Stop(sctx); err != nil {
			_ = cl.StopAndCancel(context.Background())
		}
	}
	if opts.CPUProfile != nil {
		if err := pprof.StartCPUProfile(opts.CPUProfile); err != nil {
			stopClient(cl)
			return nil, fmt.Errorf("bench: cpu profile: %w", err)
		}
	}
	fmt.Fprintln(out, "full resync…")
	var pg postgresRSS
	start := time.Now()
	id, err := jobs.EnqueueResync(ctx, cl, a.Engine, nil)
	if err == nil {
		err = waitRun(ctx, a, id, opts.Timeout, out, pg.sample)
	}
	took := time.Since(start)
	if opts.CPUProfile != nil {
		pprof.StopCPUProfile()
	}
	stopClient(cl)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	res.Seconds = took.Seconds()
	res.PeoplePerSecond = float64(opts.People) / took.Seconds()
	res.APICalls = CallCounts{}
	for i, s := range sims {
		after, err := s.Requests(ctx)
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		res.APICalls[conns[i].Name()] = diffRequests(reqBefore[i], after)
	}
	res.APICallsTotal = res.APICalls.Total()
	res.APICallsPerPerson = float64(res.APICallsTotal) / float64(opts.People)

	fmt.Fprintln(out, "verifying from the simulators' state…")
	srcs := make([]verify.Source, len(sims))
	for i, s := range sims {
		c := conns[i]
		srcs[i] = verify.Source{Name: c.Name(), Caps: c.Caps, Records: s.Records(ctx), CanHold: verify.DatasetCanHold(c.Config.Provider)}
	}
	rep, err := verify.CheckStream(srcs, verify.DatasetTraits())
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	facts := dataset.Facts(opts.Seed, opts.People)
	res.Converged = rep.Converged
	res.DistinctPeople = rep.People
	res.Missing = map[string]int{}
	dups := 0
	for name, cr := range rep.PerCRM {
		dups += cr.Duplicates
		res.Missing[name] = len(cr.Missing)
		res.RecordsAfter += cr.Records
	}
	res.Duplicates = max(0, dups-facts.SkarbeDuplicates)

	if lb != nil {
		for i, s := range sims {
			lb.ListCalls += listCalls(s.Kind(), seeded[i])
			w, err := s.Writes(ctx)
			if err != nil {
				return nil, fmt.Errorf("bench: %w", err)
			}
			lb.Creates += w.Creates
			lb.Updates += w.Updates
		}
		lb.WriteCalls = lb.Creates + lb.Updates
		lb.APICalls = lb.ListCalls + lb.WriteCalls
		lb.APICallsPerPerson = float64(lb.APICalls) / float64(opts.People)
		lb.Seconds = float64(lb.ListCalls)/lb.ListRate + float64(lb.WriteCalls)/lb.WriteRate + lb.CopySeconds
		res.LowerBound = lb
		res.Ratio = res.Seconds / lb.Seconds
		if lb.APICalls > 0 {
			res.CallsRatio = float64(res.APICallsTotal) / float64(lb.APICalls)
		}
	}

	if opts.Propagation > 0 {
		crms := make([]verify.CRM, len(sims))
		for i, s := range sims {
			crms[i] = verify.CRM{Name: conns[i].Name(), Caps: conns[i].Caps, Sim: s.(*simulate.Local).Sim()}
		}
		p, err := measurePropagation(ctx, &opts, a, pool, crms)
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		res.Propagation = p
	}
	pg.sample()
	if res.PeakRSSByProcess, err = peakRSS(ctx, sims, split, pg.max); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	for _, n := range res.PeakRSSByProcess {
		res.PeakRSSBytes = max(res.PeakRSSBytes, n)
	}
	return res, nil
}

// startSimulators starts and seeds the four simulators, in this process or
// each in a child process (started together: they seed in parallel). On an
// error it returns those it started, for the caller to close.
func startSimulators(ctx context.Context, opts *Options, split bool) ([]simulate.Instance, error) {
	kinds := simulate.Kinds()
	sims := make([]simulate.Instance, len(kinds))
	if !split {
		for i, kind := range kinds {
			sim, err := simulate.NewSimulator(kind, "")
			if err != nil {
				return sims[:i], err
			}
			sims[i] = simulate.NewLocal(sim)
			if _, err := simulate.SeedDataset(sim, kind, opts.People, opts.Seed); err != nil {
				return sims[:i+1], err
			}
		}
		return sims, nil
	}
	errs := make([]error, len(kinds))
	var wg sync.WaitGroup
	for i, kind := range kinds {
		wg.Go(func() {
			p, err := simulate.StartProcess(ctx, simulate.ProcessOptions{Command: opts.SimCommand, Kind: kind,
				People: opts.People, Seed: opts.Seed, Stderr: opts.Progress})
			if err != nil {
				errs[i] = err
				return
			}
			sims[i] = p
		})
	}
	wg.Wait()
	started := slices.DeleteFunc(slices.Clone(sims), func(s simulate.Instance) bool { return s == nil })
	return started, errors.Join(errs...)
}

// postgresRSS follows the largest peak RSS among the embedded Postgres
// server's processes (children of this one named "postgres"): a backend's
// high-water mark is lost when it exits, so it is sampled during the run.
type postgresRSS struct{ max int64 }

func (p *postgresRSS) sample() {
	for _, proc := range procstat.Descendants(os.Getpid()) {
		if proc.Comm == "postgres" {
			p.max = max(p.max, procstat.PeakRSSOf(proc.PID))
		}
	}
}

// peakRSS returns the peak RSS of every process of the run, by name (see
// Result.PeakRSSByProcess).
func peakRSS(ctx context.Context, sims []simulate.Instance, split bool, postgres int64) (map[string]int64, error) {
	m := map[string]int64{"bench": procstat.PeakRSS()}
	if split {
		for _, s := range sims {
			n, err := s.PeakRSS(ctx)
			if err != nil {
				return nil, err
			}
			m["sim-"+s.Kind()] = n
		}
	}
	if postgres > 0 {
		m["postgres"] = postgres
	}
	return m, nil
}

// waitRun polls the run every 50 ms until it completes (a progress line to
// out every second, when everySecond is called too), fails, or timeout
// passes.
func waitRun(ctx context.Context, a *app.App, id int64, timeout time.Duration, out io.Writer, everySecond func()) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	last := time.Time{}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		// The state alone every 50 ms (one indexed row); the progress once a
		// second, without counting the queues (that reads every queued row),
		// so that watching the run does not load the database it measures.
		state, msg, err := a.Engine.RunState(ctx, id)
		if err != nil {
			return fmt.Errorf("wait for run %d: %w", id, err)
		}
		switch state {
		case "completed":
			return nil
		case "failed":
			return fmt.Errorf("resync run #%d failed: %s", id, msg)
		}
		if time.Since(last) >= time.Second {
			last = time.Now()
			everySecond()
			run, err := a.Engine.GetRunUncounted(ctx, id)
			if err != nil {
				return fmt.Errorf("wait for run %d: %w", id, err)
			}
			line := fmt.Sprintf("[%6.1fs] %-9s", time.Since(start).Seconds(), run.State)
			for _, p := range run.Progress {
				line += fmt.Sprintf(" | %s l%d c%d u%d s%d", p.Connection, p.Listed, p.Creates, p.Updates, p.Skips)
			}
			fmt.Fprintf(out, "%s  rss %d MiB\n", line, procstat.PeakRSS()>>20)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for run %d: %w", id, ctx.Err())
		case <-tick.C:
		}
	}
}
