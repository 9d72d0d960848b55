// Package ligotest is a fake Ligo: an HTTP server that behaves as providers.md
// says Ligo's API Platform service does for contact sync (Hydra collections
// of 30, bearer-token auth, merge-patch updates, the read-only status, the
// pipeline-state route, notes, API Platform's error bodies), plus the common
// simulator rules (rate limit, fault injection, latency). It implements
// providers.Simulator and holds up to a million contacts compactly.
package ligotest

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/mapping/ligomap"
	"github.com/crmsync/crmsync/providers"
	"github.com/crmsync/crmsync/providers/simkit"
)

// DefaultToken is the bearer token a simulator accepts unless Options says
// otherwise.
const DefaultToken = "ligo-test-key"

// DefaultPipelineStates are the pipeline states a simulator starts with.
var DefaultPipelineStates = []string{"Nouveau contact", "Qualification", "Proposition", "Négociation", "Gagné", "Perdu"}

// Options configures a Server.
type Options struct {
	// Addr is the listen address; "" means 127.0.0.1:0.
	Addr string
	// Token is the bearer token accepted; "" means DefaultToken.
	Token string
	// RateLimit is the accepted requests per sliding second per token (0: none).
	RateLimit int
	// FaultFraction (0..1) of requests answer 500, 502 or 503.
	FaultFraction float64
	// Latency is added to every answer.
	Latency time.Duration
	// Now is the clock for timestamps and the rate limit; nil means time.Now.
	Now func() time.Time
	// PageSize is the collection page size; 0 means 30, as Ligo.
	PageSize int
	// PipelineStates names the pipeline catalog in position order; nil means
	// DefaultPipelineStates.
	PipelineStates []string
	// RandSeed seeds IDs and fault draws, for reproducible runs.
	RandSeed uint64
	// Region is the phone region Snapshot maps with; "" means mapping.DefaultRegion.
	Region string
}

// Server is a running fake Ligo.
type Server struct {
	opts    Options
	token   string
	now     func() time.Time
	page    int
	srv     *http.Server
	ln      net.Listener
	baseURL string
	stages  mapping.StageMap

	// states is the pipeline catalog; fixed after New.
	states    []pipelineState
	stateByID map[[16]byte]int32

	rndMu sync.Mutex
	rnd   *rand.ChaCha8

	mu    sync.RWMutex
	store                   // the contacts
	notes map[uint32][]note // contact index → notes

	// SetRateLimit, SetFaults, SetLatency, Requests (requests matching no
	// route count under "<method> ?").
	*simkit.Controls
}

type pipelineState struct {
	id       [16]byte
	name     string
	color    string
	position int
}

var _ providers.Simulator = (*Server)(nil)

