package engine

import (
	"sync"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers"
)

// seenCache remembers, per connection, the hash of each record as this
// process last ingested it, so that a poll skips the records that have not
// changed since without a database round trip (a CRM without change feeds
// lists everything on every poll). A miss, or a record that changed, goes
// through Ingest as usual; the database's base state stays the reference.
type seenCache struct {
	mu     sync.Mutex
	byConn map[int16]map[string]uint64
}

func newSeenCache() *seenCache { return &seenCache{byConn: map[int16]map[string]uint64{}} }

// unchanged reports whether rec hashes as it did when last ingested.
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

// recordHash is the hash the link's base_hash is compared with.
func recordHash(c *Conn, rec *providers.Record) uint64 {
	return mapping.Hash(&rec.Person, c.Caps.Holds)
}
