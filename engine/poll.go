package engine

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crmsync/crmsync/providers"
)

// PollStats counts what one poll did.
type PollStats struct {
	IngestStats
	Deleted int
}

// Poll reads connection c's changes since its stored checkpoint, ingests
// them in batches, detects deletions, and stores the new checkpoint. The
// checkpoint is stored only after every change was applied, so a poll
// killed midway is simply redone (ingest is idempotent).
func (e *Engine) Poll(ctx context.Context, c *Conn) (PollStats, error) {
	var stats PollStats
	start, err := e.dbNow(ctx)
	if err != nil {
		return stats, fmt.Errorf("poll %s: %w", c.Name(), err)
	}
	var checkpoint []byte
	err = e.pool.QueryRow(ctx, `SELECT checkpoint FROM crmsync_sync_state WHERE connection_id = $1`, c.ID).Scan(&checkpoint)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return stats, fmt.Errorf("poll %s: read checkpoint: %w", c.Name(), err)
	}
	_, _ = e.pool.Exec(ctx, `INSERT INTO crmsync_sync_state (connection_id, last_poll_at) VALUES ($1, now())
		ON CONFLICT (connection_id) DO UPDATE SET last_poll_at = now()`, c.ID)

	seed := maphash.MakeSeed()
	seen := make(map[uint64]struct{})
	var batch []providers.Record
	var deletes []string
	var ids []string
	var hashes []uint64
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		st, err := e.Ingest(ctx, c, batch, IngestOptions{ListedAt: start})
		if err != nil {
			return err
		}
		stats.Add(st)
		e.seen.remember(c.ID, ids, hashes)
		batch, ids, hashes = batch[:0], ids[:0], hashes[:0]
		return nil
	}
	res, err := c.Provider.Changes(ctx, checkpoint, func(ch providers.Change) error {
		switch ch.Kind {
		case providers.ChangeUpsert:
			seen[maphash.String(seed, ch.Record.ID)] = struct{}{}
			stats.Records++
			h := e.seen.fingerprint(&ch.Record)
			if e.seen.unchanged(c.ID, &ch.Record, h) {
				stats.Unchanged++
				return nil
			}
			ids, hashes = append(ids, ch.Record.ID), append(hashes, h)
			stats.Records--
			batch = append(batch, ch.Record)
			if len(batch) >= e.BatchSize {
				return flush()
			}
		case providers.ChangeDelete:
			deletes = append(deletes, ch.Record.ID)
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		_, _ = e.pool.Exec(context.WithoutCancel(ctx), `UPDATE crmsync_sync_state SET last_error = $2 WHERE connection_id = $1`, c.ID, err.Error())
		return stats, fmt.Errorf("poll %s: %w", c.Name(), err)
	}
	if res.Complete {
		missing, err := e.missingLinks(ctx, c, seen, seed, start)
		if err != nil {
			return stats, fmt.Errorf("poll %s: %w", c.Name(), err)
		}
		for _, id := range missing {
			if c.Caps.Get {
				_, gerr := c.Provider.Get(ctx, id)
				if gerr == nil {
					continue // moved between pages while listing
				}
				if providers.ClassOf(gerr) != providers.ClassNotFound {
					return stats, fmt.Errorf("poll %s: confirm delete of %s: %w", c.Name(), id, gerr)
				}
			}
			deletes = append(deletes, id)
		}
	}
	e.seen.forget(c.ID, deletes)
	n, err := e.MarkDeleted(ctx, c, deletes)
	if err != nil {
		return stats, fmt.Errorf("poll %s: %w", c.Name(), err)
	}
	stats.Deleted = n
	if _, err := e.pool.Exec(ctx, `UPDATE crmsync_sync_state SET checkpoint = $2, last_poll_ok_at = $3, last_error = NULL,
		records_seen = records_seen + $4 WHERE connection_id = $1`, c.ID, res.Checkpoint, start, stats.Records); err != nil {
		return stats, fmt.Errorf("poll %s: store checkpoint: %w", c.Name(), err)
	}
	if len(stats.Issues) > 0 {
		e.logger.InfoContext(ctx, "unmapped values", slog.String("connection", c.Name()), slog.Int("count", len(stats.Issues)),
			slog.String("first", stats.Issues[0]))
	}
	return stats, nil
}

// missingLinks streams the live links of c older than since and returns
// those whose remote ID was not seen.
func (e *Engine) missingLinks(ctx context.Context, c *Conn, seen map[uint64]struct{}, seed maphash.Seed, since time.Time) ([]string, error) {
	rows, err := e.pool.Query(ctx, `SELECT remote_id FROM crmsync_link WHERE connection_id = $1 AND deleted_at IS NULL AND seen_at < $2`, c.ID, since)
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		if _, ok := seen[maphash.String(seed, id)]; !ok {
			out = append(out, id)
		}
	}
	return out, rows.Err()
}
