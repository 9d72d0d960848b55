// Package config reads crmsync's YAML configuration: the database, the
// connections to CRMs and their per-connection options. Every error names the
// key and its line; secrets are redacted wherever the config is printed.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/crmsync/crmsync/mapping"
)

// Providers lists the provider kinds crmsync knows.
var Providers = []string{"nextlead", "skarbe", "epixel", "ligo"}

// credentialKeys lists, per provider, the credentials it needs.
var credentialKeys = map[string][]string{
	"nextlead": {"api_key"},
	"skarbe":   {"api_key"},
	"epixel":   {"api_key", "username", "password"},
	"ligo":     {"token"},
}

// Defaults for optional keys.
const (
	DefaultPollInterval = 30 * time.Second
	DefaultTimeout      = 30 * time.Second
	DefaultPath         = "crmsync.yaml"
)

// Config is the whole configuration file.
type Config struct {
	// Path is the file the config was read from ("" when built in code).
	Path string
	// DatabaseURL is the Postgres connection string; CRMSYNC_DATABASE_URL
	// overrides it.
	DatabaseURL string
	// AdminToken protects the admin HTTP server on non-loopback addresses;
	// CRMSYNC_ADMIN_TOKEN overrides it.
	AdminToken string
	// PhoneRegion is the default region for phone numbers (default FR).
	PhoneRegion string
	// Connections are the CRMs to keep in step.
	Connections []Connection
}

// Connection is one CRM account crmsync syncs.
type Connection struct {
	// Name is unique, [a-z0-9-]+.
	Name string
	// Provider is nextlead, skarbe, epixel or ligo.
	Provider string
	// BaseURL is the CRM's base URL.
	BaseURL string
	// Credentials are the provider's secrets (see credentialKeys).
	Credentials map[string]string
	// PollInterval is how often the connection is polled (default 30 s).
	PollInterval time.Duration
	// RateLimit is the fleet-wide number of requests per second (0: none).
	RateLimit float64
	// Priority breaks last-writer-wins ties: the higher wins.
	Priority int
	// PropagateDeletes sends deletes seen here to the other CRMs.
	PropagateDeletes bool
	// Timeout bounds each request to the CRM (default 30 s).
	Timeout time.Duration
	// PhoneRegion overrides the config's default phone region.
	PhoneRegion string
	// StageMap maps the CRM's lead-stage values to canonical stages,
	// overriding the defaults.
	StageMap map[string]string
	// StageOutbound names the CRM value to write for a canonical stage.
	StageOutbound map[string]string
	// PipelineAliases maps pipeline stage names (canonical ↔ this CRM's).
	PipelineAliases map[string]string
	// Line is the config line the connection starts on.
	Line int
}

// Stages returns the connection's lead-stage map: the provider's default
// with the overrides applied.
func (c Connection) Stages() (mapping.StageMap, error) {
	return mapping.DefaultStageMap(c.Provider).With(c.StageMap, c.StageOutbound)
}

// Region returns the phone region for this connection.
func (c Connection) Region(cfg *Config) string {
	if c.PhoneRegion != "" {
		return c.PhoneRegion
	}
	if cfg != nil && cfg.PhoneRegion != "" {
		return cfg.PhoneRegion
	}
	return mapping.DefaultRegion
}

// Connection returns the connection named name.
func (c *Config) Connection(name string) (Connection, bool) {
	for _, conn := range c.Connections {
		if conn.Name == name {
			return conn, true
		}
	}
	return Connection{}, false
}

// Error is a config error at a line.
type Error struct {
	Path string
	Line int
	Key  string
	Msg  string
}

func (e *Error) Error() string {
	loc := e.Path
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.Path, e.Line)
	}
	if e.Key != "" {
		return fmt.Sprintf("%s: %s: %s", loc, e.Key, e.Msg)
	}
	return fmt.Sprintf("%s: %s", loc, e.Msg)
}

