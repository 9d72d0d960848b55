// Package epixel is crmsync's adapter for the Epixel "Leads & CRM" API
// (providers.md, "epixel"): leads listed newest first through offset paging,
// read by slug, created, fully replaced and soft-deleted through multipart
// forms, behind an apikey header and a JWT access token the adapter obtains
// and renews by itself.
package epixel

import (
	"context"
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
	"github.com/crmsync/crmsync/mapping/epixelmap"
	"github.com/crmsync/crmsync/providers"
)

// DefaultTimeout bounds a request when Options.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// pageLimit is the page size the adapter asks for (the API's cap).
const pageLimit = 100

// Adapter is the Epixel provider. It is safe for concurrent use.
type Adapter struct {
	name     string
	base     string
	apiKey   string
	username string
	password string
	client   *http.Client
	timeout  time.Duration
	stages   mapping.StageMap
	region   string
	log      *slog.Logger

	tokMu    sync.Mutex
	access   string
	refresh  string
	gen      uint64
	renewSem chan struct{}
}

var _ providers.Provider = (*Adapter)(nil)

// New builds an Epixel adapter from opts. Credentials api_key, username and
// password are required; a missing one is an error naming the key, never a
// value.
func New(opts providers.Options) (*Adapter, error) {
	for _, k := range []string{"api_key", "username", "password"} {
		if strings.TrimSpace(opts.Credentials[k]) == "" {
			return nil, &providers.Error{Class: providers.ClassAuth, Op: "epixel: new adapter",
				Message: fmt.Sprintf("missing credential %q", k)}
		}
	}
	base := strings.TrimRight(strings.TrimSpace(opts.BaseURL), "/")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &providers.Error{Class: providers.ClassPermanent, Op: "epixel: new adapter",
			Message: "base_url must be an absolute http(s) URL such as https://<domain>/<api prefix>/<version>"}
	}
	a := &Adapter{
		name:     opts.Name,
		base:     base,
		apiKey:   opts.Credentials["api_key"],
		username: opts.Credentials["username"],
		password: opts.Credentials["password"],
		client:   opts.HTTPClient,
		timeout:  opts.Timeout,
		stages:   opts.Stages,
		region:   opts.Region,
		log:      opts.Logger,
		renewSem: make(chan struct{}, 1),
	}
	if a.timeout <= 0 {
		a.timeout = DefaultTimeout
	}
	if a.client == nil {
		a.client = &http.Client{Timeout: a.timeout}
	}
	if len(a.stages.In) == 0 && len(a.stages.Out) == 0 {
		a.stages = mapping.DefaultStageMap("epixel")
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	return a, nil
}

// Kind returns "epixel".
func (a *Adapter) Kind() string { return "epixel" }

// Capabilities says what Epixel can do: one email and one phone, first and
// last name, email and phone all required (an update is a full replace), no
// change times, get by slug, find by email through the list filter.
func (a *Adapter) Capabilities() providers.Capabilities {
	return providers.Capabilities{
		Holds:       epixelmap.Holds,
		Creates:     epixelmap.Creates,
		Updates:     epixelmap.Updates,
		Required:    append([]mapping.Field(nil), epixelmap.Required...),
		Delete:      true,
		FindByEmail: true,
		Get:         true,
		MaxEmails:   1,
		MaxPhones:   1,
	}
}

// record maps a lead to a providers.Record.
func (a *Adapter) record(l epixelmap.Lead) providers.Record {
	p, at, issues := epixelmap.ToPerson(l, a.stages, a.region)
	return providers.Record{ID: l.Slug, Person: p, ChangedAt: at, Issues: issues}
}

// List streams every live lead once, newest first, a page of 100 at a time.
func (a *Adapter) List(ctx context.Context) iter.Seq2[providers.Record, error] {
	return func(yield func(providers.Record, error) bool) {
		err := a.scan(ctx, nil, func(l epixelmap.Lead) bool {
			return yield(a.record(l), nil)
		})
		if err != nil && !errors.Is(err, errStop) {
			yield(providers.Record{}, err)
		}
	}
}

// checkpoint is the opaque value Changes returns: Epixel has no change
// feed, so every call pages through everything.
var checkpoint = []byte("epixel:full-scan:v1")

// Changes yields every live lead as an upsert (Epixel has no change time or
// feed) and returns Complete: a linked lead not yielded was deleted, which
// the engine confirms with Get.
func (a *Adapter) Changes(ctx context.Context, _ []byte, yield func(providers.Change) error) (providers.ChangesResult, error) {
	var yerr error
	err := a.scan(ctx, nil, func(l epixelmap.Lead) bool {
		yerr = yield(providers.Change{Kind: providers.ChangeUpsert, Record: a.record(l)})
		return yerr == nil
	})
	if yerr != nil {
		return providers.ChangesResult{}, yerr
	}
	if err != nil {
		return providers.ChangesResult{}, err
	}
	return providers.ChangesResult{Checkpoint: checkpoint, Complete: true}, nil
}

// Get reads lead id (its slug); ErrNotFound when it does not exist or was
// deleted.
func (a *Adapter) Get(ctx context.Context, id string) (providers.Record, error) {
	l, err := a.view(ctx, id)
	if err != nil {
		return providers.Record{}, err
	}
	return a.record(l), nil
}