// New starts a simulator listening on opts.Addr.
func New(opts Options) (*Server, error) {
	s := &Server{
		opts:      opts,
		token:     opts.Token,
		now:       opts.Now,
		page:      opts.PageSize,
		stages:    mapping.DefaultStageMap("ligo"),
		stateByID: map[[16]byte]int32{},
		rnd:       rand.NewChaCha8(seedBytes(opts.RandSeed)),
		notes:     map[uint32][]note{},
	}
	if s.token == "" {
		s.token = DefaultToken
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.store = newStore(s.now().UnixMilli())
	s.Controls = simkit.NewControls(opts.RateLimit, opts.FaultFraction, opts.Latency, s.now,
		rand.NewPCG(opts.RandSeed, 0x6c69676f))
	if s.page <= 0 {
		s.page = 30
	}
	names := opts.PipelineStates
	if names == nil {
		names = DefaultPipelineStates
	}
	colors := []string{"#6366f1", "#0ea5e9", "#f59e0b", "#f97316", "#22c55e", "#ef4444"}
	for i, n := range names {
		st := pipelineState{id: s.newID(), name: n, color: colors[i%len(colors)], position: i}
		s.stateByID[st.id] = int32(i)
		s.states = append(s.states, st)
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ligotest: listen %s: %w", addr, err)
	}
	s.ln = ln
	s.baseURL = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func seedBytes(seed uint64) [32]byte {
	var b [32]byte
	for i := range 8 {
		b[i] = byte(seed >> (8 * i))
	}
	copy(b[8:], "crmsync-ligotest-seed-bytes!")
	return b
}

// newID draws a version-4 UUID from the simulator's seeded source.
func (s *Server) newID() [16]byte {
	s.rndMu.Lock()
	defer s.rndMu.Unlock()
	u, err := uuid.NewRandomFromReader(s.rnd)
	if err != nil { // ChaCha8 never fails.
		panic(err)
	}
	return u
}

// Kind names the provider simulated.
func (s *Server) Kind() string { return "ligo" }

// URL is the base URL (no path).
func (s *Server) URL() string { return s.baseURL }

// Credentials returns {"token": <the accepted token>}.
func (s *Server) Credentials() map[string]string { return map[string]string{"token": s.token} }

// Close stops the server.
func (s *Server) Close() { _ = s.srv.Close() }

// Seed stores people as typed in Ligo's screens (no request counted) and
// returns their IDs. A person without any name cannot be held (Ligo requires
// one) and fails the whole call. The lead stage sets the status (new →
// pending, disqualified → lost); the pipeline stage sets the state of that
// name, if any.
func (s *Server) Seed(people []mapping.Person) ([]string, error) {
	for i, p := range people {
		if mapping.JoinName(p.FirstName, p.LastName) == "" {
			return nil, fmt.Errorf("ligotest: seed person %d has no name, which Ligo requires", i)
		}
	}
	ids := make([]string, len(people))
	newIDs := make([][16]byte, len(people))
	for i := range people {
		newIDs[i] = s.newID()
		ids[i] = uuidString(newIDs[i])
	}
	now := s.now().UnixMilli()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, p := range people {
		var vals [nFields]string
		vals[fName] = mapping.JoinName(p.FirstName, p.LastName)
		vals[fEmails] = joinList(p.Emails)
		vals[fPhones] = joinList(p.Phones)
		vals[fLinkedin] = cleanString(p.LinkedIn)
		vals[fCompany] = cleanString(p.Company)
		vals[fPosition] = cleanString(p.JobTitle)
		vals[fWebsite] = cleanString(p.Website)
		vals[fAddress] = cleanString(p.Address)
		vals[fInfo] = cleanString(p.Notes)
		m := meta{created: now, updated: now, status: statusFor(p.LeadStage, 0), state: s.stateNamed(p.PipelineStage)}
		s.add(record{id: newIDs[i], data: s.pack(vals, m)})
	}
	return ids, nil
}

// statusFor returns the status index for a canonical stage, keeping cur when
// stage is empty (or new and cur already means new).
func statusFor(stage mapping.Stage, cur uint8) uint8 {
	switch stage {
	case "":
		return cur
	case mapping.StageNew:
		if cur <= 1 { // pending, enriched
			return cur
		}
		return 0
	case mapping.StageDisqualified:
		return uint8(slices.Index(ligomap.Statuses, "lost"))
	}
	if i := slices.Index(ligomap.Statuses, string(stage)); i >= 0 {
		return uint8(i)
	}
	return cur
}

// stateNamed returns the index of the pipeline state named name, -1 if none.
func (s *Server) stateNamed(name string) int32 {
	if name == "" {
		return -1
	}
	cat := make([]string, len(s.states))
	for i, st := range s.states {
		cat[i] = st.name
	}
	m, ok := mapping.MatchPipeline(name, cat, nil)
	if !ok {
		return -1
	}
	return int32(slices.Index(cat, m))
}

// contact renders live record r as the API answers it. The caller holds
// s.mu.
func (s *Server) contact(r *record) ligomap.Contact {
	var u unpacked
	s.unpack(r.data, s.names, &u)
	c := ligomap.Contact{
		LDID: "/api/contacts/" + uuidString(r.id), LDType: "Contact", ID: uuidString(r.id),
		Name: u.field(fName), Emails: u.list(fEmails), Phones: u.list(fPhones),
		Company: u.field(fCompany), Position: u.field(fPosition), Address: u.field(fAddress),
		Website: u.field(fWebsite), LinkedinURL: u.field(fLinkedin), AdditionalInfo: u.field(fInfo),
		MeetingContext: u.field(fMeeting), Status: ligomap.Statuses[u.status],
		CreatedAt: formatMillis(u.created), UpdatedAt: formatMillis(u.updated),
	}
	if u.state >= 0 {
		st := s.states[u.state]
		c.PipelineState = &ligomap.PipelineState{ID: uuidString(st.id), Name: st.name}
	}
	return c
}

func (s *Server) region() string {
	if s.opts.Region == "" {
		return mapping.DefaultRegion
	}
	return s.opts.Region
}

// Snapshot returns every live contact mapped to canonical fields, in
// creation order.
func (s *Server) Snapshot() []providers.Record {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]providers.Record, 0, s.nLive)
	for idx := s.nextLive(0); idx < s.n; idx = s.nextLive(idx + 1) {
		out = append(out, s.canonical(idx))
	}
	return out
}

// Records yields what Snapshot returns, in the same order, a chunk at a
// time (simkit.Stream).
func (s *Server) Records() iter.Seq[providers.Record] {
	return simkit.Stream(func(pos int, buf []providers.Record) ([]providers.Record, int) {
		s.mu.RLock()
		defer s.mu.RUnlock()
		if pos >= s.nLive {
			return buf, pos
		}
		for idx := s.nth(pos); pos < s.nLive && len(buf) < cap(buf); pos, idx = pos+1, s.nextLive(idx+1) {
			buf = append(buf, s.canonical(idx))
		}
		return buf, pos
	})
}

// canonical maps contact idx to canonical fields. The caller holds s.mu.
func (s *Server) canonical(idx uint32) providers.Record {
	r := s.rec(idx)
	p, at, issues := ligomap.ToPerson(s.contact(r), s.stages, s.region())
	return providers.Record{ID: uuidString(r.id), Person: p, ChangedAt: at, Issues: issues}
}

