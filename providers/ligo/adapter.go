// Package ligo is crmsync's adapter for Ligo, an API Platform (Hydra JSON-LD)
// service: contacts are listed page by page (30 a page, following
// hydra:next), read by UUID, created with POST and updated with JSON
// merge-patch; the lead status is read-only and the pipeline state is written
// through its own route. Ligo has no contact delete route and no search.
package ligo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/mapping/ligomap"
	"github.com/crmsync/crmsync/providers"
)

// Kind is the provider kind of this adapter.
const Kind = "ligo"

// DefaultTimeout bounds a request when Options.Timeout is 0.
const DefaultTimeout = 30 * time.Second

// Operation names, as they appear in errors.
const (
	opGet      = "GET /api/contacts/{id}"
	opCreate   = "POST /api/contacts"
	opPatch    = "PATCH /api/contacts/{id}"
	opSetState = "PATCH /api/contacts/{id}/pipeline-state"
	opStates   = "GET /api/pipeline_states"
)

// Adapter is a Ligo connection. It is safe for concurrent use.
type Adapter struct {
	name    string
	base    string
	token   string
	client  *http.Client
	timeout time.Duration
	stages  mapping.StageMap
	aliases map[string]string
	region  string
	log     *slog.Logger

	// pipeMu guards pipeline, the cached pipeline-state catalog (nil until
	// first read).
	pipeMu   sync.RWMutex
	pipeline []providers.StageOption
}

var _ providers.Provider = (*Adapter)(nil)

// New builds an adapter. opts.BaseURL and the "token" credential are
// required; the error names a missing one, never a credential's value.
func New(opts providers.Options) (*Adapter, error) {
	base := strings.TrimRight(strings.TrimSpace(opts.BaseURL), "/")
	if base == "" {
		return nil, errors.New("ligo: base URL is required")
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("ligo: base URL must be an absolute http(s) URL")
	}
	token := strings.TrimSpace(opts.Credentials["token"])
	if token == "" {
		return nil, errors.New(`ligo: missing credential "token"`)
	}
	a := &Adapter{
		name:    opts.Name,
		base:    base,
		token:   token,
		client:  opts.HTTPClient,
		timeout: opts.Timeout,
		stages:  opts.Stages,
		aliases: opts.PipelineAliases,
		region:  opts.Region,
		log:     opts.Logger,
	}
	if a.client == nil {
		a.client = &http.Client{}
	}
	if a.timeout <= 0 {
		a.timeout = DefaultTimeout
	}
	if len(a.stages.In) == 0 && len(a.stages.Out) == 0 {
		a.stages = mapping.DefaultStageMap(Kind)
	}
	if a.region == "" {
		a.region = mapping.DefaultRegion
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	a.log = a.log.With("provider", Kind, "connection", a.name)
	return a, nil
}

// Kind returns "ligo".
func (a *Adapter) Kind() string { return Kind }

// Capabilities: Ligo holds names (one joined field), emails, phones,
// LinkedIn, company, position, address, website, notes, the read-only status
// and the pipeline state; it can read a contact by ID but has neither
// search nor delete.
func (a *Adapter) Capabilities() providers.Capabilities {
	return providers.Capabilities{
		Holds:        ligomap.Holds,
		Creates:      ligomap.Creates,
		Updates:      ligomap.Updates,
		RequireOneOf: []mapping.Field{mapping.FieldFirstName, mapping.FieldLastName},
		Get:          true,
		ChangeTimes:  true,
		JoinedName:   true,
	}
}

func (a *Adapter) record(c ligomap.Contact) providers.Record {
	p, at, issues := ligomap.ToPerson(c, a.stages, a.region)
	return providers.Record{ID: c.ID, Person: p, ChangedAt: at, Issues: issues}
}

func contactPath(id string) string { return "/api/contacts/" + url.PathEscape(id) }

// readContact sends a request answered by one contact and maps it.
func (a *Adapter) readContact(ctx context.Context, op, method, path string, body any, contentType string) (providers.Record, error) {
	resp, cancel, err := a.request(ctx, op, method, path, body, contentType)
	if err != nil {
		return providers.Record{}, err
	}
	defer cancel()
	defer resp.Body.Close()
	var c ligomap.Contact
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		return providers.Record{}, decodeError(ctx, op, err)
	}
	if c.ID == "" {
		return providers.Record{}, &providers.Error{Class: providers.ClassRetryable, Op: op, Status: resp.StatusCode, Err: errors.New("answer holds no contact id")}
	}
	return a.record(c), nil
}

