package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/crmsync/crmsync/engine"
	"github.com/crmsync/crmsync/internal/dataset"
	"github.com/crmsync/crmsync/internal/pgtest"
	"github.com/crmsync/crmsync/internal/simulate"
	"github.com/crmsync/crmsync/internal/verify"
	"github.com/crmsync/crmsync/providers"
)

// binPath is the crmsync binary TestMain builds.
var binPath string

func TestMain(m *testing.M) {
	// The pgtest watchdog is this binary started again: it must not build.
	if os.Getenv("CRMSYNC_PGTEST_WATCHDOG_CONTAINER") == "" {
		flag.Parse()
		if !testing.Short() {
			if err := buildBinary(); err != nil {
				fmt.Fprintf(os.Stderr, "integration: %v\n", err)
				os.Exit(1)
			}
		}
	}
	pgtest.Main(m)
}

// buildBinary builds ./cmd/crmsync into a fresh temporary folder. pgtest.Main
// exits the process, so the folder cannot be removed afterwards: folders of
// earlier runs older than an hour are removed instead.
func buildBinary() error {
	old, _ := filepath.Glob(filepath.Join(os.TempDir(), "crmsync-integration-*"))
	for _, d := range old {
		if fi, err := os.Stat(d); err == nil && time.Since(fi.ModTime()) > time.Hour {
			_ = os.RemoveAll(d)
		}
	}
	dir, err := os.MkdirTemp("", "crmsync-integration-")
	if err != nil {
		return fmt.Errorf("build crmsync: %w", err)
	}
	binPath = filepath.Join(dir, "crmsync")
	cmd := exec.Command("go", "build", "-o", binPath, "./cmd/crmsync")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/crmsync: %w\n%s", err, out)
	}
	return nil
}

// options describe one scenario's setup.
type options struct {
	people int
	seed   int64
	poll   time.Duration
	// rateLimit sets `rate_limit` per connection name, e.g. "20/s".
	rateLimit map[string]string
	// record puts a recording proxy in front of these simulators.
	record []string
	// env is added to the workers' environment.
	env []string
}

// harness is one scenario's world: its database, simulators and workers.
type harness struct {
	t       *testing.T
	dir     string
	dbURL   string
	pool    *pgxpool.Pool
	kinds   []string
	sims    map[string]providers.Simulator
	caps    map[string]providers.Capabilities
	proxies map[string]*recorder
	cfgPath string
	data    dataset.Dataset

	workerEnv []string

	mu      sync.Mutex
	workers []*worker
}

