package ligotest

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/mapping/ligomap"
	"github.com/crmsync/crmsync/providers/simkit"
)

// refRecord is a contact as the store before packing held it: every field
// as given, its meta apart.
type refRecord struct {
	id   [16]byte
	vals [nFields]string
	meta
}

// refAppendContact is the JSON-LD encoding of a contact as it was before
// the store was packed (its fields read straight from the values).
func (s *Server) refAppendContact(b []byte, r *refRecord) []byte {
	b = append(b, `{"@id":"/api/contacts/`...)
	b = appendUUID(b, r.id)
	b = append(b, `","@type":"Contact","id":"`...)
	b = appendUUID(b, r.id)
	b = append(b, `","name":`...)
	b = simkit.AppendJSONString(b, r.vals[fName])
	for _, l := range []struct {
		key string
		i   int
	}{{`,"emails":[`, fEmails}, {`,"phones":[`, fPhones}} {
		b = append(b, l.key...)
		if v := r.vals[l.i]; v != "" {
			for j, e := range strings.Split(v, listSep) {
				if j > 0 {
					b = append(b, ',')
				}
				b = simkit.AppendJSONString(b, e)
			}
		}
		b = append(b, ']')
	}
	for _, f := range []int{fCompany, fPosition, fAddress, fWebsite, fLinkedin, fInfo, fMeeting} {
		b = append(b, ',', '"')
		b = append(b, stringKeys[f]...)
		b = append(b, '"', ':')
		b = simkit.AppendJSONStringOrNull(b, r.vals[f])
	}
	b = append(b, `,"status":"`...)
	b = append(b, statusName(r.status)...)
	b = append(b, `","pipelineState":`...)
	if r.state >= 0 {
		st := &s.states[r.state]
		b = append(b, `{"id":"`...)
		b = appendUUID(b, st.id)
		b = append(b, `","name":`...)
		b = simkit.AppendJSONString(b, st.name)
		b = append(b, '}')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"createdAt":"`...)
	b = append(b, formatMillis(r.created)...)
	b = append(b, `","updatedAt":"`...)
	b = append(b, formatMillis(r.updated)...)
	return append(b, '"', '}')
}

// refContact is the contact as the store before packing rendered it.
func (s *Server) refContact(r *refRecord) ligomap.Contact {
	list := func(v string) []string {
		if v == "" {
			return nil
		}
		return strings.Split(v, listSep)
	}
	c := ligomap.Contact{
		LDID: "/api/contacts/" + uuidString(r.id), LDType: "Contact", ID: uuidString(r.id),
		Name: r.vals[fName], Emails: list(r.vals[fEmails]), Phones: list(r.vals[fPhones]),
		Company: r.vals[fCompany], Position: r.vals[fPosition], Address: r.vals[fAddress],
		Website: r.vals[fWebsite], LinkedinURL: r.vals[fLinkedin], AdditionalInfo: r.vals[fInfo],
		MeetingContext: r.vals[fMeeting], Status: ligomap.Statuses[r.status],
		CreatedAt: formatMillis(r.created), UpdatedAt: formatMillis(r.updated),
	}
	if r.state >= 0 {
		st := s.states[r.state]
		c.PipelineState = &ligomap.PipelineState{ID: uuidString(st.id), Name: st.name}
	}
	return c
}

// pieces are what random values are made of: the characters values are
// split at, JSON escapes, invalid UTF-8 next to the split characters,
// recurring values.
var pieces = []string{
	" ", "@", "/", "//", "@@", " @/ ", "Marie", "de la Fontaine", "gmail.com", "https://www.linkedin.com/in/",
	"linkedin.com/in/x/", "?trk=abc", "Acme & <Co>", `"q" \ b`, "\t\n\r\b\f\x01\x1f\x7f", "\u2028\u2029",
	"\xff", "\xc3", "\xe2\x80", "\x80", "é", "日本", "😀", "\xf0\x9f\x98", "+33 6 12 34 56 78", "x",
}

func randomValue(r *rand.Rand, list bool) string {
	switch r.IntN(12) {
	case 0, 1, 2:
		return ""
	case 3:
		return strings.Repeat(pieces[r.IntN(len(pieces))], 1+r.IntN(300))
	case 4:
		if r.IntN(20) == 0 {
			return strings.Repeat("é<", 33_000+r.IntN(1000)) // beyond 64 KiB
		}
	case 5:
		return fmt.Sprintf("unique %d@example.com", r.Int64()) // fills the intern table
	}
	var b strings.Builder
	for range 1 + r.IntN(6) {
		if list && r.IntN(4) == 0 {
			b.WriteString(listSep)
		}
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

func randomMeta(r *rand.Rand, states int) meta {
	m := meta{status: uint8(r.IntN(len(ligomap.Statuses))), state: int32(r.IntN(states+1) - 1)}
	switch r.IntN(5) {
	case 0:
		m.created = r.Int64() - r.Int64()
	case 1:
		m.created = []int64{0, -1, 1, math.MinInt64, math.MaxInt64, -62135596800000, 253402300799999}[r.IntN(7)]
	default:
		m.created = 1_735_689_600_000 + r.Int64N(1e11) - 5e10
	}
	switch r.IntN(4) {
	case 0:
		m.updated = m.created
	case 1:
		m.updated = r.Int64() - r.Int64() // any pair keeps exact
	default:
		m.updated = m.created + r.Int64N(1e10)
	}
	return m
}

// TestPackedMatchesReference checks that a packed contact reads back, and
// encodes, exactly as the values it was packed from did before the store
// was packed.
func TestPackedMatchesReference(t *testing.T) {
	s := newServer(t, Options{RandSeed: 3})
	s.store = newStore(1_735_689_600_123)
	r := rand.New(rand.NewPCG(1, 2))
	var u unpacked
	for n := range 10_000 {
		var ref refRecord
		ref.id = s.newID()
		for f := range nFields {
			ref.vals[f] = randomValue(r, f == fEmails || f == fPhones)
			if f != fEmails && f != fPhones {
				ref.vals[f] = cleanString(ref.vals[f])
			}
		}
		ref.meta = randomMeta(r, len(s.states))
		data := s.pack(ref.vals, ref.meta)
		s.unpack(data, s.names, &u)
		if u.meta != ref.meta || u.fields() != ref.vals {
			t.Fatalf("contact %d reads back as %+v %q\nwant %+v %q", n, u.meta, u.fields(), ref.meta, ref.vals)
		}
		want := s.refAppendContact(nil, &ref)
		if got := s.appendContact(nil, ref.id, &u); !bytes.Equal(got, want) {
			t.Fatalf("contact %d encodes as\n%s\nwant\n%s", n, got, want)
		}
		rec := record{id: ref.id, data: data}
		if got, want := s.contact(&rec), s.refContact(&ref); !reflect.DeepEqual(got, want) {
			t.Fatalf("contact %d renders as\n%+v\nwant\n%+v", n, got, want)
		}
		m := randomMeta(r, len(s.states))
		s.unpack(s.withMeta(data, m), s.names, &u)
		if u.meta != m || u.fields() != ref.vals {
			t.Fatalf("contact %d with new meta reads back as %+v %q\nwant %+v %q", n, u.meta, u.fields(), m, ref.vals)
		}
	}
	if len(s.names) != maxNames {
		t.Errorf("%d values interned, want the table full (%d) by now", len(s.names), maxNames)
	}
}

// TestStoreIndexes checks the ID index and the live-record order against a
// plain model through adds and deletes across words, blocks and chunks.
func TestStoreIndexes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	st := newStore(0)
	var ids [][16]byte
	var live []uint32
	check := func() {
		t.Helper()
		if st.nLive != len(live) {
			t.Fatalf("nLive = %d, want %d", st.nLive, len(live))
		}
		for k, want := range live {
			if got := st.nth(k); got != want {
				t.Fatalf("nth(%d) = %d, want %d", k, got, want)
			}
		}
		next := 0
		for i := range st.n + 1 {
			for next < len(live) && live[next] < i {
				next++
			}
			want := st.n
			if next < len(live) {
				want = live[next]
			}
			if got := st.nextLive(i); got != want {
				t.Fatalf("nextLive(%d) = %d, want %d", i, got, want)
			}
		}
		for i, id := range ids {
			if got, ok := st.find(id); !ok || got != uint32(i) {
				t.Fatalf("find(record %d) = %d, %v", i, got, ok)
			}
		}
		if _, ok := st.find([16]byte{1, 2, 3}); ok {
			t.Fatal("found an unknown ID")
		}
	}
	for round := range 6 {
		for range 1000 + r.IntN(2000) {
			var id [16]byte
			for k := range id {
				id[k] = byte(r.Uint32())
			}
			i := st.add(record{id: id, data: "x"})
			if i != uint32(len(ids)) {
				t.Fatalf("add returned %d, want %d", i, len(ids))
			}
			ids = append(ids, id)
			live = append(live, i)
		}
		// Delete a random share, and in one round a whole run of blocks.
		for k := 0; k < len(live); {
			if r.IntN(4) == 0 || (round == 2 && live[k] >= 600 && live[k] < 2100) {
				st.del(live[k])
				if st.rec(live[k]).data != "" {
					t.Fatal("a deleted record keeps its data")
				}
				live = append(live[:k], live[k+1:]...)
				continue
			}
			k++
		}
		check()
	}
	for len(live) > 0 {
		st.del(live[0])
		live = live[1:]
	}
	check()
}
