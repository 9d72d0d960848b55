package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/crmsync/crmsync/engine"
	"github.com/crmsync/crmsync/internal/admin"
	"github.com/crmsync/crmsync/internal/app"
	"github.com/crmsync/crmsync/internal/config"
	"github.com/crmsync/crmsync/internal/pgtest"
	"github.com/crmsync/crmsync/internal/simulate"
	"github.com/crmsync/crmsync/jobs"
	"github.com/crmsync/crmsync/providers"
)

// TestMain routes through pgtest so that the package's Postgres container is
// terminated when the tests end.
func TestMain(m *testing.M) { pgtest.Main(m) }

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fixture is an engine over the four simulators on a fresh database.
type fixture struct {
	app     *app.App
	client  *river.Client[pgx.Tx]
	metrics *admin.Metrics
	secrets []string
	logs    *syncBuffer
	logger  *slog.Logger
}

func newFixture(t *testing.T, people int) *fixture {
	t.Helper()
	ctx := t.Context()
	f := &fixture{logs: &syncBuffer{}}
	f.logger = slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := &config.Config{}
	for _, kind := range simulate.Kinds() {
		sim, err := simulate.NewSimulator(kind, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sim.Close)
		if _, err := simulate.SeedDataset(sim, kind, people, 1); err != nil {
			t.Fatalf("seed %s: %v", kind, err)
		}
		for _, v := range sim.Credentials() {
			if len(v) >= 6 {
				f.secrets = append(f.secrets, v)
			}
		}
		cfg.Connections = append(cfg.Connections, config.Connection{
			Name: kind, Provider: kind, BaseURL: sim.URL(), Credentials: sim.Credentials(),
			PollInterval: time.Hour, Timeout: 10 * time.Second,
		})
	}
	pool := pgtest.New(t)
	a, err := app.OpenPool(ctx, cfg, pool, f.logger)
	if err != nil {
		t.Fatal(err)
	}
	f.app = a
	f.metrics = admin.NewMetrics()
	cl, err := jobs.NewClient(pool, &jobs.Deps{Engine: a.Engine, Logger: f.logger}, jobs.ClientOptions{InsertOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	f.client = cl
	return f
}

// serve starts an admin server with opts completed from the fixture and
// returns its base URL.
func (f *fixture) serve(t *testing.T, opts admin.Options) (*admin.Server, string) {
	t.Helper()
	opts.Engine, opts.Pool, opts.Client, opts.Metrics, opts.Logger = f.app.Engine, f.app.Pool, f.client, f.metrics, f.logger
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	srv, err := admin.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	_, port, _ := net.SplitHostPort(srv.Addr())
	return srv, "http://127.0.0.1:" + port
}

// syncOnce polls every connection and pushes a batch to each, reporting
// both to the metrics the way the job hooks do.
func (f *fixture) syncOnce(t *testing.T) {
	t.Helper()
	ctx := t.Context()
	for _, c := range f.app.Engine.Conns() {
		start := time.Now()
		st, err := f.app.Engine.Poll(ctx, c)
		f.metrics.ObservePoll(c.Name(), st, time.Since(start), err)
		if err != nil {
			t.Fatalf("poll %s: %v", c.Name(), err)
		}
	}
	for _, c := range f.app.Engine.Conns() {
		start := time.Now()
		st, err := f.app.Engine.PushBatch(ctx, c, engine.PushOptions{Limit: 1000})
		f.metrics.ObservePush(c.Name(), st, time.Since(start), err)
		if err != nil {
			t.Fatalf("push %s: %v", c.Name(), err)
		}
	}
}

type response struct {
	code int
	body string
	ct   string
}

func get(t *testing.T, url string, header http.Header) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: read: %v", url, err)
	}
	return response{code: res.StatusCode, body: string(b), ct: res.Header.Get("Content-Type")}
}

