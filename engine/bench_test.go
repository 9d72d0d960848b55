package engine_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine"
	"github.com/crmsync/crmsync/internal/app"
	"github.com/crmsync/crmsync/internal/config"
	"github.com/crmsync/crmsync/internal/dataset"
	"github.com/crmsync/crmsync/internal/pgtest"
	"github.com/crmsync/crmsync/internal/simulate"
	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers"
)

// benchRecords returns n records of kind from the dataset of seed 1, as the
// CRM holds them.
func benchRecords(kind string, n int) []mapping.Person {
	var out []mapping.Person
	g := dataset.New(1)
	for i := 0; len(out) < n; i++ {
		for _, r := range g.At(i).Records {
			if r.Kind == kind {
				out = append(out, r.Person)
			}
		}
	}
	return out[:n]
}

// benchCaps are the capabilities of each adapter (no CRM is called).
func benchCaps(b *testing.B) map[string]providers.Capabilities {
	b.Helper()
	out := map[string]providers.Capabilities{}
	for _, kind := range simulate.Kinds() {
		p, err := simulate.NewProvider(kind, providers.Options{BaseURL: "http://127.0.0.1:1", Credentials: map[string]string{
			"api_key": "k", "username": "u", "password": "p", "token": "t"}})
		if err != nil {
			b.Fatal(err)
		}
		out[kind] = p.Capabilities()
	}
	return out
}

// BenchmarkMergerApply merges a batch of 500 records of each CRM into
// canonical people that already hold the truth (the common resync case:
// most fields equal, a few differ).
func BenchmarkMergerApply(b *testing.B) {
	caps := benchCaps(b)
	m := engine.Merger{Priority: func(c int16) int { return int(c) }}
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 500
	for _, kind := range simulate.Kinds() {
		recs := benchRecords(kind, n)
		b.Run(kind, func(b *testing.B) {
			states := make([]engine.PersonState, n)
			b.ReportAllocs()
			for b.Loop() {
				for i := range recs {
					st := &states[i]
					st.Person = recs[(i+1)%n] // a different person: every field is a change
					st.Prov = make([]engine.Prov, len(mapping.AllFields))
					_ = m.Apply(st, &recs[i], nil, caps[kind].Holds, 2, at)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
		})
	}
}

// BenchmarkProjectDiff projects a canonical person for each CRM and diffs
// it against a base state, as planning does for every queued person.
func BenchmarkProjectDiff(b *testing.B) {
	caps := benchCaps(b)
	const n = 500
	people := benchRecords(dataset.NextLead, n)
	for _, kind := range simulate.Kinds() {
		bases := benchRecords(kind, n)
		c := caps[kind]
		b.Run(kind, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for i := range people {
					d := engine.Project(c, people[i])
					_ = engine.Diff(c.Updates, &bases[i], &d)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/person")
		})
	}
}

// BenchmarkHash hashes records over each CRM's held fields (unchanged-record
// detection on every listed record).
func BenchmarkHash(b *testing.B) {
	caps := benchCaps(b)
	const n = 500
	for _, kind := range simulate.Kinds() {
		recs := benchRecords(kind, n)
		holds := caps[kind].Holds
		b.Run(kind, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for i := range recs {
					_ = mapping.Hash(&recs[i], holds)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
		})
	}
}

// BenchmarkIdentities computes the match keys of a batch (normalizing
// emails and LinkedIn URLs).
func BenchmarkIdentities(b *testing.B) {
	const n = 500
	for _, kind := range simulate.Kinds() {
		recs := benchRecords(kind, n)
		b.Run(kind, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for i := range recs {
					_ = engine.Identities(&recs[i])
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
		})
	}
}

// BenchmarkIngestBatch ingests batches of 500 new records of each CRM into
// a real database (matching, merging, COPY of new people, links,
// identities, history). It needs Postgres: it runs when
// CRMSYNC_TEST_DATABASE_URL is set (the pgtest harness otherwise starts a
// container).
func BenchmarkIngestBatch(b *testing.B) {
	if os.Getenv(pgtest.EnvDatabaseURL) == "" {
		b.Skip("set " + pgtest.EnvDatabaseURL + " to run the DB-backed ingest benchmark")
	}
	const n = 500
	for _, kind := range simulate.Kinds() {
		b.Run(kind, func(b *testing.B) {
			ctx := context.Background()
			pool := pgtest.New(b)
			cfg := &config.Config{}
			for _, k := range simulate.Kinds() {
				cfg.Connections = append(cfg.Connections, config.Connection{Name: k, Provider: k,
					BaseURL: "http://127.0.0.1:1", Credentials: map[string]string{"api_key": "k", "username": "u", "password": "p", "token": "t"},
					PollInterval: time.Second, Timeout: time.Second})
			}
			a, err := app.OpenPool(ctx, cfg, pool, nil)
			if err != nil {
				b.Fatal(err)
			}
			c, _ := a.Engine.Conn(kind)
			// Enough distinct people for every iteration's batch.
			g := dataset.New(1)
			idx := 0
			next := func() []providers.Record {
				recs := make([]providers.Record, 0, n)
				for len(recs) < n {
					for _, r := range g.At(idx).Records {
						if r.Kind == kind && len(recs) < n {
							recs = append(recs, providers.Record{ID: fmt.Sprintf("r%d-%d", idx, len(recs)), Person: r.Person})
						}
					}
					idx++
				}
				return recs
			}
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				batch := next()
				b.StartTimer()
				if _, err := a.Engine.Ingest(ctx, c, batch, engine.IngestOptions{NoQueue: true}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
		})
	}
}
