package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/sync/errgroup"

	"github.com/crmsync/crmsync/providers"
)

// Run is one resync run and its progress.
type Run struct {
	ID          int64
	Connections []string
	DryRun      bool
	State       string
	Error       string
	CreatedAt   time.Time
	StartedAt   *time.Time
	FinishedAt  *time.Time
	Progress    []RunProgress
}

// RunProgress is a run's progress in one connection.
type RunProgress struct {
	Connection string
	Listed     int64
	ListDone   bool
	Creates    int64
	Updates    int64
	Skips      int64
	Failures   int64
	Queued     int64
}

// ErrRunActive is returned by StartRun when a run is already pending or
// running; the run returned is that one.
var ErrRunActive = errors.New("a resync run is already active")

// StartRun records a new resync run of the named connections (all when
// none). When one is active already, it returns that run and ErrRunActive.
func (e *Engine) StartRun(ctx context.Context, names []string) (int64, error) {
	if len(names) == 0 {
		for _, c := range e.conns {
			names = append(names, c.Name())
		}
	}
	for _, n := range names {
		if _, ok := e.byName[n]; !ok {
			return 0, fmt.Errorf("start resync: unknown connection %q", n)
		}
	}
	var id int64
	err := e.pool.QueryRow(ctx, `INSERT INTO crmsync_resync_run (connections) VALUES ($1) RETURNING id`, names).Scan(&id)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		if err := e.pool.QueryRow(ctx, `SELECT id FROM crmsync_resync_run WHERE state IN ('pending','ingesting','pushing')`).Scan(&id); err != nil {
			return 0, fmt.Errorf("start resync: find active run: %w", err)
		}
		return id, ErrRunActive
	}
	if err != nil {
		return 0, fmt.Errorf("start resync: %w", err)
	}
	for _, n := range names {
		if _, err := e.pool.Exec(ctx, `INSERT INTO crmsync_resync_progress (run_id, connection_id) VALUES ($1, $2)`, id, e.byName[n].ID); err != nil {
			return 0, fmt.Errorf("start resync: %w", err)
		}
	}
	return id, nil
}

// GetRun reads a run and its progress; id 0 means the latest run.
func (e *Engine) GetRun(ctx context.Context, id int64) (*Run, error) {
	return e.getRun(ctx, id, true)
}

// GetRunUncounted is GetRun without counting each connection's queue (its
// progress rows carry Queued = -1): counting reads every queued row, which
// a loop that watches a large run must not do every tick.
func (e *Engine) GetRunUncounted(ctx context.Context, id int64) (*Run, error) {
	return e.getRun(ctx, id, false)
}

func (e *Engine) getRun(ctx context.Context, id int64, countQueues bool) (*Run, error) {
	r := &Run{}
	q := `SELECT id, connections, dry_run, state, coalesce(error,''), created_at, started_at, finished_at FROM crmsync_resync_run `
	var row pgx.Row
	if id == 0 {
		row = e.pool.QueryRow(ctx, q+`ORDER BY id DESC LIMIT 1`)
	} else {
		row = e.pool.QueryRow(ctx, q+`WHERE id = $1`, id)
	}
	if err := row.Scan(&r.ID, &r.Connections, &r.DryRun, &r.State, &r.Error, &r.CreatedAt, &r.StartedAt, &r.FinishedAt); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil
		}
		return nil, fmt.Errorf("read run: %w", err)
	}
	rows, err := e.pool.Query(ctx, `SELECT c.name, p.listed, p.list_done, p.creates, p.updates, p.skips, p.failures,
		CASE WHEN $2 THEN (SELECT count(*) FROM crmsync_push_queue q WHERE q.connection_id = p.connection_id) ELSE -1 END
		FROM crmsync_resync_progress p JOIN crmsync_connection c ON c.id = p.connection_id WHERE p.run_id = $1 ORDER BY c.name`, r.ID, countQueues)
	if err != nil {
		return nil, fmt.Errorf("read run progress: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p RunProgress
		if err := rows.Scan(&p.Connection, &p.Listed, &p.ListDone, &p.Creates, &p.Updates, &p.Skips, &p.Failures, &p.Queued); err != nil {
			return nil, err
		}
		r.Progress = append(r.Progress, p)
	}
	return r, rows.Err()
}