// assertNoSecrets fails when a simulator credential or the admin token
// appears in s.
func assertNoSecrets(t *testing.T, what, s string, secrets []string) {
	t.Helper()
	for _, sec := range secrets {
		if sec != "" && strings.Contains(s, sec) {
			t.Errorf("%s contains a credential (%d chars)", what, len(sec))
		}
	}
}

func TestEndpoints(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 40)
	_, base := f.serve(t, admin.Options{})
	f.syncOnce(t)

	t.Run("healthz", func(t *testing.T) {
		r := get(t, base+"/healthz", nil)
		if r.code != 200 || strings.TrimSpace(r.body) != "ok" {
			t.Fatalf("/healthz = %d %q", r.code, r.body)
		}
	})
	t.Run("readyz", func(t *testing.T) {
		r := get(t, base+"/readyz", nil)
		if r.code != 200 || strings.TrimSpace(r.body) != "ready" {
			t.Fatalf("/readyz = %d %q", r.code, r.body)
		}
	})
	t.Run("metrics", func(t *testing.T) {
		r := get(t, base+"/metrics", nil)
		if r.code != 200 {
			t.Fatalf("/metrics = %d", r.code)
		}
		for _, fam := range []string{
			"# TYPE crmsync_records_pulled_total counter",
			"# TYPE crmsync_writes_total counter",
			"# TYPE crmsync_errors_total counter",
			"# TYPE crmsync_rate_limit_waits_total counter",
			"# TYPE crmsync_job_duration_seconds histogram",
			"# TYPE crmsync_propagation_lag_seconds histogram",
			"# TYPE go_goroutines gauge",
		} {
			if !strings.Contains(r.body, fam) {
				t.Errorf("/metrics lacks %q", fam)
			}
		}
		for _, series := range []string{
			`crmsync_writes_total{connection="ligo",kind="create"}`,
			`crmsync_errors_total{class="rate_limited",connection="epixel"}`,
			`crmsync_job_duration_seconds_count{connection="skarbe",job="push"} 1`,
			`crmsync_job_duration_seconds_count{connection="nextlead",job="poll"} 1`,
			`crmsync_propagation_lag_seconds_bucket{destination="nextlead",source="ligo",le="+Inf"}`,
		} {
			if !strings.Contains(r.body, series) {
				t.Errorf("/metrics lacks series %s", series)
			}
		}
		// The poll and push above read and wrote records.
		if strings.Contains(r.body, `crmsync_records_pulled_total{connection="nextlead"} 0`+"\n") {
			t.Errorf("no records pulled from nextlead recorded")
		}
		if !strings.Contains(r.body, "crmsync_propagation_lag_seconds_count") {
			t.Errorf("no propagation lag series")
		}
		assertNoSecrets(t, "/metrics", r.body, f.secrets)
	})
	t.Run("status.json", func(t *testing.T) {
		r := get(t, base+"/status.json", nil)
		if r.code != 200 || !strings.HasPrefix(r.ct, "application/json") {
			t.Fatalf("/status.json = %d %s", r.code, r.ct)
		}
		var st engine.Status
		if err := json.Unmarshal([]byte(r.body), &st); err != nil {
			t.Fatalf("/status.json is not JSON: %v", err)
		}
		got := map[string]int64{}
		for _, c := range st.Connections {
			got[c.Name] = c.Linked
		}
		for _, kind := range simulate.Kinds() {
			if n, ok := got[kind]; !ok || n == 0 {
				t.Errorf("status.json: connection %s linked = %d (present %v)", kind, n, ok)
			}
		}
		assertNoSecrets(t, "/status.json", r.body, f.secrets)
	})
	t.Run("health page", func(t *testing.T) {
		r := get(t, base+"/", nil)
		if r.code != 200 || !strings.HasPrefix(r.ct, "text/html") {
			t.Fatalf("/ = %d %s", r.code, r.ct)
		}
		for _, kind := range simulate.Kinds() {
			if !strings.Contains(r.body, `<tr class="conn" data-name="`+kind+`">`) {
				t.Errorf("health page has no row for %s", kind)
			}
		}
		for _, want := range []string{"Writes per minute", "<svg", "Skipped and failed writes", "Recent changes"} {
			if !strings.Contains(r.body, want) {
				t.Errorf("health page lacks %q", want)
			}
		}
		assertNoSecrets(t, "health page", r.body, f.secrets)
		if r := get(t, base+"/no-such-page", nil); r.code != 404 {
			t.Errorf("/no-such-page = %d, want 404", r.code)
		}
	})
	t.Run("riverui", func(t *testing.T) {
		r := get(t, base+"/riverui/", nil)
		if r.code != 200 {
			t.Fatalf("/riverui/ = %d %.200s", r.code, r.body)
		}
		if !strings.Contains(strings.ToLower(r.body), "<html") {
			t.Errorf("/riverui/ is not an HTML page: %.200s", r.body)
		}
	})
	assertNoSecrets(t, "logs", f.logs.String(), f.secrets)
}

