package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/jobs"
	"github.com/crmsync/crmsync/mapping"
)

// TestResyncConverges is scenario (a): `resync --wait` with three workers
// converges the four CRMs, skips are recorded with their reasons, and a
// second resync right after makes no write call.
func TestResyncConverges(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{people: 200})
	b := h.baseline()
	// The dataset's conflicting fields show before the sync (the check
	// below would see a sync that changed nothing).
	if n := len(h.fieldMismatches(h.people())); n == 0 {
		t.Fatalf("no field differs between CRMs before the sync: the dataset has no conflicts")
	} else {
		t.Logf("before: %d field mismatches", n)
	}
	h.startWorkers(3)
	took := h.resyncWait(2 * time.Minute)
	t.Logf("resync --wait of %d people: %s", b.people, took.Round(100*time.Millisecond))
	rep := h.checkConverged(b)
	t.Logf("after:\n%s", rep)

	st := h.status()
	for _, c := range st.Connections {
		if len(c.Failures) > 0 {
			t.Errorf("%s: failed writes: %v", c.Name, c.Failures)
		}
		for reason, n := range c.Skips {
			if strings.TrimSpace(reason) == "" || n <= 0 {
				t.Errorf("%s: skip without a reason: %q %d", c.Name, reason, n)
			}
		}
	}
	// Every person Epixel cannot hold has its skipped create recorded, once,
	// with a reason.
	var skipped int
	if err := h.pool.QueryRow(context.Background(), `SELECT count(DISTINCT o.person_id) FROM crmsync_write_outcome o
		JOIN crmsync_connection c ON c.id = o.connection_id
		WHERE c.name = 'epixel' AND o.kind = 'create' AND o.outcome = 'skipped' AND o.reason <> ''`).Scan(&skipped); err != nil {
		t.Fatal(err)
	}
	if want := rep.People - rep.PerCRM["epixel"].CanHold; skipped != want {
		t.Errorf("epixel skipped creates recorded: %d, want %d (people it cannot hold)", skipped, want)
	}
	var epixelSkips int64
	for _, c := range st.Connections {
		if c.Name == "epixel" {
			for _, n := range c.Skips {
				epixelSkips += n
			}
		}
	}
	if epixelSkips == 0 {
		t.Errorf("status --json shows no epixel skips")
	}

	// A second resync right after makes no write call.
	before := h.writes()
	took = h.resyncWait(2 * time.Minute)
	if d := diffWrites(before, h.writes()); len(d) > 0 {
		t.Errorf("second resync wrote: %v", d)
	}
	t.Logf("second resync --wait: %s, %d writes in all", took.Round(100*time.Millisecond), totalWrites(h.writes()))
	h.checkConverged(b)
}

// edit is one user edit in a simulator.
type edit struct {
	kind  string
	field mapping.Field
	value string
}

func (e edit) apply(p *mapping.Person) { p.Set(e.field, mapping.Value{e.value}) }

// shows reports whether kind's record of p holds e's value.
func (h *harness) shows(kind string, p *person, e edit) bool {
	r, ok := h.record(kind, p.ids)
	return ok && mapping.Equal(e.field, r.Person.Get(e.field), mapping.Value{e.value})
}

// userEdit edits p's record in e.kind as a user would.
func (h *harness) userEdit(p *person, e edit) {
	h.t.Helper()
	if err := h.sims[e.kind].UserEdit(p.recs[e.kind][0].ID, e.apply); err != nil {
		h.t.Fatalf("user edit in %s: %v", e.kind, err)
	}
	if !h.shows(e.kind, p, e) {
		h.t.Fatalf("user edit in %s of %s did not take", e.kind, e.field)
	}
}

// TestEditsPropagateWithoutEcho is scenario (b): one user edit in each CRM
// reaches every other CRM that holds and can write the field within the poll
// interval plus a small margin, and then no CRM receives any write (no
// echo).
func TestEditsPropagateWithoutEcho(t *testing.T) {
	t.Parallel()
	const poll = time.Second
	const margin = 4 * time.Second
	h := newHarness(t, options{people: 120, poll: poll})
	b := h.baseline()
	h.startWorkers(3)
	h.resyncWait(2 * time.Minute)
	h.checkConverged(b)

	edits := []edit{
		{kind: "nextlead", field: mapping.FieldFirstName, value: "Nextleadedit"},
		{kind: "skarbe", field: mapping.FieldFirstName, value: "Skarbeedit"},
		{kind: "epixel", field: mapping.FieldNotes, value: "Edited in Epixel"},
		{kind: "ligo", field: mapping.FieldAddress, value: "12 Rue de Ligo, 75011 Paris"},
	}
	used := map[string]bool{}
	targets := make([]*person, len(edits))
	for i, e := range edits {
		targets[i] = h.findPerson(h.kinds, used, func(p *person) bool { return len(h.holders(p, e.field, e.kind)) > 0 })
	}
	start := time.Now()
	for i, e := range edits {
		h.userEdit(targets[i], e)
	}
	for i, e := range edits {
		to := h.holders(targets[i], e.field, e.kind)
		took, ok := eventually(poll+margin+time.Until(start.Add(poll+margin)), func() bool {
			for _, k := range to {
				if !h.shows(k, targets[i], e) {
					return false
				}
			}
			return true
		})
		took = time.Since(start)
		if !ok {
			var have []string
			for _, k := range to {
				r, _ := h.record(k, targets[i].ids)
				have = append(have, k+"="+r.Person.Get(e.field).String())
			}
			t.Errorf("%s edit of %s did not reach %v within %s: %v", e.kind, e.field, to, poll+margin, have)
			continue
		}
		t.Logf("%s edit of %s reached %v in %s", e.kind, e.field, to, took.Round(10*time.Millisecond))
	}
	if t.Failed() {
		return
	}

	// No echo: the settle window sees no write at all.
	before := h.writes()
	time.Sleep(4 * poll)
	if d := diffWrites(before, h.writes()); len(d) > 0 {
		t.Errorf("writes during the settle window (an echo): %v", d)
	}
	for i, e := range edits {
		if !h.shows(e.kind, targets[i], e) {
			t.Errorf("%s lost its own edit of %s", e.kind, e.field)
		}
	}
}

