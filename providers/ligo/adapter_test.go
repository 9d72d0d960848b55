package ligo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers"
	"github.com/crmsync/crmsync/providers/ligo/ligotest"
)

func setup(t testing.TB, simOpts ligotest.Options, edit ...func(*providers.Options)) (*Adapter, *ligotest.Server) {
	t.Helper()
	sim, err := ligotest.New(simOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	opts := providers.Options{Name: "test", BaseURL: sim.URL(), Credentials: sim.Credentials(), Timeout: 5 * time.Second}
	for _, e := range edit {
		e(&opts)
	}
	a, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return a, sim
}

func wantClass(t *testing.T, err error, class providers.Class) *providers.Error {
	t.Helper()
	var pe *providers.Error
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v (%T), want *providers.Error of class %s", err, err, class)
	}
	if pe.Class != class {
		t.Fatalf("class = %s, want %s (%v)", pe.Class, class, err)
	}
	return pe
}

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    providers.Options
		wantErr string
	}{
		{name: "ok", opts: providers.Options{BaseURL: "https://www.letsligo.com/", Credentials: map[string]string{"token": "s3cret"}}},
		{name: "no token", opts: providers.Options{BaseURL: "https://x.test", Credentials: map[string]string{"api_key": "s3cret"}}, wantErr: `missing credential "token"`},
		{name: "blank token", opts: providers.Options{BaseURL: "https://x.test", Credentials: map[string]string{"token": "  "}}, wantErr: `missing credential "token"`},
		{name: "no base URL", opts: providers.Options{Credentials: map[string]string{"token": "s3cret"}}, wantErr: "base URL"},
		{name: "relative base URL", opts: providers.Options{BaseURL: "letsligo.com", Credentials: map[string]string{"token": "s3cret"}}, wantErr: "base URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, err := New(tt.opts)
			if tt.wantErr == "" {
				if err != nil || a.Kind() != "ligo" || a.base != "https://www.letsligo.com" || a.timeout != DefaultTimeout {
					t.Fatalf("New: %v %+v", err, a)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("err = %v, want one naming %q and no secret", err, tt.wantErr)
			}
		})
	}
}

func TestCapabilities(t *testing.T) {
	t.Parallel()
	a, _ := setup(t, ligotest.Options{})
	c := a.Capabilities()
	if c.Delete || c.FindByEmail || c.FindByLinkedIn || !c.Get || !c.ChangeTimes || !c.JoinedName || c.UniqueEmail {
		t.Errorf("capabilities = %+v", c)
	}
	if !c.Holds.Has(mapping.FieldLeadStage) || c.Updates.Has(mapping.FieldLeadStage) || c.Creates.Has(mapping.FieldLeadStage) {
		t.Error("status is held and read-only")
	}
	if !c.Updates.Has(mapping.FieldPipelineStage) || c.Creates.Has(mapping.FieldPipelineStage) {
		t.Error("pipeline stage: updated through its own route, not created")
	}
	ctx := context.Background()
	if _, err := a.FindByEmail(ctx, "a@b.co"); providers.ClassOf(err) != providers.ClassUnsupported {
		t.Errorf("FindByEmail: %v", err)
	}
	if _, err := a.FindByLinkedIn(ctx, "https://www.linkedin.com/in/x"); providers.ClassOf(err) != providers.ClassUnsupported {
		t.Errorf("FindByLinkedIn: %v", err)
	}
	if err := a.Delete(ctx, "x", mapping.Person{}); providers.ClassOf(err) != providers.ClassUnsupported {
		t.Errorf("Delete: %v", err)
	}
	st, err := a.LeadStages(ctx)
	if err != nil || len(st) != 6 || st[0].Name != "pending" || st[5].Name != "lost" {
		t.Errorf("LeadStages = %v, %v", st, err)
	}
}

