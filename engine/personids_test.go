package engine

import (
	"context"
	"sync"
	"testing"

	"github.com/crmsync/crmsync/internal/pgtest"
)

// Person IDs reserved at the same time by several ingests never overlap,
// and each reservation has exactly the IDs it asked for.
func TestReservePersonIDsNeverOverlap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.New(t)
	sizes := []int{1, 500, 1024, 1025, 2000, 3, 4096}
	got := make([][]int64, len(sizes))
	var wg sync.WaitGroup
	for i, n := range sizes {
		wg.Go(func() {
			ids, err := reservePersonIDs(ctx, pool, n)
			if err != nil {
				t.Error(err)
			}
			got[i] = ids
		})
	}
	wg.Wait()
	seen := map[int64]bool{}
	for i, ids := range got {
		if len(ids) != sizes[i] {
			t.Fatalf("asked for %d IDs, got %d", sizes[i], len(ids))
		}
		for _, id := range ids {
			if id <= 0 || seen[id] {
				t.Fatalf("ID %d reserved twice (or not positive)", id)
			}
			seen[id] = true
		}
	}
}
