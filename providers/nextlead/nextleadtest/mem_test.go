package nextleadtest

import (
	"fmt"
	"runtime"
	"testing"

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
