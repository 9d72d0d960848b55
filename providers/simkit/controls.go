package simkit

import (
	"math/rand/v2"
	"time"
)

// Controls bundles the knobs every simulator has. Embedded (as a pointer) in
// a simulator's server, its methods give the server providers.Simulator's
// SetRateLimit, SetFaults, SetLatency and Requests; the server's handler
// uses the parts: Counters.Add, Latency.Wait, Limiter.Admit, Faults.Draw.
type Controls struct {
	// Limiter is the per-credential rate limit.
	Limiter *Limiter
	// Faults is the fault injection.
	Faults *Faults
	// Latency is added to every answer.
	Latency Latency
	// Counters count answered requests by route template.
	Counters Counters
}

// NewControls returns controls with the given initial rate limit (≤ 0:
// none), faulted fraction and latency, reading the clock now (nil: time.Now)
// and drawing faults from src.
func NewControls(rateLimit int, faultFraction float64, latency time.Duration, now func() time.Time, src rand.Source) *Controls {
	c := &Controls{Limiter: NewLimiter(rateLimit, now), Faults: NewFaults(faultFraction, src)}
	c.Latency.Set(latency)
	return c
}

// SetRateLimit limits accepted requests to n in any sliding second per
// credential (0: no limit); over it the simulator answers 429 +
// Retry-After.
func (c *Controls) SetRateLimit(n int) { c.Limiter.SetLimit(n) }

// SetFaults makes fraction (0..1) of requests answer 500, 502 or 503; about
// half the faulted writes are applied first (a lost reply).
func (c *Controls) SetFaults(fraction float64) { c.Faults.Set(fraction) }

// SetLatency adds d to every answer.
func (c *Controls) SetLatency(d time.Duration) { c.Latency.Set(d) }

// Requests returns the answered requests by route template, 401s, 429s and
// faults included.
func (c *Controls) Requests() map[string]int64 { return c.Counters.Snapshot() }
