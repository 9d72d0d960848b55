package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/crmsync/crmsync/providers"
)

// groupMaxRecords bounds the records of one grouped ingest transaction:
// four listings' batches of the default ListBatchSize.
const groupMaxRecords = 8000

// groupTimeout bounds one grouped ingest transaction. It runs detached from
// the caller's context (it carries other callers' batches too), so that a
// listing cancelled mid-run does not fail the others' batches.
const groupTimeout = 2 * time.Minute

// ingestGroup is the group commit of the resync listings' batches in this
// process: batches that wait for the fleet-wide ingest lock at the same
// time are ingested together, one transaction and one lock hold for all,
// in the order they arrived, at most one batch per connection. One
// goroutine runs the groups while batches are pending, and ends when none
// is. Fewer, larger transactions hold the lock for less time in all; a
// person whose records meet in one group is also written once instead of
// inserted and then updated, though at 100k that spared few updates
// (64,503 → 60,584 rows): the CRMs list the same people at different
// times.
type ingestGroup struct {
	mu      sync.Mutex
	pending []*groupReq
	running bool
}

type groupReq struct {
	part *ingestPart
	done chan error
}

// prepareGrouped is the first part of Ingest for a resync's listing
// (nothing queued): the batch is prepared outside the lock, ready for
// enqueueGrouped.
func (e *Engine) prepareGrouped(ctx context.Context, c *Conn, recs []providers.Record, listedAt time.Time) (*groupReq, error) {
	prep, err := e.prepareIngest(ctx, e.pool, c, recs)
	if err != nil {
		return nil, fmt.Errorf("ingest %s: %w", c.Name(), err)
	}
	return &groupReq{part: &ingestPart{c: c, b: prep, listedAt: listedAt}, done: make(chan error, 1)}, nil
}

// enqueueGrouped queues req's batch to be ingested with whatever batches of
// other listings wait alongside it; req.wait gives the outcome. A caller
// that gives up (its context ends) leaves its batch to be ingested all the
// same: the records were listed.
func (e *Engine) enqueueGrouped(ctx context.Context, req *groupReq) {
	g := &e.group
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pending = append(g.pending, req)
	if !g.running {
		g.running = true
		go e.runGroups(context.WithoutCancel(ctx))
	}
}

// wait waits for r's batch to be ingested and returns what it did.
func (r *groupReq) wait(ctx context.Context) (IngestStats, error) {
	c := r.part.c
	select {
	case err := <-r.done:
		if err != nil {
			return r.part.stats, fmt.Errorf("ingest %s: %w", c.Name(), err)
		}
		return r.part.stats, nil
	case <-ctx.Done():
		return IngestStats{}, fmt.Errorf("ingest %s: %w", c.Name(), ctx.Err())
	}
}

// runGroups runs grouped transactions until no batch is pending.
func (e *Engine) runGroups(ctx context.Context) {
	g := &e.group
	for {
		g.mu.Lock()
		take := g.take()
		if len(take) == 0 {
			g.running = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		err := e.ingestGroupTx(ctx, take)
		for _, r := range take {
			r.done <- err
		}
	}
}

// take removes and returns the next group: pending batches in arrival
// order, one per connection, up to groupMaxRecords records.
func (g *ingestGroup) take() []*groupReq {
	var take, rest []*groupReq
	seen := map[int16]bool{}
	n := 0
	for _, r := range g.pending {
		if seen[r.part.c.ID] || (len(take) > 0 && n+len(r.part.b.recs) > groupMaxRecords) {
			rest = append(rest, r)
			continue
		}
		seen[r.part.c.ID] = true
		n += len(r.part.b.recs)
		take = append(take, r)
	}
	g.pending = rest
	return take
}

func (e *Engine) ingestGroupTx(ctx context.Context, reqs []*groupReq) error {
	ctx, cancel := context.WithTimeout(ctx, groupTimeout)
	defer cancel()
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	parts := make([]*ingestPart, len(reqs))
	for i, r := range reqs {
		parts[i] = r.part
	}
	if err := e.ingestLocked(ctx, tx, parts, false); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
