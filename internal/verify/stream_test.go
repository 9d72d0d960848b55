package verify

import (
	"fmt"
	"iter"
	"math/rand/v2"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/crmsync/crmsync/internal/dataset"
	"github.com/crmsync/crmsync/internal/simulate"
	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers"
)

// fakeSim is a providers.Simulator that only has a Snapshot (what Check
// reads).
type fakeSim struct {
	providers.Simulator
	recs []providers.Record
}

func (f *fakeSim) Snapshot() []providers.Record { return f.recs }

// noErr turns a record sequence into a Source's.
func noErr(recs iter.Seq[providers.Record]) iter.Seq2[providers.Record, error] {
	return func(yield func(providers.Record, error) bool) {
		for r := range recs {
			if !yield(r, nil) {
				return
			}
		}
	}
}

// both runs Check and CheckStream (with the dataset's rules) on the same
// CRMs and fails the test when their reports differ.
func both(t interface {
	Helper()
	Fatalf(format string, args ...any)
}, crms []CRM, records func(i int) iter.Seq[providers.Record]) *Report {
	t.Helper()
	var srcs []Source
	for i, c := range crms {
		srcs = append(srcs, Source{Name: c.Name, Caps: c.Caps, Records: noErr(records(i)), CanHold: DatasetCanHold(c.Name)})
	}
	want := Check(crms)
	got, err := CheckStream(srcs, DatasetTraits())
	if err != nil {
		t.Fatalf("CheckStream: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("CheckStream and Check differ:\nstream: %s\ncheck:  %s", got, want)
	}
	return want
}

// TestCheckStreamMatchesCheck: on the simulators seeded with generated
// datasets, then with people added to CRMs that lacked them, records
// deleted and records duplicated, CheckStream's report is Check's.
func TestCheckStreamMatchesCheck(t *testing.T) {
	t.Parallel()
	for seed := range int64(4) {
		t.Run(strconv.FormatInt(seed, 10), func(t *testing.T) {
			t.Parallel()
			const people = 2500
			d := dataset.Generate(seed, people)
			rng := rand.New(rand.NewPCG(uint64(seed), 99))
			var crms []CRM
			for _, kind := range simulate.Kinds() {
				sim, err := simulate.NewSimulator(kind, "")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(sim.Close)
				if _, err := sim.Seed(d.Seeds[kind]); err != nil {
					t.Fatal(err)
				}
				prov, err := simulate.NewProvider(kind, providers.Options{BaseURL: sim.URL(), Credentials: sim.Credentials()})
				if err != nil {
					t.Fatal(err)
				}
				crms = append(crms, CRM{Name: kind, Caps: prov.Capabilities(), Sim: sim,
					CanHold: func(p mapping.Person) bool { return dataset.CanHold(kind, p) }})
			}
			records := func(i int) iter.Seq[providers.Record] { return simulate.Records(crms[i].Sim) }
			seeded := both(t, crms, records)
			if seeded.Converged {
				t.Fatal("a seeded dataset converged: nothing missing to compare")
			}

			// Most people everywhere they can be (as after a resync), some
			// twice, some records deleted.
			for _, c := range crms {
				var add []mapping.Person
				for _, p := range dataset.ForCRM(c.Name, d.People) {
					switch k := rng.IntN(20); {
					case k < 14:
						add = append(add, p)
					case k == 14:
						add = append(add, p, p)
					}
				}
				if c.Name == dataset.NextLead {
					add = dataset.ForCRM(c.Name, add) // NextLead refuses a second contact with one email
				}
				if _, err := c.Sim.Seed(add); err != nil {
					t.Fatal(err)
				}
				for _, r := range c.Sim.Snapshot() {
					if rng.IntN(15) == 0 {
						if err := c.Sim.UserDelete(r.ID); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			rep := both(t, crms, records)
			dups, missing := 0, 0
			for _, cr := range rep.PerCRM {
				dups += cr.Duplicates
				missing += len(cr.Missing)
			}
			if dups == 0 || missing == 0 || rep.People < people/2 {
				t.Fatalf("the mutated dataset lacks duplicates (%d) or missing people (%d):\n%s", dups, missing, rep)
			}
		})
	}
}

// TestCheckStreamMatchesCheckProp: on records drawn from small pools of
// valid and invalid emails, LinkedIn URLs, names with and without spaces
// and phones in and out of Epixel's format, over CRMs with random
// capabilities, CheckStream's report is Check's.
func TestCheckStreamMatchesCheckProp(t *testing.T) {
	t.Parallel()
	emails := []string{"a@x.fr", "A@X.fr ", "b@y.com", "c@z.org", "not-an-email", "d@x.fr", ""}
	linkedIns := []string{"https://www.linkedin.com/in/ann", "linkedin.com/in/ann/", "https://linkedin.com/in/bob", "https://example.com/x", ""}
	firsts := []string{"Ann", "Ann Marie", "Bob", ""}
	phones := []string{"+33612345678", "0612345678", "12ab", "+1555123456789"}
	fields := []mapping.Field{mapping.FieldCompany, mapping.FieldJobTitle, mapping.FieldLeadStage, mapping.FieldNotes}
	rapid.Check(t, func(t *rapid.T) {
		var crms []CRM
		recs := map[int][]providers.Record{}
		for i, kind := range simulate.Kinds() {
			caps := providers.Capabilities{
				JoinedName: rapid.Bool().Draw(t, "joined"),
				Creates:    mapping.FieldSet(rapid.IntRange(0, 1).Draw(t, "creates")),
			}
			if rapid.Bool().Draw(t, "required") {
				caps.Required = []mapping.Field{rapid.SampledFrom(mapping.AllFields).Draw(t, "req")}
			}
			if rapid.Bool().Draw(t, "oneOf") {
				caps.RequireOneOf = rapid.SliceOfN(rapid.SampledFrom(mapping.AllFields), 1, 3).Draw(t, "oneOf")
			}
			crms = append(crms, CRM{Name: kind, Caps: caps, Sim: &fakeSim{},
				CanHold: func(p mapping.Person) bool { return dataset.CanHold(kind, p) }})
			n := rapid.IntRange(0, 12).Draw(t, "records")
			for j := range n {
				p := mapping.Person{
					FirstName: rapid.SampledFrom(firsts).Draw(t, "first"),
					LastName:  rapid.SampledFrom([]string{"", "Lee"}).Draw(t, "last"),
					LinkedIn:  rapid.SampledFrom(linkedIns).Draw(t, "linkedin"),
				}
				for _, e := range rapid.SliceOfN(rapid.SampledFrom(emails), 0, 2).Draw(t, "emails") {
					if e != "" {
						p.Emails = append(p.Emails, e)
					}
				}
				p.Phones = rapid.SliceOfN(rapid.SampledFrom(phones), 0, 2).Draw(t, "phones")
				if rapid.Bool().Draw(t, "score") {
					v := rapid.IntRange(0, 100).Draw(t, "scoreValue")
					p.LeadScore = &v
				}
				f := rapid.SampledFrom(fields).Draw(t, "field")
				p.Set(f, mapping.Value{rapid.SampledFrom([]string{"contacted", "x"}).Draw(t, "value")})
				recs[i] = append(recs[i], providers.Record{ID: fmt.Sprintf("%s-%d", kind, j), Person: p})
			}
			crms[i].Sim.(*fakeSim).recs = recs[i]
		}
		both(t, crms, func(i int) iter.Seq[providers.Record] { return slices.Values(recs[i]) })
	})
}

// TestCheckStreamErrors: a source's error ends the check with it.
func TestCheckStreamErrors(t *testing.T) {
	t.Parallel()
	bad := func(yield func(providers.Record, error) bool) {
		if yield(providers.Record{ID: "1", Person: mapping.Person{Emails: []string{"a@x.fr"}}}, nil) {
			yield(providers.Record{}, fmt.Errorf("connection reset"))
		}
	}
	if _, err := CheckStream([]Source{{Name: "x", Records: bad}}, nil); err == nil {
		t.Fatal("no error")
	}
	if _, err := CheckStream(nil, make([]Trait, maxTraits+1)); err == nil {
		t.Fatal("too many traits: no error")
	}
}

// BenchmarkCheckStream checks a converged state of the dataset (every
// person in every CRM that can hold them, about four records a person),
// generated as it is read, and reports the check's peak heap beyond what was
// in use before it. CRMSYNC_VERIFY_PEOPLE sets the people (default 20,000).
func BenchmarkCheckStream(b *testing.B) {
	people := 20_000
	if s := os.Getenv("CRMSYNC_VERIFY_PEOPLE"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		people = n
	}
	var srcs []Source
	records := 0
	for _, kind := range simulate.Kinds() {
		prov, err := simulate.NewProvider(kind, providers.Options{BaseURL: "http://127.0.0.1:1",
			Credentials: map[string]string{"api_key": "k", "token": "t", "username": "u", "password": "p"}})
		if err != nil {
			b.Fatal(err)
		}
		recs := func(yield func(providers.Record, error) bool) {
			for i, pl := range dataset.All(1, people) {
				if !dataset.CanHold(kind, pl.Person) {
					continue
				}
				records++
				if !yield(providers.Record{ID: strconv.Itoa(i), Person: pl.Person}, nil) {
					return
				}
			}
		}
		srcs = append(srcs, Source{Name: kind, Caps: prov.Capabilities(), Records: recs, CanHold: DatasetCanHold(kind)})
	}
	for b.Loop() {
		records = 0
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		var peak atomic.Uint64
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			var ms runtime.MemStats
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
		rep, err := CheckStream(srcs, DatasetTraits())
		close(stop)
		<-done
		if err != nil {
			b.Fatal(err)
		}
		if !rep.Converged {
			b.Fatalf("not converged:\n%s", rep)
		}
		b.ReportMetric(float64(peak.Load()-before.HeapInuse)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(records), "records")
	}
}
