package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers"
)

// IngestStats counts what one ingest batch did.
type IngestStats struct {
	Records   int
	Unchanged int
	NewPeople int
	NewLinks  int
	Merges    int
	Changes   int
	// Issues are mapping issues reported by the adapter (unmapped stages,
	// invalid emails), prefixed with the record ID.
	Issues []string
}

// Add adds o to s.
func (s *IngestStats) Add(o IngestStats) {
	s.Records += o.Records
	s.Unchanged += o.Unchanged
	s.NewPeople += o.NewPeople
	s.NewLinks += o.NewLinks
	s.Merges += o.Merges
	s.Changes += o.Changes
	s.Issues = append(s.Issues, o.Issues...)
}

type linkRow struct {
	personID int64
	base     *mapping.Person
	hash     int64
	deleted  bool
	seenAt   time.Time
}

// IngestOptions tune one ingest batch.
type IngestOptions struct {
	// Tx, when set, runs the batch inside this transaction (dry runs).
	Tx pgx.Tx
	// NoQueue skips writing the push outbox (the resync queues everything
	// once its listings are done).
	NoQueue bool
	// ListedAt, when set, is when the listing these records come from
	// began (database clock). A record whose link was written after it (a
	// push landed while the listing was read) is older than what crmsync
	// wrote, so it is not taken for an edit.
	ListedAt time.Time
}

// Ingest matches, links and merges a batch of records seen in connection c
// into the canonical store, in one transaction under the fleet-wide ingest
// lock, and queues pushes for the people whose canonical values changed.
func (e *Engine) Ingest(ctx context.Context, c *Conn, recs []providers.Record, opts IngestOptions) (IngestStats, error) {
	if len(recs) == 0 {
		return IngestStats{}, nil
	}
	tx := opts.Tx
	if tx == nil {
		var err error
		tx, err = e.pool.Begin(ctx)
		if err != nil {
			return IngestStats{}, fmt.Errorf("ingest %s: begin: %w", c.Name(), err)
		}
		defer func() { _ = tx.Rollback(ctx) }()
	}
	// What needs no lock is done before taking it: the lock serializes
	// every ingest of the fleet.
	prep, err := e.prepareIngest(ctx, tx, c, recs)
	if err != nil {
		return IngestStats{}, fmt.Errorf("ingest %s: %w", c.Name(), err)
	}
	part := &ingestPart{c: c, b: prep, listedAt: opts.ListedAt}
	if err := e.ingestLocked(ctx, tx, []*ingestPart{part}, !opts.NoQueue); err != nil {
		return part.stats, fmt.Errorf("ingest %s: %w", c.Name(), err)
	}
	if opts.Tx == nil {
		if err := tx.Commit(ctx); err != nil {
			return part.stats, fmt.Errorf("ingest %s: commit: %w", c.Name(), err)
		}
	}
	return part.stats, nil
}

// ingestLocked takes the fleet-wide ingest lock in tx and ingests parts, in
// order, as if each were a batch of its own.
func (e *Engine) ingestLocked(ctx context.Context, tx pgx.Tx, parts []*ingestPart, queue bool) error {
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", ingestLockKey); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	return e.ingestTx(ctx, tx, parts, queue)
}

// ingestPart is one connection's batch within an ingest transaction, and
// what the transaction did with it.
type ingestPart struct {
	c *Conn
	b *ingestBatch
	// listedAt is IngestOptions.ListedAt of the batch.
	listedAt time.Time
	stats    IngestStats
}

// ingestBatch is a batch of records made ready for ingest outside the
// ingest lock: one record per remote ID (the last seen), with each record's
// hash over the connection's held fields and identity keys, and person IDs
// reserved for the people the batch may create.
type ingestBatch struct {
	recs   []providers.Record
	ids    []string
	hashes []int64
	keys   [][]string
	// bases are the records' base states as a new link stores them
	// (encoded), for records the store has no live link for yet.
	bases    []string
	reserved []int64
	issues   []string
	received int
}

