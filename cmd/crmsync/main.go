// Command crmsync keeps the same people in step across several CRMs. Run
// `crmsync --help` for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/crmsync/crmsync/internal/app"
	"github.com/crmsync/crmsync/internal/config"
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	usage   string
	run     func(ctx context.Context, g *globals, args []string) error
}

// globals are the flags every command takes.
type globals struct {
	configPath string
	logLevel   string
	stdout     io.Writer
	stderr     io.Writer
	logger     *slog.Logger
}

func (g *globals) loadConfig() (*config.Config, error) {
	return config.Load(g.configPath)
}

// openApp loads the config and wires crmsync on its database; the caller
// closes it.
func (g *globals) openApp(ctx context.Context) (*app.App, error) {
	cfg, err := g.loadConfig()
	if err != nil {
		return nil, err
	}
	return app.Open(ctx, cfg, g.logger)
}

// allCommands lists the subcommands.
func allCommands() []command {
	return []command{
		{"migrate", "apply River's and crmsync's database migrations (idempotent, safe to run concurrently)", "crmsync migrate", runMigrate},
		{"worker", "run a worker: polls, pushes and resyncs, until SIGINT/SIGTERM", "crmsync worker [--http ADDR] [--workers N]", runWorker},
		{"resync", "enqueue a full resync run (the admin job) and optionally wait for it", "crmsync resync [--connection NAME]... [--wait] [--dry-run]", runResync},
		{"status", "show per-connection sync state, queues, writes, skips and the last resync", "crmsync status [--json]", runStatus},
		{"simulate", "serve one CRM simulator standalone, seeded with generated people", "crmsync simulate PROVIDER [--addr 127.0.0.1:PORT] [--people N] [--seed S]", runSimulate},
		{"demo", "the main job on an embedded default: four simulated CRMs converge on an embedded Postgres", "crmsync demo [--once] [--people N]", runDemo},
		{"bench", "measure a full resync of N simulated people against its lower bound, and propagation latency", "crmsync bench [flags]", runBench},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g := &globals{stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("crmsync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&g.configPath, "config", "", "config file (default $CRMSYNC_CONFIG, else ./crmsync.yaml)")
	fs.StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.Usage = func() { usage(stderr, fs) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	rest := fs.Args()
	if len(rest) == 0 {
		usage(stderr, fs)
		return 2
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(g.logLevel)); err != nil {
		fmt.Fprintf(stderr, "crmsync: --log-level: %v\n", err)
		return 2
	}
	g.logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	slog.SetDefault(g.logger)
	name := rest[0]
	if name == "help" {
		usage(stdout, fs)
		return 0
	}
	for _, c := range allCommands() {
		if c.name == name {
			if err := c.run(ctx, g, rest[1:]); err != nil {
				if errors.Is(err, flag.ErrHelp) {
					return 0
				}
				var ue usageError
				if errors.As(err, &ue) {
					fmt.Fprintf(stderr, "crmsync %s: %v\nusage: %s\n", name, err, c.usage)
					return 2
				}
				fmt.Fprintf(stderr, "crmsync %s: %v\n", name, err)
				return 1
			}
			return 0
		}
	}
	fmt.Fprintf(stderr, "crmsync: unknown command %q\n\n", name)
	usage(stderr, fs)
	return 2
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "crmsync keeps the same people in step across several CRMs (NextLead, Skarbe, Epixel, Ligo).\n\n")
	fmt.Fprintf(w, "Usage: crmsync [--config FILE] [--log-level LEVEL] COMMAND [flags]\n\nCommands:\n")
	cs := allCommands()
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nGlobal flags:\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprintf(w, "\nRun `crmsync COMMAND --help` for a command's flags.\n")
}

// newFlags returns a command's flag set with its usage line.
func newFlags(g *globals, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("crmsync "+name, flag.ContinueOnError)
	fs.SetOutput(g.stderr)
	for _, c := range allCommands() {
		if c.name == name {
			fs.Usage = func() {
				fmt.Fprintf(g.stderr, "%s\n\n%s\n\nFlags:\n", c.summary, c.usage)
				fs.PrintDefaults()
			}
		}
	}
	return fs
}

// multiFlag collects a repeated string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
