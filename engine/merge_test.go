package engine_test

import (
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine"
	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers"
)

func newState() *engine.PersonState {
	return &engine.PersonState{ID: 1, Prov: make([]engine.Prov, len(mapping.AllFields))}
}

func TestMergerApply(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	all := mapping.NewFieldSet(mapping.AllFields...)
	prio := map[int16]int{1: 1, 2: 2}
	m := engine.Merger{Priority: func(c int16) int { return prio[c] }}

	tests := []struct {
		name string
		// first is applied from connection 1 at t0 with no base.
		first mapping.Person
		// then is applied from conn at `at` against base.
		then     mapping.Person
		base     *mapping.Person
		conn     int16
		at       time.Time
		want     mapping.Person
		nChanges int
	}{
		{
			name:  "newer change wins",
			first: mapping.Person{JobTitle: "CTO"},
			then:  mapping.Person{JobTitle: "CEO"}, conn: 2, at: t0.Add(time.Minute),
			want: mapping.Person{JobTitle: "CEO"}, nChanges: 1,
		},
		{
			name:  "older change loses",
			first: mapping.Person{JobTitle: "CTO"},
			then:  mapping.Person{JobTitle: "CEO"}, conn: 2, at: t0.Add(-time.Minute),
			want: mapping.Person{JobTitle: "CTO"},
		},
		{
			name:  "tie goes to the higher priority",
			first: mapping.Person{JobTitle: "CTO"},
			then:  mapping.Person{JobTitle: "CEO"}, conn: 2, at: t0,
			want: mapping.Person{JobTitle: "CEO"}, nChanges: 1,
		},
		{
			name:  "tie from a lower priority loses",
			first: mapping.Person{JobTitle: "CTO"},
			then:  mapping.Person{JobTitle: "CEO"}, conn: 0, at: t0,
			want: mapping.Person{JobTitle: "CTO"},
		},
		{
			name:  "empty never erases",
			first: mapping.Person{JobTitle: "CTO", Company: "Acme"},
			then:  mapping.Person{Company: "Acme"}, conn: 2, at: t0.Add(time.Hour),
			want: mapping.Person{JobTitle: "CTO", Company: "Acme"},
		},
		{
			name:  "emails merge as a set, primary kept",
			first: mapping.Person{Emails: []string{"a@x.fr", "b@x.fr"}},
			then:  mapping.Person{Emails: []string{"c@x.fr", "a@x.fr"}}, conn: 2, at: t0.Add(time.Hour),
			want: mapping.Person{Emails: []string{"a@x.fr", "b@x.fr", "c@x.fr"}}, nChanges: 1,
		},
		{
			name:  "a value equal to the base is not a change",
			first: mapping.Person{JobTitle: "CTO"},
			then:  mapping.Person{JobTitle: "Engineer"}, base: &mapping.Person{JobTitle: "Engineer"}, conn: 2, at: t0.Add(time.Hour),
			want: mapping.Person{JobTitle: "CTO"},
		},
		{
			name:  "same value after normalization is no change",
			first: mapping.Person{FirstName: "Jean  Pierre"},
			then:  mapping.Person{FirstName: "Jean Pierre"}, conn: 2, at: t0.Add(time.Hour),
			want: mapping.Person{FirstName: "Jean  Pierre"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newState()
			m.Apply(st, &tt.first, nil, all, 1, t0)
			ch := m.Apply(st, &tt.then, tt.base, all, tt.conn, tt.at)
			if len(ch) != tt.nChanges {
				t.Errorf("changes = %d, want %d (%+v)", len(ch), tt.nChanges, ch)
			}
			if !mapping.EqualPerson(all, &st.Person, &tt.want) {
				t.Errorf("person = %+v, want %+v", st.Person, tt.want)
			}
		})
	}
}

func TestMergerFold(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	all := mapping.NewFieldSet(mapping.AllFields...)
	m := engine.Merger{}
	a, b := newState(), newState()
	b.ID = 2
	m.Apply(a, &mapping.Person{FirstName: "Jean", Emails: []string{"j@x.fr"}, JobTitle: "CTO"}, nil, all, 1, t0)
	m.Apply(b, &mapping.Person{LinkedIn: "https://www.linkedin.com/in/jean", JobTitle: "CEO", Company: "Acme"}, nil, all, 2, t0.Add(time.Minute))
	m.Fold(a, b)
	want := mapping.Person{FirstName: "Jean", Emails: []string{"j@x.fr"}, LinkedIn: "https://www.linkedin.com/in/jean", JobTitle: "CEO", Company: "Acme"}
	if !mapping.EqualPerson(all, &a.Person, &want) {
		t.Fatalf("folded = %+v, want %+v", a.Person, want)
	}
}

func TestProjectAndDiff(t *testing.T) {
	caps := providers.Capabilities{
		Holds:      mapping.NewFieldSet(mapping.FieldFirstName, mapping.FieldLastName, mapping.FieldEmails, mapping.FieldPhones),
		MaxEmails:  1,
		MaxPhones:  1,
		JoinedName: true,
	}
	p := mapping.Person{FirstName: "Jean Pierre", LastName: "Dupont", Emails: []string{"a@x.fr", "b@x.fr"},
		Phones: []string{"+33612345678", "+33700000000"}, JobTitle: "CTO"}
	got := engine.Project(caps, p)
	want := mapping.Person{FirstName: "Jean", LastName: "Pierre Dupont", Emails: []string{"a@x.fr"}, Phones: []string{"+33612345678"}}
	all := mapping.NewFieldSet(mapping.AllFields...)
	if !mapping.EqualPerson(all, &got, &want) {
		t.Fatalf("Project = %+v, want %+v", got, want)
	}
	base := mapping.Person{FirstName: "Jean", LastName: "Pierre Dupont", Emails: []string{"A@X.fr"}, Phones: []string{"06 12 34 56 78"}}
	if d := engine.Diff(caps.Holds, &base, &got); len(d) != 0 {
		t.Fatalf("Diff of equal values after normalization = %v, want none", d)
	}
	base.LastName = "Durand"
	if d := engine.Diff(caps.Holds, &base, &got); len(d) != 1 || d[0] != mapping.FieldLastName {
		t.Fatalf("Diff = %v, want [last_name]", d)
	}
}

func TestIdentities(t *testing.T) {
	p := mapping.Person{Emails: []string{" Jean@X.fr ", "not-an-email"}, LinkedIn: "fr.linkedin.com/in/Jean-D/?trk=x"}
	got := engine.Identities(&p)
	want := []string{"e:jean@x.fr", "l:https://www.linkedin.com/in/jean-d"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("Identities = %v, want %v", got, want)
	}
}
