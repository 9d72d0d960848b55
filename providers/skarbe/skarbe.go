// Package skarbe is crmsync's adapter for Skarbe's connect API
// (https://api.skarbe.com): contacts are listed in full (no paging, no
// change times) and created; there is no update, delete or get-by-id route,
// so those calls answer providers.Unsupported. See providers.md, "skarbe".
package skarbe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/mapping/skarbemap"
	"github.com/crmsync/crmsync/providers"
)

// Kind is the provider kind of this adapter.
const Kind = "skarbe"

// DefaultBaseURL is Skarbe's public API address.
const DefaultBaseURL = "https://api.skarbe.com"

// The routes, as Op names and request counters spell them.
const (
	pathContacts     = "/api/connect/contacts"
	pathLeadStatuses = "/api/connect/contacts/lead-statuses"
	pathMe           = "/api/connect/me"

	opList         = "GET " + pathContacts
	opCreate       = "POST " + pathContacts
	opLeadStatuses = "GET " + pathLeadStatuses
	opMe           = "GET " + pathMe
)

// catalogMinRefresh is the least time between two catalog reads caused by a
// miss, so that a status type no stage maps to does not cost a request per
// record.
const catalogMinRefresh = 10 * time.Second

// Adapter is the Skarbe provider. It is safe for concurrent use.
type Adapter struct {
	name    string
	base    string
	apiKey  string
	client  *http.Client
	timeout time.Duration
	stages  mapping.StageMap
	region  string
	log     *slog.Logger

	// refreshMu serializes catalog reads; mu guards the cached catalog.
	refreshMu sync.Mutex
	mu        sync.RWMutex
	catalog   skarbemap.Catalog
	loaded    bool
	loadedAt  time.Time
	gen       uint64
}

var _ providers.Provider = (*Adapter)(nil)

// New builds a Skarbe adapter. opts.Credentials must hold "api_key"; an
// empty BaseURL means DefaultBaseURL.
func New(opts providers.Options) (*Adapter, error) {
	key := opts.Credentials["api_key"]
	if strings.TrimSpace(key) == "" {
		return nil, errors.New(`skarbe: missing credential "api_key"`)
	}
	base := strings.TrimRight(strings.TrimSpace(opts.BaseURL), "/")
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("skarbe: base URL %q is not an http(s) URL", base)
	}
	a := &Adapter{
		name:    opts.Name,
		base:    base,
		apiKey:  key,
		client:  opts.HTTPClient,
		timeout: opts.Timeout,
		stages:  opts.Stages,
		region:  opts.Region,
		log:     opts.Logger,
	}
	if a.name == "" {
		a.name = Kind
	}
	if a.timeout <= 0 {
		a.timeout = 30 * time.Second
	}
	if a.client == nil {
		// No client-wide timeout: the adapter bounds each request itself, and a
		// streamed listing may legitimately take longer than one timeout.
		a.client = &http.Client{}
	}
	if a.stages.In == nil && a.stages.Out == nil {
		a.stages = mapping.DefaultStageMap(Kind)
	}
	if a.region == "" {
		a.region = mapping.DefaultRegion
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	return a, nil
}

// Kind returns "skarbe".
func (a *Adapter) Kind() string { return Kind }

// Capabilities says what Skarbe can do: create and read, find by email.
func (a *Adapter) Capabilities() providers.Capabilities {
	return Capabilities()
}

// Capabilities returns Skarbe's capabilities, built from skarbemap's sets.
func Capabilities() providers.Capabilities {
	return providers.Capabilities{
		Holds:        skarbemap.Holds,
		Creates:      skarbemap.Creates,
		Updates:      skarbemap.Updates,
		RequireOneOf: append([]mapping.Field(nil), skarbemap.RequireOneOf...),
		Delete:       false,
		FindByEmail:  true,
		Get:          false,
		ChangeTimes:  false,
		UniqueEmail:  false,
		MaxEmails:    1,
	}
}

// errStop ends a stream early without error.
var errStop = errors.New("stop")

