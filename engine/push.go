package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers"
)

// OpKind is the kind of a planned write.
type OpKind string

// The write kinds.
const (
	OpCreate   OpKind = "create"
	OpUpdate   OpKind = "update"
	OpDelete   OpKind = "delete"
	OpPipeline OpKind = "pipeline"
)

// Op is one planned write to one CRM, or a skip with its reason.
type Op struct {
	Kind     OpKind
	PersonID int64
	Version  int64
	// RemoteID is the record written (updates, deletes).
	RemoteID string
	// Base is the link's base state (updates, deletes).
	Base mapping.Person
	// Desired is the person as this CRM should hold it.
	Desired mapping.Person
	// Fields lists the fields that differ (updates).
	Fields []mapping.Field
	// Skip, when set, is why this write is not made.
	Skip string
	// FindFirst is set for a create that may already have happened.
	FindFirst bool
	// Defer is set when the op must wait (a create to a CRM that cannot be
	// searched, until its next listing).
	Defer bool
	// AwaitListing is set with Defer when only the CRM's next listing can
	// let the create go ahead (the CRM was never listed, or a lost create
	// can no longer land and the CRM cannot be searched for it), as opposed
	// to waiting out the settle time.
	AwaitListing bool
	// Verify is set for an update that must first check that the record
	// still holds its base state (outside a resync, whose listing is fresh):
	// a record edited in the CRM since crmsync last saw it is ingested
	// first, so that a later edit there is never overwritten by an earlier
	// one from elsewhere.
	Verify bool
	// Source and SourceAt are the connection and time of the person's latest
	// change (for the propagation-lag metric).
	Source   int16
	SourceAt time.Time
}

// Lag is one write's propagation lag from the change's source.
type Lag struct {
	Source  string
	Seconds float64
}

// PushStats counts what a push batch did.
type PushStats struct {
	Creates, Updates, Deletes, Adopted, Skips, Failures int
	// RetryAfter is set when the CRM rate-limited the batch.
	RetryAfter time.Duration
	// Retryable is the last retryable error (the batch left work queued).
	Retryable error
	// Remaining is how many queued people were left for later.
	Remaining int
	// AwaitListing is how many of them are creates that wait for the CRM's
	// next listing (see Op.AwaitListing).
	AwaitListing int
	// Claimed is how many queued people the batch took, and Last the
	// largest of their IDs (the next batch's PushOptions.After).
	Claimed int
	Last    int64
	// Lags are the propagation lags of the writes made.
	Lags []Lag
	// Stale counts records found changed in the CRM since last seen (read
	// before an update): they were ingested, and written after.
	Stale int
}

type personLinks struct {
	st      *PersonState
	deleted bool
	live    []liveLink
	tomb    bool
	pending *time.Time
}

// add adds one of the person's links in the connection: a tombstone, or a
// live link with its base state decoded from raw.
func (pl *personLinks) add(remoteID string, raw []byte, synced int64, deleted bool) error {
	if deleted {
		pl.tomb = true
		return nil
	}
	base, err := decodeBase(raw)
	if err != nil {
		return err
	}
	pl.live = append(pl.live, liveLink{remoteID: remoteID, base: base, synced: synced})
	return nil
}

type liveLink struct {
	remoteID string
	base     *mapping.Person
	synced   int64
}

