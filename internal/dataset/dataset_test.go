package dataset

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/mapping"
)

func TestDeterministic(t *testing.T) {
	t.Parallel()
	a := Generate(42, 2000)
	b := Generate(42, 2000)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed gave different datasets")
	}
	c := Generate(43, 2000)
	if reflect.DeepEqual(a.People, c.People) {
		t.Fatal("different seeds gave the same people")
	}
	// Streaming and random access agree with the slice form.
	g := New(42)
	for i, p := range g.All(2000) {
		if !reflect.DeepEqual(p.Person, a.People[i]) {
			t.Fatalf("All(%d) differs from Generate", i)
		}
	}
	if !reflect.DeepEqual(g.At(1234).Person, a.People[1234]) {
		t.Fatal("At differs from Generate")
	}
}

func TestOverlapProportions(t *testing.T) {
	t.Parallel()
	const n = 20000
	e := Facts(7, n)
	want := []float64{0, 0.4, 0.3, 0.2, 0.1}
	for k := 1; k <= 4; k++ {
		got := float64(e.ByCount[k]) / n
		if math.Abs(got-want[k]) > 0.02 {
			t.Errorf("people in %d CRMs: %.3f, want %.2f±0.02", k, got, want[k])
		}
	}
	if e.People != n {
		t.Errorf("People = %d, want %d", e.People, n)
	}
	for name, v := range map[string]int{
		"skarbe duplicates": e.SkarbeDuplicates, "linkedin only": e.LinkedInOnly,
		"conflicts": e.Conflicts, "no phone": e.NoPhone, "no last name": e.NoLastName,
	} {
		if v < n/200 {
			t.Errorf("%s: %d, want at least %d", name, v, n/200)
		}
	}
	for _, k := range Kinds {
		if e.PeopleIn[k] < n/4 {
			t.Errorf("%s holds %d people, want at least %d", k, e.PeopleIn[k], n/4)
		}
	}
	e2 := Facts(7, n, WithOverlap(1, 0, 0, 0))
	if e2.ByCount[1] != n {
		t.Errorf("WithOverlap(1,0,0,0): %v", e2.ByCount)
	}
}

