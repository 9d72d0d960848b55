package simulate

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/crmsync/crmsync/internal/dataset"
	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers"
)

// seedBatch is how many people Run seeds at a time, so that a large dataset
// is never held in memory whole.
const seedBatch = 10_000

// Run starts the simulator of kind on addr ("" means 127.0.0.1:0), seeds it
// with that CRM's share of the first people people of the dataset of seed,
// prints its base URL and credentials (and for Ligo a ready curl line) to
// out, and serves until ctx ends.
func Run(ctx context.Context, out io.Writer, kind, addr string, people int, seed int64) error {
	sim, err := NewSimulator(kind, addr)
	if err != nil {
		return err
	}
	defer sim.Close()
	n, err := SeedDataset(sim, kind, people, seed)
	if err != nil {
		return err
	}
	if err := printInfo(out, sim, n, people, seed); err != nil {
		return fmt.Errorf("print simulator info: %w", err)
	}
	<-ctx.Done()
	return nil
}

// SeedDataset seeds sim with the records of CRM kind among the first people
// people of the dataset of seed, in batches, and returns how many records it
// seeded.
func SeedDataset(sim providers.Simulator, kind string, people int, seed int64) (int, error) {
	batch := make([]mapping.Person, 0, min(seedBatch, people))
	total := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if _, err := sim.Seed(batch); err != nil {
			return fmt.Errorf("seed %s simulator (records %d to %d): %w", kind, total, total+len(batch), err)
		}
		total += len(batch)
		batch = batch[:0]
		return nil
	}
	for _, pl := range dataset.All(seed, people) {
		for _, r := range pl.Records {
			if r.Kind != kind {
				continue
			}
			batch = append(batch, r.Person)
			if len(batch) == seedBatch {
				if err := flush(); err != nil {
					return total, err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return total, err
	}
	return total, nil
}

func printInfo(out io.Writer, sim providers.Simulator, records, people int, seed int64) error {
	creds := sim.Credentials()
	_, err := fmt.Fprintf(out, "%s simulator serving at %s\n", sim.Kind(), sim.URL())
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "seeded %d records (dataset of %d people, seed %d)\n", records, people, seed)
	fmt.Fprintf(out, "base_url: %s\ncredentials:\n", sim.URL())
	for _, k := range slices.Sorted(maps.Keys(creds)) {
		fmt.Fprintf(out, "  %s: %s\n", k, creds[k])
	}
	if sim.Kind() == "ligo" {
		fmt.Fprintf(out, "try: curl -H 'Authorization: Bearer %s' '%s/api/contacts?page=1'\n", creds["token"], sim.URL())
	}
	_, err = fmt.Fprintln(out, "serving until interrupted")
	return err
}