// RunState reads only a run's state and error: a cheap check to wait on
// (GetRun also counts each connection's queue).
func (e *Engine) RunState(ctx context.Context, id int64) (state, errMsg string, err error) {
	err = e.pool.QueryRow(ctx, `SELECT state, coalesce(error, '') FROM crmsync_resync_run WHERE id = $1`, id).Scan(&state, &errMsg)
	if err != nil {
		return "", "", fmt.Errorf("read run %d state: %w", id, err)
	}
	return state, errMsg, nil
}

// SetRunState moves a run to state (ingesting, pushing, completed, failed).
func (e *Engine) SetRunState(ctx context.Context, id int64, state, errMsg string) error {
	_, err := e.pool.Exec(ctx, `UPDATE crmsync_resync_run SET state = $2, error = nullif($3, ''),
		started_at = CASE WHEN $2 = 'ingesting' THEN coalesce(started_at, now()) ELSE started_at END,
		finished_at = CASE WHEN $2 IN ('completed', 'failed') THEN now() ELSE finished_at END
		WHERE id = $1`, id, state, errMsg)
	if err != nil {
		return fmt.Errorf("set run %d state %s: %w", id, state, err)
	}
	return nil
}

// listReadAhead is how many listed batches ListForRun holds ready while one
// is ingested.
const listReadAhead = 2

