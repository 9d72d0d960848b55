// Package providertest is the conformance suite every crmsync provider
// adapter runs against its simulator (and against anyone else's simulator of
// the same CRM): creating and finding people, change detection, deletes,
// typed errors, full listings and request counting. The suite has no
// per-provider branches: the adapter's Capabilities decide which steps apply.
//
// A provider package calls it from its conformance_test.go:
//
//	func TestConformance(t *testing.T) {
//		providertest.Run(t, providertest.Harness{
//			NewSimulator: func(t *testing.T) providers.Simulator { ... },
//			NewProvider: func(t *testing.T, opts providers.Options) (providers.Provider, error) {
//				return ligo.New(opts)
//			},
//		})
//	}
package providertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/dataset"
	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers"
)

// Harness tells the suite how to start a provider's simulator and build its
// adapter.
type Harness struct {
	// NewSimulator starts a fresh simulator (the suite closes it).
	NewSimulator func(t *testing.T) providers.Simulator
	// NewProvider builds the adapter with opts (the suite fills BaseURL,
	// Credentials, Timeout).
	NewProvider func(t *testing.T, opts providers.Options) (providers.Provider, error)
}

// ListingSize is the number of people the listing test seeds.
const ListingSize = 10_000

// defaultTimeout is the per-request timeout the suite gives adapters.
const defaultTimeout = 10 * time.Second

// Run runs the conformance suite. Every subtest starts its own simulator and
// runs in parallel with the others, so Run returns before they finish: the
// harness's functions must stay usable until the test ends (release anything
// they hold with t.Cleanup, not with a defer around Run).
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.NewSimulator == nil || h.NewProvider == nil {
		t.Fatal("providertest: Harness needs NewSimulator and NewProvider")
	}
	t.Run("CreateFind", func(t *testing.T) { t.Parallel(); testCreateFind(t, h) })
	t.Run("Changes", func(t *testing.T) { t.Parallel(); testChanges(t, h) })
	t.Run("Delete", func(t *testing.T) { t.Parallel(); testDelete(t, h) })
	t.Run("Catalogs", func(t *testing.T) { t.Parallel(); testCatalogs(t, h) })
	t.Run("Errors", func(t *testing.T) {
		t.Parallel()
		t.Run("WrongCredentials", func(t *testing.T) { t.Parallel(); testWrongCredentials(t, h) })
		t.Run("Validation", func(t *testing.T) { t.Parallel(); testValidation(t, h) })
		t.Run("RateLimit", func(t *testing.T) { t.Parallel(); testRateLimit(t, h) })
		t.Run("Faults", func(t *testing.T) { t.Parallel(); testFaults(t, h) })
		t.Run("Cancel", func(t *testing.T) { t.Parallel(); testCancel(t, h) })
		t.Run("Timeout", func(t *testing.T) { t.Parallel(); testTimeout(t, h) })
	})
	t.Run("Listing", func(t *testing.T) { t.Parallel(); testListing(t, h) })
	t.Run("Requests", func(t *testing.T) { t.Parallel(); testRequests(t, h) })
}

// env is one subtest's simulator and adapter.
type env struct {
	t       *testing.T
	h       Harness
	sim     providers.Simulator
	p       providers.Provider
	caps    providers.Capabilities
	secrets []string
}

// start starts a simulator and builds the adapter against it.
func start(t *testing.T, h Harness) *env {
	t.Helper()
	sim := h.NewSimulator(t)
	if sim == nil {
		t.Fatal("NewSimulator returned nil")
	}
	t.Cleanup(sim.Close)
	e := &env{t: t, h: h, sim: sim}
	for _, v := range sim.Credentials() {
		e.secrets = append(e.secrets, v)
	}
	e.p = e.provider(nil)
	e.caps = e.p.Capabilities()
	return e
}

