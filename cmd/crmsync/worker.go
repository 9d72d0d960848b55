package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/crmsync/crmsync/internal/admin"
	"github.com/crmsync/crmsync/internal/app"
	"github.com/crmsync/crmsync/jobs"
)

// stopTimeout bounds a graceful stop: running jobs get this long to finish,
// then they are cancelled and handed back (snoozed or retried).
const stopTimeout = 20 * time.Second

func runWorker(ctx context.Context, g *globals, args []string) error {
	fs := newFlags(g, "worker")
	httpAddr := fs.String("http", "", "serve the admin HTTP (health, metrics, River UI, sync health) on ADDR, e.g. 127.0.0.1:8080")
	workers := fs.Int("workers", 4, "concurrent jobs per connection queue")
	if err := fs.Parse(args); err != nil {
		return err
	}
	a, err := g.openApp(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	return serveWorker(ctx, g, a, *httpAddr, *workers)
}

// serveWorker runs a River client (and the admin HTTP when addr is set)
// until ctx ends, then stops gracefully.
func serveWorker(ctx context.Context, g *globals, a *app.App, addr string, workers int) error {
	metrics := admin.NewMetrics()
	deps := &jobs.Deps{Engine: a.Engine, Logger: g.logger, OnPoll: metrics.ObservePoll, OnPush: metrics.ObservePush}
	cl, err := jobs.NewClient(a.Pool, deps, jobs.ClientOptions{WorkersPerQueue: workers})
	if err != nil {
		return err
	}
	if addr != "" {
		srv, err := admin.New(admin.Options{Addr: addr, Token: a.Config.AdminToken, Engine: a.Engine, Pool: a.Pool,
			Client: cl, Metrics: metrics, Logger: g.logger})
		if err != nil {
			return err
		}
		go func() {
			if err := srv.Serve(ctx); err != nil {
				g.logger.Error("admin HTTP stopped", slog.String("error", err.Error()))
			}
		}()
		fmt.Fprintf(g.stdout, "admin HTTP on http://%s/ (sync health), /metrics, /riverui/\n", srv.Addr())
	}
	if err := cl.Start(ctx); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	g.logger.Info("worker started", slog.Int("connections", len(a.Engine.Conns())))
	<-ctx.Done()
	g.logger.Info("stopping worker: letting running jobs finish", slog.Duration("within", stopTimeout))
	sctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := cl.Stop(sctx); err != nil {
		g.logger.Warn("jobs still running after the grace period: cancelling them", slog.String("error", err.Error()))
		cctx, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel2()
		if err := cl.StopAndCancel(cctx); err != nil {
			return fmt.Errorf("stop worker: %w", err)
		}
	}
	g.logger.Info("worker stopped")
	return nil
}
