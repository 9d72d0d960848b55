// Package nextleadtest is a fake NextLead CRM (API v2.1): an HTTP server
// serving the contact-sync routes of providers.md (contacts, conversion
// statuses, sales columns and deals, the three contact polling feeds) with
// their auth rule, envelopes, status codes, verbatim error messages and
// quirks, plus rate limiting, fault injection and latency for tests.
//
// It holds up to a million contacts lean: each live contact is one encoded
// JSON object, the edit and delete feeds are append-only byte buffers, and
// contact ids encode their index so that no id map is needed.
package nextleadtest

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"iter"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/mapping/nextleadmap"
	"github.com/crmsync/crmsync/providers"
	"github.com/crmsync/crmsync/providers/simkit"
)

// Options configures a Server.
type Options struct {
	// Addr is the listen address; "" means "127.0.0.1:0".
	Addr string
	// APIKey is the automation API key accepted; "" means "nextlead-test-key".
	APIKey string
	// RateLimit is the number of accepted requests per sliding second (0: none).
	RateLimit int
	// FaultFraction is the fraction (0..1) of requests answering 500/502/503.
	FaultFraction float64
	// Latency is added to every answer.
	Latency time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Seed seeds the id and fault generators; 0 means 1.
	Seed uint64
	// ConversionTags are the conversion status tag names in API order; nil
	// means New, Contacted, Qualified, Won, Lost, Disqualified.
	ConversionTags []string
	// SaleColumns are the sales column names in order; nil means
	// Qualification, Proposal, Negotiation, Won, Lost.
	SaleColumns []string
}

// DefaultConversionTags are the conversion status tags of a fresh server.
var DefaultConversionTags = []string{"New", "Contacted", "Qualified", "Won", "Lost", "Disqualified"}

// DefaultSaleColumns are the sales columns of a fresh server.
var DefaultSaleColumns = []string{"Qualification", "Proposal", "Negotiation", "Won", "Lost"}

// record is one contact: its JSON encoding (nil once deleted) and its
// timestamps in Unix milliseconds.
type record struct {
	data    []byte
	created int64
	updated int64
}

type sale struct {
	id      string
	name    string
	column  string
	contact int32
	created int64
	updated int64
}

// Server is a fake NextLead. It implements providers.Simulator.
type Server struct {
	opts  Options
	ln    net.Listener
	http  *http.Server
	url   string
	orgID string

	mu          sync.RWMutex
	recs        []record
	live        int
	byEmail     map[string]int32   // lower-cased trimmed email → first live index
	byEmailDup  map[string][]int32 // further live indexes with that email
	byLinkedIn  map[string]int32   // trimmed stored LinkedIn → first live index
	byLinkedDup map[string][]int32
	edited      []byte // comma-separated user-edited items
	deleted     []byte // comma-separated user-deleted items
	lastMs      int64
	tags        []nextleadmap.Tag
	columns     []nextleadmap.Column
	sales       []sale
	salesOf     map[int32][]int32
	idSalt      uint64

	*simkit.Controls // SetRateLimit, SetFaults, SetLatency, Requests
}

var _ providers.Simulator = (*Server)(nil)

// New starts a server.
func New(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.APIKey == "" {
		opts.APIKey = "nextlead-test-key"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.ConversionTags == nil {
		opts.ConversionTags = DefaultConversionTags
	}
	if opts.SaleColumns == nil {
		opts.SaleColumns = DefaultSaleColumns
	}
	s := &Server{
		opts:        opts,
		orgID:       "corg" + strconv.FormatUint(opts.Seed, 36),
		byEmail:     map[string]int32{},
		byEmailDup:  map[string][]int32{},
		byLinkedIn:  map[string]int32{},
		byLinkedDup: map[string][]int32{},
		salesOf:     map[int32][]int32{},
		idSalt:      opts.Seed * 0x9e3779b97f4a7c15,
		Controls: simkit.NewControls(opts.RateLimit, opts.FaultFraction, opts.Latency, opts.Now,
			rand.NewPCG(opts.Seed, 0x6e6578746c656164)),
	}
	for i, name := range opts.ConversionTags {
		s.tags = append(s.tags, nextleadmap.Tag{ID: s.auxID("t", i), Name: name, Color: "#28a745",
			Type: "CONVERSION_STATUS", OrganizationID: s.orgID})
	}
	for i, name := range opts.SaleColumns {
		s.columns = append(s.columns, nextleadmap.Column{ID: s.auxID("s", i), Name: name, Order: i + 1,
			OrganizationID: s.orgID})
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("nextleadtest: listen %s: %w", opts.Addr, err)
	}
	s.ln = ln
	s.url = "http://" + ln.Addr().String()
	s.http = &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.http.Serve(ln) }()
	return s, nil
}

