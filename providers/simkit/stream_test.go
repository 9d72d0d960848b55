package simkit

import (
	"slices"
	"strconv"
	"testing"

	"github.com/crmsync/crmsync/providers"
)

// TestStream: records come in order across chunks, deleted entries (even a
// whole chunk of them) are skipped, and the consumer may stop early.
func TestStream(t *testing.T) {
	t.Parallel()
	const n = 3*StreamChunk + 17
	deleted := func(i int) bool { return i%5 == 0 || (i >= StreamChunk && i < 2*StreamChunk+3) }
	var want []string
	for i := range n {
		if !deleted(i) {
			want = append(want, strconv.Itoa(i))
		}
	}
	calls := 0
	seq := Stream(func(pos int, buf []providers.Record) ([]providers.Record, int) {
		calls++
		for ; pos < n && len(buf) < cap(buf); pos++ {
			if !deleted(pos) {
				buf = append(buf, providers.Record{ID: strconv.Itoa(pos)})
			}
		}
		return buf, pos
	})
	var got []string
	for r := range seq {
		got = append(got, r.ID)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	if calls < len(want)/StreamChunk+1 {
		t.Fatalf("%d fills: not chunked", calls)
	}
	k := 0
	for range seq {
		k++
		if k == 3 {
			break
		}
	}
	if k != 3 {
		t.Fatalf("early stop: %d", k)
	}
}
