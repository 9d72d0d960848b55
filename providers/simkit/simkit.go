// Package simkit is the shared machinery of the CRM simulators
// (providers/<name>/<name>test): the per-credential sliding-window rate
// limit, fault injection, added latency, request counters by route template
// and a hand-written JSON string encoder.
//
// simkit decides; the simulator renders. A Limiter says how long a refused
// request must wait, Faults say which 5xx to answer and whether a write is
// applied first, but the body of a 429 or a 5xx is each CRM's own format
// (providers.md) and is written by its simulator.
package simkit

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Latency is a delay added to every answer. The zero value adds none; it is
// safe for concurrent use.
type Latency struct{ d atomic.Int64 }

// Set makes every answer wait d (d ≤ 0: none).
func (l *Latency) Set(d time.Duration) { l.d.Store(int64(max(d, 0))) }

// Get returns the current delay.
func (l *Latency) Get() time.Duration { return time.Duration(l.d.Load()) }

// Wait sleeps for the current delay. It returns false, early, when ctx is
// done first (the client went away: the simulator answers nothing).
func (l *Latency) Wait(ctx context.Context) bool {
	d := l.Get()
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Counters count answered requests by key (a route template such as
// "GET /api/contacts/{id}"). The zero value is ready; it is safe for
// concurrent use.
type Counters struct {
	mu sync.Mutex
	m  map[string]int64
}

// Add counts one request under key.
func (c *Counters) Add(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int64{}
	}
	c.m[key]++
}

// Snapshot returns a copy of the counts.
func (c *Counters) Snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.m))
	for k, v := range c.m {
		out[k] = v
	}
	return out
}

// Discard is an http.ResponseWriter that drops everything written: the
// answer of a faulted write that is applied but whose reply is lost. The
// zero value is ready.
type Discard struct{ h http.Header }

// Header returns a header map nobody reads.
func (d *Discard) Header() http.Header {
	if d.h == nil {
		d.h = http.Header{}
	}
	return d.h
}

// Write drops b.
func (d *Discard) Write(b []byte) (int, error) { return len(b), nil }

// WriteHeader drops the status.
func (d *Discard) WriteHeader(int) {}