// Plan returns the writes connection c needs for the given people (already
// loaded), given when c's last complete listing began (the zero time or
// the epoch when none has completed) and how long after its pending mark a
// create may still land (PushOptions.Settle). It is pure: no CRM call, no
// database write.
func (e *Engine) plan(c *Conn, pl *personLinks, lastListing time.Time, settle time.Duration) []Op {
	st := pl.st
	desired := Project(c.Caps, st.Person)
	var ops []Op
	if pl.deleted {
		for _, l := range pl.live {
			if !c.Caps.Delete {
				ops = append(ops, Op{Kind: OpDelete, PersonID: st.ID, Version: st.Version, RemoteID: l.remoteID,
					Skip: fmt.Sprintf("%s has no delete route", c.Config.Provider)})
				continue
			}
			ops = append(ops, Op{Kind: OpDelete, PersonID: st.ID, Version: st.Version, RemoteID: l.remoteID, Base: *l.base})
		}
		return ops
	}
	if len(pl.live) == 0 {
		if pl.tomb || !c.Writable() {
			return nil
		}
		op := Op{Kind: OpCreate, PersonID: st.ID, Version: st.Version, Desired: desired}
		if reason := e.createBlocker(c, &st.Person); reason != "" {
			op.Skip = reason
			return []Op{op}
		}
		if lastListing.Unix() <= 0 {
			// c has never been listed in full (no poll or resync listing
			// has completed): the person may already be there, unlinked,
			// and a create would hold them twice. It waits for that first
			// listing, which links whoever c holds.
			op.Defer, op.AwaitListing = true, true
			return []Op{op}
		}
		if pl.pending != nil {
			switch {
			case e.Now().Before(pl.pending.Add(settle)):
				// The lost request may still land: a CRM applies a create
				// whose caller died mid-call (a worker killed with kill -9)
				// when it gets to it. A search now could miss it and the
				// person be created twice (16 people held twice in Skarbe,
				// seen in the kill -9 suite); it waits until it cannot.
				op.Defer = true
			case (c.Caps.FindByEmail && len(st.Person.Emails) > 0) || (c.Caps.FindByLinkedIn && st.Person.LinkedIn != ""):
				op.FindFirst = true
			case lastListing.After(pl.pending.Add(settle)):
				// A listing begun once the lost create could no longer
				// land (settle after the batch marked it) would have
				// linked it. One begun sooner may have passed before the
				// create landed: the batch's creates run for as long as
				// the batch does, after one mark for them all.
			default:
				op.Defer, op.AwaitListing = true, true
			}
		}
		return []Op{op}
	}
	for _, l := range pl.live {
		if l.synced >= st.Version {
			continue
		}
		fields := Diff(c.Caps.Updates, l.base, &desired)
		fields = nonEmpty(fields, &desired)
		if ro := nonEmpty(Diff(c.Caps.Holds&^c.Caps.Updates, l.base, &desired), &desired); len(ro) > 0 {
			ops = append(ops, Op{Kind: OpUpdate, PersonID: st.ID, Version: st.Version, RemoteID: l.remoteID, Fields: ro,
				Skip: fmt.Sprintf("%s cannot write %s", c.Config.Provider, joinFields(ro))})
		}
		if len(fields) > 0 {
			if reason := e.requiredBlocker(c, &st.Person); reason != "" {
				ops = append(ops, Op{Kind: OpUpdate, PersonID: st.ID, Version: st.Version, RemoteID: l.remoteID, Fields: fields, Skip: reason})
				continue
			}
			ops = append(ops, Op{Kind: OpUpdate, PersonID: st.ID, Version: st.Version, RemoteID: l.remoteID, Base: *l.base, Desired: desired, Fields: fields})
		} else {
			// Nothing to write: the op only says so (see PushBatch).
			ops = append(ops, Op{Kind: OpUpdate, PersonID: st.ID, Version: st.Version, RemoteID: l.remoteID, Base: *l.base})
		}
	}
	return ops
}

func nonEmpty(fields []mapping.Field, p *mapping.Person) []mapping.Field {
	out := fields[:0:0]
	for _, f := range fields {
		if !p.Get(f).Empty() {
			out = append(out, f)
		}
	}
	return out
}

func joinFields(fs []mapping.Field) string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = string(f)
	}
	return strings.Join(s, ", ")
}

// createBlocker says why p cannot be created in c, or "".
func (e *Engine) createBlocker(c *Conn, p *mapping.Person) string {
	if !hasIdentity(p) {
		return "no email or LinkedIn URL to match on: not propagated, to avoid duplicates"
	}
	if r := e.requiredBlocker(c, p); r != "" {
		return r
	}
	if len(c.Caps.RequireOneOf) > 0 {
		ok := false
		for _, f := range c.Caps.RequireOneOf {
			if !p.Get(f).Empty() {
				ok = true
			}
		}
		if !ok {
			return fmt.Sprintf("%s requires one of %s", c.Config.Provider, joinFields(c.Caps.RequireOneOf))
		}
	}
	return ""
}

