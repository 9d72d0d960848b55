package providertest_test

import (
	"context"
	"errors"
	"iter"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers"
)

// fakeSim is an in-memory CRM used to test the suite itself: no HTTP, the
// fake provider calls it directly, but it keeps the Simulator contract
// (auth, rate limit, faults, latency, request counts).
type fakeSim struct {
	mu      sync.Mutex
	recs    []*fakeRec
	byID    map[string]*fakeRec
	next    int
	rev     int64
	limit   int
	faults  float64
	latency time.Duration
	window  []time.Time
	reqs    map[string]int64
	url     string
}

type fakeRec struct {
	id      string
	p       mapping.Person
	rev     int64
	deleted bool
}

const fakeToken = "fake-token-0123456789"

var fakeHolds = mapping.NewFieldSet(mapping.FieldFirstName, mapping.FieldLastName, mapping.FieldEmails,
	mapping.FieldPhones, mapping.FieldLinkedIn, mapping.FieldCompany, mapping.FieldJobTitle, mapping.FieldNotes)

// fakeSims finds a fake simulator by its URL, as an adapter would reach a
// server by its base URL.
var fakeSims sync.Map

var fakeCount atomic.Int64

func newFakeSim() *fakeSim {
	s := &fakeSim{byID: map[string]*fakeRec{}, reqs: map[string]int64{},
		url: "fake://crm/" + strconv.FormatInt(fakeCount.Add(1), 10)}
	fakeSims.Store(s.url, s)
	return s
}

func (s *fakeSim) Kind() string                   { return "fake" }
func (s *fakeSim) URL() string                    { return s.url }
func (s *fakeSim) Credentials() map[string]string { return map[string]string{"token": fakeToken} }
func (s *fakeSim) Close()                         { fakeSims.Delete(s.url) }

func restrict(p mapping.Person) mapping.Person {
	var q mapping.Person
	for _, f := range fakeHolds.Fields() {
		q.Set(f, p.Get(f))
	}
	return q
}

// insert stores p; the caller holds mu.
func (s *fakeSim) insert(p mapping.Person) *fakeRec {
	s.next++
	s.rev++
	r := &fakeRec{id: "c" + strconv.Itoa(s.next), p: restrict(p), rev: s.rev}
	s.recs = append(s.recs, r)
	s.byID[r.id] = r
	return r
}

func (s *fakeSim) Seed(people []mapping.Person) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, len(people))
	for i, p := range people {
		if p.FirstName == "" && len(p.Emails) == 0 {
			return nil, errors.New("needs a first name or an email")
		}
		ids[i] = s.insert(p).id
	}
	return ids, nil
}

func (s *fakeSim) Snapshot() []providers.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []providers.Record
	for _, r := range s.recs {
		if !r.deleted {
			out = append(out, providers.Record{ID: r.id, Person: r.p.Clone()})
		}
	}
	return out
}

func (s *fakeSim) UserEdit(id string, edit func(p *mapping.Person)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.byID[id]
	if !ok || r.deleted {
		return errors.New("no such record")
	}
	p := r.p.Clone()
	edit(&p)
	r.p = restrict(p)
	s.rev++
	r.rev = s.rev
	return nil
}

func (s *fakeSim) UserDelete(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.byID[id]
	if !ok || r.deleted {
		return errors.New("no such record")
	}
	r.deleted = true
	s.rev++
	r.rev = s.rev
	return nil
}

func (s *fakeSim) SetRateLimit(n int)         { s.mu.Lock(); s.limit = n; s.mu.Unlock() }
func (s *fakeSim) SetFaults(f float64)        { s.mu.Lock(); s.faults = f; s.mu.Unlock() }
func (s *fakeSim) SetLatency(d time.Duration) { s.mu.Lock(); s.latency = d; s.mu.Unlock() }
func (s *fakeSim) Requests() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int64{}
	for k, v := range s.reqs {
		out[k] = v
	}
	return out
}

