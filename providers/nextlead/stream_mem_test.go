package nextlead_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers/nextlead/nextleadtest"
)

// TestListStreams100kWithBoundedHeap lists 100,000 contacts from the
// user-created feed and checks that the heap does not grow with the
// backlog: the adapter decodes the feed as a stream, one item at a time.
func TestListStreams100kWithBoundedHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("lists 100,000 records")
	}
	const n = 100_000
	s, a := setup(t, nextleadtest.Options{})
	batch := make([]mapping.Person, 0, 10_000)
	for i := range n {
		batch = append(batch, mapping.Person{
			FirstName: "Élodie", LastName: fmt.Sprint("Martin-Lefèvre ", i),
			Emails:   []string{fmt.Sprintf("elodie.%d@example.fr", i)},
			Phones:   []string{"+33612345678"},
			LinkedIn: fmt.Sprintf("https://www.linkedin.com/in/elodie-%d", i),
			JobTitle: "Directrice commerciale",
		})
		if len(batch) == cap(batch) {
			if _, err := s.Seed(batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	base := heap()
	var peak uint64
	count := 0
	for _, err := range a.List(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		count++
		if count%10_000 == 0 {
			peak = max(peak, heap())
		}
	}
	if count != n {
		t.Fatalf("listed %d records, want %d", count, n)
	}
	growth := int64(peak) - int64(base)
	t.Logf("listed %d records; heap %.1f MiB before (simulator's store), peak growth while streaming %.1f MiB",
		count, float64(base)/(1<<20), float64(growth)/(1<<20))
	// The simulator's store is already in base; a whole decoded backlog
	// would add well over 100 MiB.
	if growth > 32<<20 {
		t.Fatalf("heap grew by %.1f MiB while streaming: the listing is not streamed", float64(growth)/(1<<20))
	}
}