// Get reads one contact; a contact deleted in Ligo answers ClassNotFound.
func (a *Adapter) Get(ctx context.Context, id string) (providers.Record, error) {
	if id == "" {
		return providers.Record{}, &providers.Error{Class: providers.ClassNotFound, Op: opGet, Message: "empty id"}
	}
	return a.readContact(ctx, opGet, http.MethodGet, contactPath(id), nil, "")
}

// FindByEmail is not supported: Ligo documents no search.
func (a *Adapter) FindByEmail(context.Context, string) ([]providers.Record, error) {
	return nil, providers.Unsupported("find by email")
}

// FindByLinkedIn is not supported: Ligo documents no search.
func (a *Adapter) FindByLinkedIn(context.Context, string) ([]providers.Record, error) {
	return nil, providers.Unsupported("find by LinkedIn")
}

// Delete is not supported: Ligo has no contact delete route.
func (a *Adapter) Delete(context.Context, string, mapping.Person) error {
	return providers.Unsupported("DELETE /api/contacts/{id}")
}

func noNameError(op string) error {
	return &providers.Error{Class: providers.ClassValidation, Op: op, Field: "name",
		Message: "Ligo requires a name: the person has neither first nor last name"}
}

// Create posts the person's creatable fields (name, emails, phones, company,
// position, address, website, LinkedIn, notes). The pipeline stage is not
// part of a create; the engine writes it with Update or SetPipelineStage.
func (a *Adapter) Create(ctx context.Context, p mapping.Person) (providers.Record, error) {
	in, err := ligomap.FromPerson(p)
	if err != nil {
		return providers.Record{}, noNameError(opCreate)
	}
	return a.readContact(ctx, opCreate, http.MethodPost, "/api/contacts", in, mediaJSON)
}

// Update sends a merge-patch of the PATCH fields that differ between current
// and desired (nothing when none do), then, when the pipeline stage differs,
// moves the contact through the pipeline-state route. A pipeline stage no
// Ligo state matches is not written and is reported in the record's Issues.
// It returns the contact as Ligo last answered it.
func (a *Adapter) Update(ctx context.Context, id string, current, desired mapping.Person) (providers.Record, error) {
	patch, err := ligomap.Diff(current, desired)
	if err != nil {
		return providers.Record{}, noNameError(opPatch)
	}
	var (
		rec    providers.Record
		have   bool
		issues []string
	)
	if len(patch) > 0 {
		rec, err = a.readContact(ctx, opPatch, http.MethodPatch, contactPath(id), patch, mediaMergePatch)
		if err != nil {
			return providers.Record{}, err
		}
		have = true
	}
	if !mapping.Equal(mapping.FieldPipelineStage, current.Get(mapping.FieldPipelineStage), desired.Get(mapping.FieldPipelineStage)) {
		r, ok, err := a.setState(ctx, id, desired.PipelineStage)
		switch {
		case err != nil:
			return providers.Record{}, err
		case ok:
			rec, have = r, true
		default:
			issues = append(issues, fmt.Sprintf("pipeline_stage: no Ligo pipeline state matches %q (not written)", desired.PipelineStage))
		}
	}
	if !have {
		if rec, err = a.Get(ctx, id); err != nil {
			return providers.Record{}, err
		}
	}
	rec.Issues = append(rec.Issues, issues...)
	return rec, nil
}