// request plays one HTTP request: auth, count, rate limit, fault, latency.
func (s *fakeSim) request(ctx context.Context, route, token string, timeout time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	s.reqs[route]++
	now := time.Now()
	if s.limit > 0 {
		s.window = slices.DeleteFunc(s.window, func(t time.Time) bool { return now.Sub(t) >= time.Second })
		if len(s.window) >= s.limit {
			wait := time.Second - now.Sub(s.window[0])
			secs := max(1, int((wait+time.Second-1)/time.Second))
			s.mu.Unlock()
			return &providers.Error{Class: providers.ClassRateLimited, Op: route, Status: 429, RetryAfter: time.Duration(secs) * time.Second}
		}
		s.window = append(s.window, now)
	}
	faulty := s.faults > 0 && rand.Float64() < s.faults
	lat := s.latency
	s.mu.Unlock()
	if token != fakeToken {
		return &providers.Error{Class: providers.ClassAuth, Op: route, Status: 401, Message: "Invalid credentials."}
	}
	if faulty {
		return &providers.Error{Class: providers.ClassRetryable, Op: route, Status: 503}
	}
	if lat > 0 {
		t := time.NewTimer(min(lat, timeout))
		defer t.Stop()
		select {
		case <-ctx.Done():
			return &providers.Error{Class: providers.ClassRetryable, Op: route, Err: ctx.Err()}
		case <-t.C:
		}
		if lat >= timeout {
			return &providers.Error{Class: providers.ClassRetryable, Op: route, Message: "timeout"}
		}
	}
	return nil
}

// fakeProvider is the adapter of fakeSim.
type fakeProvider struct {
	sim     *fakeSim
	token   string
	timeout time.Duration
	// mutant names a deliberate contract violation ("" for none).
	mutant string
}

func (p *fakeProvider) Kind() string { return "fake" }

func (p *fakeProvider) Capabilities() providers.Capabilities {
	return providers.Capabilities{
		Holds: fakeHolds, Creates: fakeHolds, Updates: fakeHolds,
		RequireOneOf: []mapping.Field{mapping.FieldEmails, mapping.FieldFirstName},
		Delete:       true, FindByEmail: true, FindByLinkedIn: true, Get: true, ChangeTimes: true,
	}
}

func (p *fakeProvider) req(ctx context.Context, route string) error {
	return p.wrap(p.sim.request(ctx, route, p.token, p.timeout))
}

// wrap applies the error mutants.
func (p *fakeProvider) wrap(err error) error {
	var e *providers.Error
	if err == nil || !errors.As(err, &e) {
		return err
	}
	c := *e
	switch {
	case p.mutant == "leak" && c.Class == providers.ClassAuth:
		c.Message += " (token " + p.token + ")"
	case p.mutant == "untyped-429" && c.Class == providers.ClassRateLimited:
		return errors.New(strings.ToLower(c.Error()))
	}
	return &c
}

func (p *fakeProvider) List(ctx context.Context) iter.Seq2[providers.Record, error] {
	return func(yield func(providers.Record, error) bool) {
		if err := p.req(ctx, "GET /contacts"); err != nil {
			yield(providers.Record{}, err)
			return
		}
		for _, r := range p.sim.Snapshot() {
			if !yield(r, nil) {
				return
			}
		}
	}
}

func (p *fakeProvider) Changes(ctx context.Context, cp []byte, yield func(providers.Change) error) (providers.ChangesResult, error) {
	if err := p.req(ctx, "GET /changes"); err != nil {
		return providers.ChangesResult{}, err
	}
	since, _ := strconv.ParseInt(string(cp), 10, 64)
	p.sim.mu.Lock()
	var changes []providers.Change
	for _, r := range p.sim.recs {
		if r.rev <= since {
			continue
		}
		if r.deleted {
			changes = append(changes, providers.Change{Kind: providers.ChangeDelete, Record: providers.Record{ID: r.id}})
		} else {
			changes = append(changes, providers.Change{Kind: providers.ChangeUpsert, Record: providers.Record{ID: r.id, Person: r.p.Clone()}})
		}
	}
	rev := p.sim.rev
	p.sim.mu.Unlock()
	for _, c := range changes {
		if err := yield(c); err != nil {
			return providers.ChangesResult{}, err
		}
	}
	return providers.ChangesResult{Checkpoint: []byte(strconv.FormatInt(rev, 10)), Complete: cp == nil}, nil
}

func (p *fakeProvider) Get(ctx context.Context, id string) (providers.Record, error) {
	if err := p.req(ctx, "GET /contacts/{id}"); err != nil {
		return providers.Record{}, err
	}
	for _, r := range p.sim.Snapshot() {
		if r.ID == id {
			return r, nil
		}
	}
	return providers.Record{}, &providers.Error{Class: providers.ClassNotFound, Op: "GET /contacts/{id}", Status: 404}
}