// TestConcurrentEditsLaterWins is scenario (c): the same field edited in
// two CRMs moments apart settles on the later edit in every CRM that can
// write it.
func TestConcurrentEditsLaterWins(t *testing.T) {
	t.Parallel()
	const poll = 2 * time.Second
	h := newHarness(t, options{people: 100, poll: poll})
	b := h.baseline()
	h.startWorkers(3)
	h.resyncWait(2 * time.Minute)
	h.checkConverged(b)

	p := h.findPerson([]string{"nextlead", "ligo", "epixel"}, map[string]bool{}, nil)
	first := edit{kind: "nextlead", field: mapping.FieldFirstName, value: "Earlieredit"}
	later := edit{kind: "ligo", field: mapping.FieldFirstName, value: "Lateredit"}
	h.userEdit(p, first)
	time.Sleep(300 * time.Millisecond) // both within one poll interval
	h.userEdit(p, later)
	to := h.holders(p, mapping.FieldFirstName, "")
	took, ok := eventually(2*poll+5*time.Second, func() bool {
		for _, k := range to {
			if !h.shows(k, p, later) {
				return false
			}
		}
		return true
	})
	if !ok {
		var have []string
		for _, k := range to {
			r, _ := h.record(k, p.ids)
			have = append(have, k+"="+r.Person.FirstName)
		}
		rows, _ := h.pool.Query(context.Background(), `SELECT coalesce(old_value,''), coalesce(new_value,''), coalesce(connection_id,0), source_at, created_at FROM crmsync_change WHERE field = 'first_name' AND (new_value LIKE '%edit' OR old_value LIKE '%edit') ORDER BY id`)
		for rows.Next() {
			var o, n string
			var c int16
			var at, created time.Time
			_ = rows.Scan(&o, &n, &c, &at, &created)
			t.Logf("history: %q -> %q from conn %d, source time %s, applied %s", o, n, c, at.Format("15:04:05.000"), created.Format("15:04:05.000"))
		}
		rows.Close()
		t.Fatalf("the later edit did not win everywhere within %s: %v", took, have)
	}
	t.Logf("the later edit reached %v in %s", to, took.Round(10*time.Millisecond))
	// It stays: the earlier edit does not come back, nothing more is
	// written.
	before := h.writes()
	time.Sleep(3 * poll)
	for _, k := range to {
		if !h.shows(k, p, later) {
			r, _ := h.record(k, p.ids)
			t.Errorf("%s went back to %q", k, r.Person.FirstName)
		}
	}
	if d := diffWrites(before, h.writes()); len(d) > 0 {
		t.Errorf("writes after settling: %v", d)
	}
}

// workerByID returns the worker whose River client ID is id.
func (h *harness) workerByID(id string) *worker {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, w := range h.workers {
		if w.id == id {
			return w
		}
	}
	return nil
}

