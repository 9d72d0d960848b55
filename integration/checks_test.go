package integration

import (
	"fmt"
	"slices"
	"strings"

	"github.com/crmsync/crmsync/internal/verify"
	"github.com/crmsync/crmsync/mapping"
)

// baseline is what the simulators held before crmsync ran.
type baseline struct {
	people int
	// skarbeDups counts people held twice in Skarbe (pre-existing
	// duplicates).
	skarbeDups int
}

func (h *harness) baseline() baseline {
	var b baseline
	for _, p := range h.people() {
		b.people++
		if len(p.recs["skarbe"]) == 2 {
			b.skarbeDups++
		}
	}
	return b
}

// checkConverged fails the test unless every person is in every CRM that can
// hold them, exactly once (the pre-existing Skarbe duplicates twice, never
// more), with no person lost or split, and the fields every CRM can write
// equal.
func (h *harness) checkConverged(b baseline) *verify.Report {
	h.t.Helper()
	rep, err := verify.CheckDataset(h.sources())
	if err != nil {
		h.t.Fatal(err)
	}
	if !rep.Converged {
		var miss []string
		for n, c := range rep.PerCRM {
			if len(c.Missing) > 0 {
				miss = append(miss, fmt.Sprintf("%s misses %d, e.g. %v", n, len(c.Missing), c.Missing[:min(3, len(c.Missing))]))
			}
		}
		h.t.Errorf("not converged:\n%s%s", rep, strings.Join(miss, "\n"))
	}
	people := h.people()
	if len(people) != b.people {
		h.t.Errorf("distinct people: %d, want %d (as before the sync)", len(people), b.people)
	}
	dups := 0
	for _, p := range people {
		for kind, recs := range p.recs {
			switch {
			case kind == "skarbe" && len(recs) == 2:
				dups++
			case len(recs) > 1:
				h.t.Errorf("%v held %d times in %s", p.ids, len(recs), kind)
			}
		}
	}
	if dups != b.skarbeDups {
		h.t.Errorf("people held twice in skarbe: %d, want the %d pre-existing duplicates", dups, b.skarbeDups)
	}
	if bad := h.fieldMismatches(people); len(bad) > 0 {
		h.t.Errorf("%d field mismatches between CRMs that can write the field, e.g.:\n%s", len(bad), strings.Join(bad[:min(10, len(bad))], "\n"))
	}
	return rep
}

// fieldMismatches compares, person by person, each field across the CRMs
// that hold it and can update it: crmsync must have made them equal. Names
// compare joined (Ligo holds one name), lists by their primary value (some
// CRMs hold one email or phone), the lead stage not at all (the stage maps
// are lossy: a CRM may have no value for a canonical stage).
func (h *harness) fieldMismatches(people []*person) []string {
	var bad []string
	writable := func(kind string, f mapping.Field) bool {
		c := h.caps[kind]
		return c.Holds.Has(f) && c.Updates.Has(f)
	}
	for _, p := range people {
		var kinds []string
		for _, k := range h.kinds {
			if len(p.recs[k]) == 1 {
				kinds = append(kinds, k)
			}
		}
		for _, f := range mapping.AllFields {
			if f == mapping.FieldLeadStage || f == mapping.FieldLastName {
				continue
			}
			var ref string
			var refVal string
			for _, k := range kinds {
				if !writable(k, f) || (f == mapping.FieldFirstName && !writable(k, mapping.FieldLastName)) {
					continue
				}
				v := comparable(f, &p.recs[k][0].Person)
				if ref == "" {
					ref, refVal = k, v
					continue
				}
				if v != refVal {
					bad = append(bad, fmt.Sprintf("%v %s: %s has %q, %s has %q", p.ids, f, ref, refVal, k, v))
				}
			}
		}
	}
	return bad
}

// comparable renders field f of p for comparison across CRMs.
func comparable(f mapping.Field, p *mapping.Person) string {
	switch f {
	case mapping.FieldFirstName:
		return strings.ToLower(mapping.JoinName(p.FirstName, p.LastName))
	case mapping.FieldEmails, mapping.FieldPhones:
		v := p.Get(f)
		if len(v) == 0 {
			return ""
		}
		return strings.ToLower(v[0])
	}
	return p.Get(f).String()
}

// totalWrites sums write counts.
func totalWrites(w map[string]map[string]int64) int64 {
	var n int64
	for _, m := range w {
		for _, c := range m {
			n += c
		}
	}
	return n
}

// diffWrites lists the write routes whose counts differ.
func diffWrites(before, after map[string]map[string]int64) []string {
	var out []string
	for kind, m := range after {
		for r, n := range m {
			if d := n - before[kind][r]; d != 0 {
				out = append(out, fmt.Sprintf("%s %s +%d", kind, r, d))
			}
		}
	}
	slices.Sort(out)
	return out
}

// holders returns the kinds (other than except) holding p once that hold
// and can update field f.
func (h *harness) holders(p *person, f mapping.Field, except string) []string {
	var out []string
	for _, k := range h.kinds {
		c := h.caps[k]
		if k != except && len(p.recs[k]) == 1 && c.Holds.Has(f) && c.Updates.Has(f) {
			out = append(out, k)
		}
	}
	return out
}
