package simulate

import (
	"context"
	"errors"
	"iter"
	"sync"
	"time"

	"github.com/crmsync/crmsync/internal/procstat"
	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers"
)

// Instance is a seeded simulator as the bench drives it, in this process
// (Local) or in a child process (Process, through its admin routes). What
// it answers through it is never counted in Requests.
type Instance interface {
	// Kind, URL and Credentials are the simulator's.
	Kind() string
	URL() string
	Credentials() map[string]string
	// Records streams every live record in listing order; ranging over it
	// again reads the records again.
	Records(ctx context.Context) iter.Seq2[providers.Record, error]
	// Requests returns the answered requests by route template.
	Requests(ctx context.Context) (map[string]int64, error)
	// SetLatency adds d to every answer.
	SetLatency(ctx context.Context, d time.Duration) error
	// MarkBaseline remembers the records as they are now (hashed over
	// holds) and returns how many there are.
	MarkBaseline(ctx context.Context, holds mapping.FieldSet) (int, error)
	// Writes counts the records created or changed since MarkBaseline.
	Writes(ctx context.Context) (Writes, error)
	// PeakRSS returns the peak resident set size of the process that holds
	// the simulator, in bytes.
	PeakRSS(ctx context.Context) (int64, error)
	// Close stops the simulator (and its process).
	Close() error
}

// errNoBaseline is Writes before MarkBaseline.
var errNoBaseline = errors.New("no baseline: mark one first")

// Local is an Instance in this process. Its methods are also what the admin
// routes of a `crmsync simulate` process serve (AdminHandler).
type Local struct {
	sim providers.Simulator

	mu   sync.Mutex
	base *Baseline
}

var _ Instance = (*Local)(nil)

// NewLocal wraps sim; Close closes it.
func NewLocal(sim providers.Simulator) *Local { return &Local{sim: sim} }

// Sim returns the simulator itself.
func (l *Local) Sim() providers.Simulator { return l.sim }

// Kind returns the simulator's kind.
func (l *Local) Kind() string { return l.sim.Kind() }

// URL returns the simulator's base URL.
func (l *Local) URL() string { return l.sim.URL() }

// Credentials returns the credentials the simulator accepts.
func (l *Local) Credentials() map[string]string { return l.sim.Credentials() }

// Records streams the simulator's records (see the package function
// Records); it never fails.
func (l *Local) Records(ctx context.Context) iter.Seq2[providers.Record, error] {
	return func(yield func(providers.Record, error) bool) {
		for r := range Records(l.sim) {
			if err := ctx.Err(); err != nil {
				yield(providers.Record{}, err)
				return
			}
			if !yield(r, nil) {
				return
			}
		}
	}
}

// Requests returns the simulator's request counts.
func (l *Local) Requests(context.Context) (map[string]int64, error) { return l.sim.Requests(), nil }

// SetLatency sets the simulator's added latency.
func (l *Local) SetLatency(_ context.Context, d time.Duration) error {
	l.sim.SetLatency(d)
	return nil
}

// MarkBaseline remembers the records as they are now, hashed over holds.
func (l *Local) MarkBaseline(_ context.Context, holds mapping.FieldSet) (int, error) {
	b := NewBaseline(Records(l.sim), holds)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.base = b
	return b.Len(), nil
}

// Writes counts the records created or changed since MarkBaseline.
func (l *Local) Writes(context.Context) (Writes, error) {
	l.mu.Lock()
	b := l.base
	l.mu.Unlock()
	if b == nil {
		return Writes{}, errNoBaseline
	}
	return b.Writes(Records(l.sim)), nil
}

// PeakRSS returns this process's peak RSS.
func (l *Local) PeakRSS(context.Context) (int64, error) { return procstat.PeakRSS(), nil }

// Close closes the simulator.
func (l *Local) Close() error {
	l.sim.Close()
	return nil
}