// TestWorkerKilledMidResync is scenario (d): a worker killed with kill -9
// while it pushes during a resync: the run still completes (its jobs are
// rescued after CRMSYNC_RESCUE_AFTER), nobody is duplicated, nothing is
// missing.
func TestWorkerKilledMidResync(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{people: 250, env: []string{jobs.EnvRescueAfter + "=10s"}})
	for _, s := range h.sims {
		s.SetLatency(30 * time.Millisecond)
	}
	// Once the run pushes, every call takes 300 ms, so that a push batch
	// (16 calls at a time) lasts seconds: a push job is caught running and
	// killed with writes in flight, even on a loaded machine.
	slowed := false
	slowPushes := func() {
		var state string
		if slowed || h.pool.QueryRow(context.Background(), `SELECT state FROM crmsync_resync_run ORDER BY id DESC LIMIT 1`).Scan(&state) != nil || state != "pushing" {
			return
		}
		for _, s := range h.sims {
			s.SetLatency(300 * time.Millisecond)
		}
		slowed = true
	}
	b := h.baseline()
	h.startWorkers(3)
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		out, err := h.crmsync(3*time.Minute, "resync", "--wait")
		done <- result{out, err}
	}()
	// Kill the worker running a push job, once it made some writes.
	var victim *worker
	var job string
	_, ok := eventually(90*time.Second, func() bool {
		slowPushes()
		if totalWrites(h.writes()) < 20 {
			return false
		}
		var by, kind string
		err := h.pool.QueryRow(context.Background(), `SELECT attempted_by[array_length(attempted_by, 1)], kind || ' ' || (args->>'connection')
			FROM river_job WHERE state = 'running' AND kind = 'crmsync.push' ORDER BY id LIMIT 1`).Scan(&by, &kind)
		if err != nil {
			return false
		}
		victim, job = h.workerByID(by), kind
		return victim != nil
	})
	if !ok {
		t.Fatalf("no push job seen running")
	}
	h.kill9(victim)
	for _, s := range h.sims {
		s.SetLatency(30 * time.Millisecond) // the rest of the run at speed
	}
	t.Logf("killed %s (running %s) with kill -9 after %s, %d writes made", victim.id, job,
		time.Since(start).Round(100*time.Millisecond), totalWrites(h.writes()))
	var r result
	select {
	case r = <-done:
	case <-time.After(3 * time.Minute):
		t.Fatal("resync --wait did not return")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Logf("resync completed %s after start", time.Since(start).Round(100*time.Millisecond))
	var rescued int
	_ = h.pool.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE attempt > 1 OR cardinality(errors) > 0`).Scan(&rescued)
	t.Logf("jobs run more than once or with errors: %d", rescued)
	h.checkConverged(b)
}

// TestRateLimits is scenario (e): `rate_limit: 20/s` on one connection
// holds in every one-second window across three workers (timestamps taken
// by a recording proxy in front of its simulator), and a CRM answering 429
// is honoured: the run still converges.
func TestRateLimits(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{people: 150, rateLimit: map[string]string{"nextlead": "20/s"}, record: []string{"nextlead", "skarbe"}})
	h.sims["skarbe"].SetRateLimit(8)
	b := h.baseline()
	h.startWorkers(3)
	start := time.Now()
	if _, err := h.crmsync(2*time.Minute, "resync", "--wait"); err != nil {
		t.Fatalf("%v\nskarbe answers per second:\n%s", err, histogram(h.proxies["skarbe"].snapshot()))
	}
	t.Logf("resync --wait: %s", time.Since(start).Round(100*time.Millisecond))
	h.checkConverged(b)
	// Polls go on for a while under the limit too.
	time.Sleep(2 * time.Second)

	hits := h.proxies["nextlead"].snapshot()
	n, at := maxPerSecond(hits)
	t.Logf("nextlead: %d requests, at most %d in one second (from %s)", len(hits), n, at.Format("15:04:05.000"))
	if n > 20 {
		t.Errorf("nextlead got %d requests in the second from %s, over its rate_limit of 20/s", n, at.Format("15:04:05.000"))
	}
	if len(hits) < 60 {
		t.Errorf("nextlead got only %d requests: the limit was never tested", len(hits))
	}
	var limited, others int
	for _, h := range h.proxies["skarbe"].snapshot() {
		if h.status == 429 {
			limited++
		} else {
			others++
		}
	}
	t.Logf("skarbe (simulator limit 8/s): %d answers 429, %d others", limited, others)
	if limited == 0 {
		t.Errorf("skarbe never answered 429: the scenario did not test Retry-After")
	}
}

// histogram renders hits per second by route and status.
func histogram(hits []hit) string {
	if len(hits) == 0 {
		return ""
	}
	t0 := hits[0].at
	per := map[int]map[string]int{}
	last := 0
	for _, h := range hits {
		s := int(h.at.Sub(t0) / time.Second)
		if per[s] == nil {
			per[s] = map[string]int{}
		}
		per[s][fmt.Sprintf("%s %d", h.route, h.status)]++
		last = max(last, s)
	}
	var b strings.Builder
	for s := 0; s <= last; s++ {
		fmt.Fprintf(&b, "%3ds %v\n", s, per[s])
	}
	return b.String()
}

// TestDryRunWritesNothing is scenario (f): `resync --dry-run` calls no write
// route and leaves the database as it was.
func TestDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{people: 150})
	b := h.baseline()
	if _, err := h.crmsync(time.Minute, "migrate"); err != nil {
		t.Fatal(err)
	}
	h.status() // registers the connections
	counts := h.dbCounts()
	out, err := h.crmsync(2*time.Minute, "resync", "--dry-run")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "dry run: nothing was written") || !strings.Contains(out, "would create") {
		t.Errorf("dry run output:\n%s", out)
	}
	t.Logf("dry run:\n%s", out)
	if w := h.writes(); totalWrites(w) != 0 {
		t.Errorf("dry run wrote to the CRMs: %v", diffWrites(nil, w))
	}
	after := h.dbCounts()
	for tbl, n := range counts {
		if after[tbl] != n {
			t.Errorf("dry run changed %s: %d rows, was %d", tbl, after[tbl], n)
		}
	}
	if nb := h.baseline(); nb != b {
		t.Errorf("simulators changed: %+v, was %+v", nb, b)
	}
}
