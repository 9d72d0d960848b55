package verify

import (
	"github.com/crmsync/crmsync/internal/dataset"
	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers"
)

// The traits DatasetTraits returns, by index.
const (
	traitEpixelPhone = iota // the first phone has Epixel's format
	traitLigoName           // the first name has no space
)

// DatasetTraits returns the traits DatasetCanHold reads, to give
// CheckStream with it.
func DatasetTraits() []Trait {
	return []Trait{
		traitEpixelPhone: {Field: mapping.FieldPhones, Test: func(p *mapping.Person) bool {
			// dataset.CanHold's phone rule, on a person that meets
			// Epixel's other requirements.
			return len(p.Phones) > 0 && dataset.CanHold(dataset.Epixel,
				mapping.Person{FirstName: "x", LastName: "x", Emails: []string{"x"}, Phones: p.Phones[:1]})
		}},
		traitLigoName: {Field: mapping.FieldFirstName, Test: func(p *mapping.Person) bool {
			return dataset.CanHold(dataset.Ligo, mapping.Person{FirstName: p.FirstName})
		}},
	}
}

// DatasetCanHold returns dataset.CanHold of CRM kind over a Summary (with
// DatasetTraits): NextLead needs an email or a LinkedIn URL; Skarbe an email
// or a first name; Epixel a first name, last name, email and a phone of its
// format; Ligo a first name without spaces. Unknown kinds hold nobody.
func DatasetCanHold(kind string) func(s Summary) bool {
	switch kind {
	case dataset.NextLead:
		return func(s Summary) bool { return s.Has(mapping.FieldEmails) || s.Has(mapping.FieldLinkedIn) }
	case dataset.Skarbe:
		return func(s Summary) bool { return s.Has(mapping.FieldEmails) || s.Has(mapping.FieldFirstName) }
	case dataset.Epixel:
		return func(s Summary) bool {
			return s.Has(mapping.FieldFirstName) && s.Has(mapping.FieldLastName) && s.Has(mapping.FieldEmails) &&
				s.Has(mapping.FieldPhones) && s.Trait(traitEpixelPhone)
		}
	case dataset.Ligo:
		return func(s Summary) bool { return s.Has(mapping.FieldFirstName) && s.Trait(traitLigoName) }
	}
	return func(Summary) bool { return false }
}

// DatasetSource is a Source over the records sim holds when the check reads
// them, for a CRM of the generated dataset's kind (internal/dataset): its
// CanHold is DatasetCanHold(kind), which reads DatasetTraits.
func DatasetSource(name, kind string, caps providers.Capabilities, sim providers.Simulator) Source {
	return Source{Name: name, Caps: caps, CanHold: DatasetCanHold(kind),
		Records: func(yield func(providers.Record, error) bool) {
			for _, r := range sim.Snapshot() {
				if !yield(r, nil) {
					return
				}
			}
		}}
}

// CheckDataset is CheckStream over DatasetSources, with DatasetTraits.
func CheckDataset(srcs []Source) (*Report, error) {
	return CheckStream(srcs, DatasetTraits())
}
