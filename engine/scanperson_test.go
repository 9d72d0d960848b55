package engine

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"pgregory.net/rapid"

	"github.com/crmsync/crmsync/internal/pgtest"
	"github.com/crmsync/crmsync/mapping"
)

// The hand decoder of person rows gives what pgx's scan gives, for people
// drawn at random (empty lists, no score, zero and sub-second provenance
// times, any text) with the extra columns of each caller.
func TestPropDecodePersonMatchesScan(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.New(t)
	text := rapid.OneOf(rapid.Just(""), rapid.String(), rapid.StringMatching(`[a-zé@. +0-9]{1,12}`))
	rows := make([][]any, 0, 300)
	rapid.Check(t, func(t *rapid.T) {
		st := &PersonState{ID: int64(len(rows) + 1), Version: rapid.Int64Range(1, 1<<40).Draw(t, "version"), Prov: make([]Prov, nFields)}
		p := &st.Person
		for _, f := range mapping.AllFields {
			if s := p.Text(f); s != nil {
				*s = text.Draw(t, string(f))
			}
		}
		p.Emails = rapid.SliceOfN(text, 0, 3).Draw(t, "emails")
		p.Phones = rapid.SliceOfN(text, 0, 3).Draw(t, "phones")
		p.LeadStage = mapping.Stage(text.Draw(t, "stage"))
		if rapid.Bool().Draw(t, "scored") {
			n := rapid.IntRange(-1000, 1000).Draw(t, "score")
			p.LeadScore = &n
		}
		for i := range st.Prov {
			if rapid.Bool().Draw(t, "set") {
				st.Prov[i] = Prov{Conn: int16(rapid.IntRange(0, 300).Draw(t, "conn")),
					At: time.Unix(rapid.Int64Range(0, 2e9).Draw(t, "s"), rapid.Int64Range(0, 999999).Draw(t, "us")*1000)}
			}
		}
		rows = append(rows, append(append([]any{st.ID}, personArgs(st)...), st.Version))
	})
	// Postgres text holds no NUL.
	for _, r := range rows {
		for i, v := range r {
			if s, ok := v.(string); ok {
				r[i] = stripNUL(s)
			}
			if l, ok := v.([]string); ok {
				for j := range l {
					l[j] = stripNUL(l[j])
				}
			}
		}
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"crmsync_person"}, []string{"id", "first_name", "last_name", "emails", "phones",
		"linkedin_url", "company", "job_title", "website", "address", "facebook", "instagram", "twitter", "notes",
		"lead_stage", "pipeline_stage", "lead_score", "owner", "prov_conn", "prov_at", "version"}, pgx.CopyFromRows(rows)); err != nil {
		t.Fatal(err)
	}
	res, err := pool.Query(ctx, "SELECT "+personCols+", merged_into IS NOT NULL, created_at, version FROM crmsync_person ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	n := 0
	for res.Next() {
		var merged, merged2 bool
		var created, created2 time.Time
		var v, v2 int64
		got, err := decodePerson(res.FieldDescriptions(), res.RawValues(), []any{&merged, &created, &v})
		if err != nil {
			t.Fatalf("row %d: %v", n, err)
		}
		want, err := scanPersonPgx(res, &merged2, &created2, &v2)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) || merged != merged2 || !created.Equal(created2) || v != v2 {
			t.Fatalf("row %d:\ndecoded %+v\nscanned %+v", n, got, want)
		}
		n++
	}
	if err := res.Err(); err != nil || n != len(rows) {
		t.Fatalf("%d rows read of %d: %v", n, len(rows), err)
	}
	// Another extra than the three kinds: pgx scans it.
	var s string
	r := pool.QueryRow(ctx, "SELECT "+personCols+", 'x'::text FROM crmsync_person LIMIT 1")
	if _, err := scanPersonPgx(r, &s); err != nil || s != "x" {
		t.Fatalf("scan with a text extra: %q, %v", s, err)
	}
	if _, err := decodePerson(nil, nil, []any{&s}); !errors.Is(err, errNotBinary) {
		t.Fatalf("decode of another shape: %v, want errNotBinary", err)
	}
}

func stripNUL(s string) string {
	out := []rune{}
	for _, r := range s {
		if r != 0 {
			out = append(out, r)
		}
	}
	return string(out)
}