// TestMetricsBeforeObservations checks that every crmsync family is exported
// from the start, before any poll or push.
func TestMetricsBeforeObservations(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5)
	_, base := f.serve(t, admin.Options{})
	r := get(t, base+"/metrics", nil)
	for _, fam := range []string{"crmsync_records_pulled_total", "crmsync_writes_total", "crmsync_errors_total",
		"crmsync_rate_limit_waits_total", "crmsync_job_duration_seconds", "crmsync_propagation_lag_seconds"} {
		if !strings.Contains(r.body, "# TYPE "+fam+" ") {
			t.Errorf("/metrics lacks family %s before any observation", fam)
		}
	}
	for _, c := range simulate.Kinds() {
		if !strings.Contains(r.body, `crmsync_records_pulled_total{connection="`+c+`"} 0`) {
			t.Errorf("/metrics lacks the zero series of %s", c)
		}
	}
}

func TestReadyzMigrationsNotCurrent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	_, base := f.serve(t, admin.Options{})
	if _, err := f.app.Pool.Exec(t.Context(), `DELETE FROM crmsync_migration WHERE version = (SELECT max(version) FROM crmsync_migration)`); err != nil {
		t.Fatal(err)
	}
	r := get(t, base+"/readyz", nil)
	if r.code != http.StatusServiceUnavailable || !strings.Contains(r.body, "crmsync migrate") {
		t.Fatalf("/readyz with a migration missing = %d %q, want 503 naming crmsync migrate", r.code, r.body)
	}
	if r := get(t, base+"/healthz", nil); r.code != 200 {
		t.Errorf("/healthz = %d, want 200 (liveness does not depend on the database)", r.code)
	}
}

func TestNonLoopbackNeedsToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:8080", "example.com:8080"} {
		_, err := admin.New(admin.Options{Addr: addr, Engine: f.app.Engine, Pool: f.app.Pool, Metrics: f.metrics, Logger: f.logger})
		if err == nil {
			t.Errorf("admin.New(%q) without a token succeeded", addr)
			continue
		}
		if !strings.Contains(err.Error(), "admin_token") || !strings.Contains(err.Error(), "CRMSYNC_ADMIN_TOKEN") {
			t.Errorf("admin.New(%q) error %q does not say how to set a token", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:0", "[::1]:0"} {
		srv, err := admin.New(admin.Options{Addr: addr, Engine: f.app.Engine, Pool: f.app.Pool, Metrics: f.metrics, Logger: f.logger})
		if err != nil {
			if addr == "[::1]:0" && strings.Contains(err.Error(), "cannot assign") {
				continue // no IPv6 loopback here
			}
			t.Errorf("admin.New(%q) without a token: %v", addr, err)
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = srv.Serve(ctx) // closes the listener
	}
}

func TestToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5)
	const token = "s3cret-admin-token-value"
	_, base := f.serve(t, admin.Options{Addr: "0.0.0.0:0", Token: token})
	bearer := http.Header{"Authorization": {"Bearer " + token}}
	for _, path := range []string{"/", "/metrics", "/readyz", "/status.json", "/riverui/"} {
		r := get(t, base+path, nil)
		if r.code != http.StatusUnauthorized {
			t.Errorf("%s without token = %d, want 401", path, r.code)
		}
		assertNoSecrets(t, path+" 401 body", r.body, []string{token})
		if r := get(t, base+path, http.Header{"Authorization": {"Bearer wrong"}}); r.code != http.StatusUnauthorized {
			t.Errorf("%s with a wrong token = %d, want 401", path, r.code)
		}
		if r := get(t, base+path, bearer); r.code != 200 {
			t.Errorf("%s with the bearer token = %d, want 200", path, r.code)
		}
		if r := get(t, base+path+"?token="+token, nil); r.code != 200 {
			t.Errorf("%s?token= = %d, want 200", path, r.code)
		}
	}
	// ?token= leaves a cookie that authorizes a browser's next requests
	// (the page's links, the River UI's API calls).
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/?token="+token, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "crmsync_admin_token" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly {
		t.Fatalf("?token= set no HttpOnly cookie: %v", res.Cookies())
	}
	if r := get(t, base+"/riverui/", http.Header{"Cookie": {cookie.Name + "=" + cookie.Value}}); r.code != 200 {
		t.Errorf("/riverui/ with the cookie = %d, want 200", r.code)
	}
	if r := get(t, base+"/metrics", http.Header{"Cookie": {"crmsync_admin_token=wrong"}}); r.code != http.StatusUnauthorized {
		t.Errorf("/metrics with a wrong cookie = %d, want 401", r.code)
	}
	if r := get(t, base+"/metrics?token=wrong", nil); r.code != http.StatusUnauthorized {
		t.Errorf("/metrics?token=wrong = %d, want 401", r.code)
	}
	// Liveness stays open for probes.
	if r := get(t, base+"/healthz", nil); r.code != 200 {
		t.Errorf("/healthz without token = %d, want 200", r.code)
	}
	assertNoSecrets(t, "logs", f.logs.String(), append([]string{token}, f.secrets...))
}

// TestMetricsInitIdempotent checks that Init may be called again (a second
// server on the same metrics) and keeps observed values.
func TestMetricsInitIdempotent(t *testing.T) {
	m := admin.NewMetrics()
	m.Init([]string{"a", "b"})
	m.ObservePush("a", engine.PushStats{Creates: 2, Lags: []engine.Lag{{Source: "b", Seconds: 1.5}}}, time.Second, nil)
	m.ObservePoll("b", engine.PollStats{}, time.Second, &providers.Error{Class: providers.ClassAuth})
	m.Init([]string{"a", "b"})
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, fam := range fams {
		found[fam.GetName()] = true
		if fam.GetName() == "crmsync_writes_total" {
			var total float64
			for _, mm := range fam.GetMetric() {
				total += mm.GetCounter().GetValue()
			}
			if total != 2 {
				t.Errorf("writes total = %v, want 2", total)
			}
		}
		if fam.GetName() == "crmsync_errors_total" {
			var auth float64
			for _, mm := range fam.GetMetric() {
				for _, l := range mm.GetLabel() {
					if l.GetName() == "class" && l.GetValue() == "auth" {
						auth += mm.GetCounter().GetValue()
					}
				}
			}
			if auth != 1 {
				t.Errorf("auth errors = %v, want 1", auth)
			}
		}
	}
	for _, name := range []string{"crmsync_records_pulled_total", "crmsync_writes_total", "crmsync_errors_total",
		"crmsync_rate_limit_waits_total", "crmsync_job_duration_seconds", "crmsync_propagation_lag_seconds"} {
		if !found[name] {
			t.Errorf("family %s not gathered", name)
		}
	}
}