func (e *Engine) requiredBlocker(c *Conn, p *mapping.Person) string {
	var missing []mapping.Field
	for _, f := range c.Caps.Required {
		if p.Get(f).Empty() {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return fmt.Sprintf("%s requires %s", c.Config.Provider, joinFields(missing))
	}
	return ""
}

// opResult is what executing one op gave.
type opResult struct {
	op       Op
	err      error
	rec      *providers.Record // created / updated / adopted record
	adopted  bool
	newBase  mapping.Person
	skip     string
	deferred bool
	// stale is the record as the CRM holds it now, when it changed since
	// its base state: it is ingested first and the write waits.
	stale *providers.Record
}

// DefaultSettle is PushOptions.Settle's default: the jobs package's push
// job timeout (60 s) and half again.
const DefaultSettle = 90 * time.Second

// PushOptions tune a push batch.
type PushOptions struct {
	// Limit is the most people to take from the queue (default BatchSize).
	Limit int
	// After, when set, claims only people with a larger ID: a worker that
	// drains a queue passes the last ID it claimed (PushStats.Last), so
	// that its claims do not scan again the rows that batches before it
	// deleted and that are not yet vacuumed. It starts over from 0 once a
	// claim after its cursor finds nothing.
	After int64
	// Settle is how long after a batch marks its creates pending one of
	// them may still land in the CRM: the longest a push batch runs (its
	// job's timeout), with a margin. A create whose batch never recorded
	// its outcome (a worker killed, a timeout) is made again without a
	// search only after a listing begun that long after the mark. 0 means
	// DefaultSettle.
	Settle time.Duration
	// DryRun plans without calling the CRM or writing anything; the ops
	// are returned through OnOp.
	DryRun bool
	// OnOp, when set, receives every planned op.
	OnOp func(c *Conn, op Op)
}

// PushBatch takes up to opts.Limit people queued for connection c, plans
// their writes, makes them (concurrently, PushConcurrency at a time), and
// records the outcome: new links and base states, skips once with their
// reason, failures. Queue rows are claimed with SKIP LOCKED inside one
// transaction, so a worker killed mid-batch hands them back when its
// connection drops.
func (e *Engine) PushBatch(ctx context.Context, c *Conn, opts PushOptions) (PushStats, error) {
	var stats PushStats
	limit := opts.Limit
	if limit <= 0 {
		limit = e.BatchSize
	}
	select {
	case e.pushSlots <- struct{}{}:
		defer func() { <-e.pushSlots }()
	case <-ctx.Done():
		return stats, fmt.Errorf("push %s: %w", c.Name(), ctx.Err())
	}
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		return stats, fmt.Errorf("push %s: begin: %w", c.Name(), err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// The claim deletes the queue rows it takes, in this transaction: until
	// it commits, the deleted rows stay locked (other batches skip them, and
	// an ingest that queues one of these people waits for this batch, then
	// queues it again), and a batch that fails or a worker that dies hands
	// them back with its rollback. The rows after the cursor are locked in
	// the queue's key order, and deleted by their ctid: exactly the rows
	// locked, one index scan.
	rows, err := tx.Query(ctx, `DELETE FROM crmsync_push_queue WHERE ctid = ANY(ARRAY(
			SELECT ctid FROM crmsync_push_queue WHERE connection_id = $1 AND person_id > $3
			ORDER BY person_id LIMIT $2 FOR UPDATE SKIP LOCKED))
		RETURNING person_id`, c.ID, limit, opts.After)
	if err != nil {
		return stats, fmt.Errorf("push %s: claim: %w", c.Name(), err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return stats, fmt.Errorf("push %s: claim: %w", c.Name(), err)
	}
	if len(pids) == 0 {
		return stats, nil
	}
	slices.Sort(pids)
	stats.Claimed, stats.Last = len(pids), pids[len(pids)-1]
	ops, err := e.planBatch(ctx, tx, c, pids, opts.Settle, true)
	if err != nil {
		return stats, fmt.Errorf("push %s: %w", c.Name(), err)
	}
	if opts.OnOp != nil {
		for _, op := range ops {
			opts.OnOp(c, op)
		}
	}
	if opts.DryRun {
		return stats, nil
	}

	// Creates are marked pending, committed before the CRM is called, so that
	// a retry after a crash looks the person up before creating again: one
	// row for the batch, which its results delete (see migration 008).
	var pendingIDs []int64
	for _, op := range ops {
		if op.Kind == OpCreate && op.Skip == "" && !op.Defer && !op.FindFirst {
			pendingIDs = append(pendingIDs, op.PersonID)
		}
	}
	var mark int64
	var markedAt time.Time
	if len(pendingIDs) > 0 {
		if err := e.pool.QueryRow(ctx, `INSERT INTO crmsync_pending_batch (connection_id, person_min, person_max, person_ids)
			VALUES ($1, $2, $3, $4) RETURNING id, attempted_at`, c.ID, slices.Min(pendingIDs), slices.Max(pendingIDs), pendingIDs).Scan(&mark, &markedAt); err != nil {
			return stats, fmt.Errorf("push %s: mark pending creates: %w", c.Name(), err)
		}
	}

	results := e.execute(ctx, c, ops)

	done := map[int64]bool{}
	for _, pid := range pids {
		done[pid] = true
	}
	batch := &pgx.Batch{}
	// links are upserted; newLinks, of the records this batch created, are
	// inserted first (see insertNew).
	var links, newLinks linkWrites
	outcomes := newOutcomeWrites()
	var created []int64
	// A create refused with a 429 (or never sent after one) created nothing:
	// it is no longer pending, so its retry creates directly instead of
	// searching first (which, under a rate limit, doubled every create's
	// calls and starved the creates behind the searches).
	var unsent []int64
	for _, r := range results {
		if r.op.Kind == OpCreate && r.err != nil && providers.ClassOf(r.err) == providers.ClassRateLimited &&
			slices.Contains(pendingIDs, r.op.PersonID) {
			unsent = append(unsent, r.op.PersonID)
		}
	}
	var stale []providers.Record
	for _, r := range results {
		op := r.op
		switch {
		case r.stale != nil:
			stale = append(stale, *r.stale)
			done[op.PersonID] = false
			stats.Remaining++
		case r.deferred:
			done[op.PersonID] = false
			stats.Remaining++
			if op.AwaitListing {
				stats.AwaitListing++
			}
		case r.skip != "":
			stats.Skips++
			outcomes.add(op, "skipped", r.skip)
			if op.Kind == OpUpdate {
				// Nothing else to write for this version.
				outcomes.synced(op)
			}
		case r.err != nil:
			class := providers.ClassOf(r.err)
			switch class {
			case providers.ClassRateLimited:
				var pe *providers.Error
				if errors.As(r.err, &pe) && pe.RetryAfter > stats.RetryAfter {
					stats.RetryAfter = pe.RetryAfter
				}
				if stats.RetryAfter == 0 {
					stats.RetryAfter = time.Second
				}
				done[op.PersonID] = false
				stats.Remaining++
			case providers.ClassRetryable:
				stats.Retryable = r.err
				done[op.PersonID] = false
				stats.Remaining++
			case providers.ClassNotFound:
				if op.RemoteID != "" {
					// Gone from the CRM: the link becomes a tombstone.
					batch.Queue(`UPDATE crmsync_link SET deleted_at = now() WHERE connection_id = $1 AND remote_id = $2`, c.ID, op.RemoteID)
				}
			default:
				stats.Failures++
				outcomes.add(op, "failed", r.err.Error())
				if op.Kind == OpUpdate {
					outcomes.synced(op)
				}
				e.logger.WarnContext(ctx, "write failed", slog.String("connection", c.Name()), slog.String("kind", string(op.Kind)),
					slog.Int64("person", op.PersonID), slog.String("error", r.err.Error()))
			}
		default:
			if sc, ok := e.byID[op.Source]; ok && sc.ID != c.ID && !op.SourceAt.IsZero() && (op.Kind != OpUpdate || len(op.Fields) > 0) {
				stats.Lags = append(stats.Lags, Lag{Source: sc.Name(), Seconds: time.Since(op.SourceAt).Seconds()})
			}
			switch op.Kind {
			case OpCreate:
				if r.adopted {
					stats.Adopted++
					links.add(c, r.rec.ID, op.PersonID, &r.newBase, op.Version, r.rec.ChangedAt)
				} else {
					stats.Creates++
					newLinks.add(c, r.rec.ID, op.PersonID, &r.newBase, op.Version, r.rec.ChangedAt)
				}
				created = append(created, op.PersonID)
			case OpUpdate:
				if len(op.Fields) == 0 {
					// Nothing was written and the base state stands. Its
					// synced_version is left behind on purpose: it only
					// spares a later plan the diff, and writing the link
					// for every record already in step (most records of a
					// resync) was the push's largest database cost.
					continue
				}
				stats.Updates++
				var changedAt time.Time
				if r.rec != nil {
					changedAt = r.rec.ChangedAt
				}
				links.add(c, op.RemoteID, op.PersonID, &r.newBase, op.Version, changedAt)
			case OpDelete:
				stats.Deletes++
				batch.Queue(`UPDATE crmsync_link SET deleted_at = now() WHERE connection_id = $1 AND remote_id = $2`, c.ID, op.RemoteID)
			}
		}
	}
	// Every claimed row was deleted: the people left for later are queued
	// again. A person changed while the batch ran needs nothing here: an
	// ingest that queues it waits for this batch's claim and queues it
	// after, and the one ingest that queues nothing, a resync's listing, is
	// followed by the run's planning, which queues whoever needs a push.
	var left []int64
	for _, pid := range pids {
		if !done[pid] {
			left = append(left, pid)
		}
	}
	if ok, err := newLinks.insertNew(ctx, tx, c); err != nil {
		return stats, fmt.Errorf("push %s: record results: %w", c.Name(), err)
	} else if !ok {
		links.appendAll(&newLinks)
	}
	links.queue(batch, c)
	outcomes.queue(batch, c)
	// The batch's mark goes; creates it sent whose outcome is unknown (an
	// error, a timeout) stay pending, each on its own row. A person pending
	// from an earlier batch is no longer once created or refused unsent.
	if mark != 0 {
		settled := append(slices.Clone(created), unsent...)
		slices.Sort(settled)
		var open []int64
		for _, pid := range pendingIDs {
			if _, found := slices.BinarySearch(settled, pid); !found {
				open = append(open, pid)
			}
		}
		if len(open) > 0 {
			batch.Queue(`INSERT INTO crmsync_pending_create (connection_id, person_id, attempted_at)
				SELECT $1, unnest($2::bigint[]), $3 ON CONFLICT (connection_id, person_id) DO UPDATE SET attempted_at = EXCLUDED.attempted_at`,
				c.ID, open, markedAt)
		}
		batch.Queue(`DELETE FROM crmsync_pending_batch WHERE id = $1`, mark)
	}
	if cleared := append(slices.Clone(created), unsent...); len(cleared) > 0 {
		batch.Queue(`DELETE FROM crmsync_pending_create WHERE connection_id = $1 AND person_id = ANY($2)`, c.ID, cleared)
	}
	// One row update per kind and batch: the counters are hot rows that
	// every push batch of the connection touches, so every batch locks them
	// in the same order (in a map's random order, two batches deadlocked).
	for _, kc := range []struct {
		kind string
		n    int
	}{{"create", stats.Creates}, {"update", stats.Updates}, {"delete", stats.Deletes}} {
		if kind, n := kc.kind, kc.n; n > 0 {
			batch.Queue(`INSERT INTO crmsync_write_count (connection_id, kind, count) VALUES ($1, $2, $3)
				ON CONFLICT (connection_id, kind) DO UPDATE SET count = crmsync_write_count.count + EXCLUDED.count`, c.ID, kind, n)
		}
	}
	if n := stats.Creates + stats.Updates + stats.Deletes; n > 0 {
		batch.Queue(`INSERT INTO crmsync_write_minute (connection_id, minute, count) VALUES ($1, date_trunc('minute', now()), $2)
			ON CONFLICT (connection_id, minute) DO UPDATE SET count = crmsync_write_minute.count + EXCLUDED.count`, c.ID, n)
	}
	if len(left) > 0 {
		batch.Queue(`INSERT INTO crmsync_push_queue (connection_id, person_id)
			SELECT $1, unnest($2::bigint[]) ON CONFLICT (connection_id, person_id) DO NOTHING`, c.ID, left)
	}
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return stats, fmt.Errorf("push %s: record results: %w", c.Name(), err)
	}
	if err := tx.Commit(ctx); err != nil {
		return stats, fmt.Errorf("push %s: commit: %w", c.Name(), err)
	}
	if len(stale) > 0 {
		// The CRM changed since crmsync last saw these records: take their
		// changes in (last writer wins decides). Their queue rows stay, so
		// the next batch plans them against the refreshed base state and
		// the person as this ingest left it.
		if _, err := e.Ingest(ctx, c, stale, IngestOptions{}); err != nil {
			return stats, fmt.Errorf("push %s: ingest records changed since last seen: %w", c.Name(), err)
		}
		stats.Stale += len(stale)
	}
	return stats, nil
}

// current reads record id as the CRM holds it now: by ID where the CRM can,
// else by the base state's primary email; nil when the CRM offers neither or
// the record is no longer under that email.
func (e *Engine) current(ctx context.Context, c *Conn, id string, base *mapping.Person) (*providers.Record, error) {
	switch {
	case c.Caps.Get:
		rec, err := c.Provider.Get(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("read %s record before update: %w", c.Name(), err)
		}
		return &rec, nil
	case c.Caps.FindByEmail && base.PrimaryEmail() != "":
		recs, err := c.Provider.FindByEmail(ctx, base.PrimaryEmail())
		if err != nil {
			return nil, fmt.Errorf("read %s record before update: %w", c.Name(), err)
		}
		for i := range recs {
			if recs[i].ID == id {
				return &recs[i], nil
			}
		}
		// Not under that email any more (the email was changed in the
		// CRM, or the record was deleted): the update itself locates the
		// record, and only the adapter can tell a deleted record from a
		// moved one, so the write goes ahead unchecked.
		return nil, nil
	}
	return nil, nil
}

// outcomeWrites collects a push batch's skips and failures (each recorded
// once per person, kind and reason, counted again only for a newer version)
// and the links whose synced version advances without a write, sent as two
// multi-row statements.
type outcomeWrites struct {
	idx                map[outcomeKey]int
	pids, versions     []int64
	kinds, res, reason []string
	syncRIDs           []string
	syncVersions       []int64
}

type outcomeKey struct {
	pid          int64
	kind, reason string
}

func newOutcomeWrites() *outcomeWrites { return &outcomeWrites{idx: map[outcomeKey]int{}} }

// add records op's outcome ("skipped" or "failed") and its reason, cut to
// 1,000 bytes (whole characters). One statement cannot touch a row twice,
// so the same person, kind and reason met twice in a batch (two records of
// one person) is one row with the higher version.
func (o *outcomeWrites) add(op Op, outcome, reason string) {
	if len(reason) > 1000 {
		reason = strings.ToValidUTF8(reason[:1000], "")
	}
	k := outcomeKey{pid: op.PersonID, kind: string(op.Kind), reason: reason}
	if i, ok := o.idx[k]; ok {
		o.versions[i] = max(o.versions[i], op.Version)
		return
	}
	o.idx[k] = len(o.pids)
	o.pids = append(o.pids, op.PersonID)
	o.versions = append(o.versions, op.Version)
	o.kinds = append(o.kinds, string(op.Kind))
	o.res = append(o.res, outcome)
	o.reason = append(o.reason, reason)
}

// synced advances the synced version of op's link to op's version.
func (o *outcomeWrites) synced(op Op) {
	o.syncRIDs = append(o.syncRIDs, op.RemoteID)
	o.syncVersions = append(o.syncVersions, op.Version)
}

func (o *outcomeWrites) queue(b *pgx.Batch, c *Conn) {
	if len(o.pids) > 0 {
		b.Queue(`INSERT INTO crmsync_write_outcome (connection_id, person_id, kind, outcome, reason, person_version)
			SELECT $1, p, k, o, r, v FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[]) AS x(p, k, o, r, v)
			ORDER BY p, k, r
			ON CONFLICT (connection_id, person_id, kind, reason) DO UPDATE SET
				count = crmsync_write_outcome.count + CASE WHEN crmsync_write_outcome.person_version < EXCLUDED.person_version THEN 1 ELSE 0 END,
				person_version = greatest(crmsync_write_outcome.person_version, EXCLUDED.person_version),
				last_at = now()`, c.ID, o.pids, o.kinds, o.res, o.reason, o.versions)
	}
	if len(o.syncRIDs) > 0 {
		b.Queue(`UPDATE crmsync_link l SET synced_version = greatest(l.synced_version, x.v)
			FROM unnest($2::text[], $3::bigint[]) AS x(r, v)
			WHERE l.connection_id = $1 AND l.remote_id = x.r`, c.ID, o.syncRIDs, o.syncVersions)
	}
}

// linkWrites collects the links a push batch writes, sent as one
// multi-row statement.
type linkWrites struct {
	rids     []string
	pids     []int64
	bases    []string
	hashes   []int64
	changed  []*time.Time
	versions []int64
}

func (l *linkWrites) add(c *Conn, remoteID string, pid int64, base *mapping.Person, version int64, changedAt time.Time) {
	var ct *time.Time
	if !changedAt.IsZero() {
		ct = &changedAt
	}
	l.rids = append(l.rids, remoteID)
	l.pids = append(l.pids, pid)
	l.bases = append(l.bases, string(encodeBase(base)))
	l.hashes = append(l.hashes, int64(mapping.Hash(base, c.Caps.Holds)))
	l.changed = append(l.changed, ct)
	l.versions = append(l.versions, version)
}

// linkInsert writes links; an upsert follows it when upsert is true.
// seen_at is the write's own time (not the transaction's start, which
// precedes the CRM call): a listing that began before this record existed
// must not take its absence for a delete.
func linkInsert(upsert bool) string {
	q := `INSERT INTO crmsync_link (connection_id, remote_id, person_id, base, base_hash, remote_changed_at, synced_version, seen_at)
		SELECT $1, x.r, coalesce(p.merged_into, x.p), x.b, x.h, x.t, x.v, clock_timestamp()
		FROM unnest($2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::timestamptz[], $7::bigint[]) AS x(r, p, b, h, t, v)
		JOIN crmsync_person p ON p.id = x.p`
	if upsert {
		q += `
		ON CONFLICT (connection_id, remote_id) DO UPDATE SET base = EXCLUDED.base, base_hash = EXCLUDED.base_hash,
			remote_changed_at = coalesce(EXCLUDED.remote_changed_at, crmsync_link.remote_changed_at),
			synced_version = greatest(crmsync_link.synced_version, EXCLUDED.synced_version), deleted_at = NULL,
			seen_at = clock_timestamp()`
	}
	return q
}

func (l *linkWrites) args(c *Conn) []any {
	return []any{c.ID, l.rids, l.pids, l.bases, l.hashes, l.changed, l.versions}
}

// queue adds the upsert of l to b.
func (l *linkWrites) queue(b *pgx.Batch, c *Conn) {
	if len(l.rids) == 0 {
		return
	}
	b.Queue(linkInsert(true), l.args(c)...)
}

// appendAll adds o's links to l.
func (l *linkWrites) appendAll(o *linkWrites) {
	l.rids = append(l.rids, o.rids...)
	l.pids = append(l.pids, o.pids...)
	l.bases = append(l.bases, o.bases...)
	l.hashes = append(l.hashes, o.hashes...)
	l.changed = append(l.changed, o.changed...)
	l.versions = append(l.versions, o.versions...)
}

// insertNew inserts the links of records the batch created, which no link
// can hold yet, without the upsert's conflict handling (about 40% of the
// statement's time on a quiet server). A listing may have linked one of them since (it
// listed the new record before this answer was recorded): the insert then
// fails on the key, is rolled back to its savepoint, and insertNew reports
// false for the caller to upsert them all.
func (l *linkWrites) insertNew(ctx context.Context, tx pgx.Tx, c *Conn) (bool, error) {
	if len(l.rids) == 0 {
		return true, nil
	}
	return giveWayOnKey(ctx, tx, "insert links", func(sp pgx.Tx) error {
		_, err := sp.Exec(ctx, linkInsert(false), l.args(c)...)
		return err
	})
}

// planBatch loads the people, their links in c and pending creates, and
// plans. claimed says the batch holds the people's queue rows (a push, not
// a dry run).
func (e *Engine) planBatch(ctx context.Context, tx pgx.Tx, c *Conn, pids []int64, settle time.Duration, claimed bool) ([]Op, error) {
	if settle <= 0 {
		settle = DefaultSettle
	}
	if len(pids) == 0 {
		return nil, nil
	}
	// The people, with whether each was merged away or deleted, in one read.
	byPerson := make(map[int64]*personLinks, len(pids))
	rows, err := tx.Query(ctx, "SELECT "+personCols+", merged_into IS NOT NULL, deleted_at IS NOT NULL FROM crmsync_person WHERE id = ANY($1)", pids)
	if err != nil {
		return nil, fmt.Errorf("load people: %w", err)
	}
	for rows.Next() {
		var merged, deleted bool
		st, err := scanPerson(rows, &merged, &deleted)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan person: %w", err)
		}
		if !merged {
			byPerson[st.ID] = &personLinks{st: st, deleted: deleted}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load people: %w", err)
	}
	// A claim is a run of the queue in person order: when its people are
	// most of the IDs between its first and last, their links are read by
	// range, one scan of the (person_id, connection_id) index, the others'
	// links filtered out (the "+ 0" keeps the list out of the index
	// condition, where it costs an index descent per person: 1.43 s of
	// statement time for these reads at 100k people, 0.42 s by range).
	lo, hi := slices.Min(pids), slices.Max(pids)
	among := "person_id BETWEEN $3 AND $4 AND person_id = ANY($2)"
	if hi-lo < 2*int64(len(pids)) {
		among = "person_id BETWEEN $3 AND $4 AND person_id + 0 = ANY($2)"
	}
	rows, err = tx.Query(ctx, `SELECT person_id, remote_id, base, synced_version, deleted_at IS NOT NULL FROM crmsync_link
		WHERE connection_id = $1 AND `+among+` ORDER BY remote_id`, c.ID, pids, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("load links: %w", err)
	}
	for rows.Next() {
		var pid, synced int64
		var rid string
		var raw []byte
		var deleted bool
		if err := rows.Scan(&pid, &rid, &raw, &synced, &deleted); err != nil {
			rows.Close()
			return nil, err
		}
		pl := byPerson[pid]
		if pl == nil {
			continue
		}
		if err := pl.add(rid, raw, synced, deleted); err != nil {
			rows.Close()
			return nil, err
		}
	}
	rows.Close()
	// A batch mark holding a claimed person belongs to a batch that ended
	// without recording its results: a batch in flight holds its people's
	// queue rows, which this claim could not take. Its people become
	// pending one by one, as that batch's results would have left them. (A
	// dry run claims nothing: a mark it meets may be a batch's in flight.)
	if claimed {
		if _, err := tx.Exec(ctx, `WITH stale AS (
				DELETE FROM crmsync_pending_batch WHERE connection_id = $1 AND person_max >= $3 AND person_min <= $4
					AND person_ids && $2::bigint[] RETURNING person_ids, attempted_at)
			INSERT INTO crmsync_pending_create (connection_id, person_id, attempted_at)
			SELECT $1, p, max(attempted_at) FROM stale, unnest(person_ids) AS p GROUP BY p
			ON CONFLICT (connection_id, person_id) DO UPDATE SET attempted_at = greatest(crmsync_pending_create.attempted_at, EXCLUDED.attempted_at)`,
			c.ID, pids, slices.Min(pids), slices.Max(pids)); err != nil {
			return nil, fmt.Errorf("take over pending marks: %w", err)
		}
	}
	rows, err = tx.Query(ctx, `SELECT person_id, attempted_at FROM crmsync_pending_create WHERE connection_id = $1 AND person_id = ANY($2)`, c.ID, pids)
	if err != nil {
		return nil, fmt.Errorf("load pending creates: %w", err)
	}
	for rows.Next() {
		var pid int64
		var at time.Time
		if err := rows.Scan(&pid, &at); err != nil {
			rows.Close()
			return nil, err
		}
		if pl := byPerson[pid]; pl != nil {
			pl.pending = &at
		}
	}
	rows.Close()
	// During a resync's push phase every listing is fresh: updates are not
	// read back first (the same reasoning as no find before create).
	var lastListing time.Time
	var resyncPushing, allListed bool
	ids := make([]int16, len(e.conns))
	for i, oc := range e.conns {
		ids[i] = oc.ID
	}
	if err := tx.QueryRow(ctx, `SELECT coalesce((SELECT last_poll_ok_at FROM crmsync_sync_state WHERE connection_id = $1), 'epoch'),
		EXISTS (SELECT 1 FROM crmsync_resync_run WHERE state = 'pushing'),
		(SELECT count(*) FROM crmsync_sync_state WHERE connection_id = ANY($2) AND last_poll_ok_at IS NOT NULL) = cardinality($2::smallint[])`,
		c.ID, ids).Scan(&lastListing, &resyncPushing, &allListed); err != nil {
		return nil, fmt.Errorf("read listing and resync state: %w", err)
	}
	if !allListed {
		// A CRM not yet listed in full may hold the record that shows two
		// people are one (an email here, a LinkedIn URL there): creating
		// either of them now would hold that person twice once it is
		// listed. Creates wait, as in a CRM never listed, for every
		// connection's first complete listing.
		lastListing = time.Time{}
	}

	var ops []Op
	for _, pid := range pids {
		pl := byPerson[pid]
		if pl == nil {
			continue
		}
		var src Prov
		for _, pv := range pl.st.Prov {
			if pv.At.After(src.At) {
				src = pv
			}
		}
		for _, op := range e.plan(c, pl, lastListing, settle) {
			op.Source, op.SourceAt = src.Conn, src.At
			op.Verify = op.Kind == OpUpdate && len(op.Fields) > 0 && !resyncPushing
			ops = append(ops, op)
		}
	}
	return ops, nil
}

// execute runs the ops against the CRM, PushConcurrency at a time. After a
// 429 it starts no new call.
func (e *Engine) execute(ctx context.Context, c *Conn, ops []Op) []opResult {
	results := make([]opResult, len(ops))
	var calls []int
	for i, op := range ops {
		results[i].op = op
		switch {
		case op.Skip != "":
			results[i].skip = op.Skip
		case op.Defer:
			results[i].deferred = true
		case op.Kind == OpUpdate && len(op.Fields) == 0:
			results[i].newBase = op.Base
		default:
			calls = append(calls, i)
		}
	}
	// PushConcurrency callers take the calls in order. One goroutine per
	// call grew its stack through the HTTP client each time: 3% of a 100k
	// resync's CPU.
	var next atomic.Int64
	var limited atomic.Bool
	var wg sync.WaitGroup
	for range min(max(1, e.PushConcurrency), len(calls)) {
		wg.Go(func() {
			for {
				k := int(next.Add(1)) - 1
				if k >= len(calls) {
					return
				}
				r := &results[calls[k]]
				if limited.Load() {
					r.err = &providers.Error{Class: providers.ClassRateLimited, Op: "push", Message: "not attempted after a 429"}
					continue
				}
				e.executeOne(ctx, c, r)
				if r.err != nil && providers.ClassOf(r.err) == providers.ClassRateLimited {
					limited.Store(true)
				}
			}
		})
	}
	wg.Wait()
	return results
}

func (e *Engine) executeOne(ctx context.Context, c *Conn, r *opResult) {
	op := r.op
	p := c.Provider
	switch op.Kind {
	case OpCreate:
		if op.FindFirst {
			if rec, err := e.find(ctx, c, &op.Desired); err != nil {
				r.err = err
				return
			} else if rec != nil {
				r.rec, r.adopted = rec, true
				r.newBase = projectHolds(c.Caps.Holds, &rec.Person)
				return
			}
		}
		rec, err := p.Create(ctx, op.Desired)
		if err != nil && providers.ClassOf(err) == providers.ClassConflict {
			// The CRM already has this person (a lost reply, or a human
			// typed it): adopt the record it has.
			found, ferr := e.find(ctx, c, &op.Desired)
			if ferr == nil && found != nil {
				r.rec, r.adopted = found, true
				r.newBase = projectHolds(c.Caps.Holds, &found.Person)
				return
			}
		}
		if err != nil {
			if providers.ClassOf(err) == providers.ClassValidation {
				r.skip = "rejected by " + c.Config.Provider + ": " + err.Error()
				return
			}
			r.err = err
			return
		}
		r.rec = &rec
		r.newBase = e.writtenBase(c, &rec.Person, &op.Desired, c.Caps.Creates)
	case OpUpdate:
		if op.Verify {
			fresh, err := e.current(ctx, c, op.RemoteID, &op.Base)
			if err != nil {
				r.err = err
				return
			}
			if fresh != nil && mapping.Hash(&fresh.Person, c.Caps.Holds) != mapping.Hash(&op.Base, c.Caps.Holds) {
				e.logger.DebugContext(ctx, "record changed in the CRM since last seen; ingesting it before writing",
					slog.String("connection", c.Name()), slog.String("id", op.RemoteID),
					slog.Any("fields", Diff(c.Caps.Holds, &op.Base, &fresh.Person)))
				r.stale = fresh
				return
			}
		}
		rec, err := p.Update(ctx, op.RemoteID, op.Base, op.Desired)
		if err != nil {
			if providers.ClassOf(err) == providers.ClassValidation || providers.ClassOf(err) == providers.ClassUnsupported {
				r.skip = "rejected by " + c.Config.Provider + ": " + err.Error()
				return
			}
			r.err = err
			return
		}
		r.rec = &rec
		r.newBase = e.writtenBase(c, &rec.Person, &op.Desired, c.Caps.Updates)
		for _, f := range mapping.AllFields {
			// Fields the answer does not carry keep their base value.
			if c.Caps.Holds.Has(f) && !c.Caps.Updates.Has(f) && !rec.Person.Has(f) {
				r.newBase.CopyField(f, &op.Base)
			}
		}
	case OpDelete:
		if err := p.Delete(ctx, op.RemoteID, op.Base); err != nil && providers.ClassOf(err) != providers.ClassNotFound {
			r.err = err
		}
	}
}

// writtenBase is the base state after a successful write: what the CRM
// answered for the fields it holds, and for fields it takes but never shows
// (write-only), what was written.
func (e *Engine) writtenBase(c *Conn, answered, desired *mapping.Person, written mapping.FieldSet) mapping.Person {
	nb := projectHolds(c.Caps.Holds, answered)
	for _, f := range mapping.AllFields {
		if written.Has(f) && (!c.Caps.Holds.Has(f) || !nb.Has(f)) {
			nb.CopyField(f, desired)
		}
	}
	return nb
}

// find looks a person up in c by each email, then LinkedIn.
func (e *Engine) find(ctx context.Context, c *Conn, p *mapping.Person) (*providers.Record, error) {
	if c.Caps.FindByEmail {
		for _, em := range p.Emails {
			recs, err := c.Provider.FindByEmail(ctx, em)
			if err != nil {
				return nil, fmt.Errorf("find %s by email: %w", c.Name(), err)
			}
			if len(recs) > 0 {
				return &recs[0], nil
			}
		}
	}
	if c.Caps.FindByLinkedIn && p.LinkedIn != "" {
		recs, err := c.Provider.FindByLinkedIn(ctx, p.LinkedIn)
		if err != nil {
			return nil, fmt.Errorf("find %s by LinkedIn: %w", c.Name(), err)
		}
		if len(recs) > 0 {
			return &recs[0], nil
		}
	}
	return nil, nil
}
