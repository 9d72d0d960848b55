package verify

import (
	"fmt"
	"sort"

	"github.com/crmsync/crmsync/engine"
	"github.com/crmsync/crmsync/mapping"
)

// Check groups the records of all CRMs into people by identity and reports
// who is missing where. A person counts as holdable by a CRM when it has an
// identity and the merged values meet the CRM's required fields.
//
// It is the plain reference CheckStream is tested against: it holds every
// record, and every CRM's CanHold sees the whole merged person.
func Check(crms []CRM) *Report {
	uf := newUF()
	type rec struct {
		crm int
		p   mapping.Person
		key string
	}
	var recs []rec
	for i, c := range crms {
		for _, r := range c.Sim.Snapshot() {
			ids := engine.Identities(&r.Person)
			key := fmt.Sprintf("%s#%s", c.Name, r.ID)
			uf.add(key)
			for _, id := range ids {
				uf.union(key, id)
			}
			recs = append(recs, rec{crm: i, p: r.Person, key: key})
		}
	}
	groups := map[string][]rec{}
	for _, r := range recs {
		root := uf.find(r.key)
		groups[root] = append(groups[root], r)
	}
	names, creates := make([]string, len(crms)), make([]bool, len(crms))
	for i, c := range crms {
		names[i], creates[i] = c.Name, c.Caps.Creates != 0
	}
	rep := newReport(names)
	for _, g := range groups {
		merged := mapping.Person{}
		counts := make([]int, len(crms))
		for _, r := range g {
			counts[r.crm]++
			for _, f := range mapping.AllFields {
				if crms[r.crm].Caps.JoinedName && (f == mapping.FieldFirstName || f == mapping.FieldLastName) {
					// One full-name field split at its first space cannot
					// tell a lone last name from a first name.
					continue
				}
				if merged.Get(f).Empty() {
					merged.Set(f, r.p.Get(f))
				}
			}
		}
		ids := engine.Identities(&merged)
		if len(ids) == 0 {
			continue // a person with no identity is never propagated
		}
		has := func(f mapping.Field) bool { return !merged.Get(f).Empty() }
		rep.tally(names, counts, creates, func(i int) bool {
			return canHold(crms[i].Caps, has) && (crms[i].CanHold == nil || crms[i].CanHold(merged))
		}, func(i int) {
			cr := rep.PerCRM[crms[i].Name]
			cr.Missing = append(cr.Missing, ids[0])
		})
	}
	for _, cr := range rep.PerCRM {
		sort.Strings(cr.Missing)
	}
	return rep
}

type uf struct{ parent map[string]string }

func newUF() *uf { return &uf{parent: map[string]string{}} }

func (u *uf) add(x string) {
	if _, ok := u.parent[x]; !ok {
		u.parent[x] = x
	}
}

func (u *uf) find(x string) string {
	u.add(x)
	for u.parent[x] != x {
		u.parent[x] = u.parent[u.parent[x]]
		x = u.parent[x]
	}
	return x
}

func (u *uf) union(a, b string) {
	ra, rb := u.find(a), u.find(b)
	if ra != rb {
		u.parent[ra] = rb
	}
}
