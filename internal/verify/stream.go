package verify

import (
	"errors"
	"fmt"
	"hash/maphash"
	"iter"
	"math"
	"runtime"
	"sort"
	"strings"

	"github.com/crmsync/crmsync/engine"
	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers"
)

// Source is one CRM to check with CheckStream: its records arrive as a
// stream and are never held whole.
type Source struct {
	Name string
	Caps providers.Capabilities
	// Records yields the CRM's records in listing order (record IDs are
	// unique within a CRM, as every CRM's are). CheckStream ranges over it
	// once, and a second time when some CRM misses people, to name them;
	// an error ends the check.
	Records iter.Seq2[providers.Record, error]
	// CanHold, when set, refines Caps' required fields (formats such as
	// Epixel's phone rule) from what the check knows of a person.
	CanHold func(s Summary) bool
}

// A Trait is one bit of a field's value that a Source's CanHold needs
// beyond whether the field is empty (a format, say). CheckStream computes
// it on every record; a person's trait is the one of the record that
// supplies Field's value to the merged person.
type Trait struct {
	Field mapping.Field
	// Test computes the bit on one record.
	Test func(p *mapping.Person) bool
}

// Summary is what CheckStream knows of a merged person: which canonical
// fields are non-empty, and its traits.
type Summary struct {
	fields mapping.FieldSet
	bits   uint16
}

// Has reports whether the merged person's field f is non-empty.
func (s Summary) Has(f mapping.Field) bool { return s.fields.Has(f) }

// Trait reports the merged person's trait i (an index into the traits given
// to CheckStream).
func (s Summary) Trait(i int) bool {
	return i >= 0 && i < maxTraits && s.bits&(1<<(i+builtinTraits)) != 0
}

// Two built-in traits come first: whether the emails yield an identity, and
// whether the LinkedIn URL does. The callers' follow.
const (
	traitEmailID    = 0
	traitLinkedInID = 1
	builtinTraits   = 2
	// maxTraits is how many traits a caller may give.
	maxTraits = 16 - builtinTraits
)

// splitNames are the fields a CRM with one full-name field does not supply
// to a merged person.
var splitNames = mapping.NewFieldSet(mapping.FieldFirstName, mapping.FieldLastName)

