// Package skarbetest is a fake Skarbe: an HTTP server that serves the
// contact-sync routes of Skarbe's connect API exactly as providers.md says
// (auth, bare JSON arrays, the verbatim 400 messages, no paging, no update or
// delete route), plus the common simulator rules (rate limit, faults,
// latency). It implements providers.Simulator and holds a million contacts
// comfortably.
package skarbetest

import (
	"bufio"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/mapping/skarbemap"
	"github.com/crmsync/crmsync/providers"
	"github.com/crmsync/crmsync/providers/simkit"
)

// DefaultAPIKey is the key a simulator accepts when Options.APIKey is empty.
const DefaultAPIKey = "skarbe-test-key"

// The route templates, as Requests keys them.
const (
	RouteListContacts  = "GET /api/connect/contacts"
	RouteCreateContact = "POST /api/connect/contacts"
	RouteLeadStatuses  = "GET /api/connect/contacts/lead-statuses"
	RouteMe            = "GET /api/connect/me"
)

// routeOther is the Requests key of a request to a route Skarbe does not
// have: its method and "/*".
func routeOther(method string) string { return method + " /*" }

// DefaultStatuses is the lead-status catalog a simulator has when
// Options.Statuses is nil: one status of each type, plus a second
// "qualified" one later in the order.
var DefaultStatuses = []skarbemap.LeadStatus{
	{ID: "1", Type: skarbemap.TypeLead, Label: "New Lead", Color: "#3B82F6", Order: 1},
	{ID: "2", Type: skarbemap.TypeQualified, Label: "Qualified Lead", Color: "#10B981", Order: 2},
	{ID: "3", Type: skarbemap.TypeQualified, Label: "Meeting Booked", Color: "#F59E0B", Order: 3},
	{ID: "4", Type: skarbemap.TypeDisqualified, Label: "Disqualified", Color: "#EF4444", Order: 4},
}

// Options configure a simulator.
type Options struct {
	// Addr is the listen address; "" means 127.0.0.1:0.
	Addr string
	// APIKey is the accepted X-Api-Key; "" means DefaultAPIKey.
	APIKey string
	// RateLimit is the initial rate limit per second and key (0: none).
	RateLimit int
	// FaultFraction is the initial fraction of faulted requests.
	FaultFraction float64
	// Latency is added to every answer.
	Latency time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Statuses is the lead-status catalog; nil means DefaultStatuses. IDs
	// must be positive integers.
	Statuses []skarbemap.LeadStatus
	// Stages maps stages for Seed, UserEdit and Snapshot; the zero value
	// means mapping.DefaultStageMap("skarbe").
	Stages mapping.StageMap
	// Region is the phone region of Snapshot; "" means mapping.DefaultRegion.
	Region string
	// UserName, UserEmail and Workspace are what GET /api/connect/me answers.
	UserName, UserEmail, Workspace string
	// RandSeed seeds fault injection, for reproducible runs.
	RandSeed uint64
	// MaxBody bounds a request body; 0 means 1 MiB.
	MaxBody int64
}

// Server is a running fake Skarbe. It is safe for concurrent use.
type Server struct {
	opts     Options
	ln       net.Listener
	srv      *http.Server
	url      string
	catalog  skarbemap.Catalog
	statuses map[int32]skarbemap.LeadStatus
	catJSON  []byte
	meJSON   []byte

	mu       sync.RWMutex
	contacts []contact // id ascending; deleted ones stay as tombstones
	nextID   int64
	lastTS   int64
	live     int

	*simkit.Controls // SetRateLimit, SetFaults, SetLatency, Requests
}

var _ providers.Simulator = (*Server)(nil)

