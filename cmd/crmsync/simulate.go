package main

import (
	"context"

	"github.com/crmsync/crmsync/internal/simulate"
)

func runSimulate(ctx context.Context, g *globals, args []string) error {
	fs := newFlags(g, "simulate")
	var o simulate.Options
	o.RegisterFlags(fs)
	// Accept flags after the provider too: `simulate ligo --people 100`.
	if err := fs.Parse(args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) < 1 {
		return usageError{"PROVIDER is required (nextlead, skarbe, epixel or ligo)"}
	}
	o.Kind = rest[0]
	if err := fs.Parse(rest[1:]); err != nil {
		return err
	}
	if len(fs.Args()) > 0 {
		return usageError{"unexpected arguments " + fs.Arg(0)}
	}
	return simulate.Run(ctx, g.stdout, o)
}
