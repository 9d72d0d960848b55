package simulate

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"iter"
	"slices"
	"time"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers"
)

// streamer is a simulator that yields its records without building the
// whole list (every simulator of this repository: see simkit.Stream).
type streamer interface {
	Records() iter.Seq[providers.Record]
}

// Records yields sim's live records in listing order, as Snapshot returns
// them, streamed where the simulator can (else from one Snapshot).
func Records(sim providers.Simulator) iter.Seq[providers.Record] {
	if s, ok := sim.(streamer); ok {
		return s.Records()
	}
	return slices.Values(sim.Snapshot())
}

// wireRecord is one line of the admin records stream, or (End set) its last
// line, which says how many records came before it: a stream cut short
// between two lines is an error, not a smaller CRM.
type wireRecord struct {
	ID        string         `json:"id,omitempty"`
	Person    mapping.Person `json:"person,omitzero"`
	ChangedAt time.Time      `json:"changed_at,omitzero"`
	Issues    []string       `json:"issues,omitempty"`
	End       bool           `json:"end,omitempty"`
	Count     int64          `json:"count,omitempty"`
}

// writeRecords writes recs to w as NDJSON, one record a line, then the end
// line. Strings go through encoding/json: invalid UTF-8 arrives as U+FFFD.
func writeRecords(w io.Writer, recs iter.Seq[providers.Record]) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	var n int64
	for r := range recs {
		if err := enc.Encode(wireRecord{ID: r.ID, Person: r.Person, ChangedAt: r.ChangedAt, Issues: r.Issues}); err != nil {
			return fmt.Errorf("write record %s: %w", r.ID, err)
		}
		n++
	}
	if err := enc.Encode(wireRecord{End: true, Count: n}); err != nil {
		return fmt.Errorf("write records end: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write records: %w", err)
	}
	return nil
}

// readRecords yields the records of an NDJSON stream written by
// writeRecords, then nil at the end line; a stream without it, or with a
// wrong count, yields an error.
func readRecords(r io.Reader) iter.Seq2[providers.Record, error] {
	return func(yield func(providers.Record, error) bool) {
		dec := json.NewDecoder(bufio.NewReaderSize(r, 64<<10))
		var n int64
		for {
			var w wireRecord
			if err := dec.Decode(&w); err != nil {
				if errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				yield(providers.Record{}, fmt.Errorf("read record %d: %w", n+1, err))
				return
			}
			if w.End {
				if w.Count != n {
					yield(providers.Record{}, fmt.Errorf("read records: the stream ended after %d records but says %d", n, w.Count))
				}
				return
			}
			n++
			if !yield(providers.Record{ID: w.ID, Person: w.Person, ChangedAt: w.ChangedAt, Issues: w.Issues}, nil) {
				return
			}
		}
	}
}

// Writes are the writes a resync needed in one CRM: records created since
// the baseline, and records whose held fields changed.
type Writes struct {
	Creates int64 `json:"creates"`
	Updates int64 `json:"updates"`
}

// Baseline remembers a CRM's records at one moment compactly, to count
// later the writes that moved it from there: per record the 64-bit hash of
// its ID and mapping.Hash over the CRM's held fields (16 bytes a record
// plus the map's overhead). Two IDs of one CRM with the same 64-bit hash
// would count one record as an update instead of a create; at a million
// records the chance of any such pair is about 3·10⁻⁸.
type Baseline struct {
	seed  maphash.Seed
	holds mapping.FieldSet
	byID  map[uint64]uint64
	n     int
}

// NewBaseline reads recs and remembers each record's hash over holds.
func NewBaseline(recs iter.Seq[providers.Record], holds mapping.FieldSet) *Baseline {
	b := &Baseline{seed: maphash.MakeSeed(), holds: holds, byID: map[uint64]uint64{}}
	for r := range recs {
		b.byID[maphash.String(b.seed, r.ID)] = mapping.Hash(&r.Person, holds)
		b.n++
	}
	return b
}

// Len returns how many records the baseline read.
func (b *Baseline) Len() int { return b.n }

// Writes compares recs with the baseline: a record not there before is a
// create, one whose held fields changed an update.
func (b *Baseline) Writes(recs iter.Seq[providers.Record]) Writes {
	var w Writes
	for r := range recs {
		h, ok := b.byID[maphash.String(b.seed, r.ID)]
		switch {
		case !ok:
			w.Creates++
		case h != mapping.Hash(&r.Person, b.holds):
			w.Updates++
		}
	}
	return w
}