// queryRower is what reserving person IDs needs: a pool or a transaction.
type queryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (e *Engine) prepareIngest(ctx context.Context, q queryRower, c *Conn, in []providers.Record) (*ingestBatch, error) {
	b := &ingestBatch{received: len(in)}
	pos := make(map[string]int, len(in))
	b.recs = make([]providers.Record, 0, len(in))
	for _, r := range in {
		if i, ok := pos[r.ID]; ok {
			b.recs[i] = r
			continue
		}
		pos[r.ID] = len(b.recs)
		b.recs = append(b.recs, r)
	}
	b.ids = make([]string, len(b.recs))
	b.hashes = make([]int64, len(b.recs))
	b.keys = make([][]string, len(b.recs))
	b.bases = make([]string, len(b.recs))
	for i := range b.recs {
		r := &b.recs[i]
		b.ids[i] = r.ID
		for _, is := range r.Issues {
			b.issues = append(b.issues, r.ID+": "+is)
		}
		b.hashes[i] = int64(mapping.Hash(&r.Person, c.Caps.Holds))
		b.keys[i] = Identities(&r.Person)
		nb := projectHolds(c.Caps.Holds, &r.Person)
		b.bases[i] = string(encodeBase(&nb))
	}
	var err error
	if b.reserved, err = reservePersonIDs(ctx, q, len(b.recs)); err != nil {
		return nil, err
	}
	return b, nil
}

// personIDBlock is the person ID sequence's increment (migration 006): a
// value it gives is the first of that many IDs reserved.
const personIDBlock = 1024

// reservePersonIDs reserves n person IDs, a block of personIDBlock per
// sequence value. Sequence values are not transactional: IDs reserved and
// not used are skipped, never reused.
func reservePersonIDs(ctx context.Context, q queryRower, n int) ([]int64, error) {
	var starts []int64
	if err := q.QueryRow(ctx, `SELECT array_agg(nextval(pg_get_serial_sequence('crmsync_person', 'id')))
		FROM generate_series(1, $1)`, (n+personIDBlock-1)/personIDBlock).Scan(&starts); err != nil {
		return nil, fmt.Errorf("reserve person ids: %w", err)
	}
	ids := make([]int64, 0, n)
	for _, s := range starts {
		for i := int64(0); i < personIDBlock && len(ids) < n; i++ {
			ids = append(ids, s+i)
		}
	}
	return ids, nil
}

// linkKey is a link's key: its connection and the record's ID there.
type linkKey struct {
	conn     int16
	remoteID string
}

// ingestItem is a record that needs work, with its part and position.
type ingestItem struct {
	part *ingestPart
	i    int
}

