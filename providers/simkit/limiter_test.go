package simkit

import (
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestLimiter(t *testing.T) {
	t.Parallel()
	c := newFakeClock()
	l := NewLimiter(2, c.Now)
	steps := []struct {
		advance time.Duration
		key     string
		want    int
	}{
		{0, "a", 0},
		{300 * time.Millisecond, "a", 0},
		{0, "a", 1}, // refused: the first slot frees in 700 ms → 1 s
		{0, "a", 1}, // refused requests do not use the quota
		{0, "b", 0}, // per key
		{699 * time.Millisecond, "a", 1},
		{time.Millisecond, "a", 0}, // the first slot freed exactly one second later
		{0, "a", 1},
	}
	for i, s := range steps {
		c.Advance(s.advance)
		if got := l.Admit(s.key); got != s.want {
			t.Fatalf("step %d: Admit(%q) = %d, want %d", i, s.key, got, s.want)
		}
	}
	l.SetLimit(0)
	for range 10 {
		if got := l.Admit("a"); got != 0 {
			t.Fatalf("no limit: %d", got)
		}
	}
	l.SetLimit(1) // forgets what was accepted
	if got := l.Admit("a"); got != 0 {
		t.Fatalf("after SetLimit: %d", got)
	}
	if got := l.Admit("a"); got != 1 {
		t.Fatalf("over the new limit: %d", got)
	}
}

func TestLimiterWholeSeconds(t *testing.T) {
	t.Parallel()
	c := newFakeClock()
	l := NewLimiter(3, c.Now)
	for range 3 {
		l.Admit("k")
		c.Advance(10 * time.Millisecond)
	}
	if got := l.Admit("k"); got != 1 {
		t.Fatalf("retry after %d, want 1", got)
	}
}

func TestLimiterNilClock(t *testing.T) {
	t.Parallel()
	l := NewLimiter(1, nil)
	if l.Admit("k") != 0 {
		t.Fatal("first request refused")
	}
	if w := l.Admit("k"); w != 1 {
		t.Fatalf("second request: %d", w)
	}
}

// TestLimiterProperty: in any sliding second no more than N requests of a
// key are accepted, and a refused request's wait is at least 1 and frees a
// slot.
func TestLimiterProperty(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 5).Draw(t, "n")
		c := newFakeClock()
		l := NewLimiter(n, c.Now)
		var accepted []time.Time
		for range rapid.IntRange(1, 60).Draw(t, "requests") {
			c.Advance(time.Duration(rapid.IntRange(0, 400).Draw(t, "gap ms")) * time.Millisecond)
			now := c.Now()
			wait := l.Admit("k")
			inWindow := 0
			for _, at := range accepted {
				if now.Sub(at) < time.Second {
					inWindow++
				}
			}
			if wait == 0 {
				if inWindow >= n {
					t.Fatalf("accepted with %d already in the window (limit %d)", inWindow, n)
				}
				accepted = append(accepted, now)
				continue
			}
			if wait < 1 {
				t.Fatalf("wait %d < 1", wait)
			}
			if inWindow < n {
				t.Fatalf("refused with %d in the window (limit %d)", inWindow, n)
			}
			// After waiting, at least one slot has freed.
			later := now.Add(time.Duration(wait) * time.Second)
			still := 0
			for _, at := range accepted {
				if later.Sub(at) < time.Second {
					still++
				}
			}
			if still >= n {
				t.Fatalf("after the %d s wait %d still in the window (limit %d)", wait, still, n)
			}
		}
	})
}
