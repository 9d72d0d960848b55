package simkit

import (
	"math"
	"sync"
	"time"
)

// Limiter is the simulators' rate limit: at most N accepted requests per
// key (a credential) in any sliding one-second window. Refused requests do
// not use up the quota. It is safe for concurrent use.
type Limiter struct {
	now     func() time.Time
	mu      sync.Mutex
	limit   int
	windows map[string][]time.Time // key → accepted request times in the last second
}

// NewLimiter returns a limiter of limit requests per second and key (≤ 0:
// no limit) reading the clock now (nil: time.Now).
func NewLimiter(limit int, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{now: now, limit: limit, windows: map[string][]time.Time{}}
}

// SetLimit changes the limit (≤ 0: none) and forgets the requests accepted
// so far.
func (l *Limiter) SetLimit(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.limit = n
	clear(l.windows)
}

// Admit applies the limit to one request of key. It returns 0 when the
// request is accepted (and recorded), otherwise the whole seconds until a
// slot frees, at least 1: the Retry-After of the 429 to answer.
func (l *Limiter) Admit(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.limit <= 0 {
		return 0
	}
	now := l.now()
	w := l.windows[key]
	n := 0
	for n < len(w) && now.Sub(w[n]) >= time.Second {
		n++
	}
	w = w[n:]
	if len(w) >= l.limit {
		l.windows[key] = w
		wait := w[len(w)-l.limit].Add(time.Second).Sub(now)
		return max(int(math.Ceil(wait.Seconds())), 1)
	}
	l.windows[key] = append(w, now)
	return 0
}