func (p *fakeProvider) find(ctx context.Context, match func(mapping.Person) bool) ([]providers.Record, error) {
	if err := p.req(ctx, "GET /contacts/search"); err != nil {
		return nil, err
	}
	var out []providers.Record
	for _, r := range p.sim.Snapshot() {
		if match(r.Person) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (p *fakeProvider) FindByEmail(ctx context.Context, email string) ([]providers.Record, error) {
	return p.find(ctx, func(q mapping.Person) bool { return slices.Contains(q.Emails, email) })
}

func (p *fakeProvider) FindByLinkedIn(ctx context.Context, url string) ([]providers.Record, error) {
	return p.find(ctx, func(q mapping.Person) bool { return q.LinkedIn == url })
}

func (p *fakeProvider) Create(ctx context.Context, q mapping.Person) (providers.Record, error) {
	if q.FirstName == "" && len(q.Emails) == 0 {
		return providers.Record{}, &providers.Error{Class: providers.ClassValidation, Op: "POST /contacts", Status: 422, Field: "name"}
	}
	if err := p.req(ctx, "POST /contacts"); err != nil {
		return providers.Record{}, err
	}
	p.sim.mu.Lock()
	defer p.sim.mu.Unlock()
	r := p.sim.insert(q)
	return providers.Record{ID: r.id, Person: r.p.Clone()}, nil
}

func (p *fakeProvider) Update(ctx context.Context, id string, _, desired mapping.Person) (providers.Record, error) {
	if err := p.req(ctx, "PATCH /contacts/{id}"); err != nil {
		return providers.Record{}, err
	}
	p.sim.mu.Lock()
	defer p.sim.mu.Unlock()
	r, ok := p.sim.byID[id]
	if !ok || r.deleted {
		return providers.Record{}, &providers.Error{Class: providers.ClassNotFound, Op: "PATCH /contacts/{id}", Status: 404}
	}
	r.p = restrict(desired)
	p.sim.rev++
	r.rev = p.sim.rev
	return providers.Record{ID: r.id, Person: r.p.Clone()}, nil
}

func (p *fakeProvider) Delete(ctx context.Context, id string, _ mapping.Person) error {
	if err := p.req(ctx, "DELETE /contacts/{id}"); err != nil {
		return err
	}
	if err := p.sim.UserDelete(id); err != nil {
		return &providers.Error{Class: providers.ClassNotFound, Op: "DELETE /contacts/{id}", Status: 404}
	}
	return nil
}

func (p *fakeProvider) LeadStages(ctx context.Context) ([]providers.StageOption, error) {
	return []providers.StageOption{{ID: "1", Name: "New"}}, nil
}

func (p *fakeProvider) PipelineStages(ctx context.Context) ([]providers.StageOption, error) {
	return nil, nil
}

func (p *fakeProvider) SetPipelineStage(ctx context.Context, id string, _ mapping.Person, stage string) error {
	return providers.Unsupported("set pipeline stage")
}

// mutant wraps the fake provider with one deliberate contract violation.
type mutant struct {
	*fakeProvider
	kind string
}

var _ providers.Provider = (*mutant)(nil)

func (m *mutant) List(ctx context.Context) iter.Seq2[providers.Record, error] {
	inner := m.fakeProvider.List(ctx)
	if m.kind != "dup-list" {
		return inner
	}
	return func(yield func(providers.Record, error) bool) {
		first := true
		for r, err := range inner {
			if !yield(r, err) {
				return
			}
			if first && err == nil {
				first = false
				if !yield(r, nil) {
					return
				}
			}
		}
	}
}

func (m *mutant) Changes(ctx context.Context, cp []byte, yield func(providers.Change) error) (providers.ChangesResult, error) {
	switch m.kind {
	case "stale-changes":
		if cp != nil {
			return providers.ChangesResult{Checkpoint: cp}, m.req(ctx, "GET /changes")
		}
	case "no-deletes":
		res, err := m.fakeProvider.Changes(ctx, cp, func(c providers.Change) error {
			if c.Kind == providers.ChangeDelete {
				return nil
			}
			return yield(c)
		})
		res.Complete = false
		return res, err
	}
	return m.fakeProvider.Changes(ctx, cp, yield)
}