// New starts a simulator listening on opts.Addr.
func New(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.APIKey == "" {
		opts.APIKey = DefaultAPIKey
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Statuses == nil {
		opts.Statuses = DefaultStatuses
	}
	if opts.Stages.In == nil && opts.Stages.Out == nil {
		opts.Stages = mapping.DefaultStageMap("skarbe")
	}
	if opts.Region == "" {
		opts.Region = mapping.DefaultRegion
	}
	if opts.UserName == "" {
		opts.UserName = "Sim Admin"
	}
	if opts.UserEmail == "" {
		opts.UserEmail = "admin@skarbe.test"
	}
	if opts.Workspace == "" {
		opts.Workspace = "Simulated Workspace"
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = 1 << 20
	}
	s := &Server{
		opts:     opts,
		catalog:  skarbemap.Catalog(slices.Clone(opts.Statuses)),
		statuses: make(map[int32]skarbemap.LeadStatus, len(opts.Statuses)),
		nextID:   1,
		Controls: simkit.NewControls(opts.RateLimit, opts.FaultFraction, opts.Latency, opts.Now,
			rand.NewPCG(opts.RandSeed, 0x5ca4be)),
	}
	for _, st := range s.catalog {
		id, err := strconv.ParseInt(string(st.ID), 10, 32)
		if err != nil || id <= 0 {
			return nil, fmt.Errorf("skarbetest: lead status id %q is not a positive integer", st.ID)
		}
		s.statuses[int32(id)] = st
	}
	var err error
	if s.catJSON, err = json.Marshal(s.catalog); err != nil {
		return nil, fmt.Errorf("skarbetest: encode catalog: %w", err)
	}
	me := map[string]any{
		"details":   map[string]string{"name": opts.UserName, "email": opts.UserEmail},
		"workspace": map[string]string{"name": opts.Workspace},
	}
	if s.meJSON, err = json.Marshal(me); err != nil {
		return nil, fmt.Errorf("skarbetest: encode me: %w", err)
	}

	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("skarbetest: listen: %w", err)
	}
	s.ln = ln
	s.url = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Kind returns "skarbe".
func (s *Server) Kind() string { return "skarbe" }

// URL is the simulator's base URL.
func (s *Server) URL() string { return s.url }

// Credentials returns {"api_key": <key>}.
func (s *Server) Credentials() map[string]string {
	return map[string]string{"api_key": s.opts.APIKey}
}

// Close stops the server.
func (s *Server) Close() { _ = s.srv.Close() }

// Len returns the number of live contacts.
func (s *Server) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.live
}

// tick returns the next timestamp in Unix milliseconds: the clock, but
// always after the previous one. Callers hold mu.
func (s *Server) tick() int64 {
	ms := s.opts.Now().UnixMilli()
	if ms <= s.lastTS {
		ms = s.lastTS + 1
	}
	s.lastTS = ms
	return ms
}

// insert stores f as a new contact. Callers hold mu.
func (s *Server) insert(f *fields, status int32) *contact {
	s.contacts = append(s.contacts, contact{id: s.nextID, created: s.tick(), data: f.pack(), status: status})
	s.nextID++
	s.live++
	return &s.contacts[len(s.contacts)-1]
}

// find returns the index of the live contact id, or -1. Callers hold mu.
func (s *Server) find(id string) int {
	n, err := strconv.ParseInt(strings.TrimSpace(id), 10, 64)
	if err != nil {
		return -1
	}
	i, ok := slices.BinarySearchFunc(s.contacts, n, func(c contact, id int64) int {
		switch {
		case c.id < id:
			return -1
		case c.id > id:
			return 1
		}
		return 0
	})
	if !ok || s.contacts[i].deleted {
		return -1
	}
	return i
}

// fieldsFrom is the create body as stored.
func fieldsFrom(b skarbemap.CreateContact) fields {
	return fields{
		Email: b.Email, FirstName: b.FirstName, LastName: b.LastName, JobTitle: b.JobTitle,
		CompanyName: b.CompanyName, FacebookURL: b.FacebookURL, InstagramURL: b.InstagramURL,
		LinkedInURL: b.LinkedInURL, Note: b.Note, Phones: slices.Clone(b.PhoneNumbers),
	}
}

func (s *Server) statusID(id skarbemap.ID) int32 {
	if id == "" {
		return 0
	}
	n, _ := strconv.ParseInt(string(id), 10, 32)
	return int32(n)
}