// Kind returns "nextlead".
func (s *Server) Kind() string { return "nextlead" }

// URL returns the base URL (paths are under URL()+"/api/v2").
func (s *Server) URL() string { return s.url }

// Credentials returns {"api_key": key}.
func (s *Server) Credentials() map[string]string { return map[string]string{"api_key": s.opts.APIKey} }

// Close stops the server.
func (s *Server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.http.Shutdown(ctx); err != nil {
		_ = s.http.Close()
	}
}

// Tags returns the conversion status catalog.
func (s *Server) Tags() []nextleadmap.Tag {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]nextleadmap.Tag(nil), s.tags...)
}

// Columns returns the sales columns.
func (s *Server) Columns() []nextleadmap.Column {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]nextleadmap.Column(nil), s.columns...)
}

// SaleColumn returns the column name of contact id's most recent sale, ""
// when it has none.
func (s *Server) SaleColumn(id string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.index(id)
	if !ok {
		return ""
	}
	l := s.salesOf[i]
	if len(l) == 0 {
		return ""
	}
	col := s.sales[l[len(l)-1]].column
	for _, c := range s.columns {
		if c.ID == col {
			return c.Name
		}
	}
	return ""
}

// SaleCount returns the number of sales of contact id.
func (s *Server) SaleCount(id string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.index(id)
	if !ok {
		return 0
	}
	return len(s.salesOf[i])
}

// Contact returns the stored wire record of a live contact.
func (s *Server) Contact(id string) (nextleadmap.Contact, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.index(id)
	if !ok || s.recs[i].data == nil {
		return nextleadmap.Contact{}, false
	}
	c, err := decodeRecord(s.recs[i].data)
	return c, err == nil
}

// Len returns the number of live contacts.
func (s *Server) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.live
}

// Ids: 'c' + 8 base-36 digits of the index + 16 base-36 digits of a keyed
// hash: 25 characters, cuid-like, and decodable without a map.

const idLen = 25

func (s *Server) contactID(i int32) string {
	h := fnv.New64a()
	var b [8]byte
	for k := range 8 {
		b[k] = byte((uint64(i) ^ s.idSalt) >> (8 * k))
	}
	_, _ = h.Write(b[:])
	tail := strconv.FormatUint(h.Sum64(), 36)
	head := strconv.FormatUint(uint64(i), 36)
	return "c" + strings.Repeat("0", 8-len(head)) + head + strings.Repeat("0", 16-len(tail)) + tail
}

func (s *Server) auxID(prefix string, i int) string {
	id := s.contactID(int32(i))
	return "c" + prefix + id[2:]
}

// index returns the record index of a contact id (live or deleted).
func (s *Server) index(id string) (int32, bool) {
	if len(id) != idLen || id[0] != 'c' {
		return 0, false
	}
	n, err := strconv.ParseUint(id[1:9], 36, 31)
	if err != nil || n >= uint64(len(s.recs)) || s.contactID(int32(n)) != id {
		return 0, false
	}
	return int32(n), true
}

// tick returns a fresh timestamp in Unix ms, strictly after every earlier
// one. Caller holds mu.
func (s *Server) tick() int64 {
	ms := s.opts.Now().UnixMilli()
	if ms <= s.lastMs {
		ms = s.lastMs + 1
	}
	s.lastMs = ms
	return ms
}

func fmtMs(ms int64) string { return nextleadmap.FormatTime(time.UnixMilli(ms)) }

