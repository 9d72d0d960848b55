package engine

import (
	"encoding/binary"
	"hash/maphash"
	"sync"

	"github.com/crmsync/crmsync/providers"
)

// seenCache remembers, per connection, the fingerprint of each record as
// this process last ingested it, so that a poll skips the records that have not
// changed since without a database round trip (a CRM without change feeds
// lists everything on every poll). A miss, or a record that changed, goes
// through Ingest as usual; the database's base state stays the reference.
type seenCache struct {
	seed   maphash.Seed
	mu     sync.Mutex
	byConn map[int16]map[string]uint64
}

func newSeenCache() *seenCache {
	return &seenCache{seed: maphash.MakeSeed(), byConn: map[int16]map[string]uint64{}}
}

// fingerprint hashes rec's values exactly as the adapter decoded them (no
// normalization, so no phone parsing: a poll of a CRM without change feeds
// fingerprints every record it lists) and its change time. Equal records
// give equal fingerprints; a changed value almost surely changes it.
func (s *seenCache) fingerprint(rec *providers.Record) uint64 {
	var h maphash.Hash
	h.SetSeed(s.seed)
	var buf [binary.MaxVarintLen64]byte
	num := func(x int64) { h.Write(buf[:binary.PutVarint(buf[:], x)]) }
	str := func(v string) {
		num(int64(len(v)))
		h.WriteString(v)
	}
	list := func(vs []string) {
		num(int64(len(vs)))
		for _, v := range vs {
			str(v)
		}
	}
	p := &rec.Person
	str(p.FirstName)
	str(p.LastName)
	list(p.Emails)
	list(p.Phones)
	for _, v := range []string{p.LinkedIn, p.Company, p.JobTitle, p.Website, p.Address, p.Facebook, p.Instagram,
		p.Twitter, p.Notes, string(p.LeadStage), p.PipelineStage, p.Owner} {
		str(v)
	}
	if p.LeadScore != nil {
		num(1)
		num(int64(*p.LeadScore))
	} else {
		num(0)
	}
	num(rec.ChangedAt.UnixNano())
	return h.Sum64()
}

// unchanged reports whether rec's fingerprint h is the one it had when last
// ingested.
func (s *seenCache) unchanged(conn int16, rec *providers.Record, h uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.byConn[conn][rec.ID]
	return ok && old == h
}

// remember records the hashes of records just ingested.
func (s *seenCache) remember(conn int16, ids []string, hashes []uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.byConn[conn]
	if m == nil {
		m = map[string]uint64{}
		s.byConn[conn] = m
	}
	for i, id := range ids {
		m[id] = hashes[i]
	}
}

// forget drops records (deleted ones, so that a record that comes back is
// ingested again).
func (s *seenCache) forget(conn int16, ids []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		delete(s.byConn[conn], id)
	}
}