// Seed stores people as typed in Skarbe's screens (no request counted) and
// returns their IDs. Duplicates are allowed. A person with neither an email
// nor a first name, or with an invalid email, is an error; a lead stage no
// status type maps to is left out.
func (s *Server) Seed(people []mapping.Person) ([]string, error) {
	staged := make([]fields, len(people))
	status := make([]int32, len(people))
	for i, p := range people {
		b, err := skarbemap.FromPerson(p, s.opts.Stages, s.catalog)
		if err != nil {
			return nil, fmt.Errorf("skarbetest: seed person %d: %w", i, err)
		}
		staged[i] = fieldsFrom(b)
		status[i] = s.statusID(b.LeadStatus)
	}
	ids := make([]string, len(people))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.contacts = slices.Grow(s.contacts, len(people))
	for i := range staged {
		c := s.insert(&staged[i], status[i])
		ids[i] = strconv.FormatInt(c.id, 10)
	}
	return ids, nil
}

// Snapshot returns every live contact mapped to canonical fields, id
// ascending.
func (s *Server) Snapshot() []providers.Record {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]providers.Record, 0, s.live)
	for i := range s.contacts {
		if !s.contacts[i].deleted {
			out = append(out, s.canonical(&s.contacts[i]))
		}
	}
	return out
}

// Records yields what Snapshot returns, in the same order, a chunk at a
// time (simkit.Stream).
func (s *Server) Records() iter.Seq[providers.Record] {
	return simkit.Stream(func(pos int, buf []providers.Record) ([]providers.Record, int) {
		s.mu.RLock()
		defer s.mu.RUnlock()
		for ; pos < len(s.contacts) && len(buf) < cap(buf); pos++ {
			if !s.contacts[pos].deleted {
				buf = append(buf, s.canonical(&s.contacts[pos]))
			}
		}
		return buf, pos
	})
}

// canonical maps contact c to canonical fields. The caller holds s.mu.
func (s *Server) canonical(c *contact) providers.Record {
	p, issues := skarbemap.ToPerson(toContact(c, s.statuses), s.opts.Stages, s.opts.Region, s.catalog)
	return providers.Record{ID: strconv.FormatInt(c.id, 10), Person: p, Issues: issues}
}

// ErrNotFound is returned by UserEdit and UserDelete for an unknown or
// deleted contact.
var ErrNotFound = errors.New("skarbetest: no such contact")

// UserEdit edits contact id as a person in Skarbe's screens: only the fields
// edit changed (compared with mapping.Equal) are written, as typed;
// lastActivityAt does not move, and Skarbe shows the edit only in the
// listing's content. A new lead stage takes the first status by order of a
// type that maps to it; a stage no type maps to is an error, as is leaving
// the contact with neither email nor first name.
func (s *Server) UserEdit(id string, edit func(p *mapping.Person)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.find(id)
	if i < 0 {
		return fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	c := s.contacts[i]
	before, _ := skarbemap.ToPerson(toContact(&c, s.statuses), s.opts.Stages, s.opts.Region, s.catalog)
	after := before.Clone()
	edit(&after)
	f := unpack(c.data)
	f.Phones = slices.Clone(f.Phones)
	changed := func(fl mapping.Field) bool { return !mapping.Equal(fl, before.Get(fl), after.Get(fl)) }
	set := func(fl mapping.Field, dst *string, v string) {
		if changed(fl) {
			*dst = strings.TrimSpace(v)
		}
	}
	set(mapping.FieldFirstName, &f.FirstName, after.FirstName)
	set(mapping.FieldLastName, &f.LastName, after.LastName)
	set(mapping.FieldEmails, &f.Email, after.PrimaryEmail())
	set(mapping.FieldLinkedIn, &f.LinkedInURL, after.LinkedIn)
	set(mapping.FieldCompany, &f.CompanyName, after.Company)
	set(mapping.FieldJobTitle, &f.JobTitle, after.JobTitle)
	set(mapping.FieldFacebook, &f.FacebookURL, after.Facebook)
	set(mapping.FieldInstagram, &f.InstagramURL, after.Instagram)
	set(mapping.FieldNotes, &f.Note, after.Notes)
	if changed(mapping.FieldPhones) {
		f.Phones = nil
		for _, p := range after.Phones {
			if p = strings.TrimSpace(p); p != "" {
				f.Phones = append(f.Phones, p)
			}
		}
	}
	if changed(mapping.FieldLeadStage) {
		switch st, ok := s.catalog.StatusFor(after.LeadStage, s.opts.Stages); {
		case after.LeadStage == "":
			c.status = 0
		case !ok:
			return fmt.Errorf("skarbetest: edit %s: no lead status for stage %q", id, after.LeadStage)
		default:
			c.status = s.statusID(st.ID)
		}
	}
	if strings.TrimSpace(f.Email) == "" && strings.TrimSpace(f.FirstName) == "" {
		return fmt.Errorf("skarbetest: edit %s: %s", id, skarbemap.MsgRequired)
	}
	if f.Email != "" {
		if _, err := mapping.NormalizeEmail(f.Email); err != nil {
			return fmt.Errorf("skarbetest: edit %s: %w", id, err)
		}
	}
	c.data = f.pack()
	s.contacts[i] = c
	return nil
}

// UserDelete deletes contact id as in Skarbe's screens: it leaves the list.
func (s *Server) UserDelete(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.find(id)
	if i < 0 {
		return fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	s.contacts[i].deleted = true
	s.contacts[i].data = ""
	s.live--
	return nil
}

// route returns the route template of a request, or routeOther.
func route(r *http.Request) string {
	switch r.URL.Path {
	case "/api/connect/contacts":
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			return RouteListContacts
		case http.MethodPost:
			return RouteCreateContact
		}
	case "/api/connect/contacts/lead-statuses":
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			return RouteLeadStatuses
		}
	case "/api/connect/me":
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			return RouteMe
		}
	}
	return routeOther(r.Method)
}

