package nextlead_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers/nextlead/nextleadtest"
)

// BenchmarkListUserCreated decodes a 20,000-contact user-created listing
// from the simulator, item by item.
func BenchmarkListUserCreated(b *testing.B) {
	const n = 20_000
	s, a := setup(b, nextleadtest.Options{})
	people := make([]mapping.Person, n)
	for i := range people {
		people[i] = mapping.Person{
			FirstName: "First", LastName: fmt.Sprint("Last", i),
			Emails:   []string{fmt.Sprintf("person%d@example.com", i)},
			Phones:   []string{"+33612345678"},
			LinkedIn: fmt.Sprintf("https://www.linkedin.com/in/person-%d", i),
			JobTitle: "Engineer", LeadStage: mapping.StageQualified,
		}
	}
	if _, err := s.Seed(people); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		count := 0
		for _, err := range a.List(ctx) {
			if err != nil {
				b.Fatal(err)
			}
			count++
		}
		if count != n {
			b.Fatalf("listed %d", count)
		}
	}
	b.ReportMetric(float64(n), "records/op")
}