func (a *Adapter) view(ctx context.Context, slug string) (epixelmap.Lead, error) {
	req := &request{method: http.MethodGet, route: "/leads/view/lead/", query: url.Values{"slug": {slug}}, auth: true}
	if strings.TrimSpace(slug) == "" {
		return epixelmap.Lead{}, &providers.Error{Class: providers.ClassNotFound, Op: req.op(), Message: "empty lead slug"}
	}
	var l epixelmap.Lead
	if err := a.call(ctx, req, &l); err != nil {
		return epixelmap.Lead{}, err
	}
	if l.Slug == "" {
		l.Slug = slug
	}
	return l, nil
}

// FindByEmail returns the live leads whose email is email, through the
// list's email filter (checked again here, case-insensitively).
func (a *Adapter) FindByEmail(ctx context.Context, email string) ([]providers.Record, error) {
	want, err := mapping.NormalizeEmail(email)
	if err != nil {
		return nil, nil
	}
	var out []providers.Record
	err = a.scan(ctx, url.Values{"email": {want}}, func(l epixelmap.Lead) bool {
		if e, err := mapping.NormalizeEmail(l.Email); err == nil && e == want {
			out = append(out, a.record(l))
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FindByLinkedIn is unsupported: Epixel holds no LinkedIn URL.
func (a *Adapter) FindByLinkedIn(context.Context, string) ([]providers.Record, error) {
	return nil, providers.Unsupported("epixel: find by LinkedIn")
}

const (
	opCreate = "POST /leads/create/lead/"
	opUpdate = "POST /leads/update/lead/"
)

// fieldError turns a map-side refusal into a validation error sent nowhere.
func fieldError(op string, err error) error {
	var fe *epixelmap.FieldError
	if errors.As(err, &fe) {
		return &providers.Error{Class: providers.ClassValidation, Op: op, Field: string(fe.Field), Message: fe.Message}
	}
	return &providers.Error{Class: providers.ClassValidation, Op: op, Err: err}
}

// Create writes p as a new lead. A person without first name, last name,
// email or a phone in Epixel's format is refused before anything is sent.
func (a *Adapter) Create(ctx context.Context, p mapping.Person) (providers.Record, error) {
	f, err := epixelmap.FromPerson(p, a.stages, a.region)
	if err != nil {
		return providers.Record{}, fieldError(opCreate, err)
	}
	var l epixelmap.Lead
	if err := a.call(ctx, &request{method: http.MethodPost, route: "/leads/create/lead/", form: f.Pairs(), auth: true}, &l); err != nil {
		return providers.Record{}, err
	}
	if l.Slug == "" {
		return providers.Record{}, &providers.Error{Class: providers.ClassPermanent, Op: opCreate, Message: "answer holds no lead slug"}
	}
	return a.record(l), nil
}

// Update makes lead id hold desired. The update route is a full replace, so
// the lead is read first and the values crmsync does not manage (source, and
// fields crmsync has never had a value for) are sent back unchanged.
func (a *Adapter) Update(ctx context.Context, id string, current, desired mapping.Person) (providers.Record, error) {
	existing, err := a.view(ctx, id)
	if err != nil {
		return providers.Record{}, err
	}
	f, err := epixelmap.UpdateForm(existing, current, desired, a.stages, a.region)
	if err != nil {
		return providers.Record{}, fieldError(opUpdate, err)
	}
	var l epixelmap.Lead
	if err := a.call(ctx, &request{method: http.MethodPost, route: "/leads/update/lead/", form: f.Pairs(), auth: true}, &l); err != nil {
		return providers.Record{}, err
	}
	if l.Slug == "" {
		// Tolerate an answer without the lead: report what was sent.
		l = epixelmap.Lead{Slug: id, FirstName: f.FirstName, LastName: f.LastName, Email: f.Email, Phone: f.Phone,
			Location: f.Location, Message: f.Message, Status: f.Status, Source: f.Source, Assignee: f.Assignee,
			CreatedAt: existing.CreatedAt}
	}
	return a.record(l), nil
}

// Delete soft-deletes lead id; ErrNotFound when it does not exist or is
// already deleted.
func (a *Adapter) Delete(ctx context.Context, id string, _ mapping.Person) error {
	return a.call(ctx, &request{method: http.MethodPost, route: "/leads/delete/lead/", form: [][2]string{{"slug", id}}, auth: true}, nil)
}

// LeadStages returns Epixel's fixed status catalog, in the API's order. No
// request is made: the statuses are a fixed choice list.
func (a *Adapter) LeadStages(context.Context) ([]providers.StageOption, error) {
	out := make([]providers.StageOption, len(epixelmap.Statuses))
	for i, s := range epixelmap.Statuses {
		out[i] = providers.StageOption{ID: s, Name: s}
	}
	return out, nil
}

// PipelineStages returns nil: Epixel has no pipeline.
func (a *Adapter) PipelineStages(context.Context) ([]providers.StageOption, error) { return nil, nil }

// SetPipelineStage is unsupported: Epixel has no pipeline.
func (a *Adapter) SetPipelineStage(context.Context, string, mapping.Person, string) error {
	return providers.Unsupported("epixel: set pipeline stage")
}
