package nextlead_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/mapping/nextleadmap"
	"github.com/crmsync/crmsync/providers"
	"github.com/crmsync/crmsync/providers/nextlead"
	"github.com/crmsync/crmsync/providers/nextlead/nextleadtest"
)

func setup(t testing.TB, opts nextleadtest.Options) (*nextleadtest.Server, *nextlead.Adapter) {
	t.Helper()
	s, err := nextleadtest.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	a, err := nextlead.New(providers.Options{Name: "test", BaseURL: s.URL(), Credentials: s.Credentials(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s, a
}

func classOf(t *testing.T, err error) providers.Class {
	t.Helper()
	var pe *providers.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *providers.Error", err, err)
	}
	return pe.Class
}

func intp(v int) *int { return &v }

func TestNew(t *testing.T) {
	_, err := nextlead.New(providers.Options{BaseURL: "http://x", Credentials: map[string]string{"token": "secret-value"}})
	if err == nil || !strings.Contains(err.Error(), "api_key") || strings.Contains(err.Error(), "secret-value") {
		t.Fatalf("err = %v", err)
	}
	if _, err := nextlead.New(providers.Options{Credentials: map[string]string{"api_key": "k"}}); err == nil {
		t.Fatal("missing base URL accepted")
	}
	a, err := nextlead.New(providers.Options{BaseURL: "http://x/api/v2/", Credentials: map[string]string{"api_key": "k"}})
	if err != nil || a.Kind() != "nextlead" {
		t.Fatal(err)
	}
	c := a.Capabilities()
	if c.Get || !c.Delete || !c.FindByEmail || !c.FindByLinkedIn || !c.UniqueEmail || !c.ChangeTimes ||
		c.Holds.Has(mapping.FieldPipelineStage) || c.Updates.Has(mapping.FieldEmails) || len(c.RequireOneOf) != 2 {
		t.Errorf("capabilities = %+v", c)
	}
	if _, err := a.Get(context.Background(), "x"); classOf(t, err) != providers.ClassUnsupported {
		t.Error("Get should be unsupported")
	}
}

func TestCRUD(t *testing.T) {
	s, a := setup(t, nextleadtest.Options{})
	ctx := context.Background()
	p := mapping.Person{FirstName: "John", LastName: "Doe", Emails: []string{"john@example.com"},
		Phones: []string{"+33612345678"}, LinkedIn: "https://www.linkedin.com/in/jd", Instagram: "@jd",
		LeadStage: mapping.StageQualified, LeadScore: intp(40), Notes: "not writable"}
	rec, err := a.Create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if rec.ID == "" || rec.ChangedAt.IsZero() || rec.Person.LeadStage != mapping.StageQualified || rec.Person.Notes != "" {
		t.Fatalf("created %+v", rec)
	}
	if _, err := a.Create(ctx, mapping.Person{Emails: []string{"JOHN@example.com"}}); classOf(t, err) != providers.ClassConflict {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := a.Create(ctx, mapping.Person{FirstName: "x"}); classOf(t, err) != providers.ClassValidation {
		t.Fatalf("no identity: %v", err)
	}
	found, err := a.FindByEmail(ctx, "john@example.com")
	if err != nil || len(found) != 1 || found[0].ID != rec.ID || !mapping.EqualPerson(nextleadmap.Holds, &found[0].Person, &rec.Person) {
		t.Fatalf("find by email: %+v %v", found, err)
	}
	if found, err := a.FindByEmail(ctx, "nobody@example.com"); err != nil || len(found) != 0 {
		t.Fatalf("find nobody: %+v %v", found, err)
	}
	found, err = a.FindByLinkedIn(ctx, "https://www.linkedin.com/in/jd")
	if err != nil || len(found) != 1 || found[0].ID != rec.ID {
		t.Fatalf("find by linkedin: %+v %v", found, err)
	}

	desired := rec.Person.Clone()
	desired.FirstName, desired.LeadStage, desired.LeadScore = "Jon", mapping.StageConverted, intp(99)
	desired.Phones = []string{"+33123456789"}
	up, err := a.Update(ctx, rec.ID, rec.Person, desired)
	if err != nil {
		t.Fatal(err)
	}
	if up.Person.FirstName != "Jon" || up.Person.LeadStage != mapping.StageConverted || *up.Person.LeadScore != 99 ||
		up.Person.PrimaryPhone() != "+33123456789" || !up.ChangedAt.After(rec.ChangedAt) {
		t.Fatalf("updated %+v", up)
	}
	c, _ := s.Contact(rec.ID)
	if c.FirstName != "Jon" || c.ConversionStatus != "Won" {
		t.Fatalf("stored %+v", c)
	}
	before := s.Requests()["POST /api/v2/receive/contact/edit-contact"]
	if _, err := a.Update(ctx, rec.ID, desired, desired); err != nil {
		t.Fatal(err)
	}
	if after := s.Requests()["POST /api/v2/receive/contact/edit-contact"]; after != before {
		t.Errorf("an update changing nothing sent an edit")
	}

	if err := a.SetPipelineStage(ctx, rec.ID, desired, "proposal"); err != nil {
		t.Fatal(err)
	}
	if got := s.SaleColumn(rec.ID); got != "Proposal" {
		t.Fatalf("sale column = %q", got)
	}
	if err := a.SetPipelineStage(ctx, rec.ID, desired, "Won"); err != nil {
		t.Fatal(err)
	}
	if got, n := s.SaleColumn(rec.ID), s.SaleCount(rec.ID); got != "Won" || n != 1 {
		t.Fatalf("sale column = %q, sales %d", got, n)
	}
	if err := a.SetPipelineStage(ctx, rec.ID, desired, "no such column"); err != nil {
		t.Fatal(err)
	}

	if err := a.Delete(ctx, rec.ID, desired); err != nil {
		t.Fatal(err)
	}
	if err := a.Delete(ctx, rec.ID, desired); classOf(t, err) != providers.ClassNotFound {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := a.Update(ctx, rec.ID, desired, desired); classOf(t, err) != providers.ClassNotFound {
		t.Fatalf("update deleted: %v", err)
	}
	// The email is free again.
	if _, err := a.Create(ctx, mapping.Person{Emails: []string{"john@example.com"}}); err != nil {
		t.Fatal(err)
	}
}

func TestLinkedInOnly(t *testing.T) {
	s, a := setup(t, nextleadtest.Options{})
	ctx := context.Background()
	// Stored under a non-canonical spelling, as typed in the screens.
	ids, err := s.Seed([]mapping.Person{{FirstName: "Li"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UserEdit(ids[0], func(p *mapping.Person) { p.LinkedIn = "linkedin.com/in/li" }); err != nil {
		t.Fatal(err)
	}
	p := mapping.Person{FirstName: "Li", LinkedIn: "https://www.linkedin.com/in/li"}
	found, err := a.FindByLinkedIn(ctx, p.LinkedIn)
	if err != nil || len(found) != 1 || found[0].ID != ids[0] {
		t.Fatalf("find: %+v %v", found, err)
	}
	d := p.Clone()
	d.LastName = "Wu"
	if _, err := a.Update(ctx, ids[0], p, d); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Contact(ids[0]); c.LastName != "Wu" {
		t.Fatalf("stored %+v", c)
	}
	if err := a.SetPipelineStage(ctx, ids[0], d, "Won"); classOf(t, err) != providers.ClassValidation {
		t.Fatalf("pipeline without email: %v", err)
	}
	if err := a.Delete(ctx, ids[0], d); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 0 {
		t.Fatal("not deleted")
	}
}

func TestListAndChanges(t *testing.T) {
	s, a := setup(t, nextleadtest.Options{})
	ctx := context.Background()
	people := make([]mapping.Person, 50)
	for i := range people {
		people[i] = mapping.Person{FirstName: fmt.Sprint("P", i), Emails: []string{fmt.Sprintf("p%d@example.com", i)}}
	}
	ids, err := s.Seed(people)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rec, err := range a.List(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if rec.ID != ids[n] {
			t.Fatalf("record %d = %s", n, rec.ID)
		}
		n++
	}
	if n != 50 {
		t.Fatalf("listed %d", n)
	}
	// Stop early.
	for range a.List(ctx) {
		break
	}

	collect := func(cp []byte) (ups map[string]providers.Record, dels []string, res providers.ChangesResult) {
		ups = map[string]providers.Record{}
		res, err := a.Changes(ctx, cp, func(c providers.Change) error {
			switch c.Kind {
			case providers.ChangeUpsert:
				ups[c.Record.ID] = c.Record
			case providers.ChangeDelete:
				dels = append(dels, c.Record.ID)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return ups, dels, res
	}
	ups, dels, res := collect(nil)
	if len(ups) != 50 || len(dels) != 0 || !res.Complete {
		t.Fatalf("first changes: %d upserts, %d deletes, %+v", len(ups), len(dels), res)
	}
	if err := s.UserEdit(ids[3], func(p *mapping.Person) { p.LastName = "Edited" }); err != nil {
		t.Fatal(err)
	}
	if err := s.UserDelete(ids[4]); err != nil {
		t.Fatal(err)
	}
	ups, dels, res2 := collect(res.Checkpoint)
	if ups[ids[3]].Person.LastName != "Edited" || len(dels) != 1 || dels[0] != ids[4] || len(ups) != 49 {
		t.Fatalf("second changes: %+v %v", ups[ids[3]], dels)
	}
	if _, dels, _ := collect(res2.Checkpoint); len(dels) != 0 {
		t.Fatalf("deletion yielded twice: %v", dels)
	}
	if len(res2.Checkpoint) > 400 {
		t.Errorf("checkpoint grew: %s", res2.Checkpoint)
	}
	// A yield error stops the feed and is returned as is.
	stop := errors.New("stop")
	if _, err := a.Changes(ctx, nil, func(providers.Change) error { return stop }); err != stop {
		t.Fatalf("yield error = %v", err)
	}
	if _, err := a.Changes(ctx, []byte("garbage"), func(providers.Change) error { return nil }); err == nil {
		t.Fatal("bad checkpoint accepted")
	}
}

func TestErrors(t *testing.T) {
	s, _ := setup(t, nextleadtest.Options{})
	ctx := context.Background()
	bad, _ := nextlead.New(providers.Options{BaseURL: s.URL(), Credentials: map[string]string{"api_key": "wrong-secret-key"}})
	_, err := bad.FindByEmail(ctx, "a@example.com")
	if classOf(t, err) != providers.ClassAuth || strings.Contains(err.Error(), "wrong-secret-key") ||
		!strings.Contains(err.Error(), "Missing or invalid automation API key") {
		t.Fatalf("auth: %v", err)
	}
	for _, e := range bad.List(ctx) {
		if classOf(t, e) != providers.ClassAuth {
			t.Fatalf("list auth: %v", e)
		}
	}

	_, a := setup(t, nextleadtest.Options{})
	s2, _ := setup(t, nextleadtest.Options{})
	a2, _ := nextlead.New(providers.Options{BaseURL: s2.URL(), Credentials: s2.Credentials(), Timeout: 200 * time.Millisecond})
	s2.SetLatency(time.Second)
	if _, err := a2.LeadStages(ctx); classOf(t, err) != providers.ClassRetryable {
		t.Fatalf("timeout: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := a.LeadStages(cctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	dead, _ := nextlead.New(providers.Options{BaseURL: "http://127.0.0.1:1", Credentials: map[string]string{"api_key": "k"}})
	if _, err := dead.LeadStages(ctx); classOf(t, err) != providers.ClassRetryable {
		t.Fatalf("connection refused: %v", err)
	}
}

func TestRateLimitAndFaults(t *testing.T) {
	s, a := setup(t, nextleadtest.Options{})
	ctx := context.Background()
	s.SetRateLimit(1)
	if _, err := a.LeadStages(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := a.LeadStages(ctx)
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Class != providers.ClassRateLimited || pe.RetryAfter < time.Second {
		t.Fatalf("rate limited: %v", err)
	}
	time.Sleep(pe.RetryAfter)
	if _, err := a.LeadStages(ctx); err != nil {
		t.Fatal(err)
	}
	s.SetRateLimit(0)
	s.SetFaults(1)
	for range 5 {
		if _, err := a.FindByEmail(ctx, "a@example.com"); classOf(t, err) != providers.ClassRetryable {
			t.Fatalf("fault: %v", err)
		}
	}
	for _, err := range a.List(ctx) {
		if classOf(t, err) != providers.ClassRetryable {
			t.Fatalf("list fault: %v", err)
		}
	}
}

// TestWireVariants checks tolerance of bare arrays, single objects and
// {"found":false}/data:[] answers, and the error statuses.
func TestWireVariants(t *testing.T) {
	answers := map[string]string{}
	status := map[string]int{}
	hdr := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := strings.TrimPrefix(r.URL.Path, "/api/v2/")
		if v, ok := hdr[route]; ok {
			w.Header().Set("Retry-After", v)
		}
		if st, ok := status[route]; ok {
			w.WriteHeader(st)
		}
		fmt.Fprint(w, answers[route])
	}))
	defer srv.Close()
	a, _ := nextlead.New(providers.Options{BaseURL: srv.URL, Credentials: map[string]string{"api_key": "k"}})
	ctx := context.Background()

	answers["polling/contact/user-created"] = `[{"id":"c1","email":"A@example.com","lead_score":"7"},{"id":"c2","email":null,"linkedin":null}]`
	var got []string
	for rec, err := range a.List(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rec.ID)
	}
	if fmt.Sprint(got) != "[c1 c2]" {
		t.Fatalf("bare array: %v", got)
	}
	answers["polling/contact/user-created"] = `{"data":[{"id":"c9"}],"status":200,"extra":{"x":[1,2]}}`
	got = nil
	for rec, err := range a.List(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rec.ID)
	}
	if fmt.Sprint(got) != "[c9]" {
		t.Fatalf("envelope: %v", got)
	}
	answers["polling/contact/user-created"] = `{"status":200,"data":[{"id":"c9"},`
	var last error
	for _, err := range a.List(ctx) {
		last = err
	}
	if last == nil || classOf(t, last) != providers.ClassRetryable {
		t.Fatalf("truncated: %v", last)
	}

	for _, body := range []string{`{"status":200,"data":[]}`, `{"status":200,"data":[{"found":false}]}`, `[]`} {
		answers["receive/contact/find-contact"] = body
		if recs, err := a.FindByEmail(ctx, "a@example.com"); err != nil || len(recs) != 0 {
			t.Fatalf("%s: %v %v", body, recs, err)
		}
	}
	answers["receive/contact/find-contact"] = `{"status":200,"data":{"found":true,"id":"c1","email":"a@example.com"}}`
	if recs, err := a.FindByEmail(ctx, "a@example.com"); err != nil || len(recs) != 1 {
		t.Fatalf("single object: %v %v", recs, err)
	}
	answers["receive/contact/get-conversion"] = `[{"id":"t1","name":"Won"}]`
	if tags, err := a.LeadStages(ctx); err != nil || len(tags) != 1 || tags[0].Name != "Won" {
		t.Fatalf("bare tags: %v %v", tags, err)
	}

	tests := []struct {
		status     int
		body       string
		retryAfter string
		class      providers.Class
		msg        string
		field      string
		wait       time.Duration
	}{
		{401, `{"status":401,"error":"Missing or invalid automation API key"}`, "", providers.ClassAuth, "Missing or invalid automation API key", "", 0},
		{400, `{"status":400,"error":"Invalid or missing data"}`, "", providers.ClassValidation, "Invalid or missing data", "", 0},
		{400, `{"status":400,"error":"Le paramètre 'column' est obligatoire"}`, "", providers.ClassValidation, "Le paramètre 'column' est obligatoire", "column", 0},
		{422, `{"status":422,"error":"bad"}`, "", providers.ClassValidation, "bad", "", 0},
		{404, `{"status":404,"error":"Contact not found with provided criteria"}`, "", providers.ClassNotFound, "Contact not found with provided criteria", "", 0},
		{409, `{"status":409,"error":"A contact with this email already exists"}`, "", providers.ClassConflict, "A contact with this email already exists", "emails", 0},
		{429, `{"status":429,"error":"Too many requests"}`, "3", providers.ClassRateLimited, "Too many requests", "", 3 * time.Second},
		{429, `{}`, "", providers.ClassRateLimited, "Too Many Requests", "", time.Second},
		{500, `{"status":500,"error":"Internal server error"}`, "", providers.ClassRetryable, "Internal server error", "", 0},
		{502, `<html>Bad Gateway</html>`, "", providers.ClassRetryable, "Bad Gateway", "", 0},
		{418, `teapot`, "", providers.ClassPermanent, "I'm a teapot", "", 0},
		{200, `{"status":404,"error":"Organization not found"}`, "", providers.ClassNotFound, "Organization not found", "", 0},
	}
	for _, tt := range tests {
		answers["receive/contact/get-conversion"] = tt.body
		status["receive/contact/get-conversion"] = tt.status
		hdr["receive/contact/get-conversion"] = tt.retryAfter
		_, err := a.LeadStages(ctx)
		var pe *providers.Error
		if !errors.As(err, &pe) || pe.Class != tt.class || pe.Message != tt.msg || pe.Field != tt.field || pe.RetryAfter != tt.wait {
			t.Errorf("%d %s: got %#v", tt.status, tt.body, pe)
		}
	}
}

// TestNoCredentialInLogs checks that debug logs never carry the key.
func TestNoCredentialInLogs(t *testing.T) {
	s, err := nextleadtest.New(nextleadtest.Options{APIKey: "very-secret-key-123"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, _ := nextlead.New(providers.Options{BaseURL: s.URL(), Credentials: s.Credentials(), Logger: log})
	ctx := context.Background()
	_, _ = a.Changes(ctx, nil, func(providers.Change) error { return nil })
	_ = a.SetPipelineStage(ctx, "x", mapping.Person{}, "nope")
	s.SetFaults(1)
	_, err = a.Create(ctx, mapping.Person{Emails: []string{"a@example.com"}})
	if err == nil || strings.Contains(err.Error(), "very-secret-key-123") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(buf.String(), "very-secret-key-123") {
		t.Fatal("credential in logs")
	}
}