// CheckStream groups the records of all CRMs into people by identity (a
// shared email or LinkedIn URL) and reports who is missing where, and who
// is held twice. A person counts as holdable by a CRM when it has an
// identity and the merged person meets the CRM's required fields and
// Source.CanHold. Records are streamed, in memory that grows by a few bytes
// per record: it keeps, per record, its CRM, which fields are non-empty and
// the traits' bits, and unions records by the 64-bit hashes of their
// identities. (The tests check that its Report is the one a plain check
// holding every whole record gives, on mutated datasets.) A person is
// merged by taking each field from the first record (CRM order, then
// listing order) where it is non-empty, first and last names never from a
// CRM with JoinedName.
func CheckStream(srcs []Source, traits []Trait) (*Report, error) {
	if len(traits) > maxTraits {
		return nil, fmt.Errorf("verify: %d traits, at most %d", len(traits), maxTraits)
	}
	if len(srcs) > math.MaxUint8 {
		return nil, fmt.Errorf("verify: %d CRMs, at most %d", len(srcs), math.MaxUint8)
	}
	c := newCompact(traits)
	for i, src := range srcs {
		var drop mapping.FieldSet
		if src.Caps.JoinedName {
			// One full-name field split at its first space cannot tell a
			// lone last name from a first name.
			drop = splitNames
		}
		for r, err := range src.Records {
			if err != nil {
				return nil, fmt.Errorf("verify: read %s: %w", src.Name, err)
			}
			if err := c.add(uint8(i), &r.Person, drop); err != nil {
				return nil, fmt.Errorf("verify: %s record %s: %w", src.Name, r.ID, err)
			}
		}
	}
	// The identities have done their work; let them go before grouping.
	// (An explicit collection: the next allocations are as large.)
	c.ids = nil
	runtime.GC()
	rep, missing := c.report(srcs)
	if len(missing) > 0 {
		if err := nameMissing(srcs, rep, missing); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// compact is CheckStream's state: per record (by its index in the stream)
// its CRM, non-empty fields, trait bits, and union-find parent and rank.
type compact struct {
	crm    []uint8
	fields []mapping.FieldSet
	bits   []uint16
	parent []int32
	rank   []uint8
	// ids maps the hash of an identity to the first record that had it.
	// 64-bit hashes: at ten million distinct identities the chance that two
	// collide (and two people are taken for one) is about 3·10⁻⁶.
	seed maphash.Seed
	ids  map[uint64]int32
	// fieldSets[k] is mapping.AllFields[k] as a set; traitFields[k] the
	// field of trait bit k (the built-in ones first), tests the callers'
	// traits' tests.
	fieldSets   []mapping.FieldSet
	traitFields []mapping.FieldSet
	tests       []func(p *mapping.Person) bool
}

func newCompact(traits []Trait) *compact {
	c := &compact{seed: maphash.MakeSeed(), ids: map[uint64]int32{},
		traitFields: []mapping.FieldSet{mapping.NewFieldSet(mapping.FieldEmails), mapping.NewFieldSet(mapping.FieldLinkedIn)}}
	for _, f := range mapping.AllFields {
		c.fieldSets = append(c.fieldSets, mapping.NewFieldSet(f))
	}
	for _, t := range traits {
		c.traitFields = append(c.traitFields, mapping.NewFieldSet(t.Field))
		c.tests = append(c.tests, t.Test)
	}
	return c
}

// add takes in the next record, of CRM crm, not counting the fields of drop
// as supplied by it.
func (c *compact) add(crm uint8, p *mapping.Person, drop mapping.FieldSet) error {
	if len(c.parent) == math.MaxInt32 {
		return errors.New("too many records")
	}
	i := int32(len(c.parent))
	var fields mapping.FieldSet
	for k, f := range mapping.AllFields {
		if !p.Get(f).Empty() {
			fields |= c.fieldSets[k]
		}
	}
	fields &^= drop
	ids := engine.Identities(p)
	var bits uint16
	for _, id := range ids {
		// Identities are the valid emails ("e:") first, then the LinkedIn URL ("l:").
		if strings.HasPrefix(id, "e:") {
			bits |= 1 << traitEmailID
		} else {
			bits |= 1 << traitLinkedInID
		}
	}
	for k, test := range c.tests {
		if fields&c.traitFields[builtinTraits+k] != 0 && test(p) {
			bits |= 1 << (builtinTraits + k)
		}
	}
	c.crm = append(c.crm, crm)
	c.fields = append(c.fields, fields)
	c.bits = append(c.bits, bits)
	c.parent = append(c.parent, i)
	c.rank = append(c.rank, 0)
	for _, id := range ids {
		h := maphash.String(c.seed, id)
		if j, ok := c.ids[h]; ok {
			c.union(i, j)
		} else {
			c.ids[h] = i
		}
	}
	return nil
}

func (c *compact) find(x int32) int32 {
	for c.parent[x] != x {
		c.parent[x] = c.parent[c.parent[x]]
		x = c.parent[x]
	}
	return x
}

func (c *compact) union(a, b int32) {
	ra, rb := c.find(a), c.find(b)
	switch {
	case ra == rb:
	case c.rank[ra] < c.rank[rb]:
		c.parent[ra] = rb
	case c.rank[ra] > c.rank[rb]:
		c.parent[rb] = ra
	default:
		c.parent[rb] = ra
		c.rank[ra]++
	}
}

// missingAt is a person some CRM lacks, to be named by the identity of one
// record: the first valid email of the record at index rec (byEmail), else
// its LinkedIn URL.
type missingAt struct {
	crm     int
	rec     int32
	byEmail bool
}

// report groups the records by root, in stream order within a group, and
// counts as the plain check does. People missing somewhere are returned
// unnamed.
func (c *compact) report(srcs []Source) (*Report, []missingAt) {
	n := int32(len(c.parent))
	// A stable counting sort of the records by root. end[r] first counts
	// root r's records, then is where they begin in order, then (once
	// they are placed) where they end, which is where root r+1's begin.
	end := make([]int32, n)
	for i := range n {
		c.parent[i] = c.find(i)
		if r := c.parent[i]; r+1 < n {
			end[r+1]++
		}
	}
	for r := int32(1); r < n; r++ {
		end[r] += end[r-1]
	}
	order := make([]int32, n)
	for i := range n {
		r := c.parent[i]
		order[end[r]] = i
		end[r]++
	}
	names, creates := make([]string, len(srcs)), make([]bool, len(srcs))
	for i, s := range srcs {
		names[i], creates[i] = s.Name, s.Caps.Creates != 0
	}
	rep := newReport(names)
	var missing []missingAt
	counts := make([]int, len(srcs))
	var from int32
	for r := range n {
		group := order[from:end[r]]
		from = end[r]
		if len(group) == 0 {
			continue
		}
		clear(counts)
		var sum Summary
		var emailFrom, linkedInFrom int32 = -1, -1
		for _, i := range group {
			counts[c.crm[i]]++
			fresh := c.fields[i] &^ sum.fields
			if fresh == 0 {
				continue
			}
			for k, tf := range c.traitFields {
				if fresh&tf != 0 {
					sum.bits |= c.bits[i] & (1 << k)
				}
			}
			if fresh.Has(mapping.FieldEmails) {
				emailFrom = i
			}
			if fresh.Has(mapping.FieldLinkedIn) {
				linkedInFrom = i
			}
			sum.fields |= fresh
		}
		byEmail := sum.bits&(1<<traitEmailID) != 0
		if !byEmail && sum.bits&(1<<traitLinkedInID) == 0 {
			continue // a person with no identity is never propagated
		}
		at := missingAt{rec: linkedInFrom, byEmail: byEmail}
		if byEmail {
			at.rec = emailFrom
		}
		rep.tally(names, counts, creates, func(i int) bool {
			return canHold(srcs[i].Caps, sum.Has) && (srcs[i].CanHold == nil || srcs[i].CanHold(sum))
		}, func(i int) {
			at.crm = i
			missing = append(missing, at)
		})
	}
	return rep, missing
}

// nameMissing reads the sources again to name each missing person by its
// merged identities' first (as the plain check does): the first valid email
// of the record that supplies the emails, else the LinkedIn URL of the one
// that supplies it. It sorts every CRM's list.
func nameMissing(srcs []Source, rep *Report, missing []missingAt) error {
	names := make(map[int32]string, len(missing))
	byEmail := make(map[int32]bool, len(missing))
	for _, m := range missing {
		names[m.rec] = ""
		byEmail[m.rec] = m.byEmail
	}
	var i int32
	for _, src := range srcs {
		for r, err := range src.Records {
			if err != nil {
				return fmt.Errorf("verify: read %s again: %w", src.Name, err)
			}
			if _, ok := names[i]; ok {
				p := mapping.Person{LinkedIn: r.Person.LinkedIn}
				if byEmail[i] {
					p = mapping.Person{Emails: r.Person.Emails}
				}
				if ids := engine.Identities(&p); len(ids) > 0 {
					names[i] = ids[0]
				}
			}
			i++
		}
	}
	for _, m := range missing {
		name := names[m.rec]
		if name == "" {
			return errors.New("verify: the records changed while they were checked")
		}
		cr := rep.PerCRM[srcs[m.crm].Name]
		cr.Missing = append(cr.Missing, name)
	}
	for _, cr := range rep.PerCRM {
		sort.Strings(cr.Missing)
	}
	return nil
}
