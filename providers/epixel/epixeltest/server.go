// Package epixeltest is a fake Epixel "Leads & CRM" service for tests, the
// demo and the benchmark: an HTTP server implementing the contact-sync routes
// of providers.md (login, token refresh, lead list, view, create, update,
// delete and lead notes) with their auth rules, envelopes, status codes,
// verbatim messages, paging and quirks, plus the common rate limit and fault
// injection.
package epixeltest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers"
	"github.com/crmsync/crmsync/providers/simkit"
)

// Options configures a Server. Zero values take the defaults.
type Options struct {
	// Addr is the listen address; default "127.0.0.1:0".
	Addr string
	// Prefix is the API prefix and version the routes sit under; default
	// "/api/v1".
	Prefix string
	// APIKey, Username and Password are the accepted credentials; defaults
	// "epixel-test-key", "epixel-test-user", "epixel-test-password".
	APIKey   string
	Username string
	Password string
	// Users are further usernames leads can be assigned to; default alice
	// and bob. The API user is always one.
	Users []string
	// RateLimit is the accepted requests per sliding second per apikey (0: no
	// limit).
	RateLimit int
	// FaultFraction (0..1) of requests answer 500, 502 or 503.
	FaultFraction float64
	// Latency is added to every answer.
	Latency time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// TokenTTL is the access token lifetime; default 5 minutes.
	TokenTTL time.Duration
	// RefreshTTL is the refresh token lifetime; default 24 hours.
	RefreshTTL time.Duration
	// PageSize is the default list limit (20); MaxPageSize its cap (100).
	PageSize    int
	MaxPageSize int
	// RandSeed seeds fault injection and token generation; 0 means 1.
	RandSeed uint64
}

// Server is a running fake Epixel. It implements providers.Simulator.
type Server struct {
	opts Options
	ln   net.Listener
	srv  *http.Server
	url  string

	table  map[string]route
	stages mapping.StageMap

	mu sync.RWMutex
	st *store

	authMu   sync.Mutex
	access   map[string]int64 // token → expiry (ms)
	refresh  map[string]int64
	tokenSeq uint64

	*simkit.Controls // SetRateLimit, SetFaults, SetLatency, Requests
}

var _ providers.Simulator = (*Server)(nil)

// New starts a Server on opts.Addr.
func New(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Prefix == "" {
		opts.Prefix = "/api/v1"
	}
	if opts.APIKey == "" {
		opts.APIKey = "epixel-test-key"
	}
	if opts.Username == "" {
		opts.Username = "epixel-test-user"
	}
	if opts.Password == "" {
		opts.Password = "epixel-test-password"
	}
	if opts.Users == nil {
		opts.Users = []string{"alice", "bob"}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = 5 * time.Minute
	}
	if opts.RefreshTTL <= 0 {
		opts.RefreshTTL = 24 * time.Hour
	}
	if opts.MaxPageSize <= 0 {
		opts.MaxPageSize = 100
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 20
	}
	if opts.RandSeed == 0 {
		opts.RandSeed = 1
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("epixeltest: listen %s: %w", opts.Addr, err)
	}
	s := &Server{
		opts:    opts,
		ln:      ln,
		url:     "http://" + ln.Addr().String() + opts.Prefix,
		st:      newStore(append([]string{opts.Username}, opts.Users...)),
		access:  map[string]int64{},
		refresh: map[string]int64{},
		Controls: simkit.NewControls(opts.RateLimit, opts.FaultFraction, opts.Latency, opts.Now,
			rand.NewPCG(opts.RandSeed, opts.RandSeed^0x9e3779b97f4a7c15)),
	}
	s.table = s.routes()
	s.stages = mapping.DefaultStageMap("epixel")
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Kind returns "epixel".
func (s *Server) Kind() string { return "epixel" }

// URL returns the base URL, prefix and version included.
func (s *Server) URL() string { return s.url }

// Credentials returns {api_key, username, password}.
func (s *Server) Credentials() map[string]string {
	return map[string]string{"api_key": s.opts.APIKey, "username": s.opts.Username, "password": s.opts.Password}
}

// Close stops the server.
func (s *Server) Close() { _ = s.srv.Close() }

// ExpireTokens makes every access token issued so far expired, as if
// TokenTTL had passed (refresh tokens stay valid).
func (s *Server) ExpireTokens() {
	s.authMu.Lock()
	defer s.authMu.Unlock()
	clear(s.access)
}

// ExpireRefreshTokens makes every refresh token issued so far invalid.
func (s *Server) ExpireRefreshTokens() {
	s.authMu.Lock()
	defer s.authMu.Unlock()
	clear(s.refresh)
}

// newToken returns a fresh opaque token of kind.
func (s *Server) newToken(kind string) string {
	s.tokenSeq++
	sum := sha256.Sum256([]byte(kind + strconv.FormatUint(s.tokenSeq, 10) + strconv.FormatUint(s.opts.RandSeed, 10)))
	return kind + "." + hex.EncodeToString(sum[:16])
}

// issue returns a new access token and, when withRefresh, a refresh token.
func (s *Server) issue(withRefresh bool) (access, refresh string) {
	s.authMu.Lock()
	defer s.authMu.Unlock()
	now := s.opts.Now()
	access = s.newToken("access")
	s.access[access] = now.Add(s.opts.TokenTTL).UnixMilli()
	if withRefresh {
		refresh = s.newToken("refresh")
		s.refresh[refresh] = now.Add(s.opts.RefreshTTL).UnixMilli()
	}
	// Forget expired tokens now and then so the maps stay small.
	if len(s.access) > 1024 {
		ms := now.UnixMilli()
		for k, exp := range s.access {
			if exp <= ms {
				delete(s.access, k)
			}
		}
	}
	return access, refresh
}

func (s *Server) validAccess(tok string) bool {
	s.authMu.Lock()
	defer s.authMu.Unlock()
	exp, ok := s.access[tok]
	return ok && s.opts.Now().UnixMilli() < exp
}

func (s *Server) validRefresh(tok string) bool {
	s.authMu.Lock()
	defer s.authMu.Unlock()
	exp, ok := s.refresh[tok]
	return ok && s.opts.Now().UnixMilli() < exp
}

// errNotHeld is returned by Seed for a person the CRM cannot hold.
var errNotHeld = errors.New("epixeltest: a lead needs at least a name, an email or a phone")

// Seed stores people as leads typed in Epixel's screens and returns their
// slugs in order. A person with no name, email or phone is an error.
func (s *Server) Seed(people []mapping.Person) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(people))
	s.st.leads = slices.Grow(s.st.leads, len(people))
	s.st.live = slices.Grow(s.st.live, len(people))
	now := s.opts.Now()
	for i, p := range people {
		l, err := s.leadFromPerson(p)
		if err != nil {
			return ids, fmt.Errorf("seed person %d: %w", i, err)
		}
		idx := s.st.add(l, now)
		ids = append(ids, s.st.leads[idx].text(fSlug))
	}
	return ids, nil
}

