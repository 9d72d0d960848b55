package dataset

import (
	"testing"

	"github.com/crmsync/crmsync/mapping"
	"pgregory.net/rapid"
)

// TestPlacementInvariants checks, for any seed and index, that a placement
// is internally consistent: every record can be held by its CRM, the truth
// can be matched, and placing is deterministic.
func TestPlacementInvariants(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		seed := rapid.Int64().Draw(t, "seed")
		i := rapid.IntRange(0, 5_000_000).Draw(t, "i")
		g := New(seed)
		p := g.At(i)
		if len(p.Person.Emails) == 0 && p.Person.LinkedIn == "" {
			t.Fatalf("truth has neither email nor LinkedIn: %+v", p.Person)
		}
		crms := p.CRMs()
		if len(crms) < 1 || len(crms) > 4 {
			t.Fatalf("placed in %d CRMs", len(crms))
		}
		for _, r := range p.Records {
			if !CanHold(r.Kind, r.Person) {
				t.Fatalf("%s cannot hold %+v", r.Kind, r.Person)
			}
			if !linked(r.Person, p.Person) {
				t.Fatalf("%s record %+v does not link to %+v", r.Kind, r.Person, p.Person)
			}
			if r.Duplicate && r.Kind != Skarbe {
				t.Fatalf("duplicate outside Skarbe: %s", r.Kind)
			}
		}
		if p.In(Epixel) && (p.Person.LastName == "" || len(p.Person.Phones) == 0) {
			t.Fatalf("Epixel holds a person without last name or phone: %+v", p.Person)
		}
		for _, ph := range p.Person.Phones {
			if !mapping.NormalizePhone(ph, "").Valid() {
				t.Fatalf("truth phone %q is not a valid number", ph)
			}
		}
		again := g.At(i)
		if !mapping.EqualPerson(^mapping.FieldSet(0), &again.Person, &p.Person) || len(again.Records) != len(p.Records) {
			t.Fatal("At is not deterministic")
		}
	})
}
