// Package ratelimit is a fleet-wide rate limiter shared through Postgres:
// every crmsync worker process that calls one CRM connection takes its
// request slots from the same table, so `rate_limit: N/s` holds across the
// whole fleet, in any sliding window, not per process.
package ratelimit

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Limiter grants request slots for one connection.
type Limiter struct {
	pool   *pgxpool.Pool
	connID int16
	// burst requests are allowed in any window.
	burst  int
	window time.Duration
	// Waits counts how many acquisitions had to wait (for metrics).
	OnWait func(d time.Duration)
}

// Margin widens the window a little, so that requests granted at the edge of
// a window still arrive at the CRM in separate windows despite network and
// scheduling jitter (the commit, a new connection's dial, a busy machine).
// Three workers, Postgres and the simulators on two cores saw 21 requests
// reach the CRM in one second with 60 ms, and again, now and then, with
// 150 ms. The cost is throughput at the limit: 20/s becomes 20 per 1.25 s.
const Margin = 250 * time.Millisecond

// New returns a limiter allowing rate requests per second for connection
// connID; rate below 1 allows one request per 1/rate seconds.
func New(pool *pgxpool.Pool, connID int16, rate float64) *Limiter {
	burst := int(math.Floor(rate))
	window := time.Second
	if burst < 1 {
		burst = 1
		window = time.Duration(float64(time.Second) / rate)
	}
	return &Limiter{pool: pool, connID: connID, burst: burst, window: window + Margin}
}

// Wait blocks until a request slot is granted or ctx ends.
func (l *Limiter) Wait(ctx context.Context) error {
	for {
		wait, err := l.try(ctx)
		if err != nil {
			return err
		}
		if wait <= 0 {
			return nil
		}
		if l.OnWait != nil {
			l.OnWait(wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// try takes a slot if one is free and returns 0, or returns how long to wait.
// It runs under a transaction advisory lock per connection, with the
// database's clock, so all processes agree.
func (l *Limiter) try(ctx context.Context) (time.Duration, error) {
	tx, err := l.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("rate limit: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, $2)", int32(0x726c), int32(l.connID)); err != nil {
		return 0, fmt.Errorf("rate limit: lock: %w", err)
	}
	var n int
	var waitMicros int64
	err = tx.QueryRow(ctx, `WITH recent AS (
			SELECT at FROM crmsync_rate_grant WHERE connection_id = $1 AND at > clock_timestamp() - $2::interval
			ORDER BY at DESC LIMIT $3)
		SELECT count(*), coalesce((extract(epoch FROM (min(at) + $2::interval - clock_timestamp())) * 1e6)::bigint, 0) FROM recent`,
		l.connID, l.window.String(), l.burst).Scan(&n, &waitMicros)
	if err != nil {
		return 0, fmt.Errorf("rate limit: read window: %w", err)
	}
	if n >= l.burst {
		return max(time.Duration(waitMicros)*time.Microsecond, time.Millisecond), tx.Commit(ctx)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO crmsync_rate_grant (connection_id, at) VALUES ($1, clock_timestamp())`, l.connID); err != nil {
		return 0, fmt.Errorf("rate limit: grant: %w", err)
	}
	if rand.IntN(50) == 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM crmsync_rate_grant WHERE connection_id = $1 AND at < clock_timestamp() - interval '30 seconds'`, l.connID); err != nil {
			return 0, fmt.Errorf("rate limit: prune: %w", err)
		}
	}
	return 0, tx.Commit(ctx)
}

// Transport wraps next so that every request first waits for a slot.
func (l *Limiter) Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripper{l: l, next: next}
}

type roundTripper struct {
	l    *Limiter
	next http.RoundTripper
}

func (rt roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := rt.l.Wait(req.Context()); err != nil {
		return nil, fmt.Errorf("wait for rate limit slot: %w", err)
	}
	return rt.next.RoundTrip(req)
}
