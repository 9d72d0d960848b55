package simulate

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/crmsync/crmsync/internal/dataset"
	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers"
)

// seedBatch is how many people Run seeds at a time, so that a large dataset
// is never held in memory whole.
const seedBatch = 10_000

// Options configure Run.
type Options struct {
	// Kind is the provider simulated; Addr its listen address ("" means
	// 127.0.0.1:0).
	Kind string
	Addr string
	// People and Seed choose the dataset: the simulator is seeded with
	// Kind's share of its first People people.
	People int
	Seed   int64
	// Latency is added to every answer.
	Latency time.Duration
	// AdminAddr, when set, serves the admin routes (AdminHandler) there,
	// with AdminToken ("" means a random one, printed).
	AdminAddr  string
	AdminToken string
	// ReadyJSON prints one JSON line (Ready) once serving, instead of the
	// text for people.
	ReadyJSON bool
}

// RegisterFlags defines `crmsync simulate`'s flags on fs, into o.
func (o *Options) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:0", "address to listen on")
	fs.IntVar(&o.People, "people", 100, "people in the generated dataset (this CRM gets its share)")
	fs.Int64Var(&o.Seed, "seed", 1, "dataset seed (simulators started with the same seed share overlapping people)")
	fs.DurationVar(&o.Latency, "latency", 0, "latency added to every answer")
	fs.StringVar(&o.AdminAddr, "admin-addr", "", "also serve the admin routes (records, request counts, latency, baseline, writes, peak RSS) on ADDR")
	fs.StringVar(&o.AdminToken, "admin-token", "", "bearer token of the admin routes (default: a random one, printed)")
	fs.BoolVar(&o.ReadyJSON, "ready-json", false, "once serving, print one JSON line (url, credentials, admin_url, admin_token, records, pid)")
}

// RunArgs is Run from the arguments StartProcess gives a child, "KIND
// [flags]": what a test binary standing in for `crmsync simulate` runs.
func RunArgs(ctx context.Context, out io.Writer, args []string) error {
	if len(args) == 0 {
		return errors.New("simulate: PROVIDER is required")
	}
	var o Options
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	o.RegisterFlags(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	o.Kind = args[0]
	return Run(ctx, out, o)
}

// Ready is the line Run prints with ReadyJSON once the simulator is seeded
// and serving.
type Ready struct {
	Kind        string            `json:"kind"`
	PID         int               `json:"pid"`
	URL         string            `json:"url"`
	Credentials map[string]string `json:"credentials"`
	AdminURL    string            `json:"admin_url,omitempty"`
	AdminToken  string            `json:"admin_token,omitempty"`
	// Records is how many records were seeded.
	Records int   `json:"records"`
	People  int   `json:"people"`
	Seed    int64 `json:"seed"`
}

// Run starts the simulator of opts.Kind, seeds it with that CRM's share of
// the dataset, starts the admin routes when asked, prints its base URL and
// credentials (and for Ligo a ready curl line) or the Ready line to out, and
// serves until ctx ends.
func Run(ctx context.Context, out io.Writer, opts Options) error {
	sim, err := NewSimulator(opts.Kind, opts.Addr)
	if err != nil {
		return err
	}
	defer sim.Close()
	n, err := SeedDataset(sim, opts.Kind, opts.People, opts.Seed)
	if err != nil {
		return err
	}
	sim.SetLatency(opts.Latency)
	ready := Ready{Kind: opts.Kind, PID: os.Getpid(), URL: sim.URL(), Credentials: sim.Credentials(), Records: n,
		People: opts.People, Seed: opts.Seed}
	if opts.AdminAddr != "" {
		stop, err := serveAdmin(NewLocal(sim), &opts, &ready)
		if err != nil {
			return err
		}
		defer stop()
	}
	if opts.ReadyJSON {
		err = json.NewEncoder(out).Encode(ready)
	} else {
		err = printInfo(out, sim, &ready)
	}
	if err != nil {
		return fmt.Errorf("print simulator info: %w", err)
	}
	<-ctx.Done()
	return nil
}

// serveAdmin serves the admin routes over l on opts.AdminAddr and fills in
// ready's admin URL and token; stop closes the listener.
func serveAdmin(l *Local, opts *Options, ready *Ready) (stop func(), err error) {
	token := opts.AdminToken
	if token == "" {
		if token, err = NewAdminToken(); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", opts.AdminAddr)
	if err != nil {
		return nil, fmt.Errorf("admin routes: listen %s: %w", opts.AdminAddr, err)
	}
	srv := &http.Server{Handler: AdminHandler(l, token), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	ready.AdminURL, ready.AdminToken = "http://"+ln.Addr().String(), token
	return func() { _ = srv.Close() }, nil
}

// SeedDataset seeds sim with the records of CRM kind among the first people
// people of the dataset of seed, in batches, and returns how many records it
// seeded.
func SeedDataset(sim providers.Simulator, kind string, people int, seed int64) (int, error) {
	batch := make([]mapping.Person, 0, min(seedBatch, people))
	total := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if _, err := sim.Seed(batch); err != nil {
			return fmt.Errorf("seed %s simulator (records %d to %d): %w", kind, total, total+len(batch), err)
		}
		total += len(batch)
		batch = batch[:0]
		return nil
	}
	for _, pl := range dataset.All(seed, people) {
		for _, r := range pl.Records {
			if r.Kind != kind {
				continue
			}
			batch = append(batch, r.Person)
			if len(batch) == seedBatch {
				if err := flush(); err != nil {
					return total, err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return total, err
	}
	return total, nil
}

func printInfo(out io.Writer, sim providers.Simulator, ready *Ready) error {
	_, err := fmt.Fprintf(out, "%s simulator serving at %s\n", ready.Kind, ready.URL)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "seeded %d records (dataset of %d people, seed %d)\n", ready.Records, ready.People, ready.Seed)
	fmt.Fprintf(out, "base_url: %s\ncredentials:\n", ready.URL)
	for _, k := range slices.Sorted(maps.Keys(ready.Credentials)) {
		fmt.Fprintf(out, "  %s: %s\n", k, ready.Credentials[k])
	}
	if ready.AdminURL != "" {
		fmt.Fprintf(out, "admin: %s/admin/… with Authorization: Bearer %s\n", ready.AdminURL, ready.AdminToken)
	}
	if sim.Kind() == "ligo" {
		fmt.Fprintf(out, "try: curl -H 'Authorization: Bearer %s' '%s/api/contacts?page=1'\n", ready.Credentials["token"], ready.URL)
	}
	_, err = fmt.Fprintln(out, "serving until interrupted")
	return err
}
