package providers

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/crmsync/crmsync/mapping"
)

// Options configures one adapter: a connection of the config, resolved.
type Options struct {
	// Name is the connection's name (for logs and errors).
	Name string
	// BaseURL is the CRM's base URL (for Epixel it includes the API prefix
	// and version).
	BaseURL string
	// Credentials holds the provider's secrets: nextlead and skarbe
	// {api_key}; epixel {api_key, username, password}; ligo {token}. They
	// never appear in errors or logs.
	Credentials map[string]string
	// HTTPClient sends the requests; nil means a client with Timeout. The
	// engine passes one whose transport applies the fleet-wide rate limit.
	HTTPClient *http.Client
	// Timeout bounds every request; 0 means 30 s.
	Timeout time.Duration
	// Stages maps lead stages; the zero value means the provider's default
	// (mapping.DefaultStageMap).
	Stages mapping.StageMap
	// PipelineAliases maps pipeline stage names (see mapping.MatchPipeline).
	PipelineAliases map[string]string
	// Region is the default phone region; "" means mapping.DefaultRegion.
	Region string
	// Logger receives debug logs; nil means slog.Default().
	Logger *slog.Logger
}

// Simulator is a provider's fake CRM: an HTTP server that behaves as
// providers.md says the real service does, and that tests, the demo and the
// benchmark seed, inspect and edit from Go. Every simulator package
// (providers/<name>/<name>test) implements it.
type Simulator interface {
	// Kind names the provider simulated.
	Kind() string
	// URL is the base URL to put in a connection's base_url.
	URL() string
	// Credentials are the credentials the simulator accepts, in the config's
	// shape for this provider.
	Credentials() map[string]string
	// Close stops the server.
	Close()
	// Seed stores people as a user would have typed them in the CRM's
	// screens, bypassing the API (no request is counted), and returns their
	// IDs in order. A person the CRM cannot hold at all is an error.
	Seed(people []mapping.Person) ([]string, error)
	// Snapshot returns every live record mapped to canonical fields, in the
	// CRM's listing order.
	Snapshot() []Record
	// UserEdit changes record id as a person using the CRM's screens would:
	// the change shows in the CRM's change detection (feeds, timestamps,
	// content). edit receives the record's canonical view; fields the CRM
	// does not hold are ignored.
	UserEdit(id string, edit func(p *mapping.Person)) error
	// UserDelete deletes record id as a person using the CRM's screens would.
	UserDelete(id string) error
	// SetRateLimit limits accepted requests to n in any sliding second per
	// credential (0: no limit); over it the CRM answers 429 + Retry-After.
	SetRateLimit(n int)
	// SetFaults makes fraction (0..1) of requests answer 500, 502 or 503; a
	// faulted write may still have been applied (a lost reply).
	SetFaults(fraction float64)
	// SetLatency adds d to every answer.
	SetLatency(d time.Duration)
	// Requests returns the count of answered requests by route, keyed like
	// "GET /api/contacts" (path templates, not concrete IDs), 429s and
	// faults included.
	Requests() map[string]int64
}
