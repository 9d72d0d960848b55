// Package verify checks convergence from the CRMs' own state (the
// simulators' snapshots), not from crmsync's database: every person is in
// every CRM that can hold them, exactly once, with equal values.
package verify

import (
	"fmt"
	"sort"
	"strings"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers"
)

// CRM is one CRM and its simulator, as the bench's propagation watcher
// reads them. (Convergence is checked by CheckStream over Sources.)
type CRM struct {
	Name string
	Caps providers.Capabilities
	Sim  providers.Simulator
	// CanHold, when set, refines Caps' required fields (formats such as
	// Epixel's phone rule) for the whole-person reference check the tests
	// compare CheckStream with.
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
