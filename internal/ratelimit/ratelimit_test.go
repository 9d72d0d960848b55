package ratelimit_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/pgtest"
	"github.com/crmsync/crmsync/internal/ratelimit"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestLimitHoldsAcrossLimiters runs three limiters (as three worker
// processes would) on one connection and checks, from the server's side,
// that no sliding one-second window saw more than the limit.
func TestLimitHoldsAcrossLimiters(t *testing.T) {
	pool := pgtest.New(t)
	var mu sync.Mutex
	var arrivals []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
	}))
	defer srv.Close()

	const limit = 20
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for range 3 {
		client := &http.Client{Transport: ratelimit.New(pool, 7, limit).Transport(nil)}
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
					resp, err := client.Do(req)
					if err != nil {
						return
					}
					resp.Body.Close()
				}
			}()
		}
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	sort.Slice(arrivals, func(i, j int) bool { return arrivals[i].Before(arrivals[j]) })
	if len(arrivals) < 2*limit {
		t.Fatalf("only %d requests in 3 s: the limiter is starving callers", len(arrivals))
	}
	worst := 0
	for i := range arrivals {
		j := i
		for j < len(arrivals) && arrivals[j].Sub(arrivals[i]) < time.Second {
			j++
		}
		worst = max(worst, j-i)
	}
	if worst > limit {
		t.Fatalf("%d requests arrived within one second, limit %d", worst, limit)
	}
	t.Logf("%d requests in 3 s, at most %d in any one-second window (limit %d)", len(arrivals), worst, limit)
}
