package epixel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/mapping/epixelmap"
	"github.com/crmsync/crmsync/providers"
	"github.com/crmsync/crmsync/providers/epixel/epixeltest"
)

func newSim(t testing.TB, opts epixeltest.Options) *epixeltest.Server {
	t.Helper()
	s, err := epixeltest.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func newAdapter(t testing.TB, s *epixeltest.Server, mod func(o *providers.Options)) *Adapter {
	t.Helper()
	o := providers.Options{Name: "epx", BaseURL: s.URL(), Credentials: s.Credentials(), Timeout: 5 * time.Second}
	if mod != nil {
		mod(&o)
	}
	a, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func person(i int) mapping.Person {
	return mapping.Person{FirstName: "Ada", LastName: fmt.Sprintf("L%d", i), Emails: []string{fmt.Sprintf("ada%d@example.com", i)},
		Phones: []string{"+33612345678"}}
}

func classOf(t *testing.T, err error, want providers.Class) *providers.Error {
	t.Helper()
	var e *providers.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want a *providers.Error of class %s", err, err, want)
	}
	if e.Class != want {
		t.Fatalf("class = %s, want %s (%v)", e.Class, want, err)
	}
	return e
}

func TestNewValidatesCredentials(t *testing.T) {
	t.Parallel()
	full := map[string]string{"api_key": "k-secret", "username": "u-secret", "password": "p-secret"}
	for _, missing := range []string{"api_key", "username", "password"} {
		creds := map[string]string{}
		for k, v := range full {
			if k != missing {
				creds[k] = v
			}
		}
		_, err := New(providers.Options{BaseURL: "https://crm.example.com/api/v1", Credentials: creds})
		if err == nil || !strings.Contains(err.Error(), missing) {
			t.Fatalf("missing %s: err = %v", missing, err)
		}
		for _, v := range full {
			if strings.Contains(err.Error(), v) {
				t.Fatalf("error %q shows a credential", err)
			}
		}
	}
	if _, err := New(providers.Options{BaseURL: "not a url", Credentials: full}); err == nil {
		t.Fatal("bad base URL accepted")
	}
	a, err := New(providers.Options{BaseURL: "https://crm.example.com/api/v1/", Credentials: full})
	if err != nil || a.timeout != DefaultTimeout || a.base != "https://crm.example.com/api/v1" {
		t.Fatalf("defaults: %v %v", a, err)
	}
}

func TestCRUD(t *testing.T) {
	t.Parallel()
	s := newSim(t, epixeltest.Options{})
	a := newAdapter(t, s, nil)
	ctx := context.Background()

	p := person(1)
	p.Emails = append(p.Emails, "second@example.com")
	p.LeadStage = mapping.StageQualified
	p.Address = "Paris"
	p.Notes = "met at the fair"
	p.Owner = "alice"
	rec, err := a.Create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	want := p.Clone()
	want.Emails = want.Emails[:1]
	if rec.ID == "" || !mapping.EqualPerson(epixelHolds(), &rec.Person, &want) {
		t.Fatalf("created %+v, want %+v", rec, want)
	}
	got, err := a.Get(ctx, rec.ID)
	if err != nil || !mapping.EqualPerson(epixelHolds(), &got.Person, &want) {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	found, err := a.FindByEmail(ctx, "ada1@example.com")
	if err != nil || len(found) != 1 || found[0].ID != rec.ID {
		t.Fatalf("FindByEmail = %+v, %v", found, err)
	}
	if found, _ := a.FindByEmail(ctx, "nobody@example.com"); len(found) != 0 {
		t.Fatalf("FindByEmail(nobody) = %+v", found)
	}

	// A source set in the screens survives an update; so does a location
	// crmsync never had.
	if err := s.UserEdit(rec.ID, func(q *mapping.Person) {}); err != nil {
		t.Fatal(err)
	}
	desired := rec.Person.Clone()
	desired.FirstName = "Augusta"
	desired.LeadStage = mapping.StageConverted
	upd, err := a.Update(ctx, rec.ID, rec.Person, desired)
	if err != nil {
		t.Fatal(err)
	}
	if upd.Person.FirstName != "Augusta" || upd.Person.LeadStage != mapping.StageConverted || upd.Person.Address != "Paris" || upd.Person.Owner != "alice" {
		t.Fatalf("updated = %+v", upd.Person)
	}

	if err := a.Delete(ctx, rec.ID, upd.Person); err != nil {
		t.Fatal(err)
	}
	_, err = a.Get(ctx, rec.ID)
	classOf(t, err, providers.ClassNotFound)
	classOf(t, a.Delete(ctx, rec.ID, upd.Person), providers.ClassNotFound)
	_, err = a.Update(ctx, rec.ID, upd.Person, desired)
	classOf(t, err, providers.ClassNotFound)

	stages, err := a.LeadStages(ctx)
	if err != nil || len(stages) != 6 || stages[0].Name != "prospect" {
		t.Fatalf("LeadStages = %v, %v", stages, err)
	}
	if ps, err := a.PipelineStages(ctx); ps != nil || err != nil {
		t.Fatalf("PipelineStages = %v, %v", ps, err)
	}
	classOf(t, a.SetPipelineStage(ctx, rec.ID, desired, "x"), providers.ClassUnsupported)
	_, err = a.FindByLinkedIn(ctx, "https://www.linkedin.com/in/x")
	classOf(t, err, providers.ClassUnsupported)
}

func epixelHolds() mapping.FieldSet {
	return (&Adapter{}).Capabilities().Holds
}

func TestUpdateKeepsSource(t *testing.T) {
	t.Parallel()
	s := newSim(t, epixeltest.Options{})
	a := newAdapter(t, s, nil)
	ctx := context.Background()
	// Create a lead with a source through the API directly.
	rec, err := a.Create(ctx, person(2))
	if err != nil {
		t.Fatal(err)
	}
	err = a.call(ctx, &request{method: http.MethodPost, route: "/leads/update/lead/", auth: true, form: [][2]string{
		{"slug", rec.ID}, {"first_name", "Ada"}, {"last_name", "L2"}, {"email", "ada2@example.com"}, {"phone", "+33612345678"},
		{"source", "referral"}, {"status", "tentative"},
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := a.Get(ctx, rec.ID)
	desired := cur.Person.Clone()
	desired.Notes = "new note"
	if _, err := a.Update(ctx, rec.ID, cur.Person, desired); err != nil {
		t.Fatal(err)
	}
	l, err := a.view(ctx, rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if l.Source != "referral" || l.Status != "tentative" || l.Message != "new note" {
		t.Fatalf("after update: %+v", l)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	s := newSim(t, epixeltest.Options{})
	ctx := context.Background()

	t.Run("bad password", func(t *testing.T) {
		a := newAdapter(t, s, func(o *providers.Options) {
			o.Credentials = map[string]string{"api_key": s.Credentials()["api_key"], "username": "epixel-test-user", "password": "hunter2-secret"}
		})
		_, err := a.Get(ctx, "x")
		e := classOf(t, err, providers.ClassAuth)
		if strings.Contains(err.Error(), "hunter2-secret") || e.Message != "No active account found with the given credentials" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("bad api key", func(t *testing.T) {
		a := newAdapter(t, s, func(o *providers.Options) {
			o.Credentials = map[string]string{"api_key": "key-secret-123", "username": "u", "password": "p"}
		})
		for rec, err := range a.List(ctx) {
			classOf(t, err, providers.ClassAuth)
			if strings.Contains(err.Error(), "key-secret-123") {
				t.Fatalf("err shows the key: %v", err)
			}
			_ = rec
		}
	})
	a := newAdapter(t, s, nil)
	t.Run("empty person refused before sending", func(t *testing.T) {
		before := s.Requests()["POST /leads/create/lead/"]
		_, err := a.Create(ctx, mapping.Person{})
		e := classOf(t, err, providers.ClassValidation)
		if e.Field != "first_name" || s.Requests()["POST /leads/create/lead/"] != before {
			t.Fatalf("err = %v", err)
		}
		p := person(3)
		p.Phones = []string{"ask reception"}
		_, err = a.Create(ctx, p)
		if e := classOf(t, err, providers.ClassValidation); e.Field != "phones" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("server validation", func(t *testing.T) {
		p := person(4)
		p.Owner = "mallory"
		_, err := a.Create(ctx, p)
		e := classOf(t, err, providers.ClassValidation)
		if e.Field != "owner" || e.Message != "Assignee not found." || e.Status != 400 {
			t.Fatalf("err = %+v", e)
		}
	})
	t.Run("not found", func(t *testing.T) {
		_, err := a.Get(ctx, "no-such-lead")
		classOf(t, err, providers.ClassNotFound)
		err = a.call(ctx, &request{method: http.MethodPost, route: "/leads/update/lead/", auth: true, form: [][2]string{
			{"slug", "no-such-lead"}, {"first_name", "A"}, {"last_name", "B"}, {"email", "a@b.co"}, {"phone", "+33612345678"}}}, nil)
		e := classOf(t, err, providers.ClassNotFound)
		if e.Status != 401 || e.Message != "Requested lead does not esixt." {
			t.Fatalf("err = %+v", e)
		}
	})
	t.Run("rate limited", func(t *testing.T) {
		s := newSim(t, epixeltest.Options{})
		a := newAdapter(t, s, nil)
		if _, err := a.LeadStages(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := a.FindByEmail(ctx, "x@example.com"); err != nil { // logs in
			t.Fatal(err)
		}
		s.SetRateLimit(1)
		_, _ = a.FindByEmail(ctx, "x@example.com")
		_, err := a.FindByEmail(ctx, "x@example.com")
		e := classOf(t, err, providers.ClassRateLimited)
		if e.RetryAfter < time.Second {
			t.Fatalf("RetryAfter = %v", e.RetryAfter)
		}
		time.Sleep(e.RetryAfter)
		if _, err := a.FindByEmail(ctx, "x@example.com"); err != nil {
			t.Fatalf("after RetryAfter: %v", err)
		}
	})
	t.Run("faults", func(t *testing.T) {
		s := newSim(t, epixeltest.Options{})
		a := newAdapter(t, s, nil)
		s.SetFaults(1)
		_, err := a.Create(ctx, person(5))
		classOf(t, err, providers.ClassRetryable)
	})
	t.Run("timeout", func(t *testing.T) {
		s := newSim(t, epixeltest.Options{Latency: 300 * time.Millisecond})
		a := newAdapter(t, s, func(o *providers.Options) { o.Timeout = 50 * time.Millisecond })
		_, err := a.Get(ctx, "x")
		classOf(t, err, providers.ClassRetryable)
	})
	t.Run("cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := a.Get(cctx, "x")
		classOf(t, err, providers.ClassPermanent)
	})
	t.Run("connection refused", func(t *testing.T) {
		a := newAdapter(t, s, func(o *providers.Options) { o.BaseURL = "http://127.0.0.1:1/api/v1" })
		_, err := a.Get(ctx, "x")
		classOf(t, err, providers.ClassRetryable)
	})
}

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status     int
		body       string
		retryAfter string
		class      providers.Class
		field, msg string
	}{
		{401, `{"status_code":401,"errors":{"detail":"Authentication failed"},"data":{}}`, "", providers.ClassAuth, "", "Authentication failed"},
		{401, `{"status_code":401,"errors":{"detail":"Invalid API key."},"data":{}}`, "", providers.ClassAuth, "", "Invalid API key."},
		{401, `{"status_code":401,"errors":{"detail":"Requested lead does not esixt."},"data":{}}`, "", providers.ClassNotFound, "", "Requested lead does not esixt."},
		{401, `{"status_code":401,"errors":{"detail":"You are not owner of this lead."},"data":{}}`, "", providers.ClassPermanent, "", "You are not owner of this lead."},
		{401, `{"status_code":401,"errors":{"detail":"You can't delete this lead."},"data":{}}`, "", providers.ClassPermanent, "", "You can't delete this lead."},
		{401, `not json`, "", providers.ClassAuth, "", ""},
		{400, `{"status_code":400,"errors":{"phone":["Phone number must be entered in the format: '999999999'. Up to 15 digits allowed."]},"data":{}}`, "",
			providers.ClassValidation, "phones", "Phone number must be entered in the format: '999999999'. Up to 15 digits allowed."},
		{400, `{"status_code":400,"errors":{"status":["\"hot\" is not a valid choice."],"email":["Invalid email."]},"data":{}}`, "",
			providers.ClassValidation, "emails", "Invalid email."},
		{400, `{"status_code":400,"errors":{"slug":["Requested slug is invalid."]},"data":{}}`, "", providers.ClassNotFound, "slug", "Requested slug is invalid."},
		{400, `{"status_code":400,"errors":{"slug":["Requested lead already has a deleted status."]},"data":{}}`, "", providers.ClassNotFound, "slug", "Requested lead already has a deleted status."},
		{422, `{"errors":{"first_name":"This field may not be blank."}}`, "", providers.ClassValidation, "first_name", "This field may not be blank."},
		{404, `{}`, "", providers.ClassNotFound, "", ""},
		{409, `{}`, "", providers.ClassConflict, "", ""},
		{429, `{"status_code":429,"errors":{"detail":"Request was throttled."},"data":{}}`, "3", providers.ClassRateLimited, "", "Request was throttled."},
		{429, ``, "", providers.ClassRateLimited, "", ""},
		{500, ``, "", providers.ClassRetryable, "", ""},
		{502, `<html>`, "", providers.ClassRetryable, "", ""},
		{503, ``, "", providers.ClassRetryable, "", ""},
		{415, `{}`, "", providers.ClassPermanent, "", ""},
		{405, `{}`, "", providers.ClassPermanent, "", ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d %s", tt.status, tt.msg), func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.status, Header: http.Header{}}
			if tt.retryAfter != "" {
				resp.Header.Set("Retry-After", tt.retryAfter)
			}
			var e *providers.Error
			if !errors.As(classify("GET /x", resp, []byte(tt.body)), &e) {
				t.Fatal("not a *providers.Error")
			}
			if e.Class != tt.class || e.Field != tt.field || e.Message != tt.msg || e.Status != tt.status {
				t.Fatalf("got %+v", e)
			}
			if tt.class == providers.ClassRateLimited {
				want := time.Second
				if tt.retryAfter == "3" {
					want = 3 * time.Second
				}
				if e.RetryAfter != want {
					t.Fatalf("RetryAfter = %v, want %v", e.RetryAfter, want)
				}
			}
		})
	}
}

func seedN(t testing.TB, s *epixeltest.Server, n int) []string {
	t.Helper()
	people := make([]mapping.Person, n)
	for i := range people {
		people[i] = person(i)
	}
	ids, err := s.Seed(people)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// The access token expires in the middle of a paged listing: the adapter
// refreshes it once and the listing goes on, every lead once; when the
// refresh token is refused too, it logs in again.
func TestTokenExpiryDuringListing(t *testing.T) {
	t.Parallel()
	s := newSim(t, epixeltest.Options{})
	ids := seedN(t, s, 450)
	var logs bytes.Buffer
	a := newAdapter(t, s, func(o *providers.Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	seen := map[string]int{}
	n := 0
	for rec, err := range a.List(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		seen[rec.ID]++
		n++
		switch n {
		case 150:
			s.ExpireTokens()
		case 320:
			s.ExpireTokens()
			s.ExpireRefreshTokens()
		}
	}
	if len(seen) != len(ids) || n != len(ids) {
		t.Fatalf("listed %d (%d distinct), want %d", n, len(seen), len(ids))
	}
	req := s.Requests()
	if req["POST /user/login/"] != 2 || req["POST /user/token/refresh/"] != 2 {
		t.Fatalf("requests = %v", req)
	}
	for _, secret := range s.Credentials() {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("logs show a credential: %s", logs.String())
		}
	}
}

// Many goroutines meeting an expired token cause one refresh.
func TestConcurrentRefresh(t *testing.T) {
	t.Parallel()
	s := newSim(t, epixeltest.Options{})
	ids := seedN(t, s, 5)
	a := newAdapter(t, s, nil)
	if _, err := a.Get(context.Background(), ids[0]); err != nil {
		t.Fatal(err)
	}
	s.ExpireTokens()
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := a.Get(context.Background(), ids[i%len(ids)]); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if r := s.Requests(); r["POST /user/token/refresh/"] != 1 || r["POST /user/login/"] != 1 {
		t.Fatalf("requests = %v", r)
	}
}

// A lead created while a client pages shifts later pages (newest first);
// the adapter skips the lead it sees twice.
func TestListDedupesShiftedPages(t *testing.T) {
	t.Parallel()
	s := newSim(t, epixeltest.Options{})
	ids := seedN(t, s, 250)
	a := newAdapter(t, s, nil)
	seen := map[string]int{}
	n := 0
	for rec, err := range a.List(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		seen[rec.ID]++
		n++
		if n == 50 {
			if _, err := s.Seed([]mapping.Person{person(1000), person(1001), person(1002)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Fatalf("lead %s listed %d times", id, seen[id])
		}
	}
	if n != len(seen) {
		t.Fatalf("%d yields for %d leads", n, len(seen))
	}
}

func TestChangesAndStop(t *testing.T) {
	t.Parallel()
	s := newSim(t, epixeltest.Options{})
	ids := seedN(t, s, 130)
	a := newAdapter(t, s, nil)
	ctx := context.Background()
	var got []providers.Change
	res, err := a.Changes(ctx, nil, func(c providers.Change) error { got = append(got, c); return nil })
	if err != nil || !res.Complete || len(res.Checkpoint) == 0 || len(got) != 130 {
		t.Fatalf("Changes: %d changes, %+v, %v", len(got), res, err)
	}
	if err := s.UserEdit(ids[3], func(p *mapping.Person) { p.Notes = "edited in the screens" }); err != nil {
		t.Fatal(err)
	}
	found := false
	_, err = a.Changes(ctx, res.Checkpoint, func(c providers.Change) error {
		if c.Record.ID == ids[3] && c.Record.Person.Notes == "edited in the screens" {
			found = true
		}
		return nil
	})
	if err != nil || !found {
		t.Fatalf("user edit not seen: %v", err)
	}
	stop := errors.New("stop")
	k := 0
	_, err = a.Changes(ctx, nil, func(providers.Change) error { k++; return stop })
	if !errors.Is(err, stop) || k != 1 {
		t.Fatalf("yield error: %v after %d", err, k)
	}
	k = 0
	for range a.List(ctx) {
		k++
		if k == 10 {
			break
		}
	}
}

func TestDecodePageTolerance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		n       int
		next    bool
		wantErr bool
	}{
		{"reordered keys and extras", `{"data":{"results":[{"slug":"a","x":{"y":[1]}}],"extra":[1,{"a":2}],"next":"http://h/x?offset=1","count":5},"status_code":200}`, 1, true, false},
		{"null next", `{"status_code":200,"errors":{},"data":{"count":1,"next":null,"previous":null,"results":[{"slug":"a"}]}}`, 1, false, false},
		{"bare list", `{"data":[{"slug":"a"},{"slug":"b"}]}`, 2, false, false},
		{"null data", `{"data":null}`, 0, false, false},
		{"truncated", `{"data":{"results":[{"slug":"a"},`, 1, false, true},
		{"not an object", `[1,2]`, 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			info, err := decodePage(strings.NewReader(tt.body), func(l epixelmap.Lead) error { n++; return nil })
			if (err != nil) != tt.wantErr || n != tt.n || info.next != tt.next {
				t.Fatalf("n=%d next=%v err=%v", n, info.next, err)
			}
		})
	}
}

func BenchmarkList(b *testing.B) {
	s := newSim(b, epixeltest.Options{})
	seedN(b, s, 20000)
	a := newAdapter(b, s, nil)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		n := 0
		for _, err := range a.List(ctx) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 20000 {
			b.Fatalf("listed %d", n)
		}
	}
	b.ReportMetric(20000, "records/op")
}