func emailKey(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

func addIdx(m map[string]int32, dup map[string][]int32, k string, i int32) {
	if k == "" {
		return
	}
	if _, ok := m[k]; ok {
		dup[k] = append(dup[k], i)
		return
	}
	m[k] = i
}

func delIdx(m map[string]int32, dup map[string][]int32, k string, i int32) {
	if k == "" {
		return
	}
	if j, ok := m[k]; ok && j == i {
		if d := dup[k]; len(d) > 0 {
			m[k] = d[0]
			if len(d) == 1 {
				delete(dup, k)
			} else {
				dup[k] = d[1:]
			}
		} else {
			delete(m, k)
		}
		return
	}
	d := dup[k]
	for n, j := range d {
		if j == i {
			d = append(d[:n:n], d[n+1:]...)
			break
		}
	}
	if len(d) == 0 {
		delete(dup, k)
	} else {
		dup[k] = d
	}
}

func lookup(m map[string]int32, dup map[string][]int32, k string) []int32 {
	if k == "" {
		return nil
	}
	i, ok := m[k]
	if !ok {
		return nil
	}
	return append([]int32{i}, dup[k]...)
}

// find returns the live contacts matching email (case-insensitive) or, when
// email is empty or matches none, the stored LinkedIn string (trimmed,
// exact). Caller holds mu.
func (s *Server) find(email, linkedin string) []int32 {
	if l := lookup(s.byEmail, s.byEmailDup, emailKey(email)); len(l) > 0 {
		return l
	}
	return lookup(s.byLinkedIn, s.byLinkedDup, strings.TrimSpace(linkedin))
}

// store encodes c into record i and indexes it. Caller holds mu.
func (s *Server) store(i int32, c *nextleadmap.Contact) error {
	r := &s.recs[i]
	if r.data != nil {
		old, err := decodeRecord(r.data)
		if err == nil {
			delIdx(s.byEmail, s.byEmailDup, emailKey(old.Email), i)
			delIdx(s.byLinkedIn, s.byLinkedDup, strings.TrimSpace(old.LinkedIn), i)
		}
	}
	c.ID = s.contactID(i)
	c.CreatedAt = fmtMs(r.created)
	c.UpdatedAt = fmtMs(r.updated)
	b, err := encodeRecord(c)
	if err != nil {
		return err
	}
	r.data = b
	addIdx(s.byEmail, s.byEmailDup, emailKey(c.Email), i)
	addIdx(s.byLinkedIn, s.byLinkedDup, strings.TrimSpace(c.LinkedIn), i)
	return nil
}

// insert appends a new contact created at ms. Caller holds mu.
func (s *Server) insert(c *nextleadmap.Contact, ms int64) (int32, error) {
	if len(s.recs) >= 1<<31-1 {
		return 0, errors.New("nextleadtest: too many contacts")
	}
	i := int32(len(s.recs))
	s.recs = append(s.recs, record{created: ms, updated: ms})
	if err := s.store(i, c); err != nil {
		s.recs = s.recs[:i]
		return 0, err
	}
	s.live++
	return i, nil
}

// touch records an edit of contact i: updated_at moves and the edit is
// appended to user-edited. Caller holds mu.
func (s *Server) touch(i int32, c *nextleadmap.Contact) error {
	s.recs[i].updated = s.tick()
	if err := s.store(i, c); err != nil {
		return err
	}
	s.edited = appendFeedItem(s.edited, nextleadmap.FeedItem{ID: c.ID, Email: c.Email, FirstName: c.FirstName,
		LastName: c.LastName, UpdatedAt: c.UpdatedAt})
	return nil
}

// remove soft-deletes contact i. Caller holds mu.
func (s *Server) remove(i int32) (nextleadmap.Contact, error) {
	c, err := decodeRecord(s.recs[i].data)
	if err != nil {
		return c, err
	}
	delIdx(s.byEmail, s.byEmailDup, emailKey(c.Email), i)
	delIdx(s.byLinkedIn, s.byLinkedDup, strings.TrimSpace(c.LinkedIn), i)
	s.recs[i].data = nil
	s.live--
	s.deleted = appendFeedItem(s.deleted, nextleadmap.FeedItem{ID: c.ID, Email: c.Email, FirstName: c.FirstName,
		LastName: c.LastName, DeletedAt: fmtMs(s.tick())})
	return c, nil
}

func (s *Server) catalog() []string {
	out := make([]string, len(s.tags))
	for i, t := range s.tags {
		out[i] = t.Name
	}
	return out
}

// Seed stores people as typed in NextLead's screens (no request counted, no
// feed item other than user-created) and returns their ids. Every held field
// is stored; duplicate emails are accepted, as an import would.
func (s *Server) Seed(people []mapping.Person) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ms := s.opts.Now().UnixMilli()
	if ms < s.lastMs {
		ms = s.lastMs
	}
	s.lastMs = ms
	cat := s.catalog()
	ids := make([]string, 0, len(people))
	for n, p := range people {
		c := nextleadmap.Contact{Type: "LEAD", Status: "ACTIVE"}
		nextleadmap.ApplyPerson(&c, mapping.Person{}, p, mapping.StageMap{}, cat)
		if p.LeadStage != "" && c.ConversionStatus == "" {
			return ids, fmt.Errorf("nextleadtest: seed person %d: no conversion status tag maps to stage %q", n, p.LeadStage)
		}
		i, err := s.insert(&c, ms)
		if err != nil {
			return ids, fmt.Errorf("nextleadtest: seed person %d: %w", n, err)
		}
		ids = append(ids, s.contactID(i))
	}
	return ids, nil
}