// writeError answers Skarbe's error envelope.
func writeError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(skarbemap.ErrorBody{Error: msg})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeJSON(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// ServeHTTP serves the Skarbe API: count, latency, auth, rate limit, faults,
// then the route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt := route(r)
	s.Counters.Add(rt)
	if !s.Latency.Wait(r.Context()) {
		return
	}
	key := r.Header.Get("X-Api-Key")
	if key == "" || subtle.ConstantTimeCompare([]byte(key), []byte(s.opts.APIKey)) != 1 {
		writeError(w, http.StatusUnauthorized, skarbemap.MsgUnauthorized)
		return
	}
	if wait := s.Limiter.Admit(key); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		writeError(w, http.StatusTooManyRequests, "Too many requests")
		return
	}
	if status, apply := s.Faults.Draw(); status != 0 {
		if apply && rt == RouteCreateContact {
			s.create(r) // the write happens; its answer is lost
		}
		writeError(w, status, http.StatusText(status))
		return
	}
	switch rt {
	case RouteListContacts:
		s.list(w, r)
	case RouteCreateContact:
		status, body := s.create(r)
		if status == http.StatusOK {
			writeJSON(w, status, body)
		} else {
			writeError(w, status, string(body))
		}
	case RouteLeadStatuses:
		writeJSON(w, http.StatusOK, s.catJSON)
	case RouteMe:
		writeJSON(w, http.StatusOK, s.meJSON)
	default:
		writeError(w, http.StatusNotFound, "Not found")
	}
}

// listChunk is how many contacts list copies per lock.
const listChunk = 1024

// list streams every matching contact, id ascending, as a bare array,
// taking the read lock one chunk at a time.
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	query := strings.TrimSpace(r.URL.Query().Get("query"))
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	buf := make([]byte, 0, 4096)
	chunk := make([]contact, 0, listChunk)
	_ = bw.WriteByte('[')
	first := true
	for pos := 0; ; {
		chunk = chunk[:0]
		s.mu.RLock()
		for pos < len(s.contacts) && len(chunk) < listChunk {
			c := &s.contacts[pos]
			pos++
			if !c.deleted && matches(c, query) {
				chunk = append(chunk, *c)
			}
		}
		done := pos >= len(s.contacts)
		s.mu.RUnlock()
		for i := range chunk {
			buf = buf[:0]
			if !first {
				buf = append(buf, ',')
			}
			first = false
			buf = appendContact(buf, &chunk[i], s.statuses, true)
			if _, err := bw.Write(buf); err != nil {
				return
			}
		}
		if done {
			break
		}
		if r.Context().Err() != nil {
			return
		}
	}
	_ = bw.WriteByte(']')
	_ = bw.Flush()
}