// ErrUnknownID is returned by UserEdit and UserDelete for an ID that names
// no live contact.
var ErrUnknownID = errors.New("ligotest: no such contact")

func (s *Server) liveIndex(id string) (uint32, bool) {
	u, err := uuid.Parse(id)
	if err != nil {
		return 0, false
	}
	idx, ok := s.find(u)
	if !ok || s.rec(idx).data == "" {
		return 0, false
	}
	return idx, true
}

// UserEdit edits a contact as a person in Ligo's screens: the fields whose
// canonical value edit changes are stored, and updatedAt moves when anything
// changed. A changed lead stage sets the status (which Ligo's screens can
// do), a changed pipeline stage the state of that name (none when no state
// matches).
func (s *Server) UserEdit(id string, edit func(p *mapping.Person)) error {
	// edit runs without the lock held, so that it may call the simulator.
	s.mu.RLock()
	idx, ok := s.liveIndex(id)
	var c ligomap.Contact
	if ok {
		c = s.contact(s.rec(idx))
	}
	s.mu.RUnlock()
	if !ok {
		return fmt.Errorf("user edit %s: %w", id, ErrUnknownID)
	}
	old, _, _ := ligomap.ToPerson(c, s.stages, s.region())
	p := old.Clone()
	edit(&p)

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.liveIndex(id); !ok {
		return fmt.Errorf("user edit %s: %w", id, ErrUnknownID)
	}
	r := s.rec(idx)
	var u unpacked
	s.unpack(r.data, s.names, &u)
	vals, m := u.fields(), u.meta
	changed := false
	if !mapping.Equal(mapping.FieldFirstName, old.Get(mapping.FieldFirstName), p.Get(mapping.FieldFirstName)) ||
		!mapping.Equal(mapping.FieldLastName, old.Get(mapping.FieldLastName), p.Get(mapping.FieldLastName)) {
		name := mapping.JoinName(p.FirstName, p.LastName)
		if name == "" {
			return fmt.Errorf("user edit %s: Ligo requires a name", id)
		}
		vals[fName] = name
	}
	if !mapping.Equal(mapping.FieldEmails, old.Get(mapping.FieldEmails), p.Get(mapping.FieldEmails)) {
		vals[fEmails] = joinList(p.Emails)
	}
	if !mapping.Equal(mapping.FieldPhones, old.Get(mapping.FieldPhones), p.Get(mapping.FieldPhones)) {
		vals[fPhones] = joinList(p.Phones)
	}
	for _, f := range []struct {
		f mapping.Field
		i int
	}{
		{mapping.FieldLinkedIn, fLinkedin}, {mapping.FieldCompany, fCompany}, {mapping.FieldJobTitle, fPosition},
		{mapping.FieldWebsite, fWebsite}, {mapping.FieldAddress, fAddress}, {mapping.FieldNotes, fInfo},
	} {
		if !mapping.Equal(f.f, old.Get(f.f), p.Get(f.f)) {
			vals[f.i] = cleanString(p.Get(f.f).String())
		}
	}
	if vals != u.fields() {
		changed = true
	}
	if old.LeadStage != p.LeadStage {
		if st := statusFor(p.LeadStage, m.status); st != m.status {
			m.status = st
			changed = true
		}
	}
	if !mapping.Equal(mapping.FieldPipelineStage, old.Get(mapping.FieldPipelineStage), p.Get(mapping.FieldPipelineStage)) {
		if st := s.stateNamed(p.PipelineStage); st != m.state {
			m.state = st
			changed = true
		}
	}
	if changed {
		m.touch(s.now())
		r.data = s.pack(vals, m)
	}
	return nil
}

// UserDelete deletes a contact as from Ligo's screens: it leaves the list and
// its GET answers 404.
func (s *Server) UserDelete(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, ok := s.liveIndex(id)
	if !ok {
		return fmt.Errorf("user delete %s: %w", id, ErrUnknownID)
	}
	s.deleteLocked(idx)
	return nil
}

func (s *Server) deleteLocked(idx uint32) {
	s.del(idx) // the contents are freed; the ID stays known as deleted
	delete(s.notes, idx)
}

// Len returns the number of live contacts.
func (s *Server) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.nLive
}

// PipelineStates returns the catalog as the API lists it.
func (s *Server) PipelineStates() []ligomap.PipelineStateItem {
	out := make([]ligomap.PipelineStateItem, len(s.states))
	for i, st := range s.states {
		out[i] = ligomap.PipelineStateItem{ID: uuidString(st.id), Name: st.name, Color: st.color, Position: st.position}
	}
	return out
}

// Notes returns the contents of a contact's notes, oldest first.
func (s *Server) Notes(id string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	idx, ok := s.liveIndex(id)
	if !ok {
		return nil
	}
	var out []string
	for _, n := range s.notes[idx] {
		out = append(out, n.content)
	}
	return out
}

// authorized checks the bearer token and returns it.
func (s *Server) authorized(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, subtle.ConstantTimeCompare([]byte(tok), []byte(s.token)) == 1
}
