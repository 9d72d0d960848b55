package engine_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/crmsync/crmsync/engine"
	"github.com/crmsync/crmsync/internal/app"
	"github.com/crmsync/crmsync/internal/config"
	"github.com/crmsync/crmsync/internal/dataset"
	"github.com/crmsync/crmsync/internal/pgtest"
	"github.com/crmsync/crmsync/internal/simulate"
	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers"
)

// world is an engine over the four simulators and a fresh database.
type world struct {
	t    *testing.T
	e    *engine.Engine
	sims map[string]providers.Simulator
	ctx  context.Context
}

func newWorld(t *testing.T, seeds map[string][]mapping.Person, tweak ...func(*config.Connection)) *world {
	t.Helper()
	return newWorldOn(t, pgtest.New(t), seeds, tweak...)
}

// newWorldOn is newWorld on a given pool.
func newWorldOn(t *testing.T, pool *pgxpool.Pool, seeds map[string][]mapping.Person, tweak ...func(*config.Connection)) *world {
	t.Helper()
	ctx := context.Background()
	cfg := &config.Config{}
	w := &world{t: t, sims: map[string]providers.Simulator{}, ctx: ctx}
	for _, kind := range simulate.Kinds() {
		sim, err := simulate.NewSimulator(kind, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sim.Close)
		if people := seeds[kind]; len(people) > 0 {
			if _, err := sim.Seed(people); err != nil {
				t.Fatalf("seed %s: %v", kind, err)
			}
		}
		w.sims[kind] = sim
		cc := config.Connection{Name: kind, Provider: kind, BaseURL: sim.URL(),
			Credentials: sim.Credentials(), PollInterval: time.Second, Timeout: 10 * time.Second, Priority: len(cfg.Connections)}
		for _, f := range tweak {
			f(&cc)
		}
		cfg.Connections = append(cfg.Connections, cc)
	}
	a, err := app.OpenPool(ctx, cfg, pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.e = a.Engine
	return w
}

// listAll starts a resync run, runs every listing and queues everyone,
// without pushing; it returns the run.
func (w *world) listAll() int64 {
	w.t.Helper()
	id, err := w.e.StartRun(w.ctx, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, c := range w.e.Conns() {
		if _, err := w.e.ListForRun(w.ctx, id, c); err != nil {
			w.t.Fatal(err)
		}
	}
	if err := w.e.QueueAll(w.ctx, id); err != nil {
		w.t.Fatal(err)
	}
	return id
}

// resync runs a full resync in-process: every listing, then every push.
func (w *world) resync() {
	w.t.Helper()
	id := w.listAll()
	if err := w.e.SetRunState(w.ctx, id, "pushing", ""); err != nil {
		w.t.Fatal(err)
	}
	w.drain()
	if err := w.e.SetRunState(w.ctx, id, "completed", ""); err != nil {
		w.t.Fatal(err)
	}
}

// drain pushes every queued person in every connection.
func (w *world) drain() engine.PushStats {
	w.t.Helper()
	var total engine.PushStats
	for _, c := range w.e.Conns() {
		for i := 0; ; i++ {
			st, err := w.e.PushBatch(w.ctx, c, engine.PushOptions{})
			if err != nil {
				w.t.Fatal(err)
			}
			total.Creates += st.Creates
			total.Updates += st.Updates
			total.Skips += st.Skips
			total.Adopted += st.Adopted
			total.Stale += st.Stale
			if queued, err := w.e.HasQueued(w.ctx, c); err != nil || !queued || i > 50 {
				break
			}
		}
	}
	return total
}

// pollAll polls every connection, then drains the pushes.
func (w *world) pollAll() engine.PushStats {
	w.t.Helper()
	for _, c := range w.e.Conns() {
		if _, err := w.e.Poll(w.ctx, c); err != nil {
			w.t.Fatal(err)
		}
	}
	return w.drain()
}

// writes counts the write routes a simulator answered.
func writes(sim providers.Simulator) int64 {
	var n int64
	for route, c := range sim.Requests() {
		if !strings.HasPrefix(route, "GET ") && !strings.Contains(route, "find-contact") && !strings.Contains(route, "/login") &&
			!strings.Contains(route, "/token/") {
			n += c
		}
	}
	return n
}

func (w *world) allWrites() int64 {
	var n int64
	for _, s := range w.sims {
		n += writes(s)
	}
	return n
}

// find returns the records of kind whose emails include email.
func (w *world) find(kind, email string) []providers.Record {
	var out []providers.Record
	for _, r := range w.sims[kind].Snapshot() {
		for _, e := range r.Person.Emails {
			if strings.EqualFold(e, email) {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

func (w *world) count(q string, args ...any) int {
	w.t.Helper()
	var n int
	if err := w.e.Pool().QueryRow(w.ctx, q, args...).Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n
}

var jean = mapping.Person{FirstName: "Jean", LastName: "Dupont", Emails: []string{"jean.dupont@acme.fr"},
	Phones: []string{"+33612345678"}, LinkedIn: "https://www.linkedin.com/in/jean-dupont", Company: "Acme"}

func TestResyncConvergesAndSecondResyncWritesNothing(t *testing.T) {
	t.Parallel()
	marie := mapping.Person{FirstName: "Marie", LastName: "Curie", Emails: []string{"marie@radium.fr"}, Phones: []string{"+33698765432"}}
	w := newWorld(t, map[string][]mapping.Person{"nextlead": {jean}, "ligo": {marie}})
	w.resync()
	for kind := range w.sims {
		for _, email := range []string{"jean.dupont@acme.fr", "marie@radium.fr"} {
			if got := len(w.find(kind, email)); got != 1 {
				t.Errorf("%s holds %d records of %s, want 1", kind, got, email)
			}
		}
	}
	before := w.allWrites()
	w.resync()
	w.pollAll()
	if after := w.allWrites(); after != before {
		t.Fatalf("second resync and poll made %d writes, want 0", after-before)
	}
}

// A resync queues a person only in the CRMs where its push has something to
// write: after a converged resync and one edit, the edited person is queued
// in the other CRMs but Skarbe, which cannot take the edit (the planning
// records that skip itself, once), and no one else anywhere.
func TestResyncQueuesOnlyWhatNeedsAPush(t *testing.T) {
	t.Parallel()
	marie := mapping.Person{FirstName: "Marie", LastName: "Curie", Emails: []string{"marie@radium.fr"}, Phones: []string{"+33698765432"}}
	w := newWorld(t, map[string][]mapping.Person{"nextlead": {jean, marie}})
	w.resync()
	queued := func() []string {
		rows, err := w.e.Pool().Query(w.ctx, `SELECT c.name || ' ' || (SELECT e FROM unnest(p.emails) e LIMIT 1)
			FROM crmsync_push_queue q JOIN crmsync_connection c ON c.id = q.connection_id JOIN crmsync_person p ON p.id = q.person_id
			ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out
	}
	id := w.listAll()
	if q := queued(); len(q) != 0 {
		t.Fatalf("a resync after a converged one queued %v, want no one", q)
	}
	if err := w.e.SetRunState(w.ctx, id, "completed", ""); err != nil {
		t.Fatal(err)
	}
	ligo := w.find("ligo", "jean.dupont@acme.fr")
	if len(ligo) != 1 {
		t.Fatalf("ligo holds %d records of jean, want 1", len(ligo))
	}
	if err := w.sims["ligo"].UserEdit(ligo[0].ID, func(p *mapping.Person) { p.LastName = "Martin" }); err != nil {
		t.Fatal(err)
	}
	skarbeSkips := func() int {
		return w.count(`SELECT coalesce(sum(o.count), 0) FROM crmsync_write_outcome o JOIN crmsync_connection c ON c.id = o.connection_id
			WHERE c.name = 'skarbe' AND o.outcome = 'skipped' AND o.reason LIKE '%last_name%'`)
	}
	id = w.listAll()
	want := []string{"epixel jean.dupont@acme.fr", "nextlead jean.dupont@acme.fr"}
	if q := queued(); !slices.Equal(q, want) {
		t.Fatalf("queued %v, want %v", q, want)
	}
	if n := skarbeSkips(); n != 1 {
		t.Fatalf("skarbe's skip of the edit recorded %d times, want once", n)
	}
	if n := w.count(`SELECT skips FROM crmsync_resync_progress p JOIN crmsync_connection c ON c.id = p.connection_id
		WHERE p.run_id = $1 AND c.name = 'skarbe'`, id); n != 1 {
		t.Fatalf("the run counts %d skips in skarbe, want 1", n)
	}
	st := w.drain()
	if st.Updates != 2 || st.Skips != 0 || st.Creates != 0 {
		t.Fatalf("push: %+v, want 2 updates", st)
	}
	// Planned again, the skip is neither queued nor counted again.
	if err := w.e.SetRunState(w.ctx, id, "completed", ""); err != nil {
		t.Fatal(err)
	}
	w.listAll()
	if q := queued(); len(q) != 0 || skarbeSkips() != 1 {
		t.Fatalf("after the pushes a resync queued %v and skarbe's skip counts %d, want no one and 1", q, skarbeSkips())
	}
}

// A record already in step costs its push no database write: the link
// row (its base state) is left as it is, not rewritten to advance
// synced_version.
func TestPushLeavesInStepLinksUnwritten(t *testing.T) {
	t.Parallel()
	w := newWorld(t, map[string][]mapping.Person{"nextlead": {jean}, "ligo": {jean}})
	w.listAll()
	versions := func() map[string]string {
		rows, err := w.e.Pool().Query(w.ctx, `SELECT connection_id::text || '/' || remote_id, xmin::text FROM crmsync_link`)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for rows.Next() {
			var k, v string
			if err := rows.Scan(&k, &v); err != nil {
				t.Fatal(err)
			}
			out[k] = v
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	before := versions() // the two listed records, the same person
	if len(before) != 2 {
		t.Fatalf("%d links after the listings, want 2", len(before))
	}
	st := w.drain()
	if st.Creates != len(w.sims)-2 {
		t.Fatalf("push made %d creates, want %d", st.Creates, len(w.sims)-2)
	}
	after := versions()
	if len(after) != len(w.sims) {
		t.Fatalf("%d links after the push, want one per CRM (%d)", len(after), len(w.sims))
	}
	// Only a link whose record was updated is written again.
	rewritten := 0
	for k, v := range before {
		if after[k] != v {
			rewritten++
		}
	}
	if rewritten != st.Updates {
		t.Errorf("push rewrote %d of the 2 listed links and updated %d records: a link with nothing written to it was rewritten", rewritten, st.Updates)
	}
}

func TestRecordMatchingTwoPeopleMergesThem(t *testing.T) {
	t.Parallel()
	byEmail := mapping.Person{FirstName: "Jean", Emails: []string{"jean.dupont@acme.fr"}}
	byLinkedIn := mapping.Person{FirstName: "Jean", LastName: "Dupont", LinkedIn: "linkedin.com/in/Jean-Dupont/"}
	both := mapping.Person{FirstName: "Jean", LastName: "Dupont", Emails: []string{"jean.dupont@acme.fr"},
		LinkedIn: "https://fr.linkedin.com/in/jean-dupont?trk=x"}
	// Listing order is nextlead, skarbe, epixel, ligo: the Ligo record comes
	// last and matches both people made before it.
	w := newWorld(t, map[string][]mapping.Person{"nextlead": {byEmail}, "skarbe": {byLinkedIn}, "ligo": {both}})
	w.resync()
	if n := w.count(`SELECT count(*) FROM crmsync_merge`); n != 1 {
		t.Fatalf("merges = %d, want 1", n)
	}
	if n := w.count(`SELECT count(*) FROM crmsync_person WHERE merged_into IS NULL`); n != 1 {
		t.Fatalf("live people = %d, want 1", n)
	}
	if n := w.count(`SELECT count(DISTINCT person_id) FROM crmsync_identity`); n != 1 {
		t.Fatalf("identities point at %d people, want 1", n)
	}
	// Every CRM holds the person once: nobody was created twice.
	for _, kind := range []string{"nextlead", "skarbe", "ligo"} {
		if got := len(w.sims[kind].Snapshot()); got != 1 {
			t.Errorf("%s holds %d records, want 1", kind, got)
		}
	}
}

func TestDuplicatesInOneCRMAreBothLinkedAndNoThirdIsCreated(t *testing.T) {
	t.Parallel()
	dup := mapping.Person{FirstName: "Jean", LastName: "Dupont", Emails: []string{"jean.dupont@acme.fr"}}
	w := newWorld(t, map[string][]mapping.Person{"skarbe": {dup, dup}, "nextlead": {jean}})
	w.resync()
	w.pollAll()
	if got := len(w.find("skarbe", "jean.dupont@acme.fr")); got != 2 {
		t.Fatalf("skarbe holds %d records of the person, want the 2 it had", got)
	}
	if n := w.count(`SELECT count(*) FROM crmsync_link l JOIN crmsync_connection c ON c.id = l.connection_id
		WHERE c.name = 'skarbe' AND l.deleted_at IS NULL`); n != 2 {
		t.Fatalf("skarbe links = %d, want 2", n)
	}
	if n := w.count(`SELECT count(DISTINCT person_id) FROM crmsync_link`); n != 1 {
		t.Fatalf("links point at %d people, want 1", n)
	}
}

func TestEditPropagatesOnceWithoutEcho(t *testing.T) {
	t.Parallel()
	w := newWorld(t, map[string][]mapping.Person{"nextlead": {jean}})
	w.resync()
	ligo := w.find("ligo", "jean.dupont@acme.fr")
	if len(ligo) != 1 {
		t.Fatalf("ligo holds %d records, want 1", len(ligo))
	}
	if err := w.sims["ligo"].UserEdit(ligo[0].ID, func(p *mapping.Person) { p.LastName = "Martin-Lefèvre" }); err != nil {
		t.Fatal(err)
	}
	w.pollAll()
	for _, kind := range []string{"nextlead", "epixel", "ligo"} {
		recs := w.find(kind, "jean.dupont@acme.fr")
		if len(recs) != 1 || recs[0].Person.LastName != "Martin-Lefèvre" {
			t.Errorf("%s: last name = %+v, want Martin-Lefèvre", kind, recs)
		}
	}
	// Skarbe cannot update: the skip is recorded once, with its reason.
	skip := `SELECT count(*) FROM crmsync_write_outcome o JOIN crmsync_connection c ON c.id = o.connection_id
		WHERE c.name = 'skarbe' AND o.outcome = 'skipped' AND o.reason LIKE '%cannot write%last_name%'`
	if n := w.count(skip); n != 1 {
		t.Fatalf("skarbe skips recorded = %d, want 1", n)
	}
	before := w.allWrites()
	w.pollAll()
	w.pollAll()
	if after := w.allWrites(); after != before {
		t.Fatalf("%d writes after the change settled, want 0 (echo)", after-before)
	}
	if n := w.count(`SELECT coalesce(sum(count), 0)::int FROM crmsync_write_outcome o JOIN crmsync_connection c ON c.id = o.connection_id
		WHERE c.name = 'skarbe' AND o.reason LIKE '%last_name%'`); n != 1 {
		t.Fatalf("skarbe skip counted %d times, want once", n)
	}
	if n := w.count(`SELECT count(*) FROM crmsync_change WHERE field = 'last_name' AND new_value = 'Martin-Lefèvre'`); n != 1 {
		t.Fatalf("history rows for the edit = %d, want 1", n)
	}
}

// A create whose answer was lost is adopted by the retry, once it can no
// longer land, whether its batch died before recording anything (its mark
// is the batch's row) or recorded it as unknown (a row for the person).
func TestRetriedCreateAdoptsTheRecordALostReplyMade(t *testing.T) {
	t.Parallel()
	for name, mark := range map[string]string{
		"batch mark": `INSERT INTO crmsync_pending_batch (connection_id, person_min, person_max, person_ids)
			SELECT $1, min(id), max(id), array_agg(id) FROM crmsync_person`,
		"person mark": `INSERT INTO crmsync_pending_create (connection_id, person_id)
			SELECT $1, id FROM crmsync_person`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, map[string][]mapping.Person{"ligo": {jean}})
			// List everything, but take the pushes apart by hand.
			w.listAll()
			nl, _ := w.e.Conn("nextlead")
			// The create went through but its answer was lost: the record
			// exists in NextLead and the pending mark says a create may have
			// happened.
			if _, err := nl.Provider.Create(w.ctx, jean); err != nil {
				t.Fatal(err)
			}
			if _, err := w.e.Pool().Exec(w.ctx, mark, nl.ID); err != nil {
				t.Fatal(err)
			}
			// While the lost request could still land, the create waits: a
			// search now could miss a record about to be written.
			st, err := w.e.PushBatch(w.ctx, nl, engine.PushOptions{Settle: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			if st.Adopted != 0 || st.Creates != 0 || st.Remaining != 1 {
				t.Fatalf("push within the settle time = %+v, want the create left for later", st)
			}
			// Once it cannot land any more, the search finds the record.
			st, err = w.e.PushBatch(w.ctx, nl, engine.PushOptions{Settle: time.Nanosecond})
			if err != nil {
				t.Fatal(err)
			}
			if st.Adopted != 1 || st.Creates != 0 {
				t.Fatalf("push = %+v, want the record adopted, nothing created", st)
			}
			if got := len(w.find("nextlead", "jean.dupont@acme.fr")); got != 1 {
				t.Fatalf("nextlead holds %d records, want 1", got)
			}
			if n := w.count(`SELECT (SELECT count(*) FROM crmsync_pending_batch) + (SELECT count(*) FROM crmsync_pending_create)`); n != 0 {
				t.Fatalf("%d pending marks left after the adoption, want 0", n)
			}
		})
	}
}

// A push marks its creates pending with one row and removes it with its
// results; a create whose outcome is unknown (a 5xx: it may have been
// applied) stays pending on its own row, marked when the batch was, and
// its retry looks the person up first.
func TestPushPendingMarks(t *testing.T) {
	t.Parallel()
	w := newWorld(t, map[string][]mapping.Person{"ligo": {jean}})
	w.listAll()
	sk, _ := w.e.Conn("skarbe")
	if st, err := w.e.PushBatch(w.ctx, sk, engine.PushOptions{}); err != nil || st.Creates != 1 {
		t.Fatalf("skarbe push: %+v, %v; want one create", st, err)
	}
	if n := w.count(`SELECT (SELECT count(*) FROM crmsync_pending_batch) + (SELECT count(*) FROM crmsync_pending_create)`); n != 0 {
		t.Fatalf("%d pending marks after a push that created, want 0", n)
	}
	nl, _ := w.e.Conn("nextlead")
	w.sims["nextlead"].SetFaults(1)
	before := time.Now()
	st, err := w.e.PushBatch(w.ctx, nl, engine.PushOptions{})
	if err != nil || st.Creates != 0 || st.Remaining != 1 {
		t.Fatalf("nextlead push answering 5xx: %+v, %v; want the create left for later", st, err)
	}
	if n := w.count(`SELECT count(*) FROM crmsync_pending_batch`); n != 0 {
		t.Fatalf("%d batch marks after the batch recorded its results, want 0", n)
	}
	var marked time.Time
	if err := w.e.Pool().QueryRow(w.ctx, `SELECT attempted_at FROM crmsync_pending_create WHERE connection_id = $1`, nl.ID).Scan(&marked); err != nil {
		t.Fatalf("the unknown create's own mark: %v", err)
	}
	if marked.Before(before.Add(-time.Minute)) || marked.After(time.Now().Add(time.Minute)) {
		t.Fatalf("marked at %v, the batch ran at %v", marked, before)
	}
	w.sims["nextlead"].SetFaults(0)
	if st, err := w.e.PushBatch(w.ctx, nl, engine.PushOptions{Settle: time.Nanosecond}); err != nil || st.Creates+st.Adopted != 1 {
		t.Fatalf("retry: %+v, %v; want the person created or adopted", st, err)
	}
	if got := len(w.find("nextlead", "jean.dupont@acme.fr")); got != 1 {
		t.Fatalf("nextlead holds %d records of jean, want 1", got)
	}
	if n := w.count(`SELECT (SELECT count(*) FROM crmsync_pending_batch) + (SELECT count(*) FROM crmsync_pending_create)`); n != 0 {
		t.Fatalf("%d pending marks after the retry, want 0", n)
	}
}

func TestDeleteInOneCRMUnlinksAndIsNotRecreated(t *testing.T) {
	t.Parallel()
	w := newWorld(t, map[string][]mapping.Person{"nextlead": {jean}})
	w.resync()
	sk := w.find("skarbe", "jean.dupont@acme.fr")
	if len(sk) != 1 {
		t.Fatalf("skarbe holds %d records, want 1", len(sk))
	}
	if err := w.sims["skarbe"].UserDelete(sk[0].ID); err != nil {
		t.Fatal(err)
	}
	w.pollAll()
	w.pollAll()
	if got := len(w.find("skarbe", "jean.dupont@acme.fr")); got != 0 {
		t.Fatalf("skarbe holds %d records after the delete, want 0 (not recreated)", got)
	}
	for _, kind := range []string{"nextlead", "epixel", "ligo"} {
		if got := len(w.find(kind, "jean.dupont@acme.fr")); got != 1 {
			t.Errorf("%s holds %d records, want the person kept", kind, got)
		}
	}
	if n := w.count(`SELECT count(*) FROM crmsync_link WHERE deleted_at IS NOT NULL`); n != 1 {
		t.Fatalf("tombstones = %d, want 1", n)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t, map[string][]mapping.Person{"nextlead": {jean}})
	rep, err := w.e.DryRun(w.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.People != 1 || rep.PerConn["ligo"].Creates != 1 || rep.PerConn["skarbe"].Creates != 1 {
		t.Fatalf("dry run = %+v, want one person and a create in ligo and skarbe", rep)
	}
	if w.allWrites() != 0 {
		t.Fatalf("dry run made %d writes", w.allWrites())
	}
	if n := w.count(`SELECT count(*) FROM crmsync_person`); n != 0 {
		t.Fatalf("dry run left %d people in the database", n)
	}
}

func TestPropagatedDeleteReachesCRMsWithADeleteRoute(t *testing.T) {
	t.Parallel()
	w := newWorld(t, map[string][]mapping.Person{"nextlead": {jean}}, func(c *config.Connection) {
		c.PropagateDeletes = c.Name == "skarbe"
	})
	w.resync()
	sk := w.find("skarbe", "jean.dupont@acme.fr")
	if len(sk) != 1 {
		t.Fatalf("skarbe holds %d records, want 1", len(sk))
	}
	if err := w.sims["skarbe"].UserDelete(sk[0].ID); err != nil {
		t.Fatal(err)
	}
	w.pollAll()
	w.pollAll()
	// NextLead and Epixel have delete routes; Ligo has none and keeps it.
	for kind, want := range map[string]int{"nextlead": 0, "epixel": 0, "ligo": 1, "skarbe": 0} {
		if got := len(w.find(kind, "jean.dupont@acme.fr")); got != want {
			t.Errorf("%s holds %d records, want %d", kind, got, want)
		}
	}
	if n := w.count(`SELECT count(*) FROM crmsync_write_outcome o JOIN crmsync_connection c ON c.id = o.connection_id
		WHERE c.name = 'ligo' AND o.reason = 'ligo has no delete route'`); n != 1 {
		t.Fatalf("ligo delete skips recorded = %d, want 1", n)
	}
}

// TestLaterEditInTheTargetIsNotOverwritten: an edit seen in NextLead must not
// overwrite a later edit made in Ligo that crmsync has not polled yet; the
// update reads the Ligo record first, finds it changed, ingests it, and the
// later edit wins everywhere.
func TestLaterEditInTheTargetIsNotOverwritten(t *testing.T) {
	t.Parallel()
	w := newWorld(t, map[string][]mapping.Person{"nextlead": {jean}})
	w.resync()
	nl, li := w.find("nextlead", "jean.dupont@acme.fr"), w.find("ligo", "jean.dupont@acme.fr")
	if len(nl) != 1 || len(li) != 1 {
		t.Fatalf("records: nextlead %d, ligo %d, want 1 each", len(nl), len(li))
	}
	if err := w.sims["nextlead"].UserEdit(nl[0].ID, func(p *mapping.Person) { p.LastName = "Earlier" }); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if err := w.sims["ligo"].UserEdit(li[0].ID, func(p *mapping.Person) { p.LastName = "Later" }); err != nil {
		t.Fatal(err)
	}
	nlc, _ := w.e.Conn("nextlead")
	if _, err := w.e.Poll(w.ctx, nlc); err != nil {
		t.Fatal(err)
	}
	st := w.drain()
	if st.Stale == 0 {
		t.Fatalf("push = %+v, want the Ligo record found changed", st)
	}
	w.drain()
	w.pollAll()
	for _, kind := range []string{"nextlead", "epixel", "ligo"} {
		recs := w.find(kind, "jean.dupont@acme.fr")
		if len(recs) != 1 || recs[0].Person.LastName != "Later" {
			t.Errorf("%s: %+v, want last name Later", kind, recs)
		}
	}
}

func TestUpdateReachesARecordWhoseEmailChangedInTheCRM(t *testing.T) {
	t.Parallel()
	w := newWorld(t, map[string][]mapping.Person{"nextlead": {jean}})
	w.resync()
	nl, li := w.find("nextlead", "jean.dupont@acme.fr"), w.find("ligo", "jean.dupont@acme.fr")
	if len(nl) != 1 || len(li) != 1 {
		t.Fatalf("records: nextlead %d, ligo %d, want 1 each", len(nl), len(li))
	}
	// The email changes in NextLead's screens, unseen by crmsync; then the
	// name changes in Ligo. The update to NextLead cannot read the record
	// back under its old email: it must still reach it, not take it for
	// deleted.
	if err := w.sims["nextlead"].UserEdit(nl[0].ID, func(p *mapping.Person) { p.Emails = []string{"jean@dupont.example"} }); err != nil {
		t.Fatal(err)
	}
	if err := w.sims["ligo"].UserEdit(li[0].ID, func(p *mapping.Person) { p.LastName = "Durand" }); err != nil {
		t.Fatal(err)
	}
	lic, _ := w.e.Conn("ligo")
	if _, err := w.e.Poll(w.ctx, lic); err != nil {
		t.Fatal(err)
	}
	w.drain()
	got := w.find("nextlead", "jean@dupont.example")
	if len(got) != 1 || got[0].ID != nl[0].ID || got[0].Person.LastName != "Durand" {
		t.Fatalf("nextlead: %+v, want record %s with last name Durand", got, nl[0].ID)
	}
	if n := w.count(`SELECT count(*) FROM crmsync_link WHERE remote_id = $1 AND deleted_at IS NOT NULL`, nl[0].ID); n != 0 {
		t.Errorf("the NextLead link was tombstoned")
	}
}

// namedPeople returns a person per name, with that first name, the last
// name Test and the email name@example.com.
func namedPeople(names ...string) []mapping.Person {
	var people []mapping.Person
	for _, n := range names {
		people = append(people, mapping.Person{FirstName: n, LastName: "Test", Emails: []string{n + "@example.com"}})
	}
	return people
}

// A push batch claims only people after its cursor, says which it took,
// and QueuedConns names the connections with people still queued.
func TestPushClaimsAfterItsCursor(t *testing.T) {
	t.Parallel()
	w := newWorld(t, map[string][]mapping.Person{"nextlead": namedPeople("ada", "bob", "cy")})
	id := w.listAll()
	if err := w.e.SetRunState(w.ctx, id, "pushing", ""); err != nil {
		t.Fatal(err)
	}
	c, _ := w.e.Conn("ligo")
	// Dry runs claim and plan but leave every queue row in place, so only
	// the cursor moves a batch past the people before it.
	var after int64
	for i := range 3 {
		st, err := w.e.PushBatch(w.ctx, c, engine.PushOptions{Limit: 1, After: after, DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if st.Claimed != 1 || st.Last <= after {
			t.Fatalf("batch %d after %d: claimed %d, last %d; want 1 person after the cursor", i, after, st.Claimed, st.Last)
		}
		after = st.Last
	}
	if st, err := w.e.PushBatch(w.ctx, c, engine.PushOptions{After: after}); err != nil || st.Claimed != 0 {
		t.Fatalf("batch after the last person claimed %d (%v), want 0", st.Claimed, err)
	}
	for {
		st, err := w.e.PushBatch(w.ctx, c, engine.PushOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if st.Claimed == 0 {
			break
		}
	}
	queued, err := w.e.QueuedConns(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, qc := range queued {
		names = append(names, qc.Name())
	}
	if strings.Join(names, ",") == "" || slices.Contains(names, "ligo") {
		t.Fatalf("queued connections %v: want the others, not ligo (drained)", names)
	}
	w.drain()
	if queued, err := w.e.QueuedConns(w.ctx); err != nil || len(queued) != 0 {
		t.Fatalf("queued connections after draining: %v (%v), want none", queued, err)
	}
}

// A CRM never listed in full gets no creates: a person another CRM brings
// may be there already, unlinked. Once its first listing is in, the person
// is linked, not created again.
func TestNoCreateInACRMNeverListed(t *testing.T) {
	t.Parallel()
	w := newWorld(t, map[string][]mapping.Person{"nextlead": {jean}, "skarbe": {jean}})
	c, _ := w.e.Conn("nextlead")
	if _, err := w.e.Poll(w.ctx, c); err != nil {
		t.Fatal(err)
	}
	w.drain()
	if got := len(w.find("skarbe", "jean.dupont@acme.fr")); got != 1 {
		t.Fatalf("skarbe holds %d records of jean before its first listing, want the 1 it had", got)
	}
	if got := len(w.find("ligo", "jean.dupont@acme.fr")); got != 0 {
		t.Fatalf("ligo, never listed, holds %d records of jean, want 0 until it is listed", got)
	}
	w.pollAll()
	w.pollAll()
	for kind := range w.sims {
		if got := len(w.find(kind, "jean.dupont@acme.fr")); got != 1 {
			t.Errorf("%s holds %d records of jean after every CRM was listed, want 1", kind, got)
		}
	}
}

// No CRM gets creates until every CRM has been listed in full once: the
// record that shows two people to be one may be in the last CRM listed.
// Here NextLead knows jean by email, Ligo by LinkedIn URL, and only Skarbe
// by both; pushing after the first two listings would give NextLead a
// second jean.
func TestNoCreateUntilEveryCRMIsListed(t *testing.T) {
	t.Parallel()
	byMail, byURL := jean, jean
	byMail.LinkedIn = ""
	byURL.Emails = nil
	w := newWorld(t, map[string][]mapping.Person{"nextlead": {byMail}, "ligo": {byURL}, "skarbe": {jean}})
	jeans := func(kind string) int {
		n := 0
		for _, r := range w.sims[kind].Snapshot() {
			if slices.ContainsFunc(r.Person.Emails, func(e string) bool { return strings.EqualFold(e, jean.Emails[0]) }) ||
				strings.Contains(r.Person.LinkedIn, "jean-dupont") {
				n++
			}
		}
		return n
	}
	for _, name := range []string{"nextlead", "ligo"} {
		c, _ := w.e.Conn(name)
		if _, err := w.e.Poll(w.ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if st := w.drain(); st.Creates != 0 {
		t.Fatalf("%d creates before every CRM was listed, want 0", st.Creates)
	}
	w.pollAll()
	w.pollAll()
	for kind := range w.sims {
		if got := jeans(kind); got != 1 {
			t.Errorf("%s holds %d records of jean after every CRM was listed, want 1", kind, got)
		}
	}
}

// A create whose batch never recorded its outcome may land after a listing
// that began after the batch's pending mark (the batch's calls run for as
// long as the batch does): in a CRM without search it waits for a listing
// begun Settle after the mark, never creating the person twice.
func TestLostCreateWaitsForAListingAfterItCouldLand(t *testing.T) {
	t.Parallel()
	w := newWorld(t, map[string][]mapping.Person{"nextlead": {jean}})
	id := w.listAll()
	if err := w.e.SetRunState(w.ctx, id, "pushing", ""); err != nil {
		t.Fatal(err)
	}
	lg, _ := w.e.Conn("ligo")
	var pid int64
	if err := w.e.Pool().QueryRow(w.ctx, `SELECT person_id FROM crmsync_push_queue WHERE connection_id = $1`, lg.ID).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	// The batch marked the create pending 20 s ago; a Ligo listing began
	// 10 s ago and passed before the create landed; the batch then died.
	if _, err := w.e.Pool().Exec(w.ctx, `INSERT INTO crmsync_pending_create (connection_id, person_id, attempted_at)
		VALUES ($1, $2, now() - interval '20 seconds')`, lg.ID, pid); err != nil {
		t.Fatal(err)
	}
	if _, err := w.e.Pool().Exec(w.ctx, `UPDATE crmsync_sync_state SET last_poll_ok_at = now() - interval '10 seconds'
		WHERE connection_id = $1`, lg.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := lg.Provider.Create(w.ctx, jean); err != nil {
		t.Fatal(err)
	}
	st, err := w.e.PushBatch(w.ctx, lg, engine.PushOptions{Settle: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(w.find("ligo", "jean.dupont@acme.fr")); got != 1 || st.Creates != 0 || st.Remaining != 1 || st.AwaitListing != 0 {
		t.Fatalf("ligo holds %d records of jean after the retried batch (%d creates, %d left, %d for a listing), want 1, 0, 1 and 0 (it waits out the settle time)",
			got, st.Creates, st.Remaining, st.AwaitListing)
	}
	// Once the create can no longer land (settle 15 s: 5 s ago, after the
	// listing began), only a listing can tell: the batch says so (its job
	// then asks for a poll).
	st, err = w.e.PushBatch(w.ctx, lg, engine.PushOptions{Settle: 15 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(w.find("ligo", "jean.dupont@acme.fr")); got != 1 || st.Creates != 0 || st.Remaining != 1 || st.AwaitListing != 1 {
		t.Fatalf("after the settle time: ligo holds %d records of jean (%d creates, %d left, %d for a listing), want 1, 0, 1 and 1",
			got, st.Creates, st.Remaining, st.AwaitListing)
	}
	// The next listing links the record; nothing is created.
	w.pollAll()
	if got := len(w.find("ligo", "jean.dupont@acme.fr")); got != 1 {
		t.Fatalf("ligo holds %d records of jean after a listing, want 1", got)
	}
}

// A resync plans its pushes in steps that each stop starting chunks once
// their time is up and record how far they got; the next step goes on
// from there. Step by step, the queue ends as it does in one go, and as
// it does when some of its pairs were queued already.
func TestResyncQueuesInResumableSteps(t *testing.T) {
	t.Parallel()
	ds := dataset.Generate(5, 2500)
	seeds := map[string][]mapping.Person{}
	for _, kind := range simulate.Kinds() {
		seeds[kind] = ds.ForCRM(kind)
	}
	w := newWorld(t, seeds)
	id, err := w.e.StartRun(w.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range w.e.Conns() {
		if _, err := w.e.ListForRun(w.ctx, id, c); err != nil {
			t.Fatal(err)
		}
	}
	queue := func() string {
		rows, err := w.e.Pool().Query(w.ctx, `SELECT connection_id, person_id FROM crmsync_push_queue ORDER BY 1, 2`)
		if err != nil {
			t.Fatal(err)
		}
		pairs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
			var c int16
			var p int64
			err := r.Scan(&c, &p)
			return fmt.Sprint(c, p), err
		})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(pairs, " ")
	}
	var cursors []int64
	for {
		if planned, err := w.e.RunPlanned(w.ctx, id); err != nil || planned {
			t.Fatalf("before step %d: planned %v, %v; want false", len(cursors)+1, planned, err)
		}
		done, err := w.e.QueueStep(w.ctx, id, time.Nanosecond)
		if err != nil {
			t.Fatal(err)
		}
		var through int64
		if err := w.e.Pool().QueryRow(w.ctx, `SELECT queued_through FROM crmsync_resync_run WHERE id = $1`, id).Scan(&through); err != nil {
			t.Fatal(err)
		}
		if len(cursors) > 0 && through <= cursors[len(cursors)-1] {
			t.Fatalf("step %d left the cursor at %d, after %v", len(cursors)+1, through, cursors)
		}
		cursors = append(cursors, through)
		if done {
			break
		}
	}
	stepwise := queue()
	if len(cursors) < 2 || stepwise == "" {
		t.Fatalf("%d steps (cursors %v), queue %q: want several steps and a queue", len(cursors), cursors, stepwise)
	}
	// Planned: a step now does nothing (it runs while the pushes do).
	if planned, err := w.e.RunPlanned(w.ctx, id); err != nil || !planned {
		t.Fatalf("after the last step: planned %v, %v; want true", planned, err)
	}
	if _, err := w.e.Pool().Exec(w.ctx, `DELETE FROM crmsync_push_queue WHERE (connection_id, person_id) = (
			SELECT connection_id, person_id FROM crmsync_push_queue ORDER BY 1 DESC, 2 DESC LIMIT 1)`); err != nil {
		t.Fatal(err)
	}
	pushed := queue()
	if done, err := w.e.QueueStep(w.ctx, id, 0); err != nil || !done || queue() != pushed || pushed == stepwise {
		t.Fatalf("a step once planned: done %v, %v; want true, and the pair pushed since not queued again", done, err)
	}
	// Again in one go, with one of the pairs queued already (as an ingest
	// may queue it meanwhile): the copy gives way to an insert that skips it.
	if _, err := w.e.Pool().Exec(w.ctx, `DELETE FROM crmsync_push_queue WHERE (connection_id, person_id) <> (
			SELECT connection_id, person_id FROM crmsync_push_queue ORDER BY 1, 2 LIMIT 1);
		UPDATE crmsync_resync_run SET queued_through = NULL`); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(queue(), " ") + 1; n != 2 {
		t.Fatalf("%d words left in the queue, want one pair", n)
	}
	if err := w.e.QueueAll(w.ctx, id); err != nil {
		t.Fatal(err)
	}
	if once := queue(); once != stepwise {
		t.Fatalf("queued in one go:\n%.500s\nstep by step:\n%.500s", once, stepwise)
	}
}

// Push batches of one connection running at once neither deadlock in
// Postgres (the rows they all touch, the write counters, are locked in one
// order) nor starve for connections (a batch holds one for its claim and
// needs another for a moment: on a pool of 4, eight batches at once hung
// for good). Each batch here both creates and updates.
func TestConcurrentPushBatchesDoNotDeadlock(t *testing.T) {
	t.Parallel()
	ds := dataset.Generate(11, 3000, dataset.WithConflicts(0.6))
	seeds := map[string][]mapping.Person{}
	for _, kind := range simulate.Kinds() {
		seeds[kind] = ds.ForCRM(kind)
	}
	for _, conns := range []int32{4, 20} {
		t.Run(fmt.Sprintf("pool of %d", conns), func(t *testing.T) {
			t.Parallel()
			pc, err := pgxpool.ParseConfig(pgtest.NewURL(t))
			if err != nil {
				t.Fatal(err)
			}
			pc.MaxConns = conns
			pool, err := pgxpool.NewWithConfig(context.Background(), pc)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(pool.Close)
			w := newWorldOn(t, pool, seeds)
			w.listAll()
			c, _ := w.e.Conn("ligo")
			ctx, cancel := context.WithTimeout(w.ctx, 2*time.Minute)
			defer cancel()
			var both atomic.Int64
			errs := make(chan error, 8)
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					var after int64
					for range 400 {
						st, err := w.e.PushBatch(ctx, c, engine.PushOptions{Limit: 24, After: after})
						if err != nil {
							errs <- err
							return
						}
						if st.Creates > 0 && st.Updates > 0 {
							both.Add(1)
						}
						if st.Claimed == 0 {
							if after == 0 {
								return
							}
							after = 0
							continue
						}
						after = st.Last
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("concurrent push batches: %v", err)
			}
			if queued, err := w.e.HasQueued(w.ctx, c); err != nil || queued {
				t.Fatalf("ligo's queue not drained (%v)", err)
			}
			if both.Load() < 10 {
				t.Fatalf("%d batches both created and updated: the test needs more", both.Load())
			}
		})
	}
}

// A push batch deletes the queue rows it claims. A person changed while the
// batch runs is queued again: by the change's own ingest, which waits for
// the batch, or, when that ingest queues nothing (a resync's listing), by
// the run's planning, which follows its listings.
func TestPersonChangedDuringItsPushIsQueuedAgain(t *testing.T) {
	t.Parallel()
	w := newWorld(t, map[string][]mapping.Person{"nextlead": namedPeople("ada", "bob", "cy")})
	// A first run queued everyone; a second one starts listing while a
	// batch pushes the first one's queue.
	first := w.listAll()
	if err := w.e.SetRunState(w.ctx, first, "completed", ""); err != nil {
		t.Fatal(err)
	}
	id, err := w.e.StartRun(w.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	nl, _ := w.e.Conn("nextlead")
	ligo, _ := w.e.Conn("ligo")
	edit := func(name, last string) providers.Record {
		recs := w.find("nextlead", name+"@example.com")
		if len(recs) != 1 {
			t.Fatalf("nextlead holds %d records of %s, want 1", len(recs), name)
		}
		r := recs[0]
		r.Person.LastName = last
		r.ChangedAt = time.Now().Add(time.Minute)
		return r
	}
	personOf := func(email string) int64 {
		var pid int64
		if err := w.e.Pool().QueryRow(w.ctx, `SELECT person_id FROM crmsync_identity WHERE kind = 'e' AND value = $1`, email).Scan(&pid); err != nil {
			t.Fatal(err)
		}
		return pid
	}
	ada, bob := edit("ada", "Lovelace"), edit("bob", "Builder")
	var once sync.Once
	ingested := make(chan error, 1)
	st, err := w.e.PushBatch(w.ctx, ligo, engine.PushOptions{OnOp: func(*engine.Conn, engine.Op) {
		once.Do(func() {
			// Queues nothing, as the second run's listing.
			if _, err := w.e.Ingest(w.ctx, nl, []providers.Record{bob}, engine.IngestOptions{NoQueue: true}); err != nil {
				t.Error(err)
			}
			// Queues ada everywhere: it waits for the batch's claim.
			go func() {
				_, err := w.e.Ingest(w.ctx, nl, []providers.Record{ada}, engine.IngestOptions{})
				ingested <- err
			}()
		})
	}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Creates != 3 {
		t.Fatalf("batch created %d people in ligo, want 3", st.Creates)
	}
	if err := <-ingested; err != nil {
		t.Fatal(err)
	}
	queued := func(email string) int {
		return w.count(`SELECT count(*) FROM crmsync_push_queue WHERE connection_id = $1 AND person_id = $2`, ligo.ID, personOf(email))
	}
	if n := queued("bob@example.com"); n != 0 {
		t.Fatalf("bob queued for ligo %d times before the run's planning, want 0", n)
	}
	// Its listings done, the second run plans its pushes.
	if err := w.e.QueueAll(w.ctx, id); err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"ada@example.com", "bob@example.com", "cy@example.com"} {
		want := 1
		if email == "cy@example.com" {
			want = 0
		}
		if n := queued(email); n != want {
			t.Errorf("%s queued for ligo %d times after the batch, want %d", email, n, want)
		}
	}
	w.drain()
	for _, r := range []struct{ email, last string }{{"ada@example.com", "Lovelace"}, {"bob@example.com", "Builder"}} {
		recs := w.find("ligo", r.email)
		if len(recs) != 1 || recs[0].Person.LastName != r.last {
			t.Errorf("ligo holds %+v for %s, want one record with last name %s", recs, r.email, r.last)
		}
	}
}

// History records how people the store knew changed. A person first seen
// after a listing began gets no history from that listing's records (its
// provenance and each CRM's base state say where its values came from);
// one the store held before gets a row per changed field.
func TestNoHistoryForPeopleFirstSeenDuringTheListing(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	nl, _ := w.e.Conn("nextlead")
	ep, _ := w.e.Conn("epixel")
	dbNow := func() time.Time {
		var at time.Time
		if err := w.e.Pool().QueryRow(w.ctx, `SELECT clock_timestamp()`).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	rec := func(id, last string, at time.Time) []providers.Record {
		return []providers.Record{{ID: id, ChangedAt: at,
			Person: mapping.Person{FirstName: "Ada", LastName: last, Emails: []string{"ada@example.com"}}}}
	}
	history := func() int { return w.count(`SELECT count(*) FROM crmsync_change`) }
	listed := dbNow()
	base := time.Now().Add(-time.Hour)
	if _, err := w.e.Ingest(w.ctx, nl, rec("n1", "Lovelace", base), engine.IngestOptions{ListedAt: listed}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.e.Ingest(w.ctx, ep, rec("e1", "Byron", base.Add(time.Minute)), engine.IngestOptions{ListedAt: listed}); err != nil {
		t.Fatal(err)
	}
	if n := history(); n != 0 {
		t.Fatalf("%d history rows for a person first seen during the listings, want 0", n)
	}
	if n := w.count(`SELECT count(*) FROM crmsync_person WHERE last_name = 'Byron'`); n != 1 {
		t.Fatalf("%d people named Byron, want 1 (the later value wins)", n)
	}
	// A later listing finds a change to a person the store held.
	if _, err := w.e.Ingest(w.ctx, nl, rec("n1", "King", base.Add(2*time.Minute)), engine.IngestOptions{ListedAt: dbNow()}); err != nil {
		t.Fatal(err)
	}
	if n := w.count(`SELECT count(*) FROM crmsync_change WHERE field = 'last_name' AND old_value = 'Byron' AND new_value = 'King'`); n != 1 || history() != 1 {
		t.Fatalf("history after a change to a known person: %d rows, %d of them the change; want the change alone", history(), n)
	}
}

// A merge moves the pending marks of the person merged away to the one it
// is merged into, a batch's mark as a person's: the survivor's create is
// looked up first.
func TestMergeMovesPendingMarks(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	nl, _ := w.e.Conn("nextlead")
	lg, _ := w.e.Conn("ligo")
	ep, _ := w.e.Conn("epixel")
	rec := func(id string, p mapping.Person) []providers.Record {
		return []providers.Record{{ID: id, Person: p, ChangedAt: time.Now()}}
	}
	li := "https://www.linkedin.com/in/ada-lovelace"
	if _, err := w.e.Ingest(w.ctx, nl, rec("n1", mapping.Person{FirstName: "Ada", Emails: []string{"ada@example.com"}}), engine.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.e.Ingest(w.ctx, lg, rec("l1", mapping.Person{FirstName: "Ada", LinkedIn: li}), engine.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	var survivor, merged int64
	if err := w.e.Pool().QueryRow(w.ctx, `SELECT min(id), max(id) FROM crmsync_person`).Scan(&survivor, &merged); err != nil || survivor == merged {
		t.Fatalf("people %d and %d, %v; want two", survivor, merged, err)
	}
	if _, err := w.e.Pool().Exec(w.ctx, `INSERT INTO crmsync_pending_batch (connection_id, person_min, person_max, person_ids)
		VALUES ($1, $2, $2, ARRAY[$2::bigint])`, ep.ID, merged); err != nil {
		t.Fatal(err)
	}
	// One record with both keys: the people are one.
	if st, err := w.e.Ingest(w.ctx, ep, rec("e1", mapping.Person{FirstName: "Ada", Emails: []string{"ada@example.com"}, LinkedIn: li}),
		engine.IngestOptions{}); err != nil || st.Merges != 1 {
		t.Fatalf("ingest: %+v, %v; want one merge", st, err)
	}
	var lo, hi int64
	var ids []int64
	if err := w.e.Pool().QueryRow(w.ctx, `SELECT person_min, person_max, person_ids FROM crmsync_pending_batch`).Scan(&lo, &hi, &ids); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0] != survivor || lo > survivor || hi < survivor {
		t.Fatalf("mark holds %v in [%d, %d], want [%d] within its bounds", ids, lo, hi, survivor)
	}
}