// create applies POST /api/connect/contacts and returns the status and the
// answer body (the error message for a 400).
func (s *Server) create(r *http.Request) (int, []byte) {
	body, status, msg := s.decodeCreate(r)
	if status != 0 {
		return status, []byte(msg)
	}
	f := fieldsFrom(body)
	s.mu.Lock()
	c := *s.insert(&f, s.statusID(body.LeadStatus))
	s.mu.Unlock()
	return http.StatusOK, appendContact(nil, &c, s.statuses, false)
}

// msgInvalidData is the 400 for a body that is not a JSON object or a value
// of the wrong shape [assumed; the doc titles the 400 "Invalid request data"].
const msgInvalidData = "Invalid request data"

// decodeCreate reads and validates a create body: only the documented keys
// are applied; the checks run in the doc's order (required, email, lead
// status). It returns a non-zero status and message on failure.
func (s *Server) decodeCreate(r *http.Request) (skarbemap.CreateContact, int, string) {
	var b skarbemap.CreateContact
	raw := map[string]json.RawMessage{}
	ct := strings.ToLower(r.Header.Get("Content-Type"))
	if strings.Contains(ct, "json") {
		dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, s.opts.MaxBody))
		if err := dec.Decode(&raw); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return b, http.StatusRequestEntityTooLarge, "request entity too large"
			}
			return b, http.StatusBadRequest, msgInvalidData
		}
	}
	// A body that is not JSON is not parsed at all (as with Express's JSON
	// parser): it holds no fields.
	str := func(key string, dst *string) bool {
		v, ok := raw[key]
		if !ok {
			return true
		}
		s, ok := jsonText(v)
		*dst = strings.TrimSpace(s)
		return ok
	}
	ok := true
	for key, dst := range map[string]*string{
		"firstName": &b.FirstName, "lastName": &b.LastName, "jobTitle": &b.JobTitle,
		"companyName": &b.CompanyName, "facebookUrl": &b.FacebookURL, "instagramUrl": &b.InstagramURL,
		"linkedinUrl": &b.LinkedInURL, "twitterUrl": &b.TwitterURL, "note": &b.Note,
	} {
		ok = str(key, dst) && ok
	}
	emailOK := str("email", &b.Email)
	if v, has := raw["phoneNumbers"]; has {
		var phones skarbemap.Phones
		if err := phones.UnmarshalJSON(v); err != nil {
			ok = false
		}
		for _, p := range phones {
			if p = strings.TrimSpace(p); p != "" {
				b.PhoneNumbers = append(b.PhoneNumbers, p)
			}
		}
	}
	if !ok {
		return b, http.StatusBadRequest, msgInvalidData
	}
	if b.Email == "" && b.FirstName == "" && emailOK {
		return b, http.StatusBadRequest, skarbemap.MsgRequired
	}
	if b.Email != "" || !emailOK {
		if _, err := mapping.NormalizeEmail(b.Email); err != nil || !emailOK {
			return b, http.StatusBadRequest, skarbemap.MsgInvalidEmail
		}
	}
	if v, has := raw["leadStatus"]; has && string(v) != "null" {
		var id skarbemap.ID
		if err := id.UnmarshalJSON(v); err != nil {
			return b, http.StatusBadRequest, skarbemap.MsgInvalidLeadStatus
		}
		n, err := strconv.ParseInt(string(id), 10, 32)
		if _, known := s.statuses[int32(n)]; err != nil || !known || n <= 0 {
			return b, http.StatusBadRequest, skarbemap.MsgInvalidLeadStatus
		}
		b.LeadStatus = id
	}
	return b, 0, ""
}

// jsonText reads a JSON string, number or boolean as text; null is "". Other
// shapes are not text.
func jsonText(v json.RawMessage) (string, bool) {
	t := strings.TrimSpace(string(v))
	switch {
	case t == "null":
		return "", true
	case strings.HasPrefix(t, `"`):
		var s string
		err := json.Unmarshal(v, &s)
		return s, err == nil
	case t == "true" || t == "false":
		return t, true
	}
	var n json.Number
	if err := json.Unmarshal(v, &n); err != nil {
		return "", false
	}
	return n.String(), true
}