// Load reads the config from path ("" means CRMSYNC_CONFIG, else
// ./crmsync.yaml), expands ${VAR} from the environment and applies the
// CRMSYNC_DATABASE_URL and CRMSYNC_ADMIN_TOKEN overrides.
func Load(path string) (*Config, error) {
	if path == "" {
		path = os.Getenv("CRMSYNC_CONFIG")
	}
	if path == "" {
		path = DefaultPath
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data, os.LookupEnv)
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// Parse parses config data; path names it in errors; lookup reads the
// environment (os.LookupEnv).
func Parse(path string, data []byte, lookup func(string) (string, bool)) (*Config, error) {
	// ${VAR} references become YAML-safe placeholders before parsing (the
	// documented form {api_key: ${KEY}} is not valid YAML otherwise, and a
	// secret's characters must not change the document's structure); each
	// scalar expands them after parsing, so errors keep their line.
	var names []string
	data = envRef.ReplaceAllFunc(data, func(m []byte) []byte {
		names = append(names, string(envRef.FindSubmatch(m)[1]))
		return []byte(fmt.Sprintf("__crmsync_env_%d__", len(names)-1))
	})
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &Error{Path: path, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	p := &parser{path: path, lookup: lookup, names: names}
	cfg := &Config{Path: path}
	if len(doc.Content) == 0 {
		return nil, &Error{Path: path, Msg: "empty config"}
	}
	root := doc.Content[0]
	if err := p.mapping(root, "", func(key string, k, v *yaml.Node) error {
		switch key {
		case "database_url":
			return p.str(v, key, &cfg.DatabaseURL)
		case "admin_token":
			return p.str(v, key, &cfg.AdminToken)
		case "phone_region":
			return p.str(v, key, &cfg.PhoneRegion)
		case "connections":
			if v.Kind != yaml.SequenceNode {
				return p.errf(v, key, "want a list of connections, got %s", kindName(v))
			}
			for i, item := range v.Content {
				conn, err := p.connection(item, fmt.Sprintf("connections[%d]", i))
				if err != nil {
					return err
				}
				cfg.Connections = append(cfg.Connections, conn)
			}
			return nil
		}
		return p.errf(k, key, "unknown key")
	}); err != nil {
		return nil, err
	}
	if v, ok := lookup("CRMSYNC_DATABASE_URL"); ok && v != "" {
		cfg.DatabaseURL = v
	}
	if v, ok := lookup("CRMSYNC_ADMIN_TOKEN"); ok && v != "" {
		cfg.AdminToken = v
	}
	seen := map[string]int{}
	for i, c := range cfg.Connections {
		if prev, dup := seen[c.Name]; dup {
			return nil, &Error{Path: path, Line: c.Line, Key: fmt.Sprintf("connections[%d].name", i),
				Msg: fmt.Sprintf("duplicate connection name %q (also at line %d)", c.Name, prev)}
		}
		seen[c.Name] = c.Line
	}
	return cfg, nil
}

type parser struct {
	path   string
	lookup func(string) (string, bool)
	names  []string
}

var placeholder = regexp.MustCompile(`__crmsync_env_(\d+)__`)

func (p *parser) errf(n *yaml.Node, key, format string, args ...any) error {
	return &Error{Path: p.path, Line: n.Line, Key: key, Msg: fmt.Sprintf(format, args...)}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

func (p *parser) mapping(n *yaml.Node, prefix string, each func(key string, k, v *yaml.Node) error) error {
	if n.Kind != yaml.MappingNode {
		return p.errf(n, strings.TrimSuffix(prefix, "."), "want a mapping of keys, got %s", kindName(n))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			return p.errf(k, prefix+k.Value, "key given twice")
		}
		seen[k.Value] = true
		if err := each(k.Value, k, v); err != nil {
			var ce *Error
			if errors.As(err, &ce) && ce.Key != "" && !strings.HasPrefix(ce.Key, prefix) {
				ce.Key = prefix + ce.Key
			}
			return err
		}
	}
	return nil
}

// scalar returns the node's value with ${VAR} expanded.
func (p *parser) scalar(n *yaml.Node, key string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", p.errf(n, key, "want a single value, got %s", kindName(n))
	}
	var missing string
	out := placeholder.ReplaceAllStringFunc(n.Value, func(m string) string {
		i, _ := strconv.Atoi(placeholder.FindStringSubmatch(m)[1])
		name := p.names[i]
		v, ok := p.lookup(name)
		if !ok && missing == "" {
			missing = name
		}
		return v
	})
	if missing != "" {
		return "", p.errf(n, key, "environment variable %s is not set", missing)
	}
	return out, nil
}

func (p *parser) str(n *yaml.Node, key string, dst *string) error {
	if n.Kind == yaml.ScalarNode && n.Tag != "!!str" && n.Tag != "!!null" && n.Style == 0 && n.Tag != "" {
		// Numbers and booleans are accepted as strings only when quoted.
		if n.Tag == "!!bool" || n.Tag == "!!float" {
			return p.errf(n, key, "want a string, got %s", kindName(n))
		}
	}
	s, err := p.scalar(n, key)
	if err != nil {
		return err
	}
	*dst = s
	return nil
}

func (p *parser) strMap(n *yaml.Node, key string) (map[string]string, error) {
	out := map[string]string{}
	err := p.mapping(n, key+".", func(k string, _, v *yaml.Node) error {
		s, err := p.scalar(v, k)
		if err != nil {
			return err
		}
		out[k] = s
		return nil
	})
	return out, err
}

var connName = regexp.MustCompile(`^[a-z0-9-]+$`)

func (p *parser) connection(n *yaml.Node, prefix string) (Connection, error) {
	c := Connection{Line: n.Line}
	var credNode *yaml.Node
	err := p.mapping(n, prefix+".", func(key string, k, v *yaml.Node) error {
		switch key {
		case "name":
			return p.str(v, key, &c.Name)
		case "provider":
			return p.str(v, key, &c.Provider)
		case "base_url":
			return p.str(v, key, &c.BaseURL)
		case "credentials":
			credNode = v
			m, err := p.strMap(v, key)
			c.Credentials = m
			return err
		case "poll_interval", "timeout":
			s, err := p.scalar(v, key)
			if err != nil {
				return err
			}
			d, err := time.ParseDuration(s)
			if err != nil || d <= 0 {
				return p.errf(v, key, "want a positive duration like 30s, got %q", s)
			}
			if key == "poll_interval" {
				c.PollInterval = d
			} else {
				c.Timeout = d
			}
			return nil
		case "rate_limit":
			s, err := p.scalar(v, key)
			if err != nil {
				return err
			}
			r, err := ParseRate(s)
			if err != nil {
				return p.errf(v, key, "%v", err)
			}
			c.RateLimit = r
			return nil
		case "priority":
			s, err := p.scalar(v, key)
			if err != nil {
				return err
			}
			i, err := strconv.Atoi(s)
			if err != nil {
				return p.errf(v, key, "want an integer, got %q", s)
			}
			c.Priority = i
			return nil
		case "propagate_deletes":
			s, err := p.scalar(v, key)
			if err != nil {
				return err
			}
			b, err := strconv.ParseBool(s)
			if err != nil {
				return p.errf(v, key, "want true or false, got %q", s)
			}
			c.PropagateDeletes = b
			return nil
		case "phone_region":
			return p.str(v, key, &c.PhoneRegion)
		case "stage_map", "stage_outbound", "pipeline_aliases":
			m, err := p.strMap(v, key)
			if err != nil {
				return err
			}
			switch key {
			case "stage_map":
				c.StageMap = m
			case "stage_outbound":
				c.StageOutbound = m
			default:
				c.PipelineAliases = m
			}
			return nil
		}
		return p.errf(k, key, "unknown key")
	})
	if err != nil {
		return c, err
	}
	at := func(key string) *Error { return &Error{Path: p.path, Line: n.Line, Key: prefix + "." + key} }
	if c.Name == "" {
		e := at("name")
		e.Msg = "missing"
		return c, e
	}
	if !connName.MatchString(c.Name) {
		e := at("name")
		e.Msg = fmt.Sprintf("%q must match [a-z0-9-]+", c.Name)
		return c, e
	}
	keys, ok := credentialKeys[c.Provider]
	if !ok {
		e := at("provider")
		e.Msg = fmt.Sprintf("unknown provider %q (want one of %s)", c.Provider, strings.Join(Providers, ", "))
		return c, e
	}
	if c.BaseURL == "" {
		e := at("base_url")
		e.Msg = "missing"
		return c, e
	}
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		e := at("base_url")
		e.Msg = "want an http or https URL"
		return c, e
	}
	for _, k := range keys {
		if c.Credentials[k] == "" {
			e := at("credentials." + k)
			if credNode != nil {
				e.Line = credNode.Line
			}
			e.Msg = fmt.Sprintf("missing credential for provider %s", c.Provider)
			return c, e
		}
	}
	for k := range c.Credentials {
		if !contains(keys, k) {
			e := at("credentials." + k)
			if credNode != nil {
				e.Line = credNode.Line
			}
			e.Msg = fmt.Sprintf("unknown credential for provider %s (want %s)", c.Provider, strings.Join(keys, ", "))
			return c, e
		}
	}
	if _, err := c.Stages(); err != nil {
		e := at("stage_map")
		e.Msg = err.Error()
		return c, e
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ParseRate parses "N/s", "N/m" or "N/h" (N may be fractional) into requests
// per second.
func ParseRate(s string) (float64, error) {
	num, unit, ok := strings.Cut(strings.TrimSpace(s), "/")
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if !ok || err != nil || n <= 0 {
		return 0, fmt.Errorf("want a rate like 10/s, got %q", s)
	}
	switch strings.TrimSpace(unit) {
	case "s":
		return n, nil
	case "m":
		return n / 60, nil
	case "h":
		return n / 3600, nil
	}
	return 0, fmt.Errorf("want a rate like 10/s (unit s, m or h), got %q", s)
}

// Redacted returns a copy of c safe to print: credential values, the admin
// token and the database password replaced by "REDACTED".
func (c *Config) Redacted() *Config {
	r := *c
	r.DatabaseURL = RedactURL(c.DatabaseURL)
	if r.AdminToken != "" {
		r.AdminToken = "REDACTED"
	}
	r.Connections = make([]Connection, len(c.Connections))
	for i, conn := range c.Connections {
		creds := make(map[string]string, len(conn.Credentials))
		for k := range conn.Credentials {
			creds[k] = "REDACTED"
		}
		conn.Credentials = creds
		r.Connections[i] = conn
	}
	return &r
}

// RedactURL hides the password of a connection URL.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		if strings.Contains(s, "password=") {
			return regexp.MustCompile(`password=\S+`).ReplaceAllString(s, "password=REDACTED")
		}
		return s
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "REDACTED")
	}
	return u.String()
}

// String renders the config redacted.
func (c *Config) String() string {
	r := c.Redacted()
	var b strings.Builder
	fmt.Fprintf(&b, "database_url: %s\n", r.DatabaseURL)
	for _, conn := range r.Connections {
		fmt.Fprintf(&b, "- %s (%s) %s poll=%s rate=%g/s priority=%d credentials=%v\n",
			conn.Name, conn.Provider, conn.BaseURL, conn.PollInterval, conn.RateLimit, conn.Priority, conn.Credentials)
	}
	return b.String()
}