func TestCreateGetUpdate(t *testing.T) {
	t.Parallel()
	a, sim := setup(t, ligotest.Options{})
	ctx := context.Background()
	p := mapping.Person{
		FirstName: "Marie", LastName: "de la Cruz", Emails: []string{"marie@example.com", "m@acme.fr"},
		Phones: []string{"+33612345678"}, LinkedIn: "https://www.linkedin.com/in/marie", Company: "Acme",
		JobTitle: "CEO", Website: "acme.fr", Address: "Paris", Notes: "met at the fair",
		LeadStage: mapping.StageQualified, PipelineStage: "Gagné",
	}
	rec, err := a.Create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if !mapping.EqualPerson(a.Capabilities().Creates, &rec.Person, &p) || rec.Person.LeadStage != mapping.StageNew || rec.Person.PipelineStage != "" {
		t.Fatalf("created %+v", rec.Person)
	}
	if rec.ChangedAt.IsZero() || len(rec.Issues) != 0 {
		t.Errorf("created record: %+v", rec)
	}
	got, err := a.Get(ctx, rec.ID)
	if err != nil || !mapping.EqualPerson(a.Capabilities().Holds, &got.Person, &rec.Person) {
		t.Fatalf("Get = %+v, %v", got, err)
	}

	// Update: a changed field, a cleared field and the pipeline stage.
	desired := got.Person.Clone()
	desired.JobTitle = "CTO"
	desired.Company = ""
	desired.PipelineStage = "négociation" // matched case-insensitively
	before := sim.Requests()
	upd, err := a.Update(ctx, rec.ID, got.Person, desired)
	if err != nil {
		t.Fatal(err)
	}
	if upd.Person.JobTitle != "CTO" || upd.Person.Company != "" || upd.Person.PipelineStage != "Négociation" {
		t.Fatalf("updated %+v", upd.Person)
	}
	if !upd.ChangedAt.After(rec.ChangedAt) {
		t.Error("ChangedAt did not move")
	}
	after := sim.Requests()
	if after["PATCH /api/contacts/{id}"]-before["PATCH /api/contacts/{id}"] != 1 ||
		after["PATCH /api/contacts/{id}/pipeline-state"]-before["PATCH /api/contacts/{id}/pipeline-state"] != 1 {
		t.Errorf("requests %v → %v", before, after)
	}

	// Nothing to change: no write, the record is read.
	same, err := a.Update(ctx, rec.ID, upd.Person, upd.Person)
	if err != nil || same.Person.JobTitle != "CTO" || sim.Requests()["PATCH /api/contacts/{id}"] != after["PATCH /api/contacts/{id}"] {
		t.Errorf("no-op update: %+v %v", same, err)
	}

	// A pipeline stage no state matches is not written, and is reported.
	desired = upd.Person.Clone()
	desired.PipelineStage = "Nowhere"
	r, err := a.Update(ctx, rec.ID, upd.Person, desired)
	if err != nil || r.Person.PipelineStage != "Négociation" || len(r.Issues) != 1 {
		t.Errorf("unmatched pipeline: %+v %v", r, err)
	}
	// Clearing the pipeline stage removes the contact from the pipeline.
	desired.PipelineStage = ""
	if r, err = a.Update(ctx, rec.ID, upd.Person, desired); err != nil || r.Person.PipelineStage != "" {
		t.Errorf("cleared pipeline: %+v %v", r, err)
	}
	// The name cannot be cleared.
	desired.FirstName, desired.LastName = "", ""
	_, err = a.Update(ctx, rec.ID, upd.Person, desired)
	if pe := wantClass(t, err, providers.ClassValidation); pe.Field != "name" {
		t.Errorf("field = %q", pe.Field)
	}
}