// stream lists the contacts matching query ("" for all), decoding the bare
// array one element at a time, and calls fn with each mapped record.
func (a *Adapter) stream(ctx context.Context, query string, fn func(providers.Record) error) error {
	q := url.Values{}
	if query != "" {
		q.Set("query", query)
	}
	resp, err := a.do(ctx, opList, http.MethodGet, pathContacts, q, nil)
	if err != nil {
		return err
	}
	defer resp.Close()
	dec := json.NewDecoder(resp.body)
	tok, err := dec.Token()
	if err != nil {
		return a.streamError(ctx, opList, err)
	}
	if tok == nil { // a null answer: no contacts
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return &providers.Error{Class: providers.ClassPermanent, Op: opList, Status: resp.StatusCode,
			Err: fmt.Errorf("malformed answer: want a JSON array, got %v", tok)}
	}
	for dec.More() {
		var c skarbemap.Contact
		if err := dec.Decode(&c); err != nil {
			return a.streamError(ctx, opList, err)
		}
		rec, err := a.toRecord(ctx, c)
		if err != nil {
			return err
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return a.streamError(ctx, opList, err)
	}
	return nil
}

// toRecord maps one contact, reading the catalog first when the contact's
// lead status is not in the cached one.
func (a *Adapter) toRecord(ctx context.Context, c skarbemap.Contact) (providers.Record, error) {
	cat, _ := a.cached()
	if skarbemap.NeedsCatalog(c, cat) {
		var err error
		if cat, err = a.refreshOnMiss(ctx); err != nil {
			return providers.Record{}, err
		}
	}
	p, issues := skarbemap.ToPerson(c, a.stages, a.region, cat)
	return providers.Record{ID: string(c.ID), Person: p, Issues: issues}, nil
}

// List streams every contact exactly once, in Skarbe's order (id ascending).
func (a *Adapter) List(ctx context.Context) iter.Seq2[providers.Record, error] {
	return func(yield func(providers.Record, error) bool) {
		err := a.stream(ctx, "", func(r providers.Record) error {
			if !yield(r, nil) {
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			yield(providers.Record{}, err)
		}
	}
}

// Changes streams the full list as upserts: Skarbe has no change times, so
// the result is Complete and the engine diffs against its base state (a
// contact missing from the list was deleted). The checkpoint stays empty.
func (a *Adapter) Changes(ctx context.Context, checkpoint []byte, yield func(providers.Change) error) (providers.ChangesResult, error) {
	err := a.stream(ctx, "", func(r providers.Record) error {
		return yield(providers.Change{Kind: providers.ChangeUpsert, Record: r})
	})
	if err != nil {
		return providers.ChangesResult{Checkpoint: checkpoint}, err
	}
	return providers.ChangesResult{Complete: true}, nil
}

// FindByEmail searches with query=email and keeps the contacts whose email,
// normalized, is email exactly (the search is a substring match).
func (a *Adapter) FindByEmail(ctx context.Context, email string) ([]providers.Record, error) {
	norm, err := mapping.NormalizeEmail(email)
	if err != nil {
		return nil, nil // no contact can hold an invalid address
	}
	want, _ := mapping.EmailKey(norm)
	var out []providers.Record
	err = a.stream(ctx, norm, func(r providers.Record) error {
		if k, err := mapping.EmailKey(r.Person.PrimaryEmail()); err == nil && k == want {
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Create posts a new contact with the fields Skarbe takes on create. A
// person with neither an email nor a first name, or with an invalid email, is
// refused before any request, with Skarbe's own message.
func (a *Adapter) Create(ctx context.Context, p mapping.Person) (providers.Record, error) {
	var cat skarbemap.Catalog
	if p.LeadStage != "" {
		var err error
		if cat, err = a.catalogFor(ctx, p.LeadStage); err != nil {
			return providers.Record{}, err
		}
	}
	body, err := skarbemap.FromPerson(p, a.stages, cat)
	switch {
	case errors.Is(err, skarbemap.ErrRequired):
		return providers.Record{}, &providers.Error{Class: providers.ClassValidation, Op: opCreate,
			Field: fieldOf(skarbemap.MsgRequired), Message: skarbemap.MsgRequired}
	case errors.Is(err, mapping.ErrInvalidEmail):
		return providers.Record{}, &providers.Error{Class: providers.ClassValidation, Op: opCreate,
			Field: fieldOf(skarbemap.MsgInvalidEmail), Message: skarbemap.MsgInvalidEmail}
	case err != nil:
		return providers.Record{}, &providers.Error{Class: providers.ClassValidation, Op: opCreate, Err: err}
	}
	resp, err := a.do(ctx, opCreate, http.MethodPost, pathContacts, nil, body)
	if err != nil {
		return providers.Record{}, err
	}
	defer resp.Close()
	var c skarbemap.Contact
	if err := json.NewDecoder(resp.body).Decode(&c); err != nil {
		return providers.Record{}, a.streamError(ctx, opCreate, err)
	}
	if c.ID == "" {
		return providers.Record{}, &providers.Error{Class: providers.ClassPermanent, Op: opCreate, Status: resp.StatusCode,
			Err: errors.New("malformed answer: the created contact has no id")}
	}
	if c.LeadStatus == nil && body.LeadStatus != "" {
		// The answer leaves leadStatus out; it holds the one written.
		c.LeadStatus = &skarbemap.LeadStatusRef{ID: body.LeadStatus}
	}
	rec, err := a.toRecord(ctx, c)
	if err != nil {
		return providers.Record{}, err
	}
	return rec, nil
}

// catalogFor returns the catalog to write stage with, reading it when none is
// cached or (at most every catalogMinRefresh) when no status fits the stage.
func (a *Adapter) catalogFor(ctx context.Context, stage mapping.Stage) (skarbemap.Catalog, error) {
	cat, loaded := a.cached()
	if !loaded {
		return a.refresh(ctx, 0, false)
	}
	if _, ok := cat.StatusFor(stage, a.stages); ok {
		return cat, nil
	}
	return a.refreshOnMiss(ctx)
}

// cached returns the cached catalog and whether one was ever read.
func (a *Adapter) cached() (skarbemap.Catalog, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.catalog, a.loaded
}

// refreshOnMiss reads the catalog again unless it was read within
// catalogMinRefresh, and returns the (possibly unchanged) catalog.
func (a *Adapter) refreshOnMiss(ctx context.Context) (skarbemap.Catalog, error) {
	a.mu.RLock()
	fresh := a.loaded && time.Since(a.loadedAt) < catalogMinRefresh
	cat, gen := a.catalog, a.gen
	a.mu.RUnlock()
	if fresh {
		return cat, nil
	}
	return a.refresh(ctx, gen, false)
}

// refresh reads the catalog unless (force aside) another caller has read it
// since generation seen, so concurrent misses cost one request.
func (a *Adapter) refresh(ctx context.Context, seen uint64, force bool) (skarbemap.Catalog, error) {
	a.refreshMu.Lock()
	defer a.refreshMu.Unlock()
	a.mu.RLock()
	if !force && a.loaded && a.gen != seen {
		cat := a.catalog
		a.mu.RUnlock()
		return cat, nil
	}
	a.mu.RUnlock()
	cat, err := a.readCatalog(ctx)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.catalog, a.loaded, a.loadedAt = cat, true, time.Now()
	a.gen++
	a.mu.Unlock()
	return cat, nil
}

// readCatalog reads GET /api/connect/contacts/lead-statuses.
func (a *Adapter) readCatalog(ctx context.Context) (skarbemap.Catalog, error) {
	resp, err := a.do(ctx, opLeadStatuses, http.MethodGet, pathLeadStatuses, nil, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Close()
	var cat skarbemap.Catalog
	if err := json.NewDecoder(resp.body).Decode(&cat); err != nil {
		return nil, a.streamError(ctx, opLeadStatuses, err)
	}
	return cat, nil
}

// LeadStages reads the lead-status catalog, sorted by order, and refreshes
// the adapter's cache with it. Each option carries the status type.
func (a *Adapter) LeadStages(ctx context.Context) ([]providers.StageOption, error) {
	cat, err := a.refresh(ctx, 0, true)
	if err != nil {
		return nil, err
	}
	ordered := cat.Ordered()
	out := make([]providers.StageOption, len(ordered))
	for i, s := range ordered {
		out[i] = providers.StageOption{ID: string(s.ID), Name: s.Label, Type: s.Type}
	}
	return out, nil
}

// Me is GET /api/connect/me: the authenticated user and workspace.
type Me struct {
	Details struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"details"`
	Workspace struct {
		Name string `json:"name"`
	} `json:"workspace"`
}

// Me reads the current user and workspace (a cheap credentials check).
func (a *Adapter) Me(ctx context.Context) (Me, error) {
	resp, err := a.do(ctx, opMe, http.MethodGet, pathMe, nil, nil)
	if err != nil {
		return Me{}, err
	}
	defer resp.Close()
	var me Me
	if err := json.NewDecoder(resp.body).Decode(&me); err != nil {
		return Me{}, a.streamError(ctx, opMe, err)
	}
	return me, nil
}

// PipelineStages returns nil: Skarbe has no pipelines.
func (a *Adapter) PipelineStages(context.Context) ([]providers.StageOption, error) { return nil, nil }

// Get is not supported: Skarbe has no get-by-id route.
func (a *Adapter) Get(context.Context, string) (providers.Record, error) {
	return providers.Record{}, providers.Unsupported("GET /api/connect/contacts/{id}")
}

// FindByLinkedIn is not supported: Skarbe's search covers names and email only.
func (a *Adapter) FindByLinkedIn(context.Context, string) ([]providers.Record, error) {
	return nil, providers.Unsupported("find contact by LinkedIn")
}

// Update is not supported: Skarbe has no update route.
func (a *Adapter) Update(context.Context, string, mapping.Person, mapping.Person) (providers.Record, error) {
	return providers.Record{}, providers.Unsupported("update contact")
}

// Delete is not supported: Skarbe has no delete route.
func (a *Adapter) Delete(context.Context, string, mapping.Person) error {
	return providers.Unsupported("delete contact")
}

// SetPipelineStage is not supported: Skarbe has no pipelines.
func (a *Adapter) SetPipelineStage(context.Context, string, mapping.Person, string) error {
	return providers.Unsupported("set pipeline stage")
}
