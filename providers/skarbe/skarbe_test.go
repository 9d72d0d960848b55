package skarbe_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers"
	"github.com/crmsync/crmsync/providers/skarbe"
	"github.com/crmsync/crmsync/providers/skarbe/skarbetest"
)

const secret = "s3cr3t-skarbe-key-value"

func newSim(t testing.TB, opts skarbetest.Options) *skarbetest.Server {
	t.Helper()
	if opts.APIKey == "" {
		opts.APIKey = secret
	}
	s, err := skarbetest.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func newAdapter(t testing.TB, baseURL string, mod func(*providers.Options)) *skarbe.Adapter {
	t.Helper()
	opts := providers.Options{BaseURL: baseURL, Credentials: map[string]string{"api_key": secret}, Timeout: 2 * time.Second}
	if mod != nil {
		mod(&opts)
	}
	a, err := skarbe.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func classOf(t *testing.T, err error) *providers.Error {
	t.Helper()
	var pe *providers.Error
	if !errors.As(err, &pe) {
		t.Fatalf("want *providers.Error, got %T %v", err, err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatalf("credential leaked: %v", err)
	}
	return pe
}

func TestNew(t *testing.T) {
	t.Parallel()
	_, err := skarbe.New(providers.Options{Credentials: map[string]string{"token": secret}})
	if err == nil || !strings.Contains(err.Error(), `"api_key"`) || strings.Contains(err.Error(), secret) {
		t.Fatalf("missing key: %v", err)
	}
	if _, err := skarbe.New(providers.Options{BaseURL: "ftp://x", Credentials: map[string]string{"api_key": "k"}}); err == nil {
		t.Fatal("bad base URL accepted")
	}
	a, err := skarbe.New(providers.Options{Credentials: map[string]string{"api_key": "k"}})
	if err != nil || a.Kind() != "skarbe" {
		t.Fatal(err)
	}
	c := a.Capabilities()
	if c.Updates != 0 || c.Delete || c.Get || !c.FindByEmail || c.FindByLinkedIn || c.ChangeTimes || c.UniqueEmail ||
		!c.Creates.Has(mapping.FieldTwitter) || c.Holds.Has(mapping.FieldTwitter) || len(c.RequireOneOf) != 2 {
		t.Fatalf("capabilities: %+v", c)
	}
}

func TestUnsupported(t *testing.T) {
	t.Parallel()
	a := newAdapter(t, "http://127.0.0.1:1", nil)
	ctx := context.Background()
	_, e1 := a.Update(ctx, "1", mapping.Person{}, mapping.Person{FirstName: "x"})
	e2 := a.Delete(ctx, "1", mapping.Person{})
	_, e3 := a.Get(ctx, "1")
	_, e4 := a.FindByLinkedIn(ctx, "https://www.linkedin.com/in/x")
	e5 := a.SetPipelineStage(ctx, "1", mapping.Person{}, "won")
	for i, err := range []error{e1, e2, e3, e4, e5} {
		pe := classOf(t, err)
		if pe.Class != providers.ClassUnsupported || !strings.Contains(err.Error(), "not supported by this CRM") || !errors.Is(err, providers.ErrUnsupported) {
			t.Errorf("%d: %v", i, err)
		}
	}
	if ps, err := a.PipelineStages(ctx); ps != nil || err != nil {
		t.Fatal("no pipelines")
	}
}

func TestCreateFindListChanges(t *testing.T) {
	t.Parallel()
	sim := newSim(t, skarbetest.Options{})
	a := newAdapter(t, sim.URL(), nil)
	ctx := context.Background()

	p := mapping.Person{FirstName: "Jane", LastName: "Smith", Emails: []string{"jane@example.com"}, Phones: []string{"+33612345678"},
		LinkedIn: "https://www.linkedin.com/in/jane", Company: "Tech", JobTitle: "CMO", Twitter: "https://twitter.com/j",
		Notes: "hi", LeadStage: mapping.StageQualified, Website: "not held"}
	rec, err := a.Create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if rec.ID != "1" || rec.Person.LeadStage != mapping.StageQualified || rec.Person.PrimaryEmail() != "jane@example.com" || rec.Person.Twitter != "" {
		t.Fatalf("created: %+v", rec)
	}
	if !mapping.EqualPerson(skarbeHolds(), &rec.Person, &p) {
		t.Fatalf("created record differs: %+v vs %+v", rec.Person, p)
	}
	// A second contact whose email contains the first's as a substring, and
	// an exact duplicate.
	if _, err := a.Create(ctx, mapping.Person{Emails: []string{"xjane@example.com"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Create(ctx, mapping.Person{Emails: []string{"jane@example.com"}, FirstName: "Dup"}); err != nil {
		t.Fatal(err)
	}
	found, err := a.FindByEmail(ctx, "Jane@Example.com")
	if err != nil || len(found) != 2 || found[0].ID != "1" || found[1].ID != "3" {
		t.Fatalf("find: %v %+v", err, found)
	}
	if found, err := a.FindByEmail(ctx, "nobody@example.com"); err != nil || len(found) != 0 {
		t.Fatalf("find none: %v %v", err, found)
	}

	var ids []string
	for r, err := range a.List(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	if strings.Join(ids, ",") != "1,2,3" {
		t.Fatalf("list: %v", ids)
	}

	if err := sim.UserEdit("2", func(p *mapping.Person) { p.FirstName = "Edited" }); err != nil {
		t.Fatal(err)
	}
	if err := sim.UserDelete("3"); err != nil {
		t.Fatal(err)
	}
	var changes []providers.Change
	res, err := a.Changes(ctx, nil, func(c providers.Change) error { changes = append(changes, c); return nil })
	if err != nil || !res.Complete || len(changes) != 2 || changes[1].Record.Person.FirstName != "Edited" || !changes[1].Record.ChangedAt.IsZero() {
		t.Fatalf("changes: %v %+v %+v", err, res, changes)
	}
	stop := errors.New("stop")
	if _, err := a.Changes(ctx, res.Checkpoint, func(providers.Change) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("yield error must be returned: %v", err)
	}
	// Breaking out of List early is fine.
	for range a.List(ctx) {
		break
	}
}

func skarbeHolds() mapping.FieldSet { return skarbe.Capabilities().Holds }

func TestCreateValidation(t *testing.T) {
	t.Parallel()
	sim := newSim(t, skarbetest.Options{})
	a := newAdapter(t, sim.URL(), nil)
	ctx := context.Background()
	for _, p := range []mapping.Person{{}, {LastName: "x"}, {Emails: []string{"bad"}}} {
		_, err := a.Create(ctx, p)
		if pe := classOf(t, err); pe.Class != providers.ClassValidation || pe.Message == "" {
			t.Errorf("%+v: %v", p, err)
		}
	}
	if n := sim.Requests()[skarbetest.RouteCreateContact]; n != 0 {
		t.Fatalf("invalid creates must not be sent: %d", n)
	}
	// A stage no status type fits is left out, not an error.
	rec, err := a.Create(ctx, mapping.Person{FirstName: "x", LeadStage: mapping.StageLost})
	if err != nil || rec.Person.LeadStage != "" {
		t.Fatalf("%v %+v", err, rec)
	}
}

// fake answers every request with status, body and headers, counting them.
func fake(t *testing.T, status int, body string, hdr map[string]string) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if r.Header.Get("X-Api-Key") != secret {
			t.Errorf("X-Api-Key header missing")
		}
		for k, v := range hdr {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestErrorClasses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status     int
		body       string
		hdr        map[string]string
		class      providers.Class
		msg, field string
		retry      time.Duration
	}{
		{401, `{"error":"Unauthorized"}`, nil, providers.ClassAuth, "Unauthorized", "", 0},
		{400, `{"error":"Invalid email"}`, nil, providers.ClassValidation, "Invalid email", "emails", 0},
		{400, `{"error":"Invalid lead status"}`, nil, providers.ClassValidation, "Invalid lead status", "lead_stage", 0},
		{422, `{"error":"Something"}`, nil, providers.ClassValidation, "Something", "", 0},
		{404, `{"error":"Not found"}`, nil, providers.ClassNotFound, "Not found", "", 0},
		{409, `{"error":"dup"}`, nil, providers.ClassConflict, "dup", "", 0},
		{429, `{"error":"Too many requests"}`, map[string]string{"Retry-After": "3"}, providers.ClassRateLimited, "Too many requests", "", 3 * time.Second},
		{429, `slow down`, nil, providers.ClassRateLimited, "slow down", "", time.Second},
		{500, `{"error":"Internal Server Error"}`, nil, providers.ClassRetryable, "Internal Server Error", "", 0},
		{502, `<html>bad gateway</html>`, nil, providers.ClassRetryable, "<html>bad gateway</html>", "", 0},
		{503, ``, nil, providers.ClassRetryable, "", "", 0},
		{403, `{"message":"Forbidden"}`, nil, providers.ClassPermanent, "Forbidden", "", 0},
	}
	for _, tt := range tests {
		srv, _ := fake(t, tt.status, tt.body, tt.hdr)
		a := newAdapter(t, srv.URL, nil)
		_, err := a.Create(context.Background(), mapping.Person{FirstName: "x"})
		pe := classOf(t, err)
		if pe.Class != tt.class || pe.Message != tt.msg || pe.Field != tt.field || pe.RetryAfter != tt.retry || pe.Status != tt.status {
			t.Errorf("%d %s: got %+v", tt.status, tt.body, pe)
		}
		for _, err := range a.List(context.Background()) {
			if pe := classOf(t, err); pe.Class != tt.class {
				t.Errorf("list %d: %v", tt.status, err)
			}
		}
	}
}

func TestMalformedAndTimeouts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, _ := fake(t, 200, `{"not":"an array"}`, nil)
	for _, err := range newAdapter(t, srv.URL, nil).List(ctx) {
		if pe := classOf(t, err); pe.Class != providers.ClassPermanent {
			t.Errorf("object answer: %v", err)
		}
	}
	srv, _ = fake(t, 200, `[{"id":1,"firstName":"a"},{"id":2,`, nil)
	n := 0
	for _, err := range newAdapter(t, srv.URL, nil).List(ctx) {
		if err != nil {
			if pe := classOf(t, err); pe.Class != providers.ClassRetryable {
				t.Errorf("cut answer: %v", err)
			}
			continue
		}
		n++
	}
	if n != 1 {
		t.Fatalf("records before the cut: %d", n)
	}
	srv, _ = fake(t, 200, `null`, nil)
	for _, err := range newAdapter(t, srv.URL, nil).List(ctx) {
		t.Fatalf("null answer: %v", err)
	}

	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	t.Cleanup(hang.Close)
	a := newAdapter(t, hang.URL, func(o *providers.Options) { o.Timeout = 100 * time.Millisecond })
	start := time.Now()
	_, err := a.Create(ctx, mapping.Person{FirstName: "x"})
	if pe := classOf(t, err); pe.Class != providers.ClassRetryable || time.Since(start) > 2*time.Second {
		t.Fatalf("timeout: %v after %s", err, time.Since(start))
	}
	// A body that stalls mid-stream fails too.
	stall := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `[{"id":1,"firstName":"a"},`)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	t.Cleanup(stall.Close)
	a = newAdapter(t, stall.URL, func(o *providers.Options) { o.Timeout = 100 * time.Millisecond })
	var last error
	for _, err := range a.List(ctx) {
		last = err
	}
	if pe := classOf(t, last); pe.Class != providers.ClassRetryable {
		t.Fatalf("stall: %v", last)
	}
	// The caller's cancellation is not retryable.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = newAdapter(t, hang.URL, nil).Create(cctx, mapping.Person{FirstName: "x"})
	if pe := classOf(t, err); pe.Class != providers.ClassPermanent || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	// Connection refused.
	_, err = newAdapter(t, "http://127.0.0.1:1", nil).FindByEmail(ctx, "a@b.co")
	if pe := classOf(t, err); pe.Class != providers.ClassRetryable {
		t.Fatalf("refused: %v", err)
	}
}

func TestSlowConsumerIsNotATimeout(t *testing.T) {
	t.Parallel()
	sim := newSim(t, skarbetest.Options{})
	people := make([]mapping.Person, 3)
	for i := range people {
		people[i] = mapping.Person{FirstName: fmt.Sprint("P", i)}
	}
	if _, err := sim.Seed(people); err != nil {
		t.Fatal(err)
	}
	a := newAdapter(t, sim.URL(), func(o *providers.Options) { o.Timeout = 50 * time.Millisecond })
	n := 0
	for _, err := range a.List(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(80 * time.Millisecond)
		n++
	}
	if n != 3 {
		t.Fatal(n)
	}
}

func TestAuthAndCredentialsNeverLogged(t *testing.T) {
	t.Parallel()
	sim := newSim(t, skarbetest.Options{})
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	bad := "wrong-" + secret
	a, err := skarbe.New(providers.Options{BaseURL: sim.URL(), Credentials: map[string]string{"api_key": bad}, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Create(context.Background(), mapping.Person{FirstName: "x"})
	pe := classOf(t, err)
	if pe.Class != providers.ClassAuth || pe.Message != "Unauthorized" || strings.Contains(err.Error(), bad) {
		t.Fatalf("auth: %v", err)
	}
	good := newAdapter(t, sim.URL(), func(o *providers.Options) { o.Logger = logger })
	if _, err := good.Create(context.Background(), mapping.Person{FirstName: "y"}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if logs.Len() == 0 || strings.Contains(logs.String(), secret) {
		t.Fatalf("logs: %q", logs.String())
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestRateLimitAndFaults(t *testing.T) {
	t.Parallel()
	sim := newSim(t, skarbetest.Options{RateLimit: 1})
	a := newAdapter(t, sim.URL(), nil)
	ctx := context.Background()
	if _, err := a.FindByEmail(ctx, "a@b.co"); err != nil {
		t.Fatal(err)
	}
	_, err := a.FindByEmail(ctx, "a@b.co")
	pe := classOf(t, err)
	if pe.Class != providers.ClassRateLimited || pe.RetryAfter < time.Second {
		t.Fatalf("rate limit: %v", err)
	}
	time.Sleep(pe.RetryAfter)
	if _, err := a.FindByEmail(ctx, "a@b.co"); err != nil {
		t.Fatalf("after Retry-After: %v", err)
	}
	sim.SetRateLimit(0)
	sim.SetFaults(1)
	_, err = a.Create(ctx, mapping.Person{FirstName: "x"})
	if pe := classOf(t, err); pe.Class != providers.ClassRetryable {
		t.Fatalf("fault: %v", err)
	}
}

func TestLeadStagesAndCatalogCache(t *testing.T) {
	t.Parallel()
	sim := newSim(t, skarbetest.Options{})
	a := newAdapter(t, sim.URL(), nil)
	ctx := context.Background()
	if _, err := sim.Seed([]mapping.Person{{FirstName: "a", LeadStage: mapping.StageNew}, {FirstName: "b", LeadStage: mapping.StageQualified}, {FirstName: "c"}}); err != nil {
		t.Fatal(err)
	}
	// Listing reads the catalog once, on the first miss.
	var stages []mapping.Stage
	for r, err := range a.List(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		stages = append(stages, r.Person.LeadStage)
	}
	if fmt.Sprint(stages) != "[new qualified ]" {
		t.Fatalf("stages %v", stages)
	}
	for range a.List(ctx) {
	}
	if _, err := a.Create(ctx, mapping.Person{FirstName: "d", LeadStage: mapping.StageDisqualified}); err != nil {
		t.Fatal(err)
	}
	if n := sim.Requests()[skarbetest.RouteLeadStatuses]; n != 1 {
		t.Fatalf("catalog read %d times, want 1", n)
	}
	opts, err := a.LeadStages(ctx)
	if err != nil || len(opts) != len(skarbetest.DefaultStatuses) || opts[0] != (providers.StageOption{ID: "1", Name: "New Lead", Type: "lead"}) {
		t.Fatalf("%v %+v", err, opts)
	}
	// Concurrent misses share one read.
	b := newAdapter(t, sim.URL(), nil)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for _, err := range b.List(ctx) {
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if n := sim.Requests()[skarbetest.RouteLeadStatuses]; n != 3 {
		t.Fatalf("catalog reads %d, want 3", n)
	}
	me, err := a.Me(ctx)
	if err != nil || me.Workspace.Name == "" {
		t.Fatalf("me: %v %+v", err, me)
	}
}

func BenchmarkList100k(b *testing.B) {
	const n = 100_000
	sim := newSim(b, skarbetest.Options{})
	people := make([]mapping.Person, n)
	for i := range people {
		people[i] = mapping.Person{FirstName: "First" + fmt.Sprint(i), LastName: "Last", Emails: []string{fmt.Sprintf("user%d@example.com", i)},
			Phones: []string{"+33612345678"}, LinkedIn: fmt.Sprintf("https://www.linkedin.com/in/user-%d", i), Company: "Acme", JobTitle: "Engineer",
			LeadStage: mapping.StageQualified}
	}
	if _, err := sim.Seed(people); err != nil {
		b.Fatal(err)
	}
	a := newAdapter(b, sim.URL(), func(o *providers.Options) { o.Timeout = time.Minute })
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		count := 0
		for _, err := range a.List(context.Background()) {
			if err != nil {
				b.Fatal(err)
			}
			count++
		}
		if count != n {
			b.Fatalf("listed %d", count)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
}