// provider builds an adapter against e's simulator.
func (e *env) provider(adjust func(*providers.Options)) providers.Provider {
	e.t.Helper()
	opts := providers.Options{
		Name:        "conformance",
		BaseURL:     e.sim.URL(),
		Credentials: e.sim.Credentials(),
		Timeout:     defaultTimeout,
	}
	if adjust != nil {
		adjust(&opts)
	}
	p, err := e.h.NewProvider(e.t, opts)
	if err != nil {
		e.noSecrets(err)
		e.t.Fatalf("NewProvider: %v", err)
	}
	if p == nil {
		e.t.Fatal("NewProvider returned nil")
	}
	if p.Kind() != e.sim.Kind() {
		e.t.Errorf("provider kind %q, simulator kind %q", p.Kind(), e.sim.Kind())
	}
	return p
}

// ctx returns a context for one step, ended with the test.
func ctx(t *testing.T, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return c
}

// noSecrets fails the test when err's message holds a credential. Values
// shorter than 8 bytes (a user name like "demo") are not checked: they can
// occur in ordinary text.
func (e *env) noSecrets(err error, extra ...string) {
	e.t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	for _, s := range append(slices.Clone(e.secrets), extra...) {
		if len(s) >= 8 && strings.Contains(msg, s) {
			e.t.Errorf("error message holds a credential: %q", msg)
		}
	}
}

// wantClass fails unless err is non-nil of class c.
func (e *env) wantClass(what string, err error, c providers.Class) {
	e.t.Helper()
	if err == nil {
		e.t.Fatalf("%s: no error, want class %s", what, c)
	}
	e.noSecrets(err)
	if got := providers.ClassOf(err); got != c {
		e.t.Fatalf("%s: class %s, want %s (error: %v)", what, got, c, err)
	}
}

// must fails the test on err.
func (e *env) must(what string, err error) {
	e.t.Helper()
	if err != nil {
		e.noSecrets(err)
		e.t.Fatalf("%s: %v", what, err)
	}
}

// seed seeds people and returns their IDs.
func (e *env) seed(people ...mapping.Person) []string {
	e.t.Helper()
	ids, err := e.sim.Seed(people)
	if err != nil {
		e.t.Fatalf("Seed: %v", err)
	}
	if len(ids) != len(people) {
		e.t.Fatalf("Seed returned %d IDs for %d people", len(ids), len(people))
	}
	return ids
}

// snapshot returns the simulator's record id.
func (e *env) snapshot(id string) (providers.Record, bool) {
	for _, r := range e.sim.Snapshot() {
		if r.ID == id {
			return r, true
		}
	}
	return providers.Record{}, false
}

// probe makes one cheap call that needs the CRM: a full listing (the
// simulators of these tests hold at most a few records).
func probe(c context.Context, p providers.Provider) error {
	for _, err := range p.List(c) {
		if err != nil {
			return err
		}
	}
	return nil
}

// feed is what one Changes call yielded.
type feed struct {
	upserts map[string]providers.Record // last upsert per ID
	deletes map[string]bool
	res     providers.ChangesResult
}

// changes runs Changes(checkpoint) to the end.
func (e *env) changes(c context.Context, checkpoint []byte) feed {
	e.t.Helper()
	f := feed{upserts: map[string]providers.Record{}, deletes: map[string]bool{}}
	res, err := e.p.Changes(c, checkpoint, func(ch providers.Change) error {
		if ch.Record.ID == "" {
			return fmt.Errorf("change of kind %d without an ID", ch.Kind)
		}
		switch ch.Kind {
		case providers.ChangeUpsert:
			f.upserts[ch.Record.ID] = ch.Record
			delete(f.deletes, ch.Record.ID)
		case providers.ChangeDelete:
			f.deletes[ch.Record.ID] = true
			delete(f.upserts, ch.Record.ID)
		default:
			return fmt.Errorf("change %s of unknown kind %d", ch.Record.ID, ch.Kind)
		}
		return nil
	})
	e.must("Changes", err)
	f.res = res
	return f
}