func newHarness(t *testing.T, o options) *harness {
	t.Helper()
	if o.people == 0 {
		o.people = 150
	}
	if o.seed == 0 {
		o.seed = 1
	}
	if o.poll == 0 {
		o.poll = time.Second
	}
	h := &harness{t: t, dir: t.TempDir(), kinds: simulate.Kinds(), sims: map[string]providers.Simulator{},
		caps: map[string]providers.Capabilities{}, proxies: map[string]*recorder{}}
	h.dbURL = pgtest.NewURL(t)
	pool, err := pgxpool.New(context.Background(), h.dbURL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(pool.Close)
	h.pool = pool
	h.data = dataset.Generate(o.seed, o.people)

	var cfg strings.Builder
	fmt.Fprintf(&cfg, "database_url: %s\nconnections:\n", strconv.Quote(h.dbURL))
	for _, kind := range h.kinds {
		sim, err := simulate.NewSimulator(kind, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sim.Close)
		h.sims[kind] = sim
		if _, err := simulate.SeedDataset(sim, kind, o.people, o.seed); err != nil {
			t.Fatal(err)
		}
		p, err := simulate.NewProvider(kind, providers.Options{Name: kind, BaseURL: sim.URL(), Credentials: sim.Credentials()})
		if err != nil {
			t.Fatal(err)
		}
		h.caps[kind] = p.Capabilities()
		base := sim.URL()
		if slices.Contains(o.record, kind) {
			rec := newRecorder(t, sim.URL())
			h.proxies[kind] = rec
			base = rec.url(sim.URL())
		}
		fmt.Fprintf(&cfg, "  - name: %s\n    provider: %s\n    base_url: %s\n    poll_interval: %s\n    timeout: 10s\n",
			kind, kind, strconv.Quote(base), o.poll)
		if r := o.rateLimit[kind]; r != "" {
			fmt.Fprintf(&cfg, "    rate_limit: %s\n", r)
		}
		cfg.WriteString("    credentials:\n")
		creds := sim.Credentials()
		keys := make([]string, 0, len(creds))
		for k := range creds {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&cfg, "      %s: %s\n", k, strconv.Quote(creds[k]))
		}
	}
	h.cfgPath = filepath.Join(h.dir, "crmsync.yaml")
	if err := os.WriteFile(h.cfgPath, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	h.workerEnv = o.env
	return h
}

// worker is one `crmsync worker` process.
type worker struct {
	id     string
	cmd    *exec.Cmd
	log    string
	done   chan struct{}
	err    error
	killed bool
}

// startWorkers starts n worker processes; they are stopped with SIGTERM
// when the test ends and must exit 0 within 30 s.
func (h *harness) startWorkers(n int) {
	h.t.Helper()
	for range n {
		h.startWorker()
	}
}

func (h *harness) startWorker() *worker {
	h.t.Helper()
	h.mu.Lock()
	i := len(h.workers)
	h.mu.Unlock()
	w := &worker{id: fmt.Sprintf("worker-%d", i), log: filepath.Join(h.dir, fmt.Sprintf("worker-%d.log", i)), done: make(chan struct{})}
	f, err := os.Create(w.log)
	if err != nil {
		h.t.Fatal(err)
	}
	w.cmd = exec.Command(binPath, "--config", h.cfgPath, "--log-level", "warn", "worker", "--workers", "4")
	w.cmd.Stdout, w.cmd.Stderr = f, f
	w.cmd.Env = append(append(os.Environ(), "CRMSYNC_CLIENT_ID="+w.id), h.workerEnv...)
	if err := w.cmd.Start(); err != nil {
		f.Close()
		h.t.Fatalf("start worker: %v", err)
	}
	go func() {
		w.err = w.cmd.Wait()
		f.Close()
		close(w.done)
	}()
	h.mu.Lock()
	h.workers = append(h.workers, w)
	h.mu.Unlock()
	h.t.Cleanup(func() { h.stopWorker(w) })
	return w
}

// stopWorker sends SIGTERM and checks the worker exits 0 within 30 s.
func (h *harness) stopWorker(w *worker) {
	if w.killed {
		return
	}
	select {
	case <-w.done:
		h.t.Errorf("%s exited before the end of the test: %v\n%s", w.id, w.err, tail(w.log, 30))
		return
	default:
	}
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
		if w.err != nil {
			h.t.Errorf("%s: exit after SIGTERM: %v\n%s", w.id, w.err, tail(w.log, 30))
		}
	case <-time.After(30 * time.Second):
		_ = w.cmd.Process.Kill()
		<-w.done
		h.t.Errorf("%s did not exit within 30 s of SIGTERM\n%s", w.id, tail(w.log, 30))
	}
	if b, err := os.ReadFile(w.log); err == nil {
		h.checkNoSecrets(w.id+" log", string(b))
	}
	if h.t.Failed() {
		h.t.Logf("%s log tail:\n%s", w.id, tail(w.log, 40))
	}
}

// checkNoSecrets fails the test when out shows a credential.
func (h *harness) checkNoSecrets(what, out string) {
	h.t.Helper()
	for _, k := range h.kinds {
		for key, v := range h.sims[k].Credentials() {
			if key != "username" && len(v) >= 6 && strings.Contains(out, v) {
				h.t.Errorf("%s shows the %s %s credential", what, k, key)
			}
		}
	}
}

