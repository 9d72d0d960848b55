// Package engine is crmsync's sync engine: it matches CRM records to
// canonical people by email and LinkedIn URL, merges their fields
// field-by-field, plans the writes each CRM needs and pushes them, with echo
// suppression, idempotent creates and skip reasons recorded once.
package engine

import (
	"slices"
	"time"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers"
)

// fieldIndex maps a field to its position in mapping.AllFields (and in the
// provenance arrays).
var fieldIndex = func() map[mapping.Field]int {
	m := make(map[mapping.Field]int, len(mapping.AllFields))
	for i, f := range mapping.AllFields {
		m[f] = i
	}
	return m
}()

// nFields is the number of canonical fields.
var nFields = len(mapping.AllFields)

// Prov is the provenance of one field: the connection that set it (0: none)
// and the change time that won.
type Prov struct {
	Conn int16
	At   time.Time
}

// PersonState is a canonical person being worked on, with its provenance.
type PersonState struct {
	ID      int64
	Person  mapping.Person
	Prov    []Prov // len nFields, indexed like mapping.AllFields
	Version int64
	// New is true for a person created in this batch; Dirty when its fields
	// changed.
	New, Dirty bool
	// Created is when the store first held the person (set by loadPeople).
	Created time.Time
}

// FieldChange is one applied change, for history.
type FieldChange struct {
	PersonID int64
	Field    mapping.Field
	Old, New mapping.Value
	Conn     int16
	At       time.Time
}

// Project returns p as a CRM with caps would hold it: only the fields it
// holds, lists cut to what it holds, a joined name split as the CRM splits
// it. Comparing a link's base state with the projection of the canonical
// person tells whether the record needs a write.
func Project(caps providers.Capabilities, p mapping.Person) mapping.Person {
	var out mapping.Person
	for _, f := range mapping.AllFields {
		if caps.Holds.Has(f) {
			out.Set(f, p.Get(f))
		}
	}
	if caps.MaxEmails > 0 && len(out.Emails) > caps.MaxEmails {
		out.Emails = out.Emails[:caps.MaxEmails]
	}
	if caps.MaxPhones > 0 && len(out.Phones) > caps.MaxPhones {
		out.Phones = out.Phones[:caps.MaxPhones]
	}
	if caps.JoinedName {
		out.FirstName, out.LastName = mapping.SplitFullName(mapping.JoinName(out.FirstName, out.LastName))
	}
	return out
}

// unionList merges two lists as sets, keeping a's order (and so a's
// primary) first, then b's new elements; elements compare with
// mapping.Equal for field f.
func unionList(f mapping.Field, a, b mapping.Value) mapping.Value {
	out := slices.Clone(a)
	for _, x := range b {
		found := false
		for _, y := range out {
			if mapping.Equal(f, mapping.Value{x}, mapping.Value{y}) {
				found = true
				break
			}
		}
		if !found {
			out = append(out, x)
		}
	}
	return out
}

func isList(f mapping.Field) bool { return f == mapping.FieldEmails || f == mapping.FieldPhones }

// Merger applies CRM records to canonical people.
type Merger struct {
	// Priority returns a connection's priority (ties go to the higher).
	Priority func(conn int16) int
}

// Apply merges the values of rec, as seen in connection conn at time at, into
// st. base is the link's base state (nil for a record never seen before):
// only fields that differ from it are changes. holds lists the fields the
// CRM holds. The rules are those of offer.
func (m Merger) Apply(st *PersonState, rec *mapping.Person, base *mapping.Person, holds mapping.FieldSet, conn int16, at time.Time) []FieldChange {
	var changes []FieldChange
	for i, f := range mapping.AllFields {
		if !holds.Has(f) {
			continue
		}
		nv := rec.Get(f)
		if base != nil && mapping.Equal(f, nv, base.Get(f)) {
			continue
		}
		if ch, ok := m.offer(st, i, nv, Prov{Conn: conn, At: at}); ok {
			changes = append(changes, ch)
		}
	}
	return changes
}

// Fold merges person b into survivor a: every field of b is offered to a
// with b's provenance, by the same rules as Apply.
func (m Merger) Fold(a, b *PersonState) []FieldChange {
	var changes []FieldChange
	for i, f := range mapping.AllFields {
		if ch, ok := m.offer(a, i, b.Person.Get(f), b.Prov[i]); ok {
			changes = append(changes, ch)
		}
	}
	return changes
}

// offer applies value nv of field i from source src to st, and reports the
// change when it took. Rules: an empty value never erases a non-empty one;
// emails and phones merge as sets with the primary kept; other fields go by
// last-writer-wins on the source time, ties to the connection with the
// higher priority.
func (m Merger) offer(st *PersonState, i int, nv mapping.Value, src Prov) (FieldChange, bool) {
	f := mapping.AllFields[i]
	if nv.Empty() {
		return FieldChange{}, false
	}
	cur := st.Person.Get(f)
	next := nv
	switch {
	case isList(f):
		next = unionList(f, cur, nv)
		if mapping.Equal(f, next, cur) {
			return FieldChange{}, false
		}
	case mapping.Equal(f, cur, nv):
		return FieldChange{}, false
	case cur.Empty():
	default:
		p := st.Prov[i]
		if src.At.Before(p.At) || (src.At.Equal(p.At) && m.prio(src.Conn) <= m.prio(p.Conn)) {
			return FieldChange{}, false
		}
	}
	st.Person.Set(f, next)
	st.Prov[i] = src
	st.Dirty = true
	return FieldChange{PersonID: st.ID, Field: f, Old: cur, New: next, Conn: src.Conn, At: src.At}, true
}

func (m Merger) prio(conn int16) int {
	if m.Priority == nil || conn == 0 {
		return -1 << 31
	}
	return m.Priority(conn)
}

// Identities returns the identity keys of p: each valid normalized email
// ("e:" prefix) and the canonical LinkedIn URL ("l:").
func Identities(p *mapping.Person) []string {
	var out []string
	for _, e := range p.Emails {
		if n, err := mapping.NormalizeEmail(e); err == nil {
			out = append(out, "e:"+n)
		}
	}
	if p.LinkedIn != "" {
		if n, err := mapping.NormalizeLinkedIn(p.LinkedIn); err == nil {
			out = append(out, "l:"+n)
		}
	}
	return out
}

// hasIdentity reports whether Identities(p) is not empty, stopping at the
// first valid key: every create is checked for one, and the resync's
// planning checks each person once for every CRM it has no link in.
func hasIdentity(p *mapping.Person) bool {
	for _, e := range p.Emails {
		if _, err := mapping.NormalizeEmail(e); err == nil {
			return true
		}
	}
	if p.LinkedIn == "" {
		return false
	}
	_, err := mapping.NormalizeLinkedIn(p.LinkedIn)
	return err == nil
}

// Diff lists the fields of set where desired differs from base.
func Diff(set mapping.FieldSet, base, desired *mapping.Person) []mapping.Field {
	var out []mapping.Field
	for _, f := range mapping.AllFields {
		if set.Has(f) && !mapping.Equal(f, base.Get(f), desired.Get(f)) {
			out = append(out, f)
		}
	}
	return out
}
