package simulate

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/dataset"
	"github.com/crmsync/crmsync/providers"
	"github.com/crmsync/crmsync/providers/providertest"
)

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestUnknownKind(t *testing.T) {
	t.Parallel()
	if _, err := NewSimulator("hubspot", ""); err == nil {
		t.Error("NewSimulator of an unknown kind: no error")
	}
	if _, err := NewProvider("hubspot", providers.Options{}); err == nil {
		t.Error("NewProvider of an unknown kind: no error")
	}
	if err := Run(t.Context(), &bytes.Buffer{}, Options{Kind: "hubspot", People: 10, Seed: 1}); err == nil {
		t.Error("Run of an unknown kind: no error")
	}
}

// newSeeded starts a simulator of kind seeded with its share of people
// people of the dataset of seed, closed when the test ends, and returns it
// with the number of records seeded.
func newSeeded(t *testing.T, kind string, people int, seed int64) (providers.Simulator, int) {
	t.Helper()
	sim, err := NewSimulator(kind, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	n, err := SeedDataset(sim, kind, people, seed)
	if err != nil {
		t.Fatal(err)
	}
	return sim, n
}

func TestSeedAndList(t *testing.T) {
	t.Parallel()
	const people = 3000
	facts := dataset.Facts(3, people)
	for _, kind := range Kinds() {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			sim, n := newSeeded(t, kind, people, 3)
			if n != facts.Records[kind] || n == 0 {
				t.Fatalf("seeded %d records, want %d", n, facts.Records[kind])
			}
			p, err := NewProvider(kind, providers.Options{BaseURL: sim.URL(), Credentials: sim.Credentials(), Timeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if p.Kind() != kind {
				t.Fatalf("provider kind %q", p.Kind())
			}
			listed := 0
			for _, err := range p.List(t.Context()) {
				if err != nil {
					t.Fatal(err)
				}
				listed++
			}
			if listed != n {
				t.Fatalf("listed %d records, seeded %d", listed, n)
			}
		})
	}
}

func TestRun(t *testing.T) {
	t.Parallel()
	for _, kind := range Kinds() {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(t.Context())
			var out syncBuffer
			done := make(chan error, 1)
			go func() {
				done <- Run(ctx, &out, Options{Kind: kind, Addr: "127.0.0.1:0", People: 50, Seed: 9, AdminAddr: "127.0.0.1:0"})
			}()
			deadline := time.Now().Add(20 * time.Second)
			for !strings.Contains(out.String(), "serving until") {
				if time.Now().After(deadline) {
					t.Fatalf("no banner after 20s: %q", out.String())
				}
				select {
				case err := <-done:
					t.Fatalf("Run ended early: %v", err)
				case <-time.After(20 * time.Millisecond):
				}
			}
			text := out.String()
			for _, want := range []string{kind + " simulator serving at http://127.0.0.1:", "credentials:", "seeded ",
				"admin: http://127.0.0.1:"} {
				if !strings.Contains(text, want) {
					t.Errorf("output lacks %q:\n%s", want, text)
				}
			}
			if kind == "ligo" && !strings.Contains(text, "curl -H 'Authorization: Bearer ") {
				t.Errorf("ligo output lacks the curl line:\n%s", text)
			}
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not end after cancel")
			}
		})
	}
}

// TestConformanceAll runs the conformance suite against every registered
// provider and simulator. Each provider package runs it too
// (providers/<kind>/conformance_test.go), so here it runs only when
// CRMSYNC_CONFORMANCE_ALL is set.
func TestConformanceAll(t *testing.T) {
	if os.Getenv("CRMSYNC_CONFORMANCE_ALL") == "" {
		t.Skip("set CRMSYNC_CONFORMANCE_ALL=1 to run the suite against every provider")
	}
	for _, kind := range Kinds() {
		if only := os.Getenv("CRMSYNC_CONFORMANCE_ALL"); only != "1" && only != kind {
			continue
		}
		t.Run(kind, func(t *testing.T) {
			providertest.Run(t, providertest.Harness{
				NewSimulator: func(t *testing.T) providers.Simulator {
					sim, err := NewSimulator(kind, "")
					if err != nil {
						t.Fatal(err)
					}
					return sim
				},
				NewProvider: func(t *testing.T, opts providers.Options) (providers.Provider, error) {
					return NewProvider(kind, opts)
				},
			})
		})
	}
}

// TestSnapshotMatchesTruth seeds each simulator with its share of a dataset
// and checks that it reads every record back as the dataset's truth says:
// same names, and the email or LinkedIn URL that links it to its person.
func TestSnapshotMatchesTruth(t *testing.T) {
	t.Parallel()
	d := dataset.Generate(11, 2000)
	for _, kind := range Kinds() {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			sim, err := NewSimulator(kind, "")
			if err != nil {
				t.Fatal(err)
			}
			defer sim.Close()
			ids, err := sim.Seed(d.Seeds[kind])
			if err != nil {
				t.Fatal(err)
			}
			snap := map[string]providers.Record{}
			for _, r := range sim.Snapshot() {
				snap[r.ID] = r
			}
			if len(snap) != len(ids) {
				t.Fatalf("snapshot has %d records, seeded %d", len(snap), len(ids))
			}
			bad := 0
			for j, id := range ids {
				got, truth := snap[id].Person, d.People[d.Owners[kind][j]]
				ok := got.FirstName == truth.FirstName && got.LastName == truth.LastName
				linked := false
				for _, e := range got.Emails {
					linked = linked || slices.Contains(truth.Emails, e)
				}
				linked = linked || (got.LinkedIn != "" && got.LinkedIn == truth.LinkedIn)
				if !ok || !linked {
					bad++
					if bad <= 3 {
						t.Errorf("record %s reads %+v; truth %+v", id, got, truth)
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d records do not read back as the truth", bad, len(ids))
			}
		})
	}
}
