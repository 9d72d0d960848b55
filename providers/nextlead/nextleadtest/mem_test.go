package nextleadtest

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
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heapB/contact")
		s.Close()
	}
}

// seedMemory seeds the NextLead records of a dataset of people people (in
// batches, as internal/simulate.SeedDataset does, so that the store holds
// the only copy of every value) and returns the live heap it holds per
// contact.
func seedMemory(tb testing.TB, people int) float64 {
	tb.Helper()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	s, err := New(Options{})
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	batch := make([]mapping.Person, 0, 1000)
	flush := func() {
		if _, err := s.Seed(batch); err != nil {
			tb.Fatal(err)
		}
		clear(batch)
		batch = batch[:0]
	}
	for _, pl := range dataset.All(1, people) {
		for _, r := range pl.Records {
			if r.Kind != dataset.NextLead {
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
	runtime.GC()
	runtime.ReadMemStats(&after)
	n := s.Len()
	runtime.KeepAlive(s)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
}

// BenchmarkSeedMemory reports the live heap held per contact seeded from a
// dataset of 200,000 people.
func BenchmarkSeedMemory(b *testing.B) {
	for b.Loop() {
		b.ReportMetric(seedMemory(b, 200_000), "heapB/contact")
	}
}

// TestMemoryPerRecord checks that a typical dataset record costs at most 300
// bytes of live heap.
func TestMemoryPerRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 200,000 people")
	}
	const limit = 300
	got := seedMemory(t, 200_000)
	t.Logf("%.0f bytes of live heap per contact", got)
	if got > limit {
		t.Errorf("%.0f bytes of live heap per contact, want at most %d", got, limit)
	}
}
