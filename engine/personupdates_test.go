package engine

import (
	"context"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"pgregory.net/rapid"

	"github.com/crmsync/crmsync/internal/pgtest"
	"github.com/crmsync/crmsync/mapping"
)

// The batched UPDATE writes every column as the row-by-row one did: any
// text (quotes, backslashes, braces, commas, "NULL", new lines) in the
// list columns, a missing lead score, provenance times to the microsecond
// and the zero time, and the version one up.
func TestPersonUpdatesRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.New(t)
	text := rapid.OneOf(rapid.String(), rapid.SampledFrom([]string{`a"b`, `c\d`, `{e,f}`, "NULL", "g\nh", " ", `\"`, "é ü"}))
	var id int64
	rapid.Check(t, func(rt *rapid.T) {
		n := rapid.IntRange(1, 4).Draw(rt, "people")
		var want []*PersonState
		var ids []int64
		for range n {
			id++
			if _, err := pool.Exec(ctx, `INSERT INTO crmsync_person (id, version) VALUES ($1, 3)`, id); err != nil {
				rt.Fatal(err)
			}
			st := &PersonState{ID: id, Version: 4, Prov: make([]Prov, nFields)}
			p := &st.Person
			p.FirstName = rapid.StringMatching(`[^\x00]{0,8}`).Draw(rt, "first")
			p.LastName = rapid.SampledFrom([]string{"", `O"Neil`, `back\slash`}).Draw(rt, "last")
			p.Emails = rapid.SliceOfN(text, 0, 3).Draw(rt, "emails")
			p.Phones = rapid.SliceOfN(text, 0, 3).Draw(rt, "phones")
			p.Notes = rapid.String().Draw(rt, "notes")
			if rapid.Bool().Draw(rt, "scored") {
				v := rapid.IntRange(-100, 1000).Draw(rt, "score")
				p.LeadScore = &v
			}
			p.LeadStage = mapping.Stage(rapid.SampledFrom([]string{"", "qualified"}).Draw(rt, "stage"))
			for i := range st.Prov {
				if rapid.Bool().Draw(rt, "has prov") {
					at := time.Unix(rapid.Int64Range(-1e10, 4e9).Draw(rt, "s"), rapid.Int64Range(0, 999_999_999).Draw(rt, "ns"))
					st.Prov[i] = Prov{Conn: int16(rapid.IntRange(1, 4).Draw(rt, "conn")), At: at.UTC().Truncate(time.Microsecond)}
				}
			}
			want = append(want, st)
			ids = append(ids, id)
		}
		for _, st := range want {
			// Strings with NUL bytes cannot be stored as text at all.
			for _, s := range append(append([]string{st.Person.FirstName, st.Person.Notes}, st.Person.Emails...), st.Person.Phones...) {
				for i := range len(s) {
					if s[i] == 0 {
						rt.Skip("NUL byte")
					}
				}
			}
		}
		var u personUpdates
		for _, st := range want {
			u.add(st)
		}
		b := &pgx.Batch{}
		u.queue(b)
		if err := pool.SendBatch(ctx, b).Close(); err != nil {
			rt.Fatal(err)
		}
		tx, err := pool.Begin(ctx)
		if err != nil {
			rt.Fatal(err)
		}
		defer func() { _ = tx.Rollback(ctx) }()
		got, err := loadPeople(ctx, tx, ids)
		if err != nil {
			rt.Fatal(err)
		}
		for _, w := range want {
			g := got[w.ID]
			if g == nil {
				rt.Fatalf("person %d not read back", w.ID)
			}
			wp, gp := w.Person, g.Person
			if wp.Emails == nil {
				wp.Emails = []string{}
			}
			if wp.Phones == nil {
				wp.Phones = []string{}
			}
			if gp.Emails == nil {
				gp.Emails = []string{}
			}
			if gp.Phones == nil {
				gp.Phones = []string{}
			}
			if !reflect.DeepEqual(wp, gp) {
				rt.Fatalf("person %d:\nwrote %#v\nread  %#v", w.ID, wp, gp)
			}
			for i := range w.Prov {
				if w.Prov[i].Conn != g.Prov[i].Conn || !w.Prov[i].At.Equal(g.Prov[i].At) {
					rt.Fatalf("person %d provenance %d: wrote %+v, read %+v", w.ID, i, w.Prov[i], g.Prov[i])
				}
			}
			if g.Version != 4 {
				rt.Fatalf("person %d version %d, want 4", w.ID, g.Version)
			}
		}
	})
}

// provLiterals writes what arrayLiteral wrote with strconv.Itoa and
// time.Format, for any provenance.
func TestPropProvLiteralsMatchFormat(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(rt *rapid.T) {
		prov := make([]Prov, rapid.IntRange(0, nFields).Draw(rt, "n"))
		for i := range prov {
			prov[i].Conn = int16(rapid.IntRange(0, 400).Draw(rt, "conn"))
			if rapid.Bool().Draw(rt, "set") {
				sec := rapid.Int64Range(-62135596800, 253402300799).Draw(rt, "sec")
				ns := rapid.SampledFrom([]int64{0, 1000, 120000, 999999000, rapid.Int64Range(0, 999999999).Draw(rt, "ns")}).Draw(rt, "frac")
				prov[i].At = time.Unix(sec, ns).In(time.FixedZone("x", rapid.IntRange(-50000, 50000).Draw(rt, "zone")))
			}
		}
		conns, ats := make([]string, nFields), make([]string, nFields)
		for i := range nFields {
			var pv Prov
			if i < len(prov) {
				pv = prov[i]
			}
			conns[i] = strconv.Itoa(int(pv.Conn))
			ats[i] = pv.At.UTC().Format("2006-01-02 15:04:05.999999-07")
		}
		gotConns, gotAts := provLiterals(prov)
		if want := arrayLiteral(conns, nil); gotConns != want {
			rt.Fatalf("connections %s, want %s", gotConns, want)
		}
		if want := arrayLiteral(ats, pgQuote); gotAts != want {
			rt.Fatalf("times %s, want %s", gotAts, want)
		}
	})
}
