package engine

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/crmsync/crmsync/providers"
)

// DryRunReport is what a resync would do, per connection.
type DryRunReport struct {
	Merges  int
	People  int
	PerConn map[string]*DryRunConn
}

// DryRunConn counts one connection's planned writes.
type DryRunConn struct {
	Listed  int
	Creates int
	Updates int
	Deletes int
	// Skips counts skipped writes by reason.
	Skips map[string]int
}

// DryRun lists the named connections (all when none), ingests and plans as
// a resync would, inside one transaction that is rolled back: it calls no
// CRM write route and leaves the database as it was.
func (e *Engine) DryRun(ctx context.Context, names []string) (*DryRunReport, error) {
	conns, err := e.pick(names)
	if err != nil {
		return nil, err
	}
	rep := &DryRunReport{PerConn: map[string]*DryRunConn{}}
	for _, c := range e.conns {
		rep.PerConn[c.Name()] = &DryRunConn{Skips: map[string]int{}}
	}
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("dry run: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	for _, c := range conns {
		batch := make([]providers.Record, 0, e.BatchSize)
		flush := func() error {
			st, err := e.Ingest(ctx, c, batch, IngestOptions{Tx: tx, NoQueue: true})
			rep.Merges += st.Merges
			rep.PerConn[c.Name()].Listed += len(batch)
			batch = batch[:0]
			return err
		}
		for rec, err := range c.Provider.List(ctx) {
			if err != nil {
				return nil, fmt.Errorf("dry run: list %s: %w", c.Name(), err)
			}
			batch = append(batch, rec)
			if len(batch) >= e.BatchSize {
				if err := flush(); err != nil {
					return nil, fmt.Errorf("dry run: %w", err)
				}
			}
		}
		if err := flush(); err != nil {
			return nil, fmt.Errorf("dry run: %w", err)
		}
	}
	var last int64
	for {
		rows, err := tx.Query(ctx, `SELECT id FROM crmsync_person WHERE merged_into IS NULL AND deleted_at IS NULL AND id > $1 ORDER BY id LIMIT 1000`, last)
		if err != nil {
			return nil, fmt.Errorf("dry run: %w", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return nil, fmt.Errorf("dry run: %w", err)
		}
		if len(ids) == 0 {
			break
		}
		last = ids[len(ids)-1]
		rep.People += len(ids)
		for _, c := range e.conns {
			if !c.Writable() {
				continue
			}
			ops, err := e.planBatch(ctx, tx, c, ids, 0, false)
			if err != nil {
				return nil, fmt.Errorf("dry run: plan %s: %w", c.Name(), err)
			}
			dc := rep.PerConn[c.Name()]
			for _, op := range ops {
				switch {
				case op.Skip != "":
					dc.Skips[op.Skip]++
				case op.Kind == OpCreate:
					dc.Creates++
				case op.Kind == OpUpdate && len(op.Fields) > 0:
					dc.Updates++
				case op.Kind == OpDelete:
					dc.Deletes++
				}
			}
		}
	}
	return rep, nil
}

func (e *Engine) pick(names []string) ([]*Conn, error) {
	if len(names) == 0 {
		return e.conns, nil
	}
	var out []*Conn
	for _, n := range names {
		c, ok := e.byName[n]
		if !ok {
			return nil, fmt.Errorf("unknown connection %q", n)
		}
		out = append(out, c)
	}
	return out, nil
}