// ListForRun streams every record of c into the canonical store for run id
// (no pushes are queued: the run queues everyone once all listings are in).
func (e *Engine) ListForRun(ctx context.Context, runID int64, c *Conn) (IngestStats, error) {
	var stats IngestStats
	if _, err := e.pool.Exec(ctx, `UPDATE crmsync_resync_progress SET listed = 0, list_done = false WHERE run_id = $1 AND connection_id = $2`, runID, c.ID); err != nil {
		return stats, fmt.Errorf("list %s: %w", c.Name(), err)
	}
	start, err := e.dbNow(ctx)
	if err != nil {
		return stats, fmt.Errorf("list %s: %w", c.Name(), err)
	}
	// The listing is read ahead of the ingest: while one batch is ingested
	// (under the fleet-wide ingest lock), the next pages are fetched and
	// decoded, so neither the CRM nor the database waits for the other.
	size := max(e.ListBatchSize, 1)
	g, gctx := errgroup.WithContext(ctx)
	batches := make(chan []providers.Record, listReadAhead)
	g.Go(func() error {
		defer close(batches)
		batch := make([]providers.Record, 0, size)
		send := func() error {
			select {
			case batches <- batch:
				batch = make([]providers.Record, 0, size)
				return nil
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		for rec, err := range c.Provider.List(gctx) {
			if err != nil {
				return err
			}
			batch = append(batch, rec)
			if len(batch) >= size {
				if err := send(); err != nil {
					return err
				}
			}
		}
		if len(batch) == 0 {
			return nil
		}
		return send()
	})
	// Two of the listing's batches wait to be ingested at once: while one
	// is ingested, the next is prepared and waiting, so that the next
	// ingest group has it. With one at a time, groups alternated between
	// one listing's batch and the three others': at 100k the lock was held
	// 10.14 s over 53 groups, against 9.05 s over 27 (instrumented runs).
	inFlight := make(chan struct{}, 2)
	submitted := make(chan *groupReq, 2)
	g.Go(func() error {
		defer close(submitted)
		for batch := range batches {
			req, err := e.prepareGrouped(gctx, c, batch, start)
			if err != nil {
				return err
			}
			select {
			case inFlight <- struct{}{}:
			case <-gctx.Done():
				return gctx.Err()
			}
			e.enqueueGrouped(gctx, req)
			submitted <- req // never blocks: inFlight bounds it
		}
		return nil
	})
	g.Go(func() error {
		for req := range submitted {
			st, err := req.wait(gctx)
			if err != nil {
				return err
			}
			<-inFlight
			stats.Add(st)
			if _, err := e.pool.Exec(gctx, `UPDATE crmsync_resync_progress SET listed = listed + $3 WHERE run_id = $1 AND connection_id = $2`,
				runID, c.ID, st.Records); err != nil {
				return fmt.Errorf("record progress: %w", err)
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return stats, fmt.Errorf("list %s: %w", c.Name(), err)
	}
	if _, err := e.pool.Exec(ctx, `UPDATE crmsync_resync_progress SET list_done = true WHERE run_id = $1 AND connection_id = $2`, runID, c.ID); err != nil {
		return stats, fmt.Errorf("list %s: %w", c.Name(), err)
	}
	// A complete listing counts as a poll for pending creates.
	if _, err := e.pool.Exec(ctx, `INSERT INTO crmsync_sync_state (connection_id, last_poll_ok_at) VALUES ($1, $2)
		ON CONFLICT (connection_id) DO UPDATE SET last_poll_ok_at = greatest(crmsync_sync_state.last_poll_ok_at, $2)`, c.ID, start); err != nil {
		return stats, fmt.Errorf("list %s: %w", c.Name(), err)
	}
	return stats, nil
}

// queueChunk is how many person IDs QueueAll plans at a time.
const queueChunk = 2000

// QueueAll queues every live person for a push in every writable
// connection where the push has something to do (see QueueStep), in one
// go.
func (e *Engine) QueueAll(ctx context.Context, runID int64) error {
	for {
		done, err := e.QueueStep(ctx, runID, 0)
		if err != nil || done {
			return err
		}
	}
}

// QueueStep queues the next people of run runID for a push in every
// writable connection where the push has something to do: a create, an
// update, a delete, or a skip to record. A person already in step in a
// connection (every live link's base state is what the person projects to
// there) is not queued there: its push would write nothing. People are
// planned as a push plans them, chunk by chunk of IDs, four chunks at a
// time (so that planning in Go overlaps reading and writing in Postgres).
// A change made after its chunk was planned is queued by the ingest that
// takes it in, as any change is.
//
// The step starts after the highest ID the run has planned and starts no
// chunk after budget has passed (0: no limit; a budget of a nanosecond
// plans one chunk); it records how far it got and reports
// whether every person is planned. A resync job takes one step at a time,
// so that each stays within the job's timeout however many people there
// are. Once every person is planned, a step does nothing.
func (e *Engine) QueueStep(ctx context.Context, runID int64, budget time.Duration) (bool, error) {
	start := time.Now()
	from, hi, first, err := e.planRange(ctx, runID)
	if err != nil {
		return false, fmt.Errorf("queue run %d: %w", runID, err)
	}
	if from > hi && !first {
		return true, nil
	}
	var conns []*Conn
	for _, c := range e.conns {
		if c.Writable() {
			conns = append(conns, c)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	next := from
	for ; next <= hi; next += queueChunk {
		if budget > 0 && next > from && time.Since(start) >= budget {
			break
		}
		lo := next
		g.Go(func() error { return e.queueRange(gctx, runID, conns, lo, lo+queueChunk) })
	}
	if err := g.Wait(); err != nil {
		return false, fmt.Errorf("queue run %d: %w", runID, err)
	}
	if _, err := e.pool.Exec(ctx, `UPDATE crmsync_resync_run SET queued_through = $2 WHERE id = $1`, runID, next-1); err != nil {
		return false, fmt.Errorf("queue run %d: record progress: %w", runID, err)
	}
	if first || next > hi {
		// The queue was near empty at its last analyze. With those
		// statistics the push's claim (the next 500 rows after a cursor)
		// was planned as a bitmap scan of every row after the cursor,
		// joined and sorted: 26 ms a claim at 100k instead of under 1.
		// Pushes may start after the first step.
		if _, err := e.pool.Exec(ctx, `ANALYZE crmsync_push_queue`); err != nil {
			e.logger.WarnContext(ctx, "analyze the push queue", slog.String("error", err.Error()))
		}
	}
	return next > hi, nil
}

// RunPlanned reports whether run runID has planned every person's pushes
// (see QueueStep).
func (e *Engine) RunPlanned(ctx context.Context, runID int64) (bool, error) {
	from, hi, first, err := e.planRange(ctx, runID)
	if err != nil {
		return false, fmt.Errorf("run %d planned: %w", runID, err)
	}
	return from > hi && !first, nil
}

// planRange returns the IDs run runID has yet to plan, [from, hi], and
// whether it has planned none yet.
func (e *Engine) planRange(ctx context.Context, runID int64) (from, hi int64, first bool, err error) {
	err = e.pool.QueryRow(ctx, `SELECT coalesce((SELECT queued_through + 1 FROM crmsync_resync_run WHERE id = $1),
			(SELECT min(id) FROM crmsync_person WHERE merged_into IS NULL), 0),
		(SELECT coalesce(max(id), -1) FROM crmsync_person WHERE merged_into IS NULL),
		(SELECT queued_through IS NULL FROM crmsync_resync_run WHERE id = $1)`, runID).Scan(&from, &hi, &first)
	return from, hi, first, err
}

// queueRange queues the people with IDs in [from, to) that need a push in
// conns (see QueueAll). A person whose push in a connection would only
// record skips (a field the CRM cannot write, a required field missing)
// has them recorded here instead, as that push would, and counted in run
// runID's progress: a fifth of a 100k resync's pairs, each of which cost
// the push a claim and two reads.
func (e *Engine) queueRange(ctx context.Context, runID int64, conns []*Conn, from, to int64) error {
	rows, err := e.pool.Query(ctx, "SELECT "+personCols+` FROM crmsync_person
		WHERE id >= $1 AND id < $2 AND merged_into IS NULL AND deleted_at IS NULL ORDER BY id`, from, to)
	if err != nil {
		return fmt.Errorf("load people: %w", err)
	}
	var people []*PersonState
	for rows.Next() {
		st, err := scanPerson(rows)
		if err != nil {
			rows.Close()
			return fmt.Errorf("scan person: %w", err)
		}
		people = append(people, st)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load people: %w", err)
	}
	if len(people) == 0 {
		return nil
	}
	type key struct {
		conn int16
		pid  int64
	}
	byLink := map[key]*personLinks{}
	rows, err = e.pool.Query(ctx, `SELECT connection_id, person_id, remote_id, base, synced_version, deleted_at IS NOT NULL
		FROM crmsync_link WHERE person_id >= $1 AND person_id < $2`, from, to)
	if err != nil {
		return fmt.Errorf("load links: %w", err)
	}
	for rows.Next() {
		var k key
		var rid string
		var raw []byte
		var synced int64
		var deleted bool
		if err := rows.Scan(&k.conn, &k.pid, &rid, &raw, &synced, &deleted); err != nil {
			rows.Close()
			return fmt.Errorf("scan link: %w", err)
		}
		pl := byLink[k]
		if pl == nil {
			pl = &personLinks{}
			byLink[k] = pl
		}
		if err := pl.add(rid, raw, synced, deleted); err != nil {
			rows.Close()
			return err
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load links: %w", err)
	}
	// Whether a create waits for a listing or looks the person up first
	// changes nothing here: it is queued either way.
	listed := e.Now()
	var qc []int16
	var qp []int64
	batch := &pgx.Batch{}
	for _, c := range conns {
		outcomes := newOutcomeWrites()
		skips := 0
		for _, st := range people {
			pl := byLink[key{c.ID, st.ID}]
			var ops []Op
			if pl == nil {
				// No link and no tombstone in a writable CRM: a create, or
				// a skip to record, as plan has it, without projecting the
				// person.
				op := Op{Kind: OpCreate, PersonID: st.ID, Version: st.Version, Skip: e.createBlocker(c, &st.Person)}
				ops = []Op{op}
			} else {
				pl.st = st
				ops = e.plan(c, pl, listed, DefaultSettle)
			}
			switch {
			case !slices.ContainsFunc(ops, writesSomething):
			case slices.ContainsFunc(ops, writes):
				qc, qp = append(qc, c.ID), append(qp, st.ID)
			default:
				for _, op := range ops {
					if op.Skip == "" {
						continue
					}
					skips++
					outcomes.add(op, "skipped", op.Skip)
					if op.Kind == OpUpdate {
						outcomes.synced(op)
					}
				}
			}
		}
		outcomes.queue(batch, c)
		if skips > 0 {
			batch.Queue(`UPDATE crmsync_resync_progress SET skips = skips + $3 WHERE run_id = $1 AND connection_id = $2`, runID, c.ID, skips)
		}
	}
	if batch.Len() > 0 {
		if err := e.pool.SendBatch(ctx, batch).Close(); err != nil {
			return fmt.Errorf("record skips: %w", err)
		}
	}
	return e.queuePairs(ctx, qc, qp)
}

// queuePairs queues (connection, person) pairs: a COPY, or, when one of
// them is queued already (an ingest queued it meanwhile), an insert that
// skips those.
func (e *Engine) queuePairs(ctx context.Context, qc []int16, qp []int64) error {
	if len(qc) == 0 {
		return nil
	}
	rows := make([][]any, len(qc))
	for i := range qc {
		rows[i] = []any{qc[i], qp[i]}
	}
	_, err := e.pool.CopyFrom(ctx, pgx.Identifier{"crmsync_push_queue"}, []string{"connection_id", "person_id"}, pgx.CopyFromRows(rows))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		_, err = e.pool.Exec(ctx, `INSERT INTO crmsync_push_queue (connection_id, person_id)
			SELECT c, p FROM unnest($1::smallint[], $2::bigint[]) AS t(c, p) ORDER BY c, p
			ON CONFLICT DO NOTHING`, qc, qp)
	}
	if err != nil {
		return fmt.Errorf("queue people: %w", err)
	}
	return nil
}

// writesSomething reports whether a push of op would call the CRM or
// record an outcome: every op but an update with nothing to write.
func writesSomething(op Op) bool {
	return op.Kind != OpUpdate || op.Skip != "" || len(op.Fields) > 0
}

// writes reports whether a push of op would call the CRM (or wait to): an
// op that is not a skip and, for an update, has something to write.
func writes(op Op) bool {
	return op.Skip == "" && (op.Kind != OpUpdate || len(op.Fields) > 0)
}

func (e *Engine) writableIDs() []int16 {
	var ids []int16
	for _, c := range e.conns {
		if c.Writable() {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// RecordRunPush adds a push batch's counts to the active run's progress.
func (e *Engine) RecordRunPush(ctx context.Context, c *Conn, st PushStats) error {
	if st.Creates+st.Adopted+st.Updates+st.Skips+st.Failures == 0 {
		return nil
	}
	_, err := e.pool.Exec(ctx, `UPDATE crmsync_resync_progress SET creates = creates + $2, updates = updates + $3,
		skips = skips + $4, failures = failures + $5
		WHERE connection_id = $1 AND run_id = (SELECT id FROM crmsync_resync_run WHERE state = 'pushing')`,
		c.ID, st.Creates+st.Adopted, st.Updates, st.Skips, st.Failures)
	if err != nil {
		return fmt.Errorf("record run progress: %w", err)
	}
	return nil
}

// HasQueued reports whether anyone is queued for c. It stops at the first
// queued row: counting a queue reads every row it counts.
func (e *Engine) HasQueued(ctx context.Context, c *Conn) (bool, error) {
	var ok bool
	err := e.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM crmsync_push_queue WHERE connection_id = $1)`, c.ID).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("queued in %s: %w", c.Name(), err)
	}
	return ok, nil
}

// QueuedConns returns the connections with at least one person queued, in
// one statement that stops at each connection's first queued row.
func (e *Engine) QueuedConns(ctx context.Context) ([]*Conn, error) {
	rows, err := e.pool.Query(ctx, `SELECT id FROM unnest($1::smallint[]) AS c(id)
		WHERE EXISTS (SELECT 1 FROM crmsync_push_queue q WHERE q.connection_id = c.id)`, e.writableIDs())
	if err != nil {
		return nil, fmt.Errorf("queued connections: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int16])
	if err != nil {
		return nil, fmt.Errorf("queued connections: %w", err)
	}
	out := make([]*Conn, 0, len(ids))
	for _, id := range ids {
		out = append(out, e.byID[id])
	}
	return out, nil
}

// Ingesting reports whether a resync run is in its listing phase (pushes
// wait, so that nothing is created in a CRM whose listing is not in yet).
func (e *Engine) Ingesting(ctx context.Context) (bool, error) {
	var b bool
	err := e.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM crmsync_resync_run WHERE state IN ('pending', 'ingesting'))`).Scan(&b)
	return b, err
}
