package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/crmsync/crmsync/engine"
	"github.com/crmsync/crmsync/jobs"
)

func runResync(ctx context.Context, g *globals, args []string) error {
	fs := newFlags(g, "resync")
	var conns multiFlag
	fs.Var(&conns, "connection", "resync only this connection (repeatable; default all)")
	wait := fs.Bool("wait", false, "show live progress and exit when the run completes (non-zero if it fails)")
	dry := fs.Bool("dry-run", false, "print the creates, updates, merges and skips a resync would make, per connection; write nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	a, err := g.openApp(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	if *dry {
		rep, err := a.Engine.DryRun(ctx, conns)
		if err != nil {
			return err
		}
		printDryRun(g.stdout, rep)
		return nil
	}
	cl, err := jobs.NewClient(a.Pool, &jobs.Deps{Engine: a.Engine, Logger: g.logger}, jobs.ClientOptions{InsertOnly: true})
	if err != nil {
		return err
	}
	id, err := jobs.EnqueueResync(ctx, cl, a.Engine, conns)
	switch {
	case errors.Is(err, engine.ErrRunActive):
		fmt.Fprintf(g.stdout, "resync run #%d is already active; following it\n", id)
	case err != nil:
		return err
	default:
		fmt.Fprintf(g.stdout, "enqueued resync run #%d (workers run it)\n", id)
	}
	if !*wait {
		return nil
	}
	return waitRun(ctx, g.stdout, a.Engine, id)
}

// waitRun prints the run's progress every second until it ends.
func waitRun(ctx context.Context, w io.Writer, e *engine.Engine, id int64) error {
	start := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		run, err := e.GetRun(ctx, id)
		if err != nil {
			return err
		}
		if run == nil {
			return fmt.Errorf("resync run %d not found", id)
		}
		line := fmt.Sprintf("[%5.1fs] run #%d %-9s", time.Since(start).Seconds(), run.ID, run.State)
		for _, p := range run.Progress {
			line += fmt.Sprintf(" | %s listed %d c%d u%d s%d f%d q%d", p.Connection, p.Listed, p.Creates, p.Updates, p.Skips, p.Failures, p.Queued)
		}
		fmt.Fprintln(w, line)
		switch run.State {
		case "completed":
			fmt.Fprintf(w, "resync run #%d completed in %s\n", run.ID, time.Since(start).Round(100*time.Millisecond))
			return nil
		case "failed":
			return fmt.Errorf("resync run #%d failed: %s", run.ID, run.Error)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func printDryRun(w io.Writer, rep *engine.DryRunReport) {
	fmt.Fprintf(w, "dry run: nothing was written\npeople after matching: %d, merges: %d\n", rep.People, rep.Merges)
	names := make([]string, 0, len(rep.PerConn))
	for n := range rep.PerConn {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := rep.PerConn[n]
		var skips int
		for _, v := range c.Skips {
			skips += v
		}
		fmt.Fprintf(w, "%-10s listed %d: would create %d, update %d, delete %d, skip %d\n", n, c.Listed, c.Creates, c.Updates, c.Deletes, skips)
		printReasonsInt(w, n, c.Skips)
	}
}

func printReasonsInt(w io.Writer, conn string, m map[string]int) {
	conv := make(map[string]int64, len(m))
	for k, v := range m {
		conv[k] = int64(v)
	}
	printReasons(w, "  "+conn, "would skip", conv)
}
