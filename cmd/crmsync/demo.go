package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/crmsync/crmsync/engine"
	"github.com/crmsync/crmsync/internal/app"
	"github.com/crmsync/crmsync/internal/config"
	"github.com/crmsync/crmsync/internal/embeddedpg"
	"github.com/crmsync/crmsync/internal/simulate"
	"github.com/crmsync/crmsync/internal/verify"
	"github.com/crmsync/crmsync/jobs"
	"github.com/crmsync/crmsync/providers"
	"github.com/crmsync/crmsync/schema"
)

func runDemo(ctx context.Context, g *globals, args []string) error {
	fs := newFlags(g, "demo")
	once := fs.Bool("once", false, "exit 0 once the four CRMs have converged (non-zero if they did not)")
	people := fs.Int("people", 300, "people in the generated, overlapping dataset")
	seed := fs.Int64("seed", 1, "dataset seed")
	httpAddr := fs.String("http", "127.0.0.1:8080", "admin HTTP address (sync health, metrics, River UI); falls back to a free port when taken")
	dbURL := fs.String("database-url", "", "use this Postgres instead of an embedded one")
	poll := fs.Duration("poll", 2*time.Second, "poll interval of the simulated connections")
	if err := fs.Parse(args); err != nil {
		return err
	}
	quiet := g.logger
	if g.logLevel == "info" {
		// The demo prints its own progress; keep River's info logs out of it.
		quiet = slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}

	url := *dbURL
	if url == "" {
		url = os.Getenv("CRMSYNC_DATABASE_URL")
	}
	if url == "" {
		fmt.Fprintln(g.stdout, "starting an embedded Postgres…")
		pg, err := embeddedpg.Start(ctx, embeddedpg.Options{Logger: quiet})
		if err != nil {
			return err
		}
		defer func() { _ = pg.Stop(context.Background()) }()
		url = pg.URL()
		fmt.Fprintf(g.stdout, "embedded Postgres (%s) at %s\n", pg.Kind(), config.RedactURL(url))
	}

	fmt.Fprintf(g.stdout, "starting four simulated CRMs with %d overlapping people (seed %d)…\n", *people, *seed)
	cfg := &config.Config{DatabaseURL: url}
	var srcs []verify.Source
	var sims []providers.Simulator
	defer func() {
		for _, s := range sims {
			s.Close()
		}
	}()
	for _, kind := range simulate.Kinds() {
		sim, err := simulate.NewSimulator(kind, "")
		if err != nil {
			return err
		}
		sims = append(sims, sim)
		if _, err := simulate.SeedDataset(sim, kind, *people, *seed); err != nil {
			return err
		}
		cfg.Connections = append(cfg.Connections, config.Connection{
			Name: kind, Provider: kind, BaseURL: sim.URL(), Credentials: sim.Credentials(),
			PollInterval: *poll, Timeout: 10 * time.Second,
		})
	}

	pool, err := app.Connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := schema.Migrate(ctx, pool, quiet); err != nil {
		return err
	}
	a, err := app.OpenPool(ctx, cfg, pool, quiet)
	if err != nil {
		return err
	}
	for i, c := range a.Engine.Conns() {
		srcs = append(srcs, verify.DatasetSource(c.Name(), c.Config.Provider, c.Caps, sims[i]))
	}
	before, err := verify.CheckDataset(srcs)
	if err != nil {
		return err
	}

	wctx, stopWorker := context.WithCancel(ctx)
	defer stopWorker()
	workerDone := make(chan error, 1)
	wg := &globals{stdout: io.Discard, stderr: g.stderr, logger: quiet, logLevel: g.logLevel}
	addr := *httpAddr
	if addr != "" && !portFree(addr) {
		addr = "127.0.0.1:0"
	}
	go func() { workerDone <- serveWorkerReport(wctx, wg, a, addr, 4, g.stdout) }()

	cl, err := jobs.NewClient(a.Pool, &jobs.Deps{Engine: a.Engine, Logger: quiet}, jobs.ClientOptions{InsertOnly: true})
	if err != nil {
		return err
	}
	start := time.Now()
	id, err := jobs.EnqueueResync(ctx, cl, a.Engine, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "full resync run #%d:\n", id)
	if err := waitRun(ctx, g.stdout, a.Engine, id); err != nil {
		return err
	}
	took := time.Since(start)
	after, err := verify.CheckDataset(srcs)
	if err != nil {
		return err
	}
	st, err := a.Engine.Status(ctx)
	if err != nil {
		return err
	}
	printSummary(g.stdout, before, after, st, took)
	if *once {
		stopWorker()
		<-workerDone
		if !after.Converged {
			return fmt.Errorf("the CRMs did not converge: %s", after)
		}
		fmt.Fprintln(g.stdout, "converged: every person is in every CRM that can hold them")
		return nil
	}
	fmt.Fprintln(g.stdout, "still syncing (edit a record in a simulator, or Ctrl-C to stop)")
	<-ctx.Done()
	stopWorker()
	return <-workerDone
}

// serveWorkerReport is serveWorker printing the admin address to out.
func serveWorkerReport(ctx context.Context, g *globals, a *app.App, addr string, workers int, out io.Writer) error {
	g.stdout = out
	return serveWorker(ctx, g, a, addr, workers)
}

func portFree(addr string) bool {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// printSummary prints people per CRM before and after, merges and skipped
// writes by reason.
func printSummary(w io.Writer, before, after *verify.Report, st *engine.Status, took time.Duration) {
	fmt.Fprintf(w, "\nconverged in %s: %d distinct people, %d merges\n\n", took.Round(100*time.Millisecond), after.People, st.Merges)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "CRM\tRECORDS BEFORE\tRECORDS AFTER\tPEOPLE BEFORE\tPEOPLE AFTER\tCAN HOLD\tMISSING\tCREATES\tUPDATES\tSKIPS\n")
	names := make([]string, 0, len(after.PerCRM))
	for n := range after.PerCRM {
		names = append(names, n)
	}
	sort.Strings(names)
	byName := map[string]engine.ConnStatus{}
	for _, c := range st.Connections {
		byName[c.Name] = c
	}
	for _, n := range names {
		b, a, c := before.PerCRM[n], after.PerCRM[n], byName[n]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", n, b.Records, a.Records, b.People, a.People, a.CanHold,
			len(a.Missing), c.Writes["create"], c.Writes["update"], sum(c.Skips))
	}
	tw.Flush()
	fmt.Fprintln(w, "\nskipped writes by reason:")
	any := false
	for _, n := range names {
		for reason, count := range byName[n].Skips {
			fmt.Fprintf(w, "  %-9s %4d× %s\n", n, count, reason)
			any = true
		}
	}
	if !any {
		fmt.Fprintln(w, "  none")
	}
}
