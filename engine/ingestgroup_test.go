package engine

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/config"
	"github.com/crmsync/crmsync/internal/dataset"
	"github.com/crmsync/crmsync/internal/pgtest"
	"github.com/crmsync/crmsync/internal/simulate"
	"github.com/crmsync/crmsync/providers"
)

// A group of batches from different listings, ingested in one transaction,
// leaves the store as the same batches ingested one by one in the same
// order: the same people with the same values and provenance, the same
// identities, links and merges. Two things differ, as they do between one
// batch and two: a person first seen in the group is written once, at
// version 1, and its values have no history rows (its provenance says
// where each came from). The dataset overlaps the four CRMs, so the
// batches of one group share people.
func TestGroupedIngestEqualsOneByOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ds := dataset.Generate(3, 3000)
	var batches [][][]providers.Record // by round, then connection
	var conns []*Conn
	for i, kind := range simulate.Kinds() {
		sim, err := simulate.NewSimulator(kind, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sim.Close)
		if _, err := sim.Seed(ds.ForCRM(kind)); err != nil {
			t.Fatalf("seed %s: %v", kind, err)
		}
		prov, err := simulate.NewProvider(kind, providers.Options{Name: kind, BaseURL: sim.URL(), Credentials: sim.Credentials(),
			HTTPClient: &http.Client{Timeout: 10 * time.Second}, Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, &Conn{Config: config.Connection{Name: kind, Provider: kind, Priority: i}, Provider: prov})
		var recs []providers.Record
		for rec, err := range prov.List(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, rec)
		}
		for round, chunk := range slices.Collect(slices.Chunk(recs, 400)) {
			for len(batches) <= round {
				batches = append(batches, make([][]providers.Record, len(simulate.Kinds())))
			}
			batches[round][i] = chunk
		}
	}
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	open := func() *Engine {
		e, err := New(ctx, pgtest.New(t), conns, nil)
		if err != nil {
			t.Fatal(err)
		}
		e.Now = func() time.Time { return at }
		return e
	}
	one, grouped := open(), open()
	merges := 0
	for _, round := range batches {
		var parts []*ingestPart
		for i, recs := range round {
			if len(recs) == 0 {
				continue
			}
			st, err := one.Ingest(ctx, conns[i], recs, IngestOptions{NoQueue: true, ListedAt: at})
			if err != nil {
				t.Fatal(err)
			}
			b, err := grouped.prepareIngest(ctx, grouped.pool, conns[i], recs)
			if err != nil {
				t.Fatal(err)
			}
			part := &ingestPart{c: conns[i], b: b, listedAt: at}
			parts = append(parts, part)
			defer func(want IngestStats) {
				if fmt.Sprint(part.stats) != fmt.Sprint(want) {
					t.Errorf("%s: grouped stats %+v, one by one %+v", conns[i].Name(), part.stats, want)
				}
			}(st)
			merges += st.Merges
		}
		req := make([]*groupReq, len(parts))
		for i, p := range parts {
			req[i] = &groupReq{part: p}
		}
		if err := grouped.ingestGroupTx(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	if len(batches) < 3 || merges == 0 {
		t.Fatalf("%d rounds, %d merges: the dataset should give several rounds and some merges", len(batches), merges)
	}
	queries := []string{
		`SELECT id, first_name, last_name, emails, phones, linkedin_url, company, job_title, website, address, facebook,
			instagram, twitter, notes, lead_stage, pipeline_stage, lead_score, owner, prov_conn, prov_at, merged_into
			FROM crmsync_person ORDER BY id`,
		`SELECT kind, value, person_id FROM crmsync_identity ORDER BY kind, value`,
		`SELECT connection_id, remote_id, person_id, base, base_hash, remote_changed_at FROM crmsync_link ORDER BY 1, 2`,
		`SELECT survivor, merged, reason FROM crmsync_merge ORDER BY id`,
	}
	for _, q := range queries {
		a, b := dump(t, one, q), dump(t, grouped, q)
		if a != b {
			t.Errorf("%s\n differs:\none by one (%d lines):\n%.2000s\ngrouped (%d lines):\n%.2000s", q,
				strings.Count(a, "\n"), a, strings.Count(b, "\n"), b)
		}
	}
	// The grouped history is the one-by-one history less the rows of
	// people first seen in the group that also wrote to them.
	hist := `SELECT person_id, field, old_value, new_value, connection_id, source_at FROM crmsync_change ORDER BY 1, 2, 6, 4`
	a, b := strings.Split(dump(t, one, hist), "\n"), strings.Split(dump(t, grouped, hist), "\n")
	left := map[string]int{}
	for _, l := range a {
		left[l]++
	}
	for _, l := range b {
		if left[l] == 0 {
			t.Fatalf("grouped history has %q, which one by one has not", l)
		}
		left[l]--
	}
	var vOne, vGrouped int64
	for e, v := range map[*Engine]*int64{one: &vOne, grouped: &vGrouped} {
		if err := e.pool.QueryRow(ctx, `SELECT sum(version) FROM crmsync_person`).Scan(v); err != nil {
			t.Fatal(err)
		}
	}
	if len(b) >= len(a) || vGrouped >= vOne {
		t.Fatalf("history %d rows grouped, %d one by one; versions %d grouped, %d one by one: the groups should have shared people",
			len(b), len(a), vGrouped, vOne)
	}
	t.Logf("history %d rows grouped, %d one by one; %d merges", len(b), len(a), merges)
}

func dump(t *testing.T, e *Engine, q string) string {
	t.Helper()
	rows, err := e.pool.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var sb strings.Builder
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&sb, vals...)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return sb.String()
}
