// Package verify checks convergence from the CRMs' own state (the
// simulators' snapshots), not from crmsync's database: every person is in
// every CRM that can hold them, exactly once, with equal values.
package verify

import (
	"fmt"
	"sort"
	"strings"

	"github.com/crmsync/crmsync/engine"
	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers"
)

// CRM is one CRM to check.
type CRM struct {
	Name string
	Caps providers.Capabilities
	Sim  providers.Simulator
	// CanHold, when set, refines Caps' required fields (formats such as
	// Epixel's phone rule).
	CanHold func(p mapping.Person) bool
}

// Report is the outcome of a check.
type Report struct {
	// People is the number of distinct people across all CRMs (records
	// grouped by shared email or LinkedIn URL).
	People int
	// PerCRM holds per-CRM counts, by CRM name.
	PerCRM map[string]*CRMReport
	// Converged is true when no CRM misses a person it can hold.
	Converged bool
}

// CRMReport counts one CRM.
type CRMReport struct {
	Records int
	// People is how many distinct people the CRM holds.
	People int
	// CanHold is how many people the CRM can hold.
	CanHold int
	// Missing lists people (by an identity) the CRM can hold but lacks.
	Missing []string
	// Duplicates counts people held more than once.
	Duplicates int
}

// Check groups the records of all CRMs into people by identity and reports
// who is missing where. A person counts as holdable by a CRM when it has an
// identity and the merged values meet the CRM's required fields.
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

// tally counts one person, held counts[i] times by CRM i (named names[i]).
// A CRM that lacks them, and could create them (creates[i]) and hold them
// (holds(i)), misses them: miss(i) is called.
func (r *Report) tally(names []string, counts []int, creates []bool, holds func(i int) bool, miss func(i int)) {
	r.People++
	for i, n := range counts {
		cr := r.PerCRM[names[i]]
		cr.Records += n
		if n > 0 {
			cr.People++
		}
		if n > 1 {
			cr.Duplicates++
		}
		if n == 0 && !creates[i] {
			continue
		}
		if !holds(i) {
			continue
		}
		cr.CanHold++
		if n == 0 {
			miss(i)
			r.Converged = false
		}
	}
}

// canHold reports whether a person whose non-empty fields are those has
// says meets caps' required fields.
func canHold(caps providers.Capabilities, has func(f mapping.Field) bool) bool {
	for _, f := range caps.Required {
		if !has(f) {
			return false
		}
	}
	if len(caps.RequireOneOf) == 0 {
		return true
	}
	for _, f := range caps.RequireOneOf {
		if has(f) {
			return true
		}
	}
	return false
}

// newReport returns an empty, converged report of the CRMs names.
func newReport(names []string) *Report {
	rep := &Report{PerCRM: map[string]*CRMReport{}, Converged: true}
	for _, n := range names {
		rep.PerCRM[n] = &CRMReport{}
	}
	return rep
}

// String renders the report as a table.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d distinct people; converged: %v\n", r.People, r.Converged)
	names := make([]string, 0, len(r.PerCRM))
	for n := range r.PerCRM {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := r.PerCRM[n]
		fmt.Fprintf(&b, "  %-10s records %6d  people %6d  can hold %6d  missing %d  duplicated %d\n", n, c.Records, c.People, c.CanHold, len(c.Missing), c.Duplicates)
		for i, m := range c.Missing {
			if i == 5 {
				fmt.Fprintf(&b, "    … and %d more\n", len(c.Missing)-5)
				break
			}
			fmt.Fprintf(&b, "    missing: %s\n", m)
		}
	}
	return b.String()
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
