// Package nextlead is crmsync's adapter for NextLead CRM (API v2.1): it
// lists and watches contacts through the polling feeds, finds them by email
// or LinkedIn URL, creates, edits and soft-deletes them, maps lead stages to
// conversion status tags and moves a contact's sale between pipeline
// columns, returning *providers.Error for every failure.
package nextlead

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/mapping/nextleadmap"
	"github.com/crmsync/crmsync/providers"
)

// Kind is the provider kind.
const Kind = "nextlead"

// DefaultTimeout bounds a request when Options.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Routes, under /api/v2/.
const (
	routeNew        = "receive/contact/new-contact"
	routeEdit       = "receive/contact/edit-contact"
	routeDelete     = "receive/contact/delete-contact"
	routeFind       = "receive/contact/find-contact"
	routeConversion = "receive/contact/get-conversion"
	routeColumns    = "receive/sales/get-columns"
	routeCreateSale = "receive/sales/create-sale"
	routeUpdateSale = "receive/sales/update-sale"
	routeCreated    = "polling/contact/user-created"
	routeEdited     = "polling/contact/user-edited"
	routeDeleted    = "polling/contact/user-deleted"
)

// msgNoContactForSale is update-sale's 404 when the email matches no contact
// (its other 404 means the contact has no sale yet).
const msgNoContactForSale = "Contact non trouvé avec cet email"

// catalogRefresh is the least time between two catalog reloads caused by a
// miss.
const catalogRefresh = 10 * time.Second

// Adapter is the NextLead provider. It is safe for concurrent use.
type Adapter struct {
	name    string
	base    string
	apiKey  string
	client  *http.Client
	timeout time.Duration
	stages  mapping.StageMap
	aliases map[string]string
	region  string
	log     *slog.Logger

	tags    catalog
	columns catalog

	// dir remembers the stored LinkedIn strings of contacts without an
	// email and runs locate's refreshes.
	dir *directory
}

var _ providers.Provider = (*Adapter)(nil)

// New builds an adapter from opts. Credentials must hold "api_key"; an error
// names a missing key, never a value.
func New(opts providers.Options) (*Adapter, error) {
	key := strings.TrimSpace(opts.Credentials["api_key"])
	if key == "" {
		return nil, fmt.Errorf("nextlead %s: credentials: missing %q", opts.Name, "api_key")
	}
	base := strings.TrimRight(strings.TrimSpace(opts.BaseURL), "/")
	if base == "" {
		return nil, fmt.Errorf("nextlead %s: missing base URL", opts.Name)
	}
	base = strings.TrimSuffix(base, "/api/v2")
	a := &Adapter{
		name:    opts.Name,
		base:    base,
		apiKey:  key,
		client:  opts.HTTPClient,
		timeout: opts.Timeout,
		stages:  opts.Stages,
		aliases: opts.PipelineAliases,
		region:  opts.Region,
		log:     opts.Logger,
		dir:     newDirectory(),
	}
	if a.timeout <= 0 {
		a.timeout = DefaultTimeout
	}
	if a.client == nil {
		a.client = &http.Client{}
	}
	if a.stages.In == nil {
		a.stages = mapping.DefaultStageMap(Kind)
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	a.log = a.log.With("provider", Kind, "connection", opts.Name)
	return a, nil
}

// Kind returns "nextlead".
func (a *Adapter) Kind() string { return Kind }

// Capabilities says what NextLead can do.
func (a *Adapter) Capabilities() providers.Capabilities {
	return providers.Capabilities{
		Holds:          nextleadmap.Holds,
		Creates:        nextleadmap.Creates,
		Updates:        nextleadmap.Updates,
		RequireOneOf:   nextleadmap.RequireOneOf,
		Delete:         true,
		FindByEmail:    true,
		FindByLinkedIn: true,
		Get:            false,
		ChangeTimes:    true,
		UniqueEmail:    true,
	}
}

// record maps a wire contact.
func (a *Adapter) record(c *nextleadmap.Contact) providers.Record {
	p, at, issues := nextleadmap.ToPerson(c, a.stages, a.region)
	return providers.Record{ID: c.ID, Person: p, ChangedAt: at, Issues: issues}
}

// stream GETs a polling feed and calls each for every item, decoded token
// by token.
func (a *Adapter) stream(ctx context.Context, route string, each func(dec *json.Decoder) error) error {
	op := "GET /api/v2/" + route
	b, err := a.send(ctx, http.MethodGet, route, nil)
	if err != nil {
		return err
	}
	defer b.Close()
	err = streamList(b, each)
	if err == nil {
		return nil
	}
	var pe *providers.Error
	var ee *envelopeError
	var ye yieldError
	switch {
	case errors.As(err, &ye):
		return ye.err
	case errors.As(err, &pe):
		return err
	case errors.As(err, &ee):
		st, _ := strconv.Atoi(ee.status)
		if st < 400 {
			st = http.StatusBadGateway
		}
		raw, _ := json.Marshal(map[string]any{"error": ee.message})
		return statusError(op, st, "", raw)
	case ctx.Err() != nil:
		return &providers.Error{Class: providers.ClassPermanent, Op: op, Err: ctx.Err()}
	case errors.Is(context.Cause(b.ctx), errTimeout):
		return &providers.Error{Class: providers.ClassRetryable, Op: op, Err: errTimeout}
	default:
		// A body cut short or garbled: the next attempt may do better.
		return &providers.Error{Class: providers.ClassRetryable, Op: op, Err: fmt.Errorf("decode feed: %w", err)}
	}
}

// yieldError carries an error of the caller's callback through the decoder
// unchanged.
type yieldError struct{ err error }

func (e yieldError) Error() string { return e.err.Error() }

// decodeContact decodes one feed item; an item that is not a contact object
// is an error.
func decodeContact(dec *json.Decoder, c *nextleadmap.Contact) error {
	*c = nextleadmap.Contact{}
	if err := dec.Decode(c); err != nil {
		return fmt.Errorf("decode contact: %w", err)
	}
	return nil
}

// List streams every live contact (the user-created feed) exactly once. A
// listing read to its end refreshes the adapter's memory of the LinkedIn
// strings of contacts without an email.
func (a *Adapter) List(ctx context.Context) iter.Seq2[providers.Record, error] {
	return func(yield func(providers.Record, error) bool) {
		var c nextleadmap.Contact
		stopped := errors.New("stopped")
		start := a.dir.beginListing()
		err := a.stream(ctx, routeCreated, func(dec *json.Decoder) error {
			if err := decodeContact(dec, &c); err != nil {
				return err
			}
			if c.ID == "" {
				return nil
			}
			a.dir.see(&c, nil)
			if !yield(a.record(&c), nil) {
				return yieldError{stopped}
			}
			return nil
		})
		if err == nil {
			a.dir.endListing(start)
		}
		if err != nil && !errors.Is(err, stopped) {
			yield(providers.Record{}, fmt.Errorf("list contacts: %w", err))
		}
	}
}

// Get is not supported: NextLead has no route reading a contact by id.
func (a *Adapter) Get(context.Context, string) (providers.Record, error) {
	return providers.Record{}, providers.Unsupported("get contact")
}

// catalog caches a catalog read from the CRM, reloaded on a miss.
type catalog struct {
	mu      sync.Mutex
	opts    []providers.StageOption
	loaded  time.Time
	hasData bool
}

// get returns the cached catalog, loading it when absent, or when ok reports
// a miss on it and the last load is older than catalogRefresh.
func (c *catalog) get(ctx context.Context, load func(context.Context) ([]providers.StageOption, error),
	ok func([]providers.StageOption) bool) ([]providers.StageOption, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hasData && (ok == nil || ok(c.opts) || time.Since(c.loaded) < catalogRefresh) {
		return c.opts, nil
	}
	opts, err := load(ctx)
	if err != nil {
		return nil, err
	}
	c.opts, c.loaded, c.hasData = opts, time.Now(), true
	return opts, nil
}

// set stores a freshly read catalog.
func (c *catalog) set(opts []providers.StageOption) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.opts, c.loaded, c.hasData = opts, time.Now(), true
}

