package main

import (
	"context"
	"fmt"

	"github.com/crmsync/crmsync/internal/app"
	"github.com/crmsync/crmsync/schema"
)

func runMigrate(ctx context.Context, g *globals, args []string) error {
	fs := newFlags(g, "migrate")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := g.loadConfig()
	if err != nil {
		return err
	}
	pool, err := app.Connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	res, err := schema.Migrate(ctx, pool, g.logger)
	if err != nil {
		return err
	}
	if len(res.River)+len(res.Crmsync) == 0 {
		fmt.Fprintln(g.stdout, "schema is up to date")
		return nil
	}
	fmt.Fprintf(g.stdout, "applied River migrations %v and crmsync migrations %v\n", res.River, res.Crmsync)
	return nil
}