// realistic returns the person the create and change tests use: first and
// last name with accents and a hyphen, an email, a French mobile in E.164, a
// LinkedIn URL, a company, a job title and notes, all canonical.
func realistic(n int) mapping.Person {
	first := []string{"Élodie", "Jean-Pierre", "Noémie"}[n%3]
	last := []string{"Martin-Lefèvre", "Müller", "Nguyễn"}[n%3]
	slug := []string{"elodie-martin-lefevre", "jean-pierre-muller", "noemie-nguyen"}[n%3]
	return mapping.Person{
		FirstName: first,
		LastName:  last,
		Emails:    []string{fmt.Sprintf("%s.%d@example.fr", slug, n)},
		Phones:    []string{fmt.Sprintf("+3361234%04d", 5678+n)},
		LinkedIn:  fmt.Sprintf("https://www.linkedin.com/in/%s-%d", slug, n),
		Company:   "Atelier Lumière",
		JobTitle:  "Directrice commerciale",
		Notes:     "Rencontrée au salon VivaTech ; rappeler en septembre.",
	}
}

// requireSatisfied skips the test when p lacks what the CRM requires.
func (e *env) requireSatisfied(p mapping.Person) {
	e.t.Helper()
	if !dataset.Satisfies(p, e.caps.Required, e.caps.RequireOneOf) {
		e.t.Skipf("the realistic person lacks a field the CRM requires (%v / one of %v)", e.caps.Required, e.caps.RequireOneOf)
	}
}

// compareSent checks that got holds the values of sent for every field of
// set that sent has a value in.
func compareSent(t *testing.T, what string, set mapping.FieldSet, sent, got mapping.Person) {
	t.Helper()
	for _, f := range set.Fields() {
		want := sent.Get(f)
		if want.Empty() {
			continue
		}
		if have := got.Get(f); !mapping.Equal(f, have, want) {
			t.Errorf("%s: field %s is %q, want %q", what, f, have, want)
		}
	}
}

func testCreateFind(t *testing.T, h Harness) {
	e := start(t, h)
	c := ctx(t, 30*time.Second)
	p := realistic(0)
	e.requireSatisfied(p)
	rec, err := e.p.Create(c, p)
	e.must("Create", err)
	if rec.ID == "" {
		t.Fatal("Create returned a record without an ID")
	}
	set := e.caps.Creates & e.caps.Holds
	compareSent(t, "created record", set, p, rec.Person)

	if e.caps.FindByEmail {
		found, err := e.p.FindByEmail(c, p.Emails[0])
		e.must("FindByEmail", err)
		if !hasID(found, rec.ID) {
			t.Errorf("FindByEmail(%q) = %v, want record %s", p.Emails[0], ids(found), rec.ID)
		}
		none, err := e.p.FindByEmail(c, "nobody.here@example.org")
		e.must("FindByEmail (no match)", err)
		if len(none) != 0 {
			t.Errorf("FindByEmail of an unknown address found %v", ids(none))
		}
	}
	if e.caps.FindByLinkedIn && set.Has(mapping.FieldLinkedIn) {
		found, err := e.p.FindByLinkedIn(c, p.LinkedIn)
		e.must("FindByLinkedIn", err)
		if !hasID(found, rec.ID) {
			t.Errorf("FindByLinkedIn(%q) = %v, want record %s", p.LinkedIn, ids(found), rec.ID)
		}
	}
	snap, ok := e.snapshot(rec.ID)
	if !ok {
		t.Fatalf("Snapshot has no record %s", rec.ID)
	}
	compareSent(t, "snapshot", set, p, snap.Person)
	if e.caps.Get {
		got, err := e.p.Get(c, rec.ID)
		e.must("Get", err)
		if got.ID != rec.ID {
			t.Errorf("Get(%s) returned ID %s", rec.ID, got.ID)
		}
		compareSent(t, "Get", set, p, got.Person)
	}
	// The listing shows it too.
	n := 0
	for r, err := range e.p.List(c) {
		e.must("List", err)
		if r.ID == rec.ID {
			n++
			compareSent(t, "List", set, p, r.Person)
		}
	}
	if n != 1 {
		t.Errorf("List yielded the created record %d times, want once", n)
	}
}

func hasID(recs []providers.Record, id string) bool {
	return slices.ContainsFunc(recs, func(r providers.Record) bool { return r.ID == id })
}