// kill9 kills w with SIGKILL.
func (h *harness) kill9(w *worker) {
	h.t.Helper()
	w.killed = true
	if err := w.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		h.t.Fatalf("kill -9 %s: %v", w.id, err)
	}
	<-w.done
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// crmsync runs the binary with the scenario's config and returns its stdout.
func (h *harness) crmsync(timeout time.Duration, args ...string) (string, error) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, append([]string{"--config", h.cfgPath, "--log-level", "warn"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	h.checkNoSecrets("crmsync "+strings.Join(args, " "), out.String()+errb.String())
	if err != nil {
		return out.String(), fmt.Errorf("crmsync %s: %w\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, lastLines(out.String(), 15), errb.String())
	}
	return out.String(), nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// resyncWait runs `crmsync resync --wait` and fails the test unless it
// completes within timeout.
func (h *harness) resyncWait(timeout time.Duration) time.Duration {
	h.t.Helper()
	start := time.Now()
	out, err := h.crmsync(timeout, "resync", "--wait")
	if err != nil {
		h.t.Fatal(err)
	}
	if !strings.Contains(out, "completed") {
		h.t.Fatalf("resync --wait output lacks completion:\n%s", out)
	}
	return time.Since(start)
}

// status runs `crmsync status --json`.
func (h *harness) status() *engine.Status {
	h.t.Helper()
	out, err := h.crmsync(time.Minute, "status", "--json")
	if err != nil {
		h.t.Fatal(err)
	}
	var st engine.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		h.t.Fatalf("status --json: %v\n%s", err, out)
	}
	return &st
}

// readRoutes are the POST routes that only read.
var readRoutes = map[string]bool{
	"POST /api/v2/receive/contact/find-contact": true, // NextLead
	"POST /user/login/":                         true, // Epixel
	"POST /user/token/refresh/":                 true, // Epixel
}

// isWrite reports whether a Requests key is a write route.
func isWrite(route string) bool {
	method, _, _ := strings.Cut(route, " ")
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return !readRoutes[route]
	}
	return false
}

// writes returns the write-route counts of every simulator.
func (h *harness) writes() map[string]map[string]int64 {
	out := map[string]map[string]int64{}
	for _, k := range h.kinds {
		out[k] = map[string]int64{}
		for r, n := range h.sims[k].Requests() {
			if isWrite(r) {
				out[k][r] = n
			}
		}
	}
	return out
}

// sources returns the simulators as sources of a convergence check.
func (h *harness) sources() []verify.Source {
	var out []verify.Source
	for _, kind := range h.kinds {
		out = append(out, verify.DatasetSource(kind, kind, h.caps[kind], h.sims[kind]))
	}
	return out
}

// person is one real person as the simulators hold them: their records per
// CRM, grouped by shared email or LinkedIn URL.
type person struct {
	ids  []string
	recs map[string][]providers.Record
}

// people groups every simulator's records into people (records without an
// identity are left out: crmsync never propagates them).
func (h *harness) people() []*person {
	parent := map[string]string{}
	var find func(string) string
	find = func(x string) string {
		if _, ok := parent[x]; !ok {
			parent[x] = x
		}
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	union := func(a, b string) { parent[find(a)] = find(b) }
	type rk struct {
		kind string
		rec  providers.Record
		key  string
		ids  []string
	}
	var all []rk
	for _, k := range h.kinds {
		for _, r := range h.sims[k].Snapshot() {
			key := k + "#" + r.ID
			ids := engine.Identities(&r.Person)
			find(key)
			for _, id := range ids {
				union(key, id)
			}
			all = append(all, rk{k, r, key, ids})
		}
	}
	groups := map[string]*person{}
	var order []string
	for _, r := range all {
		if len(r.ids) == 0 {
			continue
		}
		root := find(r.key)
		g := groups[root]
		if g == nil {
			g = &person{recs: map[string][]providers.Record{}}
			groups[root] = g
			order = append(order, root)
		}
		g.recs[r.kind] = append(g.recs[r.kind], r.rec)
		for _, id := range r.ids {
			if !slices.Contains(g.ids, id) {
				g.ids = append(g.ids, id)
			}
		}
	}
	out := make([]*person, 0, len(order))
	for _, k := range order {
		out = append(out, groups[k])
	}
	return out
}

// findPerson returns a person held once in each of kinds and satisfying
// ok, skipping the people in used.
func (h *harness) findPerson(kinds []string, used map[string]bool, ok func(p *person) bool) *person {
	h.t.Helper()
	for _, p := range h.people() {
		if used[p.ids[0]] {
			continue
		}
		good := true
		for _, k := range kinds {
			if len(p.recs[k]) != 1 {
				good = false
			}
		}
		if good && (ok == nil || ok(p)) {
			used[p.ids[0]] = true
			return p
		}
	}
	h.t.Fatalf("no person held in each of %v", kinds)
	return nil
}

// record returns the current record of person p (found by identity) in
// kind.
func (h *harness) record(kind string, ids []string) (providers.Record, bool) {
	for _, r := range h.sims[kind].Snapshot() {
		for _, id := range engine.Identities(&r.Person) {
			if slices.Contains(ids, id) {
				return r, true
			}
		}
	}
	return providers.Record{}, false
}

// eventually polls cond every 100 ms until it holds or d passes; it
// returns how long it took and whether it held.
func eventually(d time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if cond() {
			return time.Since(start), true
		}
		if time.Since(start) > d {
			return time.Since(start), false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// recorder is a reverse proxy in front of a simulator that records when
// each request arrived and the status it got.
type recorder struct {
	srv  *httptest.Server
	mu   sync.Mutex
	hits []hit
}

type hit struct {
	at     time.Time
	status int
	route  string
}

func newRecorder(t *testing.T, target string) *recorder {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = ""
	rp := httputil.NewSingleHostReverseProxy(u)
	rec := &recorder{}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		rp.ServeHTTP(sw, r)
		rec.mu.Lock()
		rec.hits = append(rec.hits, hit{at: at, status: sw.status, route: r.Method + " " + r.URL.Path})
		rec.mu.Unlock()
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

// url returns the simulator URL target with the proxy's host.
func (r *recorder) url(target string) string {
	u, _ := url.Parse(target)
	p, _ := url.Parse(r.srv.URL)
	u.Host = p.Host
	return u.String()
}

func (r *recorder) snapshot() []hit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.hits)
}

// maxPerSecond returns the most requests that arrived in any one-second
// window, and the window's start.
func maxPerSecond(hits []hit) (int, time.Time) {
	ts := make([]time.Time, len(hits))
	for i, h := range hits {
		ts[i] = h.at
	}
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	best, at := 0, time.Time{}
	j := 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= time.Second {
			j++
		}
		if n := i - j + 1; n > best {
			best, at = n, ts[j]
		}
	}
	return best, at
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// dbCounts counts the rows of crmsync's and River's tables.
func (h *harness) dbCounts() map[string]int64 {
	h.t.Helper()
	out := map[string]int64{}
	for _, tbl := range []string{"crmsync_person", "crmsync_link", "crmsync_identity", "crmsync_merge", "crmsync_change",
		"crmsync_push_queue", "crmsync_pending_create", "crmsync_pending_batch", "crmsync_write_outcome", "crmsync_write_count",
		"crmsync_resync_run", "crmsync_sync_state", "river_job"} {
		var n int64
		if err := h.pool.QueryRow(context.Background(), "SELECT count(*) FROM "+tbl).Scan(&n); err != nil {
			h.t.Fatalf("count %s: %v", tbl, err)
		}
		out[tbl] = n
	}
	return out
}
