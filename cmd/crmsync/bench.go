package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/crmsync/crmsync/internal/bench"
)

func runBench(ctx context.Context, g *globals, args []string) error {
	fs := newFlags(g, "bench")
	var o bench.Options
	fs.IntVar(&o.People, "people", 10_000, "people in the generated, overlapping dataset")
	fs.Int64Var(&o.Seed, "seed", 1, "dataset seed")
	fs.DurationVar(&o.Latency, "latency", 0, "latency the simulators add to every API call")
	fs.IntVar(&o.Workers, "workers", 4, "concurrent jobs per connection queue")
	fs.IntVar(&o.PushConcurrency, "push-concurrency", 0, "CRM calls a push batch makes at once (0: the engine's default)")
	fs.IntVar(&o.BatchSize, "batch", 0, "records per push batch or poll ingest batch (0: the engine's default)")
	fs.IntVar(&o.ListBatchSize, "list-batch", 0, "records per resync listing ingest batch (0: the engine's default)")
	fs.StringVar(&o.DatabaseURL, "database-url", "", "an empty Postgres to use instead of an embedded one")
	fs.IntVar(&o.CallBurst, "call-burst", 10_000, "creates in each burst that measures the simulators' call rate for the lower bound (listing bursts make a tenth as many calls)")
	fs.IntVar(&o.Propagation, "propagation", 0, "after the resync, make K edits in random CRMs and measure their propagation")
	fs.Float64Var(&o.EditRate, "edit-rate", 5, "edits per second during --propagation")
	fs.DurationVar(&o.Poll, "poll", 0, "polling interval during --propagation (default 1s)")
	fs.DurationVar(&o.PropagationWait, "propagation-wait", 0, "how long to wait for edits after the last one (default 30s)")
	fs.DurationVar(&o.Timeout, "timeout", 0, "give up on the resync after this long (default 30m)")
	fs.DurationVar(&o.CallTimeout, "call-timeout", 0, "HTTP timeout of each connection, which bounds a whole streamed listing (default 10m)")
	simProcs := fs.Bool("sim-processes", false, fmt.Sprintf("run each simulator in a child process (crmsync simulate), driven through its admin routes; =false keeps them in the bench process (default: child processes above %d people)", bench.SplitAbove))
	jsonOut := fs.Bool("json", false, "print one JSON object instead of the table")
	cpuProfile := fs.String("cpuprofile", "", "write a pprof CPU profile of the resync to FILE")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "sim-processes" {
			return
		}
		o.SimMode = bench.SimInProcess
		if *simProcs {
			o.SimMode = bench.SimProcesses
		}
	})
	if g.logLevel == "info" {
		// The bench prints its own progress; keep River's info logs out.
		o.Logger = slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	} else {
		o.Logger = g.logger
	}
	if o.DatabaseURL == "" {
		o.DatabaseURL = os.Getenv("CRMSYNC_DATABASE_URL")
	}
	o.Progress = g.stderr
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		o.CPUProfile = f
	}
	res, err := bench.Run(ctx, o)
	if err != nil {
		return err
	}
	var out io.Writer = g.stdout
	if *jsonOut {
		err = res.WriteJSON(out)
	} else {
		err = res.WriteTable(out)
	}
	if err != nil {
		return err
	}
	if !res.Converged || res.Duplicates > 0 {
		return fmt.Errorf("not converged (%v) or duplicates (%d)", res.Converged, res.Duplicates)
	}
	return nil
}
