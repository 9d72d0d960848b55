package simkit

import (
	"math/rand/v2"
	"net/http"
	"sync"
)

// Faults is the simulators' fault injection: a fraction of requests answer
// 500, 502 or 503, and about half of the faulted writes are applied before
// the fault (a lost reply). It is safe for concurrent use.
type Faults struct {
	mu       sync.Mutex
	fraction float64
	rng      *rand.Rand
}

// NewFaults returns fault injection for fraction (0..1) of requests, drawing
// from src (seed it for reproducible runs).
func NewFaults(fraction float64, src rand.Source) *Faults {
	return &Faults{fraction: fraction, rng: rand.New(src)}
}

// Set changes the faulted fraction (≤ 0: none).
func (f *Faults) Set(fraction float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fraction = fraction
}

// Draw decides one request's fate: status 0 for no fault, otherwise the
// 500, 502 or 503 to answer and whether a write is applied first.
func (f *Faults) Draw() (status int, apply bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fraction <= 0 || f.rng.Float64() >= f.fraction {
		return 0, false
	}
	codes := [...]int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}
	return codes[f.rng.IntN(len(codes))], f.rng.IntN(2) == 0
}
