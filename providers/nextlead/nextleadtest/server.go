// Package nextleadtest is a fake NextLead CRM (API v2.1): an HTTP server
// serving the contact-sync routes of providers.md (contacts, conversion
// statuses, sales columns and deals, the three contact polling feeds) with
// their auth rule, envelopes, status codes, verbatim error messages and
// quirks, plus rate limiting, fault injection and latency for tests.
//
// It holds up to a million contacts lean: each contact is one packed string
// of its fields (recurring values interned) and two timestamps, the email
// and LinkedIn indexes map key hashes to record indexes, the edit and delete
// feeds are append-only slices of small items sharing the packed strings,
// and contact ids encode their index so that no id map is needed. Listings
// are encoded from the packed form as encoding/json would encode the wire
// records.
package nextleadtest

import (
	"context"
	"errors"
	"fmt"
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

	mu         sync.RWMutex
	recs       []record
	live       int
	names      []string          // interned field values (append-only)
	nameIdx    map[string]uint32 // value → index in names
	byEmail    hashIndex         // lower-cased trimmed email → live indexes
	byLinkedIn hashIndex         // trimmed stored LinkedIn → live indexes
	edited     []feedItem        // user-edited items (append-only)
	deleted    []feedItem        // user-deleted items (append-only)
	lastMs     int64
	tags       []nextleadmap.Tag
	columns    []nextleadmap.Column
	sales      []sale
	salesOf    map[int32][]int32
	idSalt     uint64

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
		opts:       opts,
		orgID:      "corg" + strconv.FormatUint(opts.Seed, 36),
		nameIdx:    map[string]uint32{},
		byEmail:    newHashIndex(),
		byLinkedIn: newHashIndex(),
		salesOf:    map[int32][]int32{},
		idSalt:     opts.Seed * 0x9e3779b97f4a7c15,
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
	if !ok || s.recs[i].data == "" {
		return nextleadmap.Contact{}, false
	}
	return s.contact(i), true
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
	var b [idLen]byte
	return string(s.appendID(b[:0], i))
}

// appendID appends the id of contact i to b.
func (s *Server) appendID(b []byte, i int32) []byte {
	// FNV-1a (64-bit) of the salted index's 8 little-endian bytes.
	h := uint64(14695981039346656037)
	for n := range 8 {
		h ^= uint64(byte((uint64(i) ^ s.idSalt) >> (8 * n)))
		h *= 1099511628211
	}
	var d [16]byte
	head := strconv.AppendUint(d[:0], uint64(i), 36)
	b = append(b, 'c')
	b = append(b, "00000000"[len(head):]...)
	b = append(b, head...)
	tail := strconv.AppendUint(d[:0], h, 36)
	b = append(b, "0000000000000000"[len(tail):]...)
	return append(b, tail...)
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

// emailOf returns the email key of live contact i. Caller holds mu.
func (s *Server) emailOf(i int32) string { return emailKey(field(s.recs[i].data, fEmail)) }

// linkedInOf returns the LinkedIn key of live contact i. Caller holds mu.
func (s *Server) linkedInOf(i int32) string {
	return strings.TrimSpace(field(s.recs[i].data, fLinkedIn))
}

// findEmail returns the live contacts whose email matches email
// case-insensitively, in the order they were indexed. Caller holds mu.
func (s *Server) findEmail(email string) []int32 {
	return s.byEmail.lookup(emailKey(email), s.emailOf)
}

// find returns the live contacts matching email (case-insensitive) or, when
// email is empty or matches none, the stored LinkedIn string (trimmed,
// exact). Caller holds mu.
func (s *Server) find(email, linkedin string) []int32 {
	if l := s.findEmail(email); len(l) > 0 {
		return l
	}
	return s.byLinkedIn.lookup(strings.TrimSpace(linkedin), s.linkedInOf)
}

// contact returns contact i as a wire record. Caller holds mu.
func (s *Server) contact(i int32) nextleadmap.Contact {
	r := &s.recs[i]
	var u unpacked
	unpack(r.data, s.names, &u)
	return u.contact(s.contactID(i), r.created, r.updated)
}

// store packs c into record i and indexes it, setting c's id and
// timestamps. Caller holds mu.
func (s *Server) store(i int32, c *nextleadmap.Contact) {
	r := &s.recs[i]
	if r.data != "" {
		s.byEmail.del(s.emailOf(i), i)
		s.byLinkedIn.del(s.linkedInOf(i), i)
	}
	c.ID = s.contactID(i)
	c.CreatedAt = fmtMs(r.created)
	c.UpdatedAt = fmtMs(r.updated)
	r.data = s.pack(c)
	s.byEmail.add(s.emailOf(i), i)
	s.byLinkedIn.add(s.linkedInOf(i), i)
}

// insert appends a new contact created at ms. Caller holds mu.
func (s *Server) insert(c *nextleadmap.Contact, ms int64) (int32, error) {
	if len(s.recs) >= 1<<31-1 {
		return 0, errors.New("nextleadtest: too many contacts")
	}
	i := int32(len(s.recs))
	s.recs = append(s.recs, record{created: ms, updated: ms})
	s.store(i, c)
	s.live++
	return i, nil
}

// touch records an edit of contact i: updated_at moves and the edit is
// appended to user-edited. Caller holds mu.
func (s *Server) touch(i int32, c *nextleadmap.Contact) {
	r := &s.recs[i]
	r.updated = s.tick()
	s.store(i, c)
	s.edited = append(s.edited, feedItem{data: r.data, at: r.updated, i: i})
}

// remove soft-deletes contact i. Caller holds mu.
func (s *Server) remove(i int32) nextleadmap.Contact {
	c := s.contact(i)
	s.byEmail.del(s.emailOf(i), i)
	s.byLinkedIn.del(s.linkedInOf(i), i)
	s.deleted = append(s.deleted, feedItem{data: s.recs[i].data, at: s.tick(), i: i})
	s.recs[i].data = ""
	s.live--
	return c
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
// deleted. The caller holds s.mu.
func (s *Server) canonical(i int) (providers.Record, bool) {
	if s.recs[i].data == "" {
		return providers.Record{}, false
	}
	c := s.contact(int32(i))
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
	if !ok || s.recs[i].data == "" {
		return fmt.Errorf("nextleadtest: user edit: no live contact %q", id)
	}
	c := s.contact(i)
	before, _, _ := nextleadmap.ToPerson(&c, mapping.StageMap{}, "")
	after := before.Clone()
	edit(&after)
	nextleadmap.ApplyPerson(&c, before, after, mapping.StageMap{}, s.catalog())
	s.touch(i, &c)
	return nil
}

// UserDelete deletes contact id as a person in NextLead's screens would (a
// soft delete, shown in user-deleted).
func (s *Server) UserDelete(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.index(id)
	if !ok || s.recs[i].data == "" {
		return fmt.Errorf("nextleadtest: user delete: no live contact %q", id)
	}
	s.remove(i)
	return nil
}