// SetPipelineStage moves contact id to the pipeline state whose name matches
// stage (mapping.MatchPipeline with the connection's aliases; the catalog is
// read again on a miss); "" removes it from the pipeline. A stage no state
// matches is ClassValidation and nothing is written.
func (a *Adapter) SetPipelineStage(ctx context.Context, id string, _ mapping.Person, stage string) error {
	_, ok, err := a.setState(ctx, id, stage)
	if err != nil {
		return err
	}
	if !ok {
		return &providers.Error{Class: providers.ClassValidation, Op: opSetState, Field: "pipeline_stage",
			Message: fmt.Sprintf("no Ligo pipeline state matches %q", stage)}
	}
	return nil
}

// setState writes the pipeline state matching stage; ok is false when none
// matches (nothing is sent).
func (a *Adapter) setState(ctx context.Context, id, stage string) (providers.Record, bool, error) {
	var body ligomap.PipelineStateInput
	if mapping.CollapseSpace(stage) != "" {
		stateID, ok, err := a.resolveState(ctx, stage)
		if err != nil || !ok {
			return providers.Record{}, false, err
		}
		body.StateID = &stateID
	}
	path := contactPath(id) + "/pipeline-state"
	rec, err := a.readContact(ctx, opSetState, http.MethodPatch, path, body, mediaMergePatch)
	var pe *providers.Error
	if errors.As(err, &pe) && pe.Status == http.StatusUnsupportedMediaType {
		// The docs' own example sends this route plain JSON; a server that
		// wants it gets it (content negotiation, not a retry of a failure).
		rec, err = a.readContact(ctx, opSetState, http.MethodPatch, path, body, mediaJSON)
	}
	if err != nil {
		return providers.Record{}, false, err
	}
	return rec, true, nil
}

// resolveState finds the ID of the pipeline state matching stage in the
// cached catalog, reading the catalog again on a miss.
func (a *Adapter) resolveState(ctx context.Context, stage string) (string, bool, error) {
	a.pipeMu.RLock()
	cached := a.pipeline
	a.pipeMu.RUnlock()
	if cached != nil {
		if id, ok := matchState(stage, cached, a.aliases); ok {
			return id, true, nil
		}
	}
	fresh, err := a.PipelineStages(ctx)
	if err != nil {
		return "", false, err
	}
	id, ok := matchState(stage, fresh, a.aliases)
	return id, ok, nil
}

func matchState(stage string, catalog []providers.StageOption, aliases map[string]string) (string, bool) {
	names := make([]string, len(catalog))
	for i, o := range catalog {
		names[i] = o.Name
	}
	name, ok := mapping.MatchPipeline(stage, names, aliases)
	if !ok {
		return "", false
	}
	for _, o := range catalog {
		if o.Name == name {
			return o.ID, true
		}
	}
	return "", false
}

// LeadStages returns Ligo's fixed, read-only statuses in Ligo's order (no
// request: the set is fixed).
func (a *Adapter) LeadStages(context.Context) ([]providers.StageOption, error) {
	out := make([]providers.StageOption, len(ligomap.Statuses))
	for i, s := range ligomap.Statuses {
		out[i] = providers.StageOption{ID: s, Name: s}
	}
	return out, nil
}

// PipelineStages reads every pipeline state (all pages) in Ligo's order and
// refreshes the adapter's cached catalog.
func (a *Adapter) PipelineStages(ctx context.Context) ([]providers.StageOption, error) {
	out := []providers.StageOption{}
	target := "/api/pipeline_states?page=1"
	for target != "" {
		resp, cancel, err := a.request(ctx, opStates, http.MethodGet, target, nil, "")
		if err != nil {
			return nil, err
		}
		n := 0
		next, err := decodeStatePage(resp.Body, func(s ligomap.PipelineStateItem) {
			n++
			out = append(out, providers.StageOption{ID: s.ID, Name: s.Name})
		})
		resp.Body.Close()
		cancel()
		if err != nil {
			return nil, decodeError(ctx, opStates, err)
		}
		nextTarget, err := resolveNext(next)
		if err != nil {
			return nil, &providers.Error{Class: providers.ClassPermanent, Op: opStates, Err: err}
		}
		if nextTarget == target || n == 0 {
			break
		}
		target = nextTarget
	}
	a.pipeMu.Lock()
	a.pipeline = out
	a.pipeMu.Unlock()
	return out, nil
}