func ids(recs []providers.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

// newValues holds, per field, the values the change tests write: the first
// for Update, the second for UserEdit.
var newValues = map[mapping.Field][2]mapping.Value{
	mapping.FieldJobTitle:  {{"Head of Partnerships"}, {"VP Sales"}},
	mapping.FieldLastName:  {{"Van der Berg"}, {"de la Fontaine"}},
	mapping.FieldFirstName: {{"Héloïse"}, {"Anne-Sophie"}},
	mapping.FieldCompany:   {{"Nordwind GmbH"}, {"Hélios Énergie"}},
	mapping.FieldNotes:     {{"Rappeler après le salon."}, {"A signé le devis."}},
	mapping.FieldPhones:    {{"+33798765432"}, {"+33798765433"}},
	mapping.FieldAddress:   {{"3 place Bellecour, 69002 Lyon"}, {"8 quai des Chartrons, 33000 Bordeaux"}},
	mapping.FieldLeadScore: {{"77"}, {"12"}},
}

// changeOrder is the order in which the change tests pick a field.
var changeOrder = []mapping.Field{
	mapping.FieldJobTitle, mapping.FieldLastName, mapping.FieldFirstName, mapping.FieldCompany,
	mapping.FieldNotes, mapping.FieldPhones, mapping.FieldAddress, mapping.FieldLeadScore,
}

func pickField(set mapping.FieldSet) (mapping.Field, bool) {
	for _, f := range changeOrder {
		if set.Has(f) {
			return f, true
		}
	}
	return "", false
}

func testChanges(t *testing.T, h Harness) {
	e := start(t, h)
	c := ctx(t, 40*time.Second)
	id := e.seed(realistic(1), realistic(2))[0]
	first := e.changes(c, nil)
	if _, ok := first.upserts[id]; !ok {
		t.Fatalf("Changes(nil) did not yield seeded record %s (got %v)", id, keys(first.upserts))
	}
	cp := first.res.Checkpoint

	if f, ok := pickField(e.caps.Updates & e.caps.Holds); ok {
		cur, ok := e.snapshot(id)
		if !ok {
			t.Fatalf("Snapshot has no record %s", id)
		}
		desired := cur.Person.Clone()
		want := newValues[f][0]
		desired.Set(f, want)
		_, err := e.p.Update(c, id, cur.Person, desired)
		e.must("Update "+string(f), err)
		after, _ := e.snapshot(id)
		if !mapping.Equal(f, after.Person.Get(f), want) {
			t.Errorf("after Update the simulator holds %s = %q, want %q", f, after.Person.Get(f), want)
		}
		// The other fields the CRM holds and the update can write are kept.
		for _, g := range (e.caps.Updates & e.caps.Holds).Fields() {
			if g != f && !mapping.Equal(g, after.Person.Get(g), cur.Person.Get(g)) {
				t.Errorf("Update of %s changed %s from %q to %q", f, g, cur.Person.Get(g), after.Person.Get(g))
			}
		}
		got := e.changes(c, cp)
		r, ok := got.upserts[id]
		switch {
		case !ok:
			t.Errorf("Changes after Update did not yield %s (got %v)", id, keys(got.upserts))
		case !mapping.Equal(f, r.Person.Get(f), want):
			t.Errorf("Changes after Update: %s = %q, want %q", f, r.Person.Get(f), want)
		}
		cp = got.res.Checkpoint
	} else {
		t.Log("no updatable field: Update not tested")
		// With nothing it can write, Update either refuses plainly or
		// writes nothing.
		_, err := e.p.Update(c, id, mapping.Person{}, realistic(1))
		if err != nil && providers.ClassOf(err) != providers.ClassUnsupported {
			t.Errorf("Update without Capabilities.Updates: %v, want nil or class unsupported", err)
		}
		e.noSecrets(err)
	}

	f, ok := pickField(e.caps.Holds)
	if !ok {
		t.Fatal("the CRM holds none of the fields the suite edits")
	}
	want := newValues[f][1]
	e.must("UserEdit", e.sim.UserEdit(id, func(p *mapping.Person) { p.Set(f, want) }))
	got := e.changes(c, cp)
	r, ok := got.upserts[id]
	switch {
	case !ok:
		t.Errorf("Changes after UserEdit did not yield %s (got %v)", id, keys(got.upserts))
	case !mapping.Equal(f, r.Person.Get(f), want):
		t.Errorf("Changes after UserEdit: %s = %q, want %q", f, r.Person.Get(f), want)
	}
	if len(got.deletes) != 0 {
		t.Errorf("Changes after UserEdit reported deletes %v", got.deletes)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// wantDeleted checks that f shows id deleted (a delete, or a complete
// listing without it) and keep not deleted.
func wantDeleted(t *testing.T, what string, f feed, id, keep string) {
	t.Helper()
	_, up := f.upserts[id]
	if !f.deletes[id] && !(f.res.Complete && !up) {
		t.Errorf("%s: Changes shows neither a delete of %s nor a complete listing without it (complete=%v, upserted=%v)", what, id, f.res.Complete, up)
	}
	if f.deletes[keep] {
		t.Errorf("%s: Changes reported live record %s deleted", what, keep)
	}
	if _, ok := f.upserts[keep]; f.res.Complete && !ok {
		t.Errorf("%s: a complete Changes result lacks live record %s", what, keep)
	}
}

func testDelete(t *testing.T, h Harness) {
	e := start(t, h)
	c := ctx(t, 40*time.Second)
	people := []mapping.Person{realistic(3), realistic(4), realistic(5)}
	sid := e.seed(people...)
	a, b, keep := sid[0], sid[1], sid[2]
	cp := e.changes(c, nil).res.Checkpoint

	if e.caps.Delete {
		snap, _ := e.snapshot(a)
		e.must("Delete", e.p.Delete(c, a, snap.Person))
		if _, ok := e.snapshot(a); ok {
			t.Errorf("after Delete the simulator still lists %s", a)
		}
		got := e.changes(c, cp)
		wantDeleted(t, "Delete", got, a, keep)
		cp = got.res.Checkpoint
	} else {
		err := e.p.Delete(c, a, people[0])
		if err == nil || providers.ClassOf(err) != providers.ClassUnsupported {
			t.Errorf("Delete without Capabilities.Delete: %v, want class unsupported", err)
		}
		if _, ok := e.snapshot(a); !ok {
			t.Errorf("an unsupported Delete removed %s", a)
		}
	}

	e.must("UserDelete", e.sim.UserDelete(b))
	got := e.changes(c, cp)
	wantDeleted(t, "UserDelete", got, b, keep)
	if e.caps.Get {
		_, err := e.p.Get(c, b)
		e.wantClass("Get of a deleted record", err, providers.ClassNotFound)
		r, err := e.p.Get(c, keep)
		e.must("Get of a live record", err)
		if r.ID != keep {
			t.Errorf("Get(%s) returned %s", keep, r.ID)
		}
	}
}

func testCatalogs(t *testing.T, h Harness) {
	e := start(t, h)
	c := ctx(t, 30*time.Second)
	stages, err := e.p.LeadStages(c)
	e.must("LeadStages", err)
	for _, s := range stages {
		if strings.TrimSpace(s.Name) == "" {
			t.Errorf("lead stage %+v has no name", s)
		}
	}
	pipes, err := e.p.PipelineStages(c)
	e.must("PipelineStages", err)
	if pipes == nil {
		id := e.seed(realistic(6))[0]
		err := e.p.SetPipelineStage(c, id, realistic(6), "Qualified")
		if err == nil || providers.ClassOf(err) != providers.ClassUnsupported {
			t.Errorf("SetPipelineStage without pipelines: %v, want class unsupported", err)
		}
	}
}

// randomSecret returns a credential-like random string.
func randomSecret(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

func testWrongCredentials(t *testing.T, h Harness) {
	e := start(t, h)
	c := ctx(t, 30*time.Second)
	e.seed(realistic(7))
	var wrong []string
	bad := e.provider(func(o *providers.Options) {
		creds := map[string]string{}
		for k := range o.Credentials {
			creds[k] = randomSecret("wrong-" + k)
			wrong = append(wrong, creds[k])
		}
		o.Credentials = creds
	})
	err := probe(c, bad)
	e.noSecrets(err, wrong...)
	e.wantClass("List with wrong credentials", err, providers.ClassAuth)
	_, err = bad.Create(c, realistic(8))
	e.noSecrets(err, wrong...)
	e.wantClass("Create with wrong credentials", err, providers.ClassAuth)
	// The simulator holds no new record.
	if n := len(e.sim.Snapshot()); n != 1 {
		t.Errorf("a refused Create left %d records, want 1", n)
	}
}

func testValidation(t *testing.T, h Harness) {
	e := start(t, h)
	c := ctx(t, 30*time.Second)
	_, err := e.p.Create(c, mapping.Person{})
	e.wantClass("Create of an empty person", err, providers.ClassValidation)
	if n := len(e.sim.Snapshot()); n != 0 {
		t.Errorf("a refused Create left %d records", n)
	}
}

func testRateLimit(t *testing.T, h Harness) {
	e := start(t, h)
	c := ctx(t, 30*time.Second)
	e.seed(realistic(9))
	e.must("warm-up call", probe(c, e.p)) // logs in where the CRM needs it
	e.sim.SetRateLimit(1)
	var limited *providers.Error
	for i := 0; i < 20 && limited == nil; i++ {
		err := probe(c, e.p)
		if err == nil {
			continue
		}
		e.wantClass("call over the rate limit", err, providers.ClassRateLimited)
		if !errors.As(err, &limited) {
			t.Fatalf("rate-limited error is not a *providers.Error: %v", err)
		}
	}
	if limited == nil {
		t.Fatal("20 calls at a limit of 1 per second never returned ClassRateLimited")
	}
	if limited.RetryAfter < time.Second {
		t.Fatalf("RetryAfter = %s, want at least 1s", limited.RetryAfter)
	}
	if limited.RetryAfter > 5*time.Second {
		t.Fatalf("RetryAfter = %s at 1 request per second", limited.RetryAfter)
	}
	time.Sleep(limited.RetryAfter + 20*time.Millisecond)
	e.must("call after waiting RetryAfter", probe(c, e.p))
	e.sim.SetRateLimit(0)
	e.must("call without a limit", probe(c, e.p))
}

func testFaults(t *testing.T, h Harness) {
	e := start(t, h)
	c := ctx(t, 40*time.Second)
	e.seed(realistic(10))
	e.must("warm-up call", probe(c, e.p))
	e.sim.SetFaults(1)
	e.wantClass("List with every request failing", probe(c, e.p), providers.ClassRetryable)
	_, err := e.p.Create(c, realistic(11))
	e.wantClass("Create with every request failing", err, providers.ClassRetryable)
	e.sim.SetFaults(0)
	e.must("call after faults end", probe(c, e.p))
}

func testCancel(t *testing.T, h Harness) {
	e := start(t, h)
	e.seed(realistic(12))
	// Already cancelled.
	cc, cancel := context.WithCancel(t.Context())
	cancel()
	began := time.Now()
	err := probe(cc, e.p)
	if err == nil {
		t.Fatal("List with a cancelled context: no error")
	}
	e.noSecrets(err)
	if d := time.Since(began); d > time.Second {
		t.Errorf("List with a cancelled context took %s", d)
	}
	// Cancelled while waiting for a slow answer.
	e.sim.SetLatency(2 * time.Second)
	cc, cancel = context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	began = time.Now()
	_, err = e.p.Create(cc, realistic(13))
	if err == nil {
		t.Fatal("Create cancelled in flight: no error")
	}
	e.noSecrets(err)
	if d := time.Since(began); d > 1500*time.Millisecond {
		t.Errorf("Create cancelled after 100ms returned after %s", d)
	}
	e.sim.SetLatency(0)
}

func testTimeout(t *testing.T, h Harness) {
	e := start(t, h)
	c := ctx(t, 40*time.Second)
	e.seed(realistic(14))
	short := e.provider(func(o *providers.Options) { o.Timeout = 300 * time.Millisecond })
	e.sim.SetLatency(1500 * time.Millisecond)
	e.wantClass("List slower than the timeout", probe(c, short), providers.ClassRetryable)
	e.sim.SetLatency(0)
	e.must("List after the latency ends", probe(c, short))
}

// listingPeople returns n people of the dataset that satisfy caps, without
// stages (which depend on each CRM's catalog) and with unique emails.
func listingPeople(caps providers.Capabilities, n int) []mapping.Person {
	out := make([]mapping.Person, 0, n)
	seen := map[string]bool{}
	for _, pl := range dataset.All(20260101, 100*n) {
		p := pl.Person
		p.LeadStage, p.PipelineStage, p.Owner = "", "", ""
		if !dataset.Satisfies(p, caps.Required, caps.RequireOneOf) {
			continue
		}
		if len(p.Emails) > 0 {
			if seen[p.Emails[0]] {
				continue
			}
			seen[p.Emails[0]] = true
		}
		out = append(out, p)
		if len(out) == n {
			break
		}
	}
	return out
}

func testListing(t *testing.T, h Harness) {
	e := start(t, h)
	c := ctx(t, 50*time.Second)
	people := listingPeople(e.caps, ListingSize)
	if len(people) != ListingSize {
		t.Fatalf("the dataset gave %d people the CRM can hold, want %d", len(people), ListingSize)
	}
	seeded := e.seed(people...)
	want := map[string]bool{}
	for _, id := range seeded {
		if want[id] {
			t.Fatalf("Seed returned ID %s twice", id)
		}
		want[id] = true
	}
	if n := len(e.sim.Snapshot()); n != ListingSize {
		t.Errorf("Snapshot has %d records, want %d", n, ListingSize)
	}

	seen := map[string]int{}
	for r, err := range e.p.List(c) {
		e.must("List", err)
		seen[r.ID]++
	}
	var dup, extra []string
	for id, n := range seen {
		if n > 1 {
			dup = append(dup, id)
		}
		if !want[id] {
			extra = append(extra, id)
		}
	}
	missing := 0
	for id := range want {
		if seen[id] == 0 {
			missing++
		}
	}
	if len(dup) > 0 || len(extra) > 0 || missing > 0 {
		t.Errorf("List: %d records, %d yielded more than once (%v), %d unknown (%v), %d missing",
			len(seen), len(dup), head(dup), len(extra), head(extra), missing)
	}

	f := e.changes(c, nil)
	if !f.res.Complete {
		t.Error("Changes(nil) did not report Complete")
	}
	missing = 0
	for id := range want {
		if _, ok := f.upserts[id]; !ok {
			missing++
		}
	}
	if missing > 0 || len(f.deletes) > 0 {
		t.Errorf("Changes(nil): %d upserts, %d seeded records missing, %d deletes", len(f.upserts), missing, len(f.deletes))
	}
}

func head(s []string) []string {
	if len(s) > 5 {
		return s[:5]
	}
	return s
}

func testRequests(t *testing.T, h Harness) {
	e := start(t, h)
	c := ctx(t, 30*time.Second)
	seeded := e.seed(realistic(15), realistic(16))
	if n := total(e.sim.Requests()); n != 0 {
		t.Errorf("before any call the simulator counted %d requests (Seed must not count): %v", n, e.sim.Requests())
	}
	e.must("List", probe(c, e.p))
	afterList := total(e.sim.Requests())
	if afterList < 1 {
		t.Fatalf("after List the simulator counted %d requests", afterList)
	}
	rec, err := e.p.Create(c, realistic(17))
	e.must("Create", err)
	e.must("List", probe(c, e.p))
	reqs := e.sim.Requests()
	if n := total(reqs); n < afterList+2 {
		t.Errorf("after List, Create and List the simulator counted %d requests, want at least %d: %v", n, afterList+2, reqs)
	}
	for k, n := range reqs {
		method, path, ok := strings.Cut(k, " ")
		if !ok || method != strings.ToUpper(method) || method == "" || !strings.HasPrefix(path, "/") {
			t.Errorf("request key %q is not like \"GET /api/contacts\"", k)
		}
		for _, id := range append(seeded, rec.ID) {
			if id != "" && len(id) >= 6 && strings.Contains(path, id) {
				t.Errorf("request key %q holds the concrete ID %s, want a path template", k, id)
			}
		}
		if n < 0 {
			t.Errorf("request key %q counts %d", k, n)
		}
	}
}

func total(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}