// Snapshot returns every live contact mapped with the default stage map, in
// listing order.
func (s *Server) Snapshot() []providers.Record {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]providers.Record, 0, s.live)
	for i := range s.recs {
		if r, ok := s.canonical(i); ok {
			out = append(out, r)
		}
	}
	return out
}

// Records yields what Snapshot returns, in the same order, a chunk at a
// time (simkit.Stream): a million contacts are never mapped at once.
func (s *Server) Records() iter.Seq[providers.Record] {
	return simkit.Stream(func(pos int, buf []providers.Record) ([]providers.Record, int) {
		s.mu.RLock()
		defer s.mu.RUnlock()
		for ; pos < len(s.recs) && len(buf) < cap(buf); pos++ {
			if r, ok := s.canonical(pos); ok {
				buf = append(buf, r)
			}
		}
		return buf, pos
	})
}

// canonical maps contact i with the default stage map; false when it is
// deleted (or unreadable). The caller holds s.mu.
func (s *Server) canonical(i int) (providers.Record, bool) {
	if s.recs[i].data == nil {
		return providers.Record{}, false
	}
	c, err := decodeRecord(s.recs[i].data)
	if err != nil {
		return providers.Record{}, false
	}
	p, at, issues := nextleadmap.ToPerson(&c, mapping.StageMap{}, "")
	return providers.Record{ID: c.ID, Person: p, ChangedAt: at, Issues: issues}, true
}

// UserEdit changes contact id as a person in NextLead's screens would: every
// held field edit applies (email and LinkedIn included), updated_at moves and
// the edit is appended to user-edited (even when nothing changed).
func (s *Server) UserEdit(id string, edit func(p *mapping.Person)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.index(id)
	if !ok || s.recs[i].data == nil {
		return fmt.Errorf("nextleadtest: user edit: no live contact %q", id)
	}
	c, err := decodeRecord(s.recs[i].data)
	if err != nil {
		return fmt.Errorf("nextleadtest: user edit: %w", err)
	}
	before, _, _ := nextleadmap.ToPerson(&c, mapping.StageMap{}, "")
	after := before.Clone()
	edit(&after)
	nextleadmap.ApplyPerson(&c, before, after, mapping.StageMap{}, s.catalog())
	return s.touch(i, &c)
}

// UserDelete deletes contact id as a person in NextLead's screens would (a
// soft delete, shown in user-deleted).
func (s *Server) UserDelete(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.index(id)
	if !ok || s.recs[i].data == nil {
		return fmt.Errorf("nextleadtest: user delete: no live contact %q", id)
	}
	_, err := s.remove(i)
	return err
}
