// Package bench measures crmsync end to end: it seeds the four simulated
// CRMs in-process with the overlapping dataset, runs a full resync to
// convergence on a real Postgres, checks convergence and duplicates from the
// simulators' own state, counts API calls by CRM and kind, and sets the run
// beside a lower bound measured on the same machine in the same run. With
// Propagation it then edits records in random CRMs under 1 s polling and
// reports how long each edit takes to reach every other CRM.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/pprof"
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
	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers"
	"github.com/crmsync/crmsync/schema"
)

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
	// DatabaseURL is an empty, reachable Postgres; "" starts an embedded one.
	DatabaseURL string
	// CallBurst is how many calls the call-rate measurement makes (default
	// 2000); 0 with SkipLowerBound skips it.
	CallBurst int
	// SkipLowerBound skips the rate and COPY measurements (tests).
	SkipLowerBound bool
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
}

func (o *Options) defaults() {
	if o.People <= 0 {
		o.People = 1000
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.CallBurst <= 0 {
		o.CallBurst = 2000
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
	// PeakRSSBytes is this process's peak RSS (simulators, engine and
	// workers; the Postgres server is a separate process).
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
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
	res := &Result{People: opts.People, Seed: opts.Seed, LatencyMS: float64(opts.Latency) / float64(time.Millisecond), Workers: opts.Workers}
	out := opts.Progress

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

	fmt.Fprintf(out, "seeding four simulated CRMs with %d people (seed %d)…\n", opts.People, opts.Seed)
	cfg := &config.Config{DatabaseURL: url}
	var sims []providers.Simulator
	defer func() {
		for _, s := range sims {
			s.Close()
		}
	}()
	seedStart := time.Now()
	for _, kind := range simulate.Kinds() {
		sim, err := simulate.NewSimulator(kind, "")
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		sims = append(sims, sim)
		n, err := simulate.SeedDataset(sim, kind, opts.People, opts.Seed)
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		res.Records += n
		cfg.Connections = append(cfg.Connections, config.Connection{
			Name: kind, Provider: kind, BaseURL: sim.URL(), Credentials: sim.Credentials(),
			PollInterval: opts.Poll, Timeout: opts.CallTimeout,
		})
	}
	res.SeedSeconds = time.Since(seedStart).Seconds()

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
	if opts.BatchSize > 0 {
		a.Engine.BatchSize = opts.BatchSize
	}
	var crms []verify.CRM
	for i, c := range a.Engine.Conns() {
		kind := c.Config.Provider
		crms = append(crms, verify.CRM{Name: c.Name(), Caps: c.Caps, Sim: sims[i],
			CanHold: func(p mapping.Person) bool { return dataset.CanHold(kind, p) }})
	}

	// Before state, for the lower bound's write count.
	before := make([]map[string]uint64, len(crms))
	seeded := make([]int, len(crms))
	for i, c := range crms {
		snap := c.Sim.Snapshot()
		seeded[i] = len(snap)
		before[i] = hashes(snap, c.Caps.Holds)
	}

	var lb *LowerBound
	if !opts.SkipLowerBound {
		fmt.Fprintf(out, "measuring the simulators' call rate (%d calls) and a COPY of %d rows…\n", opts.CallBurst, opts.People)
		lb = &LowerBound{}
		lb.ListRate, lb.WriteRate, err = callRates(ctx, opts.CallBurst, 16, opts.Latency, opts.Seed)
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
		s.SetLatency(opts.Latency)
	}

	// The resync.
	reqBefore := make([]map[string]int64, len(sims))
	for i, s := range sims {
		reqBefore[i] = s.Requests()
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
	start := time.Now()
	id, err := jobs.EnqueueResync(ctx, cl, a.Engine, nil)
	if err == nil {
		err = waitRun(ctx, a, id, opts.Timeout, out)
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
		res.APICalls[crms[i].Name] = diffRequests(reqBefore[i], s.Requests())
	}
	res.APICallsTotal = res.APICalls.Total()
	res.APICallsPerPerson = float64(res.APICallsTotal) / float64(opts.People)

	fmt.Fprintln(out, "verifying from the simulators' state…")
	rep := verify.Check(crms)
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
		for i, c := range crms {
			lb.ListCalls += listCalls(c.Name, seeded[i])
			cr, up := writesNeeded(before[i], c.Sim.Snapshot(), c.Caps.Holds)
			lb.Creates += cr
			lb.Updates += up
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
	before = nil // let the hashes go before propagation

	if opts.Propagation > 0 {
		p, err := measurePropagation(ctx, &opts, a, pool, crms)
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		res.Propagation = p
	}
	res.PeakRSSBytes = procstat.PeakRSS()
	return res, nil
}

// waitRun polls the run every 50 ms until it completes (a progress line to
// out every second), fails, or timeout passes.
func waitRun(ctx context.Context, a *app.App, id int64, timeout time.Duration, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	last := time.Time{}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		run, err := a.Engine.GetRun(ctx, id)
		if err != nil {
			return fmt.Errorf("wait for run %d: %w", id, err)
		}
		if run == nil {
			return fmt.Errorf("resync run %d not found", id)
		}
		switch run.State {
		case "completed":
			return nil
		case "failed":
			return fmt.Errorf("resync run #%d failed: %s", run.ID, run.Error)
		}
		if time.Since(last) >= time.Second {
			last = time.Now()
			line := fmt.Sprintf("[%6.1fs] %-9s", time.Since(start).Seconds(), run.State)
			for _, p := range run.Progress {
				line += fmt.Sprintf(" | %s l%d c%d u%d s%d q%d", p.Connection, p.Listed, p.Creates, p.Updates, p.Skips, p.Queued)
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