func TestSetPipelineStage(t *testing.T) {
	t.Parallel()
	a, sim := setup(t, ligotest.Options{}, func(o *providers.Options) {
		o.PipelineAliases = map[string]string{"Won": "Gagné"}
	})
	ctx := context.Background()
	ids, _ := sim.Seed([]mapping.Person{{FirstName: "A"}})
	if err := a.SetPipelineStage(ctx, ids[0], mapping.Person{}, "won"); err != nil {
		t.Fatal(err)
	}
	if got := sim.Snapshot()[0].Person.PipelineStage; got != "Gagné" {
		t.Errorf("stage = %q", got)
	}
	// The catalog is cached: a hit costs no catalog read; a miss reads it again.
	n := sim.Requests()["GET /api/pipeline_states"]
	if err := a.SetPipelineStage(ctx, ids[0], mapping.Person{}, "Perdu"); err != nil {
		t.Fatal(err)
	}
	if sim.Requests()["GET /api/pipeline_states"] != n {
		t.Error("a cache hit read the catalog")
	}
	err := a.SetPipelineStage(ctx, ids[0], mapping.Person{}, "Nowhere")
	wantClass(t, err, providers.ClassValidation)
	if sim.Requests()["GET /api/pipeline_states"] != n+1 {
		t.Error("a miss must refresh the catalog once")
	}
	err = a.SetPipelineStage(ctx, "00000000-0000-4000-8000-000000000000", mapping.Person{}, "Perdu")
	wantClass(t, err, providers.ClassNotFound)
	stages, err := a.PipelineStages(ctx)
	if err != nil || len(stages) != len(ligotest.DefaultPipelineStates) || stages[0].Name != "Nouveau contact" {
		t.Errorf("PipelineStages = %v, %v", stages, err)
	}
}

func TestListAndChanges(t *testing.T) {
	t.Parallel()
	a, sim := setup(t, ligotest.Options{})
	ctx := context.Background()
	people := make([]mapping.Person, 95)
	for i := range people {
		people[i] = mapping.Person{FirstName: fmt.Sprintf("P%d", i), LastName: "X", Emails: []string{fmt.Sprintf("p%d@x.io", i)}}
	}
	ids, err := sim.Seed(people)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rec, err := range a.List(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rec.ID)
	}
	if strings.Join(got, ",") != strings.Join(ids, ",") {
		t.Fatalf("listed %d, want %d in order", len(got), len(ids))
	}
	if n := sim.Requests()["GET /api/contacts"]; n != 4 {
		t.Errorf("%d page requests, want 4", n)
	}
	// Stopping early stops paging.
	n := 0
	for range a.List(ctx) {
		n++
		if n == 3 {
			break
		}
	}

	res, err := a.Changes(ctx, nil, func(providers.Change) error { return nil })
	if err != nil || !res.Complete {
		t.Fatalf("Changes = %+v, %v", res, err)
	}
	if err := sim.UserEdit(ids[7], func(p *mapping.Person) { p.Company = "Edited" }); err != nil {
		t.Fatal(err)
	}
	if err := sim.UserDelete(ids[8]); err != nil {
		t.Fatal(err)
	}
	seen := map[string]providers.Record{}
	res2, err := a.Changes(ctx, res.Checkpoint, func(c providers.Change) error {
		if c.Kind != providers.ChangeUpsert {
			t.Errorf("kind %v", c.Kind)
		}
		seen[c.Record.ID] = c.Record
		return nil
	})
	if err != nil || !res2.Complete || len(seen) != 94 {
		t.Fatalf("Changes = %+v, %v, %d records", res2, err, len(seen))
	}
	if seen[ids[7]].Person.Company != "Edited" || !seen[ids[7]].ChangedAt.After(seen[ids[6]].ChangedAt) {
		t.Errorf("edit not visible: %+v", seen[ids[7]])
	}
	if _, ok := seen[ids[8]]; ok {
		t.Error("deleted record listed")
	}
	_, err = a.Get(ctx, ids[8])
	wantClass(t, err, providers.ClassNotFound)

	// An error from yield stops the feed and is returned as is.
	stop := errors.New("stop")
	calls := 0
	_, err = a.Changes(ctx, nil, func(providers.Change) error { calls++; return stop })
	if err != stop || calls != 1 {
		t.Errorf("err = %v after %d calls", err, calls)
	}
}