// leadFromPerson builds a lead as a person typing p in the screens would.
func (s *Server) leadFromPerson(p mapping.Person) (fields, error) {
	l := fields{firstName: p.FirstName, lastName: p.LastName, location: p.Address, message: p.Notes, status: "prospect"}
	if len(p.Emails) > 0 {
		l.email = p.Emails[0]
	}
	if len(p.Phones) > 0 {
		l.phone = p.Phones[0]
	}
	if l.firstName == "" && l.lastName == "" && l.email == "" && l.phone == "" {
		return fields{}, errNotHeld
	}
	if st, ok := s.stages.Outbound(p.LeadStage, nil); ok {
		l.status = st
	}
	if p.Owner != "" {
		l.assignee = p.Owner
	}
	return l, nil
}

// Snapshot returns every live lead mapped to canonical fields, newest first
// (the listing order).
func (s *Server) Snapshot() []providers.Record {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]providers.Record, 0, len(s.st.live))
	for i := len(s.st.live) - 1; i >= 0; i-- {
		out = append(out, s.record(s.st.live[i]))
	}
	return out
}

// Records yields what Snapshot returns, in the same order (newest first), a
// chunk at a time (simkit.Stream).
func (s *Server) Records() iter.Seq[providers.Record] {
	return simkit.Stream(func(pos int, buf []providers.Record) ([]providers.Record, int) {
		s.mu.RLock()
		defer s.mu.RUnlock()
		for ; pos < len(s.st.live) && len(buf) < cap(buf); pos++ {
			buf = append(buf, s.record(s.st.live[len(s.st.live)-1-pos]))
		}
		return buf, pos
	})
}

func (s *Server) record(idx int32) providers.Record {
	w := s.st.wire(idx)
	p, at, issues := epixelToPerson(w)
	return providers.Record{ID: w.Slug, Person: p, ChangedAt: at, Issues: issues}
}

// UserEdit changes lead id as a person in Epixel's screens: only the fields
// edit changes are written. Epixel has no change time, so the edit shows only
// in the lead's content.
func (s *Server) UserEdit(id string, edit func(p *mapping.Person)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, ok := s.st.find(id)
	if !ok || s.st.leads[idx].deleted {
		return fmt.Errorf("epixeltest: user edit: lead %q does not exist", id)
	}
	before, _, _ := epixelToPerson(s.st.wire(idx))
	after := before.Clone()
	edit(&after)
	f := s.st.get(idx)
	l := &f
	if !mapping.Equal(mapping.FieldFirstName, before.Get(mapping.FieldFirstName), after.Get(mapping.FieldFirstName)) {
		l.firstName = after.FirstName
	}
	if !mapping.Equal(mapping.FieldLastName, before.Get(mapping.FieldLastName), after.Get(mapping.FieldLastName)) {
		l.lastName = after.LastName
	}
	if !mapping.Equal(mapping.FieldEmails, before.Get(mapping.FieldEmails), after.Get(mapping.FieldEmails)) {
		l.email = first(after.Emails)
	}
	if !mapping.Equal(mapping.FieldPhones, before.Get(mapping.FieldPhones), after.Get(mapping.FieldPhones)) {
		l.phone = first(after.Phones)
	}
	if !mapping.Equal(mapping.FieldAddress, before.Get(mapping.FieldAddress), after.Get(mapping.FieldAddress)) {
		l.location = after.Address
	}
	if !mapping.Equal(mapping.FieldNotes, before.Get(mapping.FieldNotes), after.Get(mapping.FieldNotes)) {
		l.message = after.Notes
	}
	if !mapping.Equal(mapping.FieldLeadStage, before.Get(mapping.FieldLeadStage), after.Get(mapping.FieldLeadStage)) {
		if st, ok := s.stages.Outbound(after.LeadStage, nil); ok {
			l.status = st
		} else if after.LeadStage == "" {
			l.status = "prospect"
		}
	}
	if !mapping.Equal(mapping.FieldOwner, before.Get(mapping.FieldOwner), after.Get(mapping.FieldOwner)) {
		l.assignee = after.Owner
	}
	s.st.set(idx, f)
	return nil
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// UserDelete soft-deletes lead id as a person in Epixel's screens.
func (s *Server) UserDelete(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, ok := s.st.find(id)
	if !ok || s.st.leads[idx].deleted {
		return fmt.Errorf("epixeltest: user delete: lead %q does not exist", id)
	}
	s.st.remove(idx)
	return nil
}