func (e *Engine) ingestTx(ctx context.Context, tx pgx.Tx, parts []*ingestPart, queue bool) error {
	observed := e.Now().UTC()
	for _, p := range parts {
		p.stats = IngestStats{Records: p.b.received, Issues: p.b.issues}
	}

	// The links of every part, read in one round trip.
	links := make(map[linkKey]*linkRow)
	reads := &pgx.Batch{}
	for _, p := range parts {
		reads.Queue(`SELECT remote_id, person_id, base, base_hash, deleted_at IS NOT NULL, seen_at
			FROM crmsync_link WHERE connection_id = $1 AND remote_id = ANY($2)`, p.c.ID, p.b.ids)
	}
	res := tx.SendBatch(ctx, reads)
	for _, p := range parts {
		if err := readLinks(res, p.c.ID, links); err != nil {
			_ = res.Close()
			return err
		}
	}
	if err := res.Close(); err != nil {
		return fmt.Errorf("load links: %w", err)
	}

	// Unchanged records (same hash as their live link's base) cost nothing.
	var work []ingestItem
	for _, p := range parts {
		listedAt := p.listedAt
		for i, r := range p.b.recs {
			if l, ok := links[linkKey{p.c.ID, r.ID}]; ok && !l.deleted && (l.hash == p.b.hashes[i] || (!listedAt.IsZero() && l.seenAt.After(listedAt))) {
				p.stats.Unchanged++
				continue
			}
			work = append(work, ingestItem{part: p, i: i})
		}
	}
	if len(work) == 0 {
		return nil
	}

	// Identities of the records that need work.
	var emails, urls []string
	for _, w := range work {
		for _, k := range w.part.b.keys[w.i] {
			if k[0] == 'e' {
				emails = append(emails, k[2:])
			} else {
				urls = append(urls, k[2:])
			}
		}
	}
	idx := make(map[string]int64, len(emails)+len(urls))
	// inDB holds the identities the store had: the others are new rows,
	// which only an ingest writes, under the lock this one holds.
	inDB := make(map[string]bool, len(emails)+len(urls))
	if len(emails)+len(urls) > 0 {
		rows, err := tx.Query(ctx, `SELECT kind::text, value, person_id FROM crmsync_identity
			WHERE (kind = 'e' AND value = ANY($1)) OR (kind = 'l' AND value = ANY($2))`, emails, urls)
		if err != nil {
			return fmt.Errorf("load identities: %w", err)
		}
		for rows.Next() {
			var kind, value string
			var pid int64
			if err := rows.Scan(&kind, &value, &pid); err != nil {
				rows.Close()
				return fmt.Errorf("scan identity: %w", err)
			}
			idx[kind+":"+value] = pid
			inDB[kind+":"+value] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("load identities: %w", err)
		}
	}

	var need []int64
	for _, w := range work {
		if l, ok := links[linkKey{w.part.c.ID, w.part.b.ids[w.i]}]; ok {
			need = append(need, l.personID)
		}
	}
	for _, pid := range idx {
		need = append(need, pid)
	}
	slices.Sort(need)
	people, err := loadPeople(ctx, tx, slices.Compact(need))
	if err != nil {
		return err
	}

	type merge struct {
		survivor, merged int64
		reason           string
	}
	var (
		merges     []merge
		changes    []FieldChange
		newIdents  = map[string]int64{}
		linkWrites []linkWrite
		touched    = map[int64]bool{}
		// createdBy is the part whose record created each new person.
		createdBy = map[int64]*ingestPart{}
		reserved  = map[*ingestPart][]int64{}
	)
	for _, p := range parts {
		reserved[p] = p.b.reserved
	}
	mergedInto := map[int64]int64{}
	resolve := func(pid int64) int64 {
		for {
			s, ok := mergedInto[pid]
			if !ok {
				return pid
			}
			pid = s
		}
	}

	for _, w := range work {
		p, c := w.part, w.part.c
		r := &p.b.recs[w.i]
		keys := p.b.keys[w.i]
		cands := map[int64]bool{}
		l := links[linkKey{c.ID, r.ID}]
		if l != nil && !l.deleted {
			cands[resolve(l.personID)] = true
		}
		for _, k := range keys {
			if pid, ok := idx[k]; ok {
				cands[resolve(pid)] = true
			}
		}
		var pid int64
		switch len(cands) {
		case 0:
			pid = reserved[p][0]
			reserved[p] = reserved[p][1:]
			st := &PersonState{ID: pid, Prov: make([]Prov, nFields), New: true, Version: 1}
			people[pid] = st
			createdBy[pid] = p
			p.stats.NewPeople++
		default:
			ordered := make([]int64, 0, len(cands))
			for cand := range cands {
				ordered = append(ordered, cand)
			}
			slices.Sort(ordered)
			pid = ordered[0]
			for _, m := range ordered[1:] {
				survivor, merged := people[pid], people[m]
				ch := e.merger.Fold(survivor, merged)
				changes = append(changes, ch...)
				p.stats.Changes += len(ch)
				mergedInto[m] = pid
				if !merged.New {
					merges = append(merges, merge{survivor: pid, merged: m, reason: fmt.Sprintf("a %s record matched both people", c.Name())})
				} else {
					createdBy[m].stats.NewPeople--
				}
				for k, v := range idx {
					if v == m {
						idx[k] = pid
					}
				}
				for k, v := range newIdents {
					if v == m {
						newIdents[k] = pid
					}
				}
				for j := range linkWrites {
					if linkWrites[j].personID == m {
						linkWrites[j].personID = pid
					}
				}
				delete(touched, m)
				touched[pid] = true
				p.stats.Merges++
			}
		}
		st := people[pid]
		var base *mapping.Person
		if l != nil && !l.deleted {
			base = l.base
		}
		at := r.ChangedAt
		if at.IsZero() {
			at = observed
		}
		at = at.UTC().Truncate(time.Microsecond)
		holds := c.Caps.Holds
		ch := e.merger.Apply(st, &r.Person, base, holds, c.ID, at)
		changes = append(changes, ch...)
		p.stats.Changes += len(ch)
		if len(ch) > 0 || l == nil || l.deleted || l.personID != pid {
			touched[pid] = true
		}
		if l == nil || l.deleted {
			p.stats.NewLinks++
		}
		for _, k := range keys {
			if cur, ok := idx[k]; !ok || cur != pid {
				idx[k] = pid
				newIdents[k] = pid
			}
		}
		// The new base: what the CRM holds now, plus write-only values
		// crmsync wrote before (they never come back in a listing). A
		// record with no live link has no such values: its base was
		// encoded before the lock was taken.
		lw := linkWrite{conn: c.ID, remoteID: r.ID, personID: pid, hash: p.b.hashes[w.i], changedAt: r.ChangedAt}
		if base != nil {
			nb := projectHolds(holds, &r.Person)
			for _, f := range mapping.AllFields {
				if !holds.Has(f) {
					nb.CopyField(f, base)
				}
			}
			lw.base = string(encodeBase(&nb))
		} else {
			lw.base = p.b.bases[w.i]
		}
		linkWrites = append(linkWrites, lw)
	}

	// Write everything back.
	var newRows [][]any
	var updates personUpdates
	batch := &pgx.Batch{}
	for pid, st := range people {
		if _, gone := mergedInto[pid]; gone {
			continue
		}
		if st.New {
			newRows = append(newRows, append(append([]any{st.ID}, personArgs(st)...), st.Version))
			continue
		}
		if st.Dirty {
			updates.add(st)
		}
	}
	updates.queue(batch)
	if len(newRows) > 0 {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"crmsync_person"}, []string{"id", "first_name", "last_name", "emails", "phones",
			"linkedin_url", "company", "job_title", "website", "address", "facebook", "instagram", "twitter", "notes",
			"lead_stage", "pipeline_stage", "lead_score", "owner", "prov_conn", "prov_at", "version"}, pgx.CopyFromRows(newRows))
		if err != nil {
			return fmt.Errorf("insert people: %w", err)
		}
	}
	for _, m := range merges {
		batch.Queue(`UPDATE crmsync_identity SET person_id = $1 WHERE person_id = $2`, m.survivor, m.merged)
		batch.Queue(`UPDATE crmsync_link SET person_id = $1 WHERE person_id = $2`, m.survivor, m.merged)
		batch.Queue(`UPDATE crmsync_pending_create SET person_id = $1 WHERE person_id = $2 AND NOT EXISTS (
			SELECT 1 FROM crmsync_pending_create p2 WHERE p2.person_id = $1 AND p2.connection_id = crmsync_pending_create.connection_id)`, m.survivor, m.merged)
		batch.Queue(`DELETE FROM crmsync_pending_create WHERE person_id = $1`, m.merged)
		batch.Queue(`UPDATE crmsync_pending_batch SET person_ids = array_replace(person_ids, $2, $1),
			person_min = least(person_min, $1), person_max = greatest(person_max, $1)
			WHERE person_min <= $2 AND person_max >= $2 AND $2 = ANY(person_ids)`, m.survivor, m.merged)
		batch.Queue(`UPDATE crmsync_person SET merged_into = $1, updated_at = now() WHERE id = $2 OR merged_into = $2`, m.survivor, m.merged)
		batch.Queue(`INSERT INTO crmsync_merge (survivor, merged, reason) VALUES ($1, $2, $3)`, m.survivor, m.merged, m.reason)
		batch.Queue(`DELETE FROM crmsync_push_queue WHERE person_id = $1`, m.merged)
	}
	if len(newIdents) > 0 {
		var kinds, values []string
		var pids []int64
		var fresh [][]any
		for k, pid := range newIdents {
			if !inDB[k] {
				fresh = append(fresh, []any{k[:1], k[2:], resolve(pid)})
				continue
			}
			kinds = append(kinds, k[:1])
			values = append(values, k[2:])
			pids = append(pids, resolve(pid))
		}
		if len(fresh) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"crmsync_identity"}, []string{"kind", "value", "person_id"},
				pgx.CopyFromRows(fresh)); err != nil {
				return fmt.Errorf("insert identities: %w", err)
			}
		}
		if len(kinds) > 0 {
			batch.Queue(`INSERT INTO crmsync_identity (kind, value, person_id)
				SELECT k::"char", v, p FROM unnest($1::text[], $2::text[], $3::bigint[]) AS t(k, v, p)
				ON CONFLICT (kind, value) DO UPDATE SET person_id = EXCLUDED.person_id`, kinds, values, pids)
		}
	}
	if len(linkWrites) > 0 {
		n := len(linkWrites)
		conns, rids, bases := make([]int16, n), make([]string, n), make([]string, n)
		pids, hs := make([]int64, n), make([]int64, n)
		cts := make([]*time.Time, n)
		var fresh [][]any
		for i, lw := range linkWrites {
			conns[i], rids[i], pids[i], bases[i], hs[i] = lw.conn, lw.remoteID, resolve(lw.personID), lw.base, lw.hash
			if !lw.changedAt.IsZero() {
				t := lw.changedAt
				cts[i] = &t
			}
			if _, known := links[linkKey{lw.conn, lw.remoteID}]; !known {
				fresh = append(fresh, []any{conns[i], rids[i], pids[i], bases[i], hs[i], cts[i]})
			}
		}
		if len(fresh) > 0 {
			// Links not in the store when the batch read them are copied in,
			// and only the known ones upserted. A push may have linked one
			// of them since (a record it just created, listed before its
			// answer was recorded): the copy then fails on the key, and all
			// are upserted.
			copied, err := copyNewLinks(ctx, tx, fresh)
			if err != nil {
				return err
			}
			if copied {
				keep := 0
				for i := range n {
					if _, known := links[linkKey{conns[i], rids[i]}]; known {
						conns[keep], rids[keep], pids[keep], bases[keep], hs[keep], cts[keep] = conns[i], rids[i], pids[i], bases[i], hs[i], cts[i]
						keep++
					}
				}
				conns, rids, pids, bases, hs, cts = conns[:keep], rids[:keep], pids[:keep], bases[:keep], hs[:keep], cts[:keep]
			}
		}
		if len(rids) > 0 {
			batch.Queue(`INSERT INTO crmsync_link (connection_id, remote_id, person_id, base, base_hash, remote_changed_at, seen_at)
				SELECT c, r, p, b, h, t, now() FROM unnest($1::smallint[], $2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::timestamptz[]) AS x(c, r, p, b, h, t)
				ON CONFLICT (connection_id, remote_id) DO UPDATE SET person_id = EXCLUDED.person_id, base = EXCLUDED.base,
					base_hash = EXCLUDED.base_hash, remote_changed_at = EXCLUDED.remote_changed_at, seen_at = now(), deleted_at = NULL`,
				conns, rids, pids, bases, hs, cts)
		}
	}
	if queue && len(touched) > 0 {
		var qc []int16
		var qp []int64
		for pid := range touched {
			for _, oc := range e.conns {
				if oc.Writable() {
					qc = append(qc, oc.ID)
					qp = append(qp, resolve(pid))
				}
			}
		}
		// DO UPDATE, not DO NOTHING: a row that a push batch has claimed
		// is locked, and this waits for that batch to end (it deletes the
		// row, and the insert then queues the person again) instead of
		// seeing the row and leaving the new change unqueued. Rows are
		// sorted so that concurrent ingests lock them in one order.
		batch.Queue(`INSERT INTO crmsync_push_queue (connection_id, person_id)
			SELECT c, p FROM unnest($1::smallint[], $2::bigint[]) AS t(c, p) ORDER BY c, p
			ON CONFLICT (connection_id, person_id) DO UPDATE SET queued_at = now()`, qc, qp)
	}
	if batch.Len() > 0 {
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return fmt.Errorf("write batch: %w", err)
		}
	}
	// History records how known people changed. A person first seen in
	// this transaction has no history yet: where each of its values came
	// from is its provenance (prov_conn, prov_at), written with it, and a
	// full resync would otherwise write a history row per field of every
	// person. Nor has a person first seen after the listing a record comes
	// from began, for that record's changes: the listing is how the store
	// learns of the person (a first resync, most of all), each CRM's values
	// stay in its link's base state, and the winners in the provenance.
	// A transaction holds one part per connection at most (Ingest one,
	// ingestGroup.take one per connection), so a change's connection names
	// the listing it came from.
	listedAt := make(map[int16]time.Time, len(parts))
	for _, p := range parts {
		listedAt[p.c.ID] = p.listedAt
	}
	hist := make([][]any, 0, len(changes))
	for _, ch := range changes {
		pid := resolve(ch.PersonID)
		if st := people[pid]; st != nil && (st.New || (!listedAt[ch.Conn].IsZero() && !st.Created.Before(listedAt[ch.Conn]))) {
			continue
		}
		hist = append(hist, []any{pid, string(ch.Field), nullable(ch.Old.String()), nullable(ch.New.String()), nullConn(ch.Conn), ch.At})
	}
	if len(hist) > 0 {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"crmsync_change"},
			[]string{"person_id", "field", "old_value", "new_value", "connection_id", "source_at"}, pgx.CopyFromRows(hist)); err != nil {
			return fmt.Errorf("write history: %w", err)
		}
	}
	return nil
}