func TestErrorClasses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("auth", func(t *testing.T) {
		t.Parallel()
		_, sim := setup(t, ligotest.Options{Token: "right-token"})
		var logs bytes.Buffer
		bad, err := New(providers.Options{BaseURL: sim.URL(), Credentials: map[string]string{"token": "wrong-secret-token"},
			Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		if err != nil {
			t.Fatal(err)
		}
		_, err = bad.Get(ctx, "x")
		pe := wantClass(t, err, providers.ClassAuth)
		if pe.Message != "Invalid credentials." || pe.Status != 401 {
			t.Errorf("err = %+v", pe)
		}
		for rec, err := range bad.List(ctx) {
			wantClass(t, err, providers.ClassAuth)
			if rec.ID != "" {
				t.Error("record with error")
			}
		}
		_, err = bad.Create(ctx, mapping.Person{FirstName: "A"})
		wantClass(t, err, providers.ClassAuth)
		if strings.Contains(err.Error(), "wrong-secret-token") || strings.Contains(logs.String(), "wrong-secret-token") {
			t.Error("the token leaked into an error or a log line")
		}
		if !strings.Contains(logs.String(), "ligo request") {
			t.Error("no debug log written")
		}
	})

	t.Run("validation", func(t *testing.T) {
		t.Parallel()
		a, sim := setup(t, ligotest.Options{})
		_, err := a.Create(ctx, mapping.Person{})
		wantClass(t, err, providers.ClassValidation)
		if len(sim.Requests()) != 0 {
			t.Error("an invalid create was sent")
		}
		_, err = a.Create(ctx, mapping.Person{FirstName: "A", Emails: []string{"not-an-email"}})
		pe := wantClass(t, err, providers.ClassValidation)
		if pe.Field != "emails[0]" || pe.Message != "This value is not a valid email address." || pe.Status != 422 {
			t.Errorf("err = %+v", pe)
		}
	})

	t.Run("not found", func(t *testing.T) {
		t.Parallel()
		a, _ := setup(t, ligotest.Options{})
		_, err := a.Get(ctx, "00000000-0000-4000-8000-000000000000")
		if pe := wantClass(t, err, providers.ClassNotFound); pe.Message != "Not Found" {
			t.Errorf("message %q", pe.Message)
		}
		if !errors.Is(err, providers.ErrNotFound) {
			t.Error("errors.Is ErrNotFound")
		}
		_, err = a.Update(ctx, "00000000-0000-4000-8000-000000000000", mapping.Person{FirstName: "A"}, mapping.Person{FirstName: "B"})
		wantClass(t, err, providers.ClassNotFound)
	})

	t.Run("rate limited", func(t *testing.T) {
		t.Parallel()
		a, sim := setup(t, ligotest.Options{})
		sim.SetRateLimit(1)
		if _, err := a.PipelineStages(ctx); err != nil {
			t.Fatal(err)
		}
		_, err := a.PipelineStages(ctx)
		pe := wantClass(t, err, providers.ClassRateLimited)
		if pe.RetryAfter < time.Second {
			t.Errorf("RetryAfter = %v", pe.RetryAfter)
		}
		time.Sleep(pe.RetryAfter)
		if _, err := a.PipelineStages(ctx); err != nil {
			t.Errorf("after waiting: %v", err)
		}
	})

	t.Run("faults", func(t *testing.T) {
		t.Parallel()
		a, sim := setup(t, ligotest.Options{})
		sim.SetFaults(1)
		_, err := a.Get(ctx, "x")
		wantClass(t, err, providers.ClassRetryable)
		for _, err := range a.List(ctx) {
			wantClass(t, err, providers.ClassRetryable)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		a, sim := setup(t, ligotest.Options{}, func(o *providers.Options) { o.Timeout = 50 * time.Millisecond })
		sim.SetLatency(time.Second)
		_, err := a.Get(ctx, "x")
		wantClass(t, err, providers.ClassRetryable)
	})

	t.Run("cancelled", func(t *testing.T) {
		t.Parallel()
		a, _ := setup(t, ligotest.Options{})
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := a.Get(cctx, "x")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("connection refused", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		a, err := New(providers.Options{BaseURL: url, Credentials: map[string]string{"token": "t"}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.Get(ctx, "x")
		wantClass(t, err, providers.ClassRetryable)
	})

	t.Run("status table", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			status     int
			header     string
			body       string
			class      providers.Class
			msg, field string
			retryAfter time.Duration
		}{
			{409, "", `{"hydra:description":"Duplicate"}`, providers.ClassConflict, "Duplicate", "", 0},
			{415, "", `{"hydra:description":"bad type"}`, providers.ClassPermanent, "bad type", "", 0},
			{403, "", `{"detail":"Access Denied."}`, providers.ClassPermanent, "Access Denied.", "", 0},
			{400, "", `{"hydra:description":"Syntax error"}`, providers.ClassValidation, "Syntax error", "", 0},
			{422, "", `{"violations":[{"propertyPath":"name","message":"This value should not be blank."}]}`, providers.ClassValidation, "This value should not be blank.", "name", 0},
			{429, "7", `{}`, providers.ClassRateLimited, "", "", 7 * time.Second},
			{429, "", `{}`, providers.ClassRateLimited, "", "", time.Second},
			{502, "", `<html>bad gateway</html>`, providers.ClassRetryable, "", "", 0},
			{503, "", ``, providers.ClassRetryable, "", "", 0},
		}
		for _, tt := range tests {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.header != "" {
					w.Header().Set("Retry-After", tt.header)
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			a, err := New(providers.Options{BaseURL: srv.URL, Credentials: map[string]string{"token": "t"}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = a.Get(ctx, "x")
			srv.Close()
			pe := wantClass(t, err, tt.class)
			if pe.Message != tt.msg || pe.Field != tt.field || pe.RetryAfter != tt.retryAfter || pe.Status != tt.status {
				t.Errorf("%d: %+v", tt.status, pe)
			}
		}
	})
}

// TestListDedupeAndNext: a contact on two pages is yielded once, and an
// absolute hydra:next pointing elsewhere is followed on the base URL only.
func TestListDedupeAndNext(t *testing.T) {
	t.Parallel()
	var foreign atomic.Int32
	pages := map[string]string{
		"1": `{"@type":"hydra:Collection","hydra:member":[{"id":"11111111-1111-4111-8111-111111111111","name":"A B"},{"id":"22222222-2222-4222-8222-222222222222","name":"C"}],"hydra:totalItems":3,"hydra:view":{"hydra:next":"https://evil.example/api/contacts?page=2"}}`,
		"2": `{"@type":"hydra:Collection","hydra:view":{"next":"/api/contacts?page=3"},"member":[{"id":"22222222-2222-4222-8222-222222222222","name":"C"},{"id":"x-3","name":"D","extra":{"a":[1,2]}}]}`,
		"3": `[{"id":"x-3","name":"D"}]`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			foreign.Add(1)
		}
		fmt.Fprint(w, pages[r.URL.Query().Get("page")])
	}))
	defer srv.Close()
	a, err := New(providers.Options{BaseURL: srv.URL, Credentials: map[string]string{"token": "tok"}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rec, err := range a.List(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, rec.Person.FirstName)
	}
	if strings.Join(names, ",") != "A,C,D" || foreign.Load() != 0 {
		t.Errorf("names = %v", names)
	}
}

func TestBrokenListing(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"hydra:member":[{"id":"1","name":"A"},{"id":`)
	}))
	defer srv.Close()
	a, _ := New(providers.Options{BaseURL: srv.URL, Credentials: map[string]string{"token": "t"}})
	var n int
	for _, err := range a.List(context.Background()) {
		if err != nil {
			wantClass(t, err, providers.ClassRetryable)
		}
		n++
	}
	if n != 1 {
		t.Errorf("yielded %d, want only the error (a page is yielded once read whole)", n)
	}
}

// BenchmarkListLarge decodes a large listing from the simulator.
func BenchmarkListLarge(b *testing.B) {
	a, sim := setup(b, ligotest.Options{})
	const n = 30_000
	people := make([]mapping.Person, n)
	for i := range people {
		people[i] = mapping.Person{
			FirstName: "First", LastName: fmt.Sprintf("Last %d", i), Emails: []string{fmt.Sprintf("p%d@example.com", i)},
			Phones: []string{"+33612345678"}, Company: "Acme", JobTitle: "CEO", Notes: "Some notes about this person",
			LinkedIn: fmt.Sprintf("https://www.linkedin.com/in/p%d", i), PipelineStage: "Qualification",
		}
	}
	if _, err := sim.Seed(people); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		count := 0
		for _, err := range a.List(ctx) {
			if err != nil {
				b.Fatal(err)
			}
			count++
		}
		if count != n {
			b.Fatalf("listed %d", count)
		}
	}
	b.ReportMetric(float64(n), "records/op")
}