func TestConstraints(t *testing.T) {
	t.Parallel()
	const n = 20000
	d := Generate(99, n)
	// Emails and LinkedIn URLs identify exactly one person.
	emailOwner := map[string]int{}
	liOwner := map[string]int{}
	phoneOwner := map[string]int{}
	for i, p := range d.People {
		if len(p.Emails) == 0 && p.LinkedIn == "" {
			t.Fatalf("person %d has neither email nor LinkedIn", i)
		}
		if strings.Contains(p.FirstName, " ") {
			t.Fatalf("person %d first name %q has a space", i, p.FirstName)
		}
		for _, e := range p.Emails {
			n, err := mapping.NormalizeEmail(e)
			if err != nil || n != e {
				t.Fatalf("person %d truth email %q not canonical (%v)", i, e, err)
			}
			if o, ok := emailOwner[e]; ok && o != i {
				t.Fatalf("email %q shared by %d and %d", e, o, i)
			}
			emailOwner[e] = i
		}
		if p.LinkedIn != "" {
			if c, err := mapping.NormalizeLinkedIn(p.LinkedIn); err != nil || c != p.LinkedIn {
				t.Fatalf("person %d LinkedIn %q not canonical", i, p.LinkedIn)
			}
			if _, ok := liOwner[p.LinkedIn]; ok {
				t.Fatalf("LinkedIn %q shared", p.LinkedIn)
			}
			liOwner[p.LinkedIn] = i
		}
		for _, ph := range p.Phones {
			if got := mapping.NormalizePhone(ph, "").Key(); got != ph {
				t.Fatalf("person %d phone %q not E.164 (%q)", i, ph, got)
			}
			if o, ok := phoneOwner[ph]; ok && o != i {
				t.Fatalf("phone %q shared by %d and %d", ph, o, i)
			}
			phoneOwner[ph] = i
		}
	}
	for _, kind := range Kinds {
		seeds, owners := d.Seeds[kind], d.Owners[kind]
		if len(seeds) != len(owners) || len(seeds) != d.Expected.Records[kind] {
			t.Fatalf("%s: %d seeds, %d owners, expected %d", kind, len(seeds), len(owners), d.Expected.Records[kind])
		}
		nlEmails := map[string]bool{}
		for j, s := range seeds {
			if !CanHold(kind, s) {
				t.Fatalf("%s seed %d cannot be held: %+v", kind, j, s)
			}
			truth := d.People[owners[j]]
			if !linked(s, truth) {
				t.Fatalf("%s seed %d does not link to its person: %+v vs %+v", kind, j, s, truth)
			}
			for _, f := range mapping.AllFields {
				if !Holds(kind).Has(f) && !s.Get(f).Empty() {
					t.Fatalf("%s seed %d has field %s it does not hold", kind, j, f)
				}
			}
			for _, ph := range s.Phones {
				if !mapping.NormalizePhone(ph, "").Valid() {
					t.Fatalf("%s seed %d phone %q does not parse", kind, j, ph)
				}
				if kind == Epixel && !epixelPhone(ph) {
					t.Fatalf("epixel phone %q does not match Epixel's format", ph)
				}
			}
			if kind == Epixel && (s.LastName == "" || len(s.Phones) == 0 || len(s.Emails) == 0 || s.FirstName == "") {
				t.Fatalf("epixel seed %d lacks a required field: %+v", j, s)
			}
			if kind == NextLead && len(s.Emails) > 0 {
				e := strings.ToLower(s.Emails[0])
				if nlEmails[e] {
					t.Fatalf("nextlead email %q seeded twice", e)
				}
				nlEmails[e] = true
			}
		}
	}
	// Pre-existing Skarbe duplicates: same person twice, nowhere else.
	dups := 0
	for _, kind := range Kinds {
		seen := map[int]int{}
		for _, o := range d.Owners[kind] {
			seen[o]++
		}
		for _, c := range seen {
			if c > 1 {
				if kind != Skarbe {
					t.Fatalf("%s has a duplicate", kind)
				}
				dups += c - 1
			}
		}
	}
	if dups != d.Expected.SkarbeDuplicates || dups == 0 {
		t.Fatalf("skarbe duplicates %d, expected %d", dups, d.Expected.SkarbeDuplicates)
	}
	// People missing a phone or last name exist and are never in Epixel.
	inEpixel := map[int]bool{}
	for _, o := range d.Owners[Epixel] {
		inEpixel[o] = true
	}
	for i, p := range d.People {
		if (len(p.Phones) == 0 || p.LastName == "") && inEpixel[i] {
			t.Fatalf("person %d without phone or last name placed in Epixel", i)
		}
	}
}

// linked reports whether seed s matches truth by a normalized email or the
// canonical LinkedIn URL, or is the Epixel record of a person with an email.
func linked(s, truth mapping.Person) bool {
	for _, e := range s.Emails {
		n, _ := mapping.NormalizeEmail(e)
		for _, te := range truth.Emails {
			if n == te {
				return true
			}
		}
	}
	if s.LinkedIn != "" {
		c, err := mapping.NormalizeLinkedIn(s.LinkedIn)
		if err == nil && c == truth.LinkedIn {
			return true
		}
	}
	return false
}

