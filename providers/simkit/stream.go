package simkit

import (
	"iter"

	"github.com/crmsync/crmsync/providers"
)

// StreamChunk is how many records Stream asks for at a time.
const StreamChunk = 512

// Stream yields a simulator's records in listing order without building the
// whole list and without holding the simulator's lock while the consumer
// runs. fill appends to buf (never beyond its capacity) the records from
// listing position pos on, under the simulator's lock, and returns buf and
// the position after the last one it read (skipped deleted entries count);
// Stream stops when a call makes no progress. A change made while the
// consumer runs may or may not be seen; with nothing writing meanwhile, the
// records are exactly those of Snapshot, in its order.
func Stream(fill func(pos int, buf []providers.Record) ([]providers.Record, int)) iter.Seq[providers.Record] {
	return func(yield func(providers.Record) bool) {
		buf := make([]providers.Record, 0, StreamChunk)
		pos := 0
		for {
			var next int
			buf, next = fill(pos, buf[:0])
			for _, r := range buf {
				if !yield(r) {
					return
				}
			}
			if next <= pos {
				return
			}
			pos = next
		}
	}
}