// readLinks reads the next result of a batch of link reads into links.
func readLinks(res pgx.BatchResults, conn int16, links map[linkKey]*linkRow) error {
	rows, err := res.Query()
	if err != nil {
		return fmt.Errorf("load links: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var rid string
		var raw []byte
		l := &linkRow{}
		if err := rows.Scan(&rid, &l.personID, &raw, &l.hash, &l.deleted, &l.seenAt); err != nil {
			return fmt.Errorf("scan link: %w", err)
		}
		if l.base, err = decodeBase(raw); err != nil {
			return err
		}
		links[linkKey{conn, rid}] = l
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load links: %w", err)
	}
	return nil
}

// copyNewLinks copies rows (connection_id, remote_id, person_id, base,
// base_hash, remote_changed_at) into crmsync_link inside a savepoint. It
// reports false, with the savepoint rolled back, when a row's key is
// already there.
func copyNewLinks(ctx context.Context, tx pgx.Tx, rows [][]any) (bool, error) {
	return giveWayOnKey(ctx, tx, "insert links", func(sp pgx.Tx) error {
		_, err := sp.CopyFrom(ctx, pgx.Identifier{"crmsync_link"},
			[]string{"connection_id", "remote_id", "person_id", "base", "base_hash", "remote_changed_at"}, pgx.CopyFromRows(rows))
		return err
	})
}

// giveWayOnKey runs write in a savepoint of tx. It reports false, with the
// savepoint rolled back and tx still usable, when write fails on a unique
// key (a row written meanwhile), for the caller to write another way; what
// names the write in errors.
func giveWayOnKey(ctx context.Context, tx pgx.Tx, what string, write func(sp pgx.Tx) error) (bool, error) {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("%s: savepoint: %w", what, err)
	}
	err = write(sp)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		if err := sp.Rollback(ctx); err != nil {
			return false, fmt.Errorf("%s: roll back to savepoint: %w", what, err)
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	if err := sp.Commit(ctx); err != nil {
		return false, fmt.Errorf("%s: release savepoint: %w", what, err)
	}
	return true, nil
}

type linkWrite struct {
	conn     int16
	remoteID string
	personID int64
	// base is the link's base state, encoded.
	base      string
	hash      int64
	changedAt time.Time
}

func nullConn(c int16) any {
	if c == 0 {
		return nil
	}
	return c
}

// projectHolds returns the fields of p in set.
func projectHolds(set mapping.FieldSet, p *mapping.Person) mapping.Person {
	var out mapping.Person
	for _, f := range mapping.AllFields {
		if set.Has(f) {
			out.CopyField(f, p)
		}
	}
	return out
}

// MarkDeleted records that remote records of c were deleted: their links
// become tombstones (the person is not created there again). With
// propagate_deletes on c, the people are deleted canonically and queued, so
// the other CRMs with a delete route delete them too. It returns the people
// touched.
func (e *Engine) MarkDeleted(ctx context.Context, c *Conn, remoteIDs []string) (int, error) {
	if len(remoteIDs) == 0 {
		return 0, nil
	}
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("mark deleted in %s: %w", c.Name(), err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	rows, err := tx.Query(ctx, `UPDATE crmsync_link SET deleted_at = now()
		WHERE connection_id = $1 AND remote_id = ANY($2) AND deleted_at IS NULL RETURNING person_id`, c.ID, remoteIDs)
	if err != nil {
		return 0, fmt.Errorf("mark deleted in %s: %w", c.Name(), err)
	}
	var pids []int64
	for rows.Next() {
		var pid int64
		if err := rows.Scan(&pid); err != nil {
			rows.Close()
			return 0, err
		}
		pids = append(pids, pid)
	}
	rows.Close()
	if c.Config.PropagateDeletes && len(pids) > 0 {
		if _, err := tx.Exec(ctx, `UPDATE crmsync_person SET deleted_at = now(), version = version + 1 WHERE id = ANY($1) AND deleted_at IS NULL`, pids); err != nil {
			return 0, fmt.Errorf("propagate delete: %w", err)
		}
		// Every other CRM gets the person queued: those with a delete
		// route delete it, the others record why they cannot.
		for _, oc := range e.conns {
			if oc.ID != c.ID {
				if _, err := tx.Exec(ctx, `INSERT INTO crmsync_push_queue (connection_id, person_id)
					SELECT $1, p FROM unnest($2::bigint[]) AS t(p) ORDER BY p
					ON CONFLICT (connection_id, person_id) DO UPDATE SET queued_at = now()`, oc.ID, pids); err != nil {
					return 0, fmt.Errorf("queue delete: %w", err)
				}
			}
		}
	}
	return len(pids), tx.Commit(ctx)
}
