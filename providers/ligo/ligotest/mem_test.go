package ligotest

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/crmsync/crmsync/internal/dataset"
	"github.com/crmsync/crmsync/mapping"
)

// BenchmarkSeed seeds contacts and reports the heap held per contact.
func BenchmarkSeed(b *testing.B) {
	const n = 100_000
	people := make([]mapping.Person, n)
	for i := range people {
		people[i] = mapping.Person{
			FirstName: "First", LastName: fmt.Sprint("Last", i),
			Emails:   []string{fmt.Sprintf("person%d@example.com", i)},
			Phones:   []string{"+33612345678"},
			LinkedIn: fmt.Sprintf("https://www.linkedin.com/in/person-%d", i),
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		s, err := New(Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Seed(people); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/n, "heapB/contact")
		runtime.KeepAlive(s)
		s.Close()
	}
}

// seedMemory seeds the Ligo records of a dataset of people people (in
// batches of 10,000, as internal/simulate.SeedDataset does, so that the
// store holds the only copy of every value) and returns the live heap its
// store holds per contact: the heap in use with the store less the heap in
// use once it is dropped (so that memory other tests free meanwhile can
// only make the figure larger).
func seedMemory(tb testing.TB, people int) float64 {
	tb.Helper()
	s, err := New(Options{})
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	batch := make([]mapping.Person, 0, 10_000)
	flush := func() {
		if _, err := s.Seed(batch); err != nil {
			tb.Fatal(err)
		}
		clear(batch)
		batch = batch[:0]
	}
	for _, pl := range dataset.All(1, people) {
		for _, r := range pl.Records {
			if r.Kind != dataset.Ligo {
				continue
			}
			batch = append(batch, r.Person)
			if len(batch) == cap(batch) {
				flush()
			}
		}
	}
	flush()
	batch = nil
	n := s.Len()
	var with, without runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&with)
	s.mu.Lock()
	s.store = store{}
	s.mu.Unlock()
	runtime.GC()
	runtime.ReadMemStats(&without)
	return float64(int64(with.HeapAlloc)-int64(without.HeapAlloc)) / float64(n)
}

// BenchmarkSeedMemory reports the live heap held per contact seeded from a
// dataset of 200,000 people.
func BenchmarkSeedMemory(b *testing.B) {
	for b.Loop() {
		b.ReportMetric(seedMemory(b, 200_000), "heapB/contact")
	}
}

// TestMemoryPerRecord checks that a typical dataset contact costs at most
// 150 bytes of live heap (121 measured on 9,931 contacts, where the store
// before packing held 300).
func TestMemoryPerRecord(t *testing.T) {
	const limit = 150
	got := seedMemory(t, 20_000)
	t.Logf("%.0f bytes of live heap per contact", got)
	if got > limit {
		t.Errorf("%.0f bytes of live heap per contact, want at most %d", got, limit)
	}
}