func names(opts []providers.StageOption) []string {
	out := make([]string, len(opts))
	for i, o := range opts {
		out[i] = o.Name
	}
	return out
}

// LeadStages reads the conversion status tags in the API's order (and
// refreshes the adapter's cached catalog).
func (a *Adapter) LeadStages(ctx context.Context) ([]providers.StageOption, error) {
	out, err := a.loadTags(ctx)
	if err != nil {
		return nil, err
	}
	a.tags.set(out)
	return out, nil
}

func (a *Adapter) loadTags(ctx context.Context) ([]providers.StageOption, error) {
	var tags []nextleadmap.Tag
	if err := a.call(ctx, http.MethodGet, routeConversion, nil, &tags); err != nil {
		return nil, fmt.Errorf("lead stages: %w", err)
	}
	out := make([]providers.StageOption, 0, len(tags))
	for _, t := range tags {
		out = append(out, providers.StageOption{ID: t.ID, Name: t.Name})
	}
	return out, nil
}

// tagNames returns the conversion status names, reloading the catalog when
// stage has no tag in the cached one.
func (a *Adapter) tagNames(ctx context.Context, stage mapping.Stage) ([]string, error) {
	if stage == "" {
		return nil, nil
	}
	opts, err := a.tags.get(ctx, a.loadTags, func(o []providers.StageOption) bool {
		return nextleadmap.StageWritable(stage, a.stages, names(o))
	})
	if err != nil {
		return nil, err
	}
	n := names(opts)
	if !nextleadmap.StageWritable(stage, a.stages, n) {
		a.log.Debug("no conversion status tag maps to lead stage; not written", "stage", stage)
	}
	return n, nil
}

// PipelineStages reads the sales columns, in column order (and refreshes
// the adapter's cached catalog).
func (a *Adapter) PipelineStages(ctx context.Context) ([]providers.StageOption, error) {
	out, err := a.loadColumns(ctx)
	if err != nil {
		return nil, err
	}
	a.columns.set(out)
	return out, nil
}

func (a *Adapter) loadColumns(ctx context.Context) ([]providers.StageOption, error) {
	var cols []nextleadmap.Column
	if err := a.call(ctx, http.MethodGet, routeColumns, nil, &cols); err != nil {
		return nil, fmt.Errorf("pipeline stages: %w", err)
	}
	sortColumns(cols)
	out := make([]providers.StageOption, 0, len(cols))
	for _, c := range cols {
		out = append(out, providers.StageOption{ID: c.ID, Name: c.Name})
	}
	return out, nil
}

func sortColumns(cols []nextleadmap.Column) {
	// Insertion sort, stable, by order: catalogs are small.
	for i := 1; i < len(cols); i++ {
		for j := i; j > 0 && cols[j].Order < cols[j-1].Order; j-- {
			cols[j], cols[j-1] = cols[j-1], cols[j]
		}
	}
}
