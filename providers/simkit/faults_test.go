package simkit

import (
	"context"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	t.Parallel()
	f := NewFaults(0, rand.NewPCG(1, 2))
	for range 100 {
		if st, apply := f.Draw(); st != 0 || apply {
			t.Fatalf("no faults: %d %v", st, apply)
		}
	}
	f.Set(1)
	statuses := map[int]int{}
	applied := 0
	const n = 600
	for range n {
		st, apply := f.Draw()
		statuses[st]++
		if apply {
			applied++
		}
	}
	if len(statuses) != 3 || statuses[500] == 0 || statuses[502] == 0 || statuses[503] == 0 {
		t.Fatalf("want 500, 502 and 503: %v", statuses)
	}
	if applied < n/4 || applied > 3*n/4 {
		t.Fatalf("applied %d of %d faulted writes, want about half", applied, n)
	}
	f.Set(0.25)
	faulted := 0
	for range 4000 {
		if st, _ := f.Draw(); st != 0 {
			faulted++
		}
	}
	if faulted < 800 || faulted > 1200 {
		t.Fatalf("fraction 0.25 faulted %d of 4000", faulted)
	}
}

// TestFaultsReproducible: the same seed draws the same faults.
func TestFaultsReproducible(t *testing.T) {
	t.Parallel()
	a, b := NewFaults(0.5, rand.NewPCG(7, 9)), NewFaults(0.5, rand.NewPCG(7, 9))
	for i := range 200 {
		sa, aa := a.Draw()
		sb, ab := b.Draw()
		if sa != sb || aa != ab {
			t.Fatalf("draw %d differs", i)
		}
	}
}

func TestLatency(t *testing.T) {
	t.Parallel()
	var l Latency
	if l.Get() != 0 || !l.Wait(context.Background()) {
		t.Fatal("zero value must add nothing")
	}
	l.Set(-time.Second)
	if l.Get() != 0 {
		t.Fatal("negative latency must be none")
	}
	l.Set(30 * time.Millisecond)
	start := time.Now()
	if !l.Wait(context.Background()) || time.Since(start) < 30*time.Millisecond {
		t.Fatal("latency not applied")
	}
	l.Set(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if l.Wait(ctx) {
		t.Fatal("a cancelled request must stop waiting")
	}
}

func TestCounters(t *testing.T) {
	t.Parallel()
	var c Counters
	if len(c.Snapshot()) != 0 {
		t.Fatal("zero value must be empty")
	}
	done := make(chan struct{})
	for range 4 {
		go func() {
			for range 100 {
				c.Add("GET /a")
			}
			done <- struct{}{}
		}()
	}
	for range 4 {
		<-done
	}
	c.Add("POST /b")
	snap := c.Snapshot()
	if snap["GET /a"] != 400 || snap["POST /b"] != 1 {
		t.Fatalf("%v", snap)
	}
	snap["GET /a"] = 0
	if c.Snapshot()["GET /a"] != 400 {
		t.Fatal("Snapshot must be a copy")
	}
}

func TestDiscard(t *testing.T) {
	t.Parallel()
	var w http.ResponseWriter = &Discard{}
	w.Header().Set("X", "y")
	w.WriteHeader(http.StatusCreated)
	if n, err := w.Write([]byte("abc")); n != 3 || err != nil {
		t.Fatalf("%d %v", n, err)
	}
	if w.Header().Get("X") != "y" {
		t.Fatal("header lost")
	}
}

func TestControls(t *testing.T) {
	t.Parallel()
	c := NewControls(1, 0, 5*time.Millisecond, nil, rand.NewPCG(1, 1))
	if c.Latency.Get() != 5*time.Millisecond {
		t.Fatal("latency not set")
	}
	if c.Limiter.Admit("k") != 0 || c.Limiter.Admit("k") == 0 {
		t.Fatal("rate limit not set")
	}
	c.SetRateLimit(0)
	if c.Limiter.Admit("k") != 0 {
		t.Fatal("SetRateLimit(0)")
	}
	c.SetFaults(1)
	if st, _ := c.Faults.Draw(); st == 0 {
		t.Fatal("SetFaults(1)")
	}
	c.SetLatency(0)
	if c.Latency.Get() != 0 {
		t.Fatal("SetLatency(0)")
	}
	c.Counters.Add("GET /x")
	if c.Requests()["GET /x"] != 1 {
		t.Fatal("Requests")
	}
}