func TestSpellingsNormalize(t *testing.T) {
	t.Parallel()
	// Every raw spelling seeded maps back to a truth value, and the varied
	// spellings the brief asks for do occur.
	d := Generate(5, 5000)
	saw := map[string]bool{}
	for _, kind := range Kinds {
		for j, s := range d.Seeds[kind] {
			truth := d.People[d.Owners[kind][j]]
			for _, ph := range s.Phones {
				key := mapping.NormalizePhone(ph, "").Key()
				if key == "" || !strings.HasPrefix(key, "+") {
					t.Fatalf("phone %q does not normalize", ph)
				}
				switch {
				case strings.HasPrefix(ph, "06 ") || strings.HasPrefix(ph, "07 "):
					saw["fr-local"] = true
				case strings.HasPrefix(ph, "+33 "):
					saw["fr-intl"] = true
				case strings.HasPrefix(ph, "0033"):
					saw["fr-00"] = true
				case strings.HasPrefix(ph, "+1 ("):
					saw["us"] = true
				}
			}
			if s.LinkedIn != "" {
				c, err := mapping.NormalizeLinkedIn(s.LinkedIn)
				if err != nil || c != truth.LinkedIn {
					t.Fatalf("LinkedIn %q → %q (%v), want %q", s.LinkedIn, c, err, truth.LinkedIn)
				}
				switch {
				case strings.Contains(s.LinkedIn, "?trk="):
					saw["li-trk"] = true
				case strings.HasSuffix(s.LinkedIn, "/"):
					saw["li-slash"] = true
				}
			}
			for _, e := range s.Emails {
				if e != strings.ToLower(e) {
					saw["mixed-case"] = true
				}
				if strings.Contains(e, "+") {
					saw["plus-tag"] = true
				}
			}
			for _, n := range []string{s.FirstName, s.LastName} {
				if strings.Contains(n, "-") {
					saw["hyphen"] = true
				}
				if strings.Contains(n, " ") {
					saw["multi-word"] = true
				}
				if strings.ContainsAny(n, "éèëüñễ") {
					saw["accent"] = true
				}
			}
		}
	}
	for _, k := range []string{"fr-local", "fr-intl", "fr-00", "us", "li-trk", "li-slash", "mixed-case", "plus-tag", "hyphen", "multi-word", "accent"} {
		if !saw[k] {
			t.Errorf("no %s spelling generated", k)
		}
	}
}

func TestForCRMAndSatisfies(t *testing.T) {
	t.Parallel()
	people := []mapping.Person{
		{FirstName: "Élodie", LastName: "Müller", Emails: []string{"e@x.fr"}, Phones: []string{"+33612345678"}},
		{FirstName: "Élodie", Emails: []string{"E@x.fr"}},
		{LinkedIn: "https://www.linkedin.com/in/x"},
		{},
	}
	if got := len(ForCRM(Epixel, people)); got != 1 {
		t.Errorf("epixel holds %d, want 1", got)
	}
	if got := len(ForCRM(NextLead, people)); got != 2 {
		t.Errorf("nextlead holds %d, want 2 (unique emails)", got)
	}
	if got := len(ForCRM(Ligo, people)); got != 2 {
		t.Errorf("ligo holds %d, want 2", got)
	}
	if got := len(ForCRM(Skarbe, people)); got != 2 {
		t.Errorf("skarbe holds %d, want 2", got)
	}
	if !Satisfies(people[2], nil, []mapping.Field{mapping.FieldEmails, mapping.FieldLinkedIn}) {
		t.Error("LinkedIn should satisfy email-or-LinkedIn")
	}
	if Satisfies(people[1], []mapping.Field{mapping.FieldLastName}, nil) {
		t.Error("missing last name should not satisfy")
	}
}

func TestMillionFast(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	start := time.Now()
	n := 0
	Each(1, 1_000_000, func(i int, p Placement) { n += len(p.Records) })
	if d := time.Since(start); d > 60*time.Second { // generous: CI machines are shared
		t.Fatalf("1,000,000 people took %s", d)
	}
	t.Logf("1,000,000 people, %d records in %s", n, time.Since(start))
}

func BenchmarkAt(b *testing.B) {
	g := New(1)
	for i := 0; b.Loop(); i++ {
		_ = g.At(i)
	}
}
