package epixeltest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/mapping"
)

type answer struct {
	status int
	header http.Header
	env    struct {
		StatusCode int                        `json:"status_code"`
		Errors     map[string]json.RawMessage `json:"errors"`
		Data       json.RawMessage            `json:"data"`
	}
	raw string
}

func (a answer) errs(field string) []string {
	var out []string
	raw := a.env.Errors[field]
	if err := json.Unmarshal(raw, &out); err != nil {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return []string{s}
		}
	}
	return out
}

type client struct {
	t      *testing.T
	s      *Server
	apiKey string
	token  string
}

func start(t *testing.T, opts Options) (*Server, *client) {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	c := &client{t: t, s: s, apiKey: s.opts.APIKey}
	return s, c
}

func (c *client) login() {
	c.t.Helper()
	a := c.post("/user/login/", "multipart", map[string]string{"username": c.s.opts.Username, "password": c.s.opts.Password})
	if a.status != 200 {
		c.t.Fatalf("login: %d %s", a.status, a.raw)
	}
	var d struct{ Access, Refresh string }
	if err := json.Unmarshal(a.env.Data, &d); err != nil || d.Access == "" || d.Refresh == "" {
		c.t.Fatalf("login data: %s", a.env.Data)
	}
	c.token = d.Access
}

func (c *client) do(req *http.Request) answer {
	c.t.Helper()
	if c.apiKey != "" {
		req.Header.Set("apikey", c.apiKey)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	if err := json.Unmarshal(b, &a.env); err != nil {
		c.t.Fatalf("answer is not JSON: %q", b)
	}
	if a.env.StatusCode != resp.StatusCode {
		c.t.Fatalf("status_code %d != HTTP %d", a.env.StatusCode, resp.StatusCode)
	}
	return a
}

func (c *client) get(path string, q url.Values) answer {
	c.t.Helper()
	u := c.s.URL() + path
	if q != nil {
		u += "?" + q.Encode()
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return c.do(req)
}

// post sends form as multipart, url-encoded or JSON (kind).
func (c *client) post(path, kind string, form map[string]string) answer {
	c.t.Helper()
	var body bytes.Buffer
	var ct string
	switch kind {
	case "multipart":
		mw := multipart.NewWriter(&body)
		for k, v := range form {
			_ = mw.WriteField(k, v)
		}
		_ = mw.Close()
		ct = mw.FormDataContentType()
	case "urlencoded":
		v := url.Values{}
		for k, x := range form {
			v.Set(k, x)
		}
		body.WriteString(v.Encode())
		ct = "application/x-www-form-urlencoded"
	case "json":
		_ = json.NewEncoder(&body).Encode(form)
		ct = "application/json"
	}
	req, _ := http.NewRequest(http.MethodPost, c.s.URL()+path, &body)
	req.Header.Set("Content-Type", ct)
	return c.do(req)
}

func validLead() map[string]string {
	return map[string]string{"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "phone": "+33612345678"}
}

func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "<absent>" {
			delete(out, kv[i])
			continue
		}
		out[kv[i]] = kv[i+1]
	}
	return out
}

func wantDetail(t *testing.T, a answer, status int, msg string) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status = %d, want %d (%s)", a.status, status, a.raw)
	}
	if got := a.errs("detail"); len(got) != 1 || got[0] != msg {
		t.Fatalf("detail = %q, want %q", got, msg)
	}
}

func wantField(t *testing.T, a answer, field, msg string) {
	t.Helper()
	if a.status != 400 {
		t.Fatalf("status = %d, want 400 (%s)", a.status, a.raw)
	}
	for _, m := range a.errs(field) {
		if m == msg {
			return
		}
	}
	t.Fatalf("errors[%s] = %q, want %q (%s)", field, a.errs(field), msg, a.raw)
}

func TestAuth(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	s, c := start(t, Options{Now: clock, TokenTTL: time.Minute})

	// Wrong apikey, on any route.
	bad := &client{t: t, s: s, apiKey: "wrong"}
	wantDetail(t, bad.get("/leads/list/", nil), 401, "Invalid API key.")
	wantDetail(t, bad.post("/user/login/", "multipart", map[string]string{"username": "x", "password": "y"}), 401, "Invalid API key.")
	none := &client{t: t, s: s}
	wantDetail(t, none.get("/leads/list/", nil), 401, "Invalid API key.")

	// Bad login, missing fields.
	wantDetail(t, c.post("/user/login/", "multipart", map[string]string{"username": s.opts.Username, "password": "nope"}), 401,
		"No active account found with the given credentials")
	wantField(t, c.post("/user/login/", "urlencoded", map[string]string{"username": "x"}), "password", "This field is required.")

	// No token, bad token.
	wantDetail(t, c.get("/leads/list/", nil), 401, "Authentication failed")
	c.token = "garbage"
	wantDetail(t, c.get("/leads/list/", nil), 401, "Authentication failed")

	// Login, refresh, expiry.
	a := c.post("/user/login/", "urlencoded", map[string]string{"username": s.opts.Username, "password": s.opts.Password})
	var d struct{ Access, Refresh string }
	_ = json.Unmarshal(a.env.Data, &d)
	c.token = d.Access
	if got := c.get("/leads/list/", nil); got.status != 200 {
		t.Fatalf("list with token: %d %s", got.status, got.raw)
	}
	advance(time.Minute)
	wantDetail(t, c.get("/leads/list/", nil), 401, "Authentication failed")
	c.token = ""
	r := c.post("/user/token/refresh/", "multipart", map[string]string{"refresh": d.Refresh})
	var rd struct{ Access string }
	if err := json.Unmarshal(r.env.Data, &rd); r.status != 200 || err != nil || rd.Access == "" {
		t.Fatalf("refresh: %d %s", r.status, r.raw)
	}
	c.token = rd.Access
	if got := c.get("/leads/list/", nil); got.status != 200 {
		t.Fatalf("list with refreshed token: %d %s", got.status, got.raw)
	}
	wantDetail(t, c.post("/user/token/refresh/", "multipart", map[string]string{"refresh": "bogus"}), 401, "Token is invalid or expired")
	wantField(t, c.post("/user/token/refresh/", "multipart", map[string]string{}), "refresh", "This field is required.")
	advance(25 * time.Hour)
	wantDetail(t, c.post("/user/token/refresh/", "multipart", map[string]string{"refresh": d.Refresh}), 401, "Token is invalid or expired")
}

func TestCreateValidation(t *testing.T) {
	t.Parallel()
	_, c := start(t, Options{})
	c.login()
	long := strings.Repeat("x", 256)
	tests := []struct {
		name, field, msg string
		form             map[string]string
	}{
		{"first name missing", "first_name", "This field is required.", with(validLead(), "first_name", "<absent>")},
		{"first name blank", "first_name", "This field may not be blank.", with(validLead(), "first_name", "  ")},
		{"first name long", "first_name", "Ensure this field has no more than 255 characters.", with(validLead(), "first_name", long)},
		{"last name missing", "last_name", "This field is required.", with(validLead(), "last_name", "<absent>")},
		{"last name blank", "last_name", "This field may not be blank.", with(validLead(), "last_name", "")},
		{"last name long", "last_name", "Ensure this field has no more than 255 characters.", with(validLead(), "last_name", long)},
		{"email missing", "email", "This field is required.", with(validLead(), "email", "<absent>")},
		{"email blank", "email", "This field may not be blank.", with(validLead(), "email", "")},
		{"email long", "email", "Ensure this field has no more than 255 characters.", with(validLead(), "email", long+"@example.com")},
		{"email invalid", "email", "Invalid email.", with(validLead(), "email", "nope")},
		{"phone missing", "phone", "This field is required.", with(validLead(), "phone", "<absent>")},
		{"phone blank", "phone", "This field may not be blank.", with(validLead(), "phone", "")},
		{"phone format", "phone", "Phone number must be entered in the format: '999999999'. Up to 15 digits allowed.", with(validLead(), "phone", "06 12 34 56 78")},
		{"phone short", "phone", "Phone number must be entered in the format: '999999999'. Up to 15 digits allowed.", with(validLead(), "phone", "12345678")},
		{"location long", "location", "Ensure this field has no more than 255 characters.", with(validLead(), "location", long)},
		{"message long", "message", "Ensure this field has no more than 255 characters.", with(validLead(), "message", long)},
		{"status choice", "status", `"hot" is not a valid choice.`, with(validLead(), "status", "hot")},
		{"source choice", "source", `"tv" is not a valid choice.`, with(validLead(), "source", "tv")},
		{"assignee blank", "assignee", "This field may not be blank.", with(validLead(), "assignee", " ")},
		{"assignee unknown", "assignee", "Assignee not found.", with(validLead(), "assignee", "mallory")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantField(t, c.post("/leads/create/lead/", "multipart", tt.form), tt.field, tt.msg)
		})
	}
	// Every invalid field is reported at once.
	a := c.post("/leads/create/lead/", "multipart", map[string]string{})
	for _, f := range []string{"first_name", "last_name", "email", "phone"} {
		wantField(t, a, f, "This field is required.")
	}
	// JSON is refused.
	if a := c.post("/leads/create/lead/", "json", validLead()); a.status != 415 {
		t.Fatalf("JSON create: %d %s", a.status, a.raw)
	}
	// Success: 201 with the lead, defaults applied, unknown keys ignored.
	a = c.post("/leads/create/lead/", "urlencoded", with(validLead(), "bogus", "x", "assignee", "alice", "source", "website"))
	if a.status != 201 {
		t.Fatalf("create: %d %s", a.status, a.raw)
	}
	var l map[string]any
	_ = json.Unmarshal(a.env.Data, &l)
	if l["slug"] == "" || l["status"] != "prospect" || l["assignee"] != "alice" || l["source"] != "website" || l["bogus"] != nil {
		t.Fatalf("created lead = %v", l)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", l["created_at"].(string)); err != nil {
		t.Fatalf("created_at %q: %v", l["created_at"], err)
	}
}

func createLead(t *testing.T, c *client, form map[string]string) string {
	t.Helper()
	a := c.post("/leads/create/lead/", "multipart", form)
	if a.status != 201 {
		t.Fatalf("create: %d %s", a.status, a.raw)
	}
	var l struct{ Slug string }
	_ = json.Unmarshal(a.env.Data, &l)
	return l.Slug
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	_, c := start(t, Options{})
	c.login()
	slug := createLead(t, c, with(validLead(), "status", "customer", "source", "referral", "location", "Paris", "assignee", "bob"))

	wantField(t, c.post("/leads/update/lead/", "multipart", validLead()), "slug", "This field is required.")
	wantField(t, c.post("/leads/update/lead/", "multipart", with(validLead(), "slug", "")), "slug", "This field may not be blank.")
	wantField(t, c.post("/leads/update/lead/", "multipart", with(validLead(), "slug", strings.Repeat("s", 259))), "slug",
		"Ensure this field has no more than 258 characters.")
	// Validation comes before existence.
	wantField(t, c.post("/leads/update/lead/", "multipart", with(validLead(), "slug", "nope", "phone", "x")), "phone",
		"Phone number must be entered in the format: '999999999'. Up to 15 digits allowed.")
	wantDetail(t, c.post("/leads/update/lead/", "multipart", with(validLead(), "slug", "nope")), 401, "Requested lead does not esixt.")

	// Full replace: left-out optional fields are cleared, status back to prospect.
	a := c.post("/leads/update/lead/", "multipart", with(validLead(), "slug", slug, "first_name", "Augusta"))
	if a.status != 200 {
		t.Fatalf("update: %d %s", a.status, a.raw)
	}
	v := c.get("/leads/view/lead/", url.Values{"slug": {slug}})
	var l map[string]any
	_ = json.Unmarshal(v.env.Data, &l)
	if l["first_name"] != "Augusta" || l["status"] != "prospect" || l["source"] != nil || l["location"] != "" || l["assignee"] != nil {
		t.Fatalf("after full replace: %v", l)
	}
	if c.post("/leads/delete/lead/", "multipart", map[string]string{"slug": slug}).status != 200 {
		t.Fatal("delete failed")
	}
	wantDetail(t, c.post("/leads/update/lead/", "multipart", with(validLead(), "slug", slug)), 401, "Requested lead does not esixt.")
}

func TestViewDeleteNotes(t *testing.T) {
	t.Parallel()
	_, c := start(t, Options{})
	c.login()
	slug := createLead(t, c, validLead())

	wantField(t, c.get("/leads/view/lead/", nil), "slug", "This field is required and this may not be blank.")
	wantField(t, c.get("/leads/view/lead/", url.Values{"slug": {"nope"}}), "slug", "Requested slug is invalid.")

	// Notes.
	wantField(t, c.post("/leads/create/leadnote/", "multipart", map[string]string{"note": "x"}), "slug", "This field is required.")
	wantField(t, c.post("/leads/create/leadnote/", "multipart", map[string]string{"slug": "", "note": "x"}), "slug", "This field may not be blank.")
	wantField(t, c.post("/leads/create/leadnote/", "multipart", map[string]string{"slug": "nope", "note": "x"}), "slug", "Requested lead not found.")
	wantField(t, c.post("/leads/create/leadnote/", "multipart", map[string]string{"slug": slug}), "note", "This field is required.")
	wantField(t, c.post("/leads/create/leadnote/", "multipart", map[string]string{"slug": slug, "note": ""}), "note", "This field may not be blank.")
	wantField(t, c.post("/leads/create/leadnote/", "multipart", map[string]string{"slug": slug, "note": strings.Repeat("n", 500)}), "note",
		"Ensure this field has no more than 499 characters.")
	a := c.post("/leads/create/leadnote/", "multipart", map[string]string{"slug": slug, "note": "called"})
	if a.status != 201 {
		t.Fatalf("create note: %d %s", a.status, a.raw)
	}
	var n struct {
		ID   int64
		Note string
	}
	_ = json.Unmarshal(a.env.Data, &n)
	v := c.get("/leads/view/lead/", url.Values{"slug": {slug}})
	if !strings.Contains(v.raw, `"notes":[{"id":`+fmt.Sprint(n.ID)+`,"note":"called"`) {
		t.Fatalf("view lacks the note: %s", v.raw)
	}
	wantField(t, c.post("/leads/delete/leadnote/", "multipart", map[string]string{}), "note_id", "This field is required.")
	wantField(t, c.post("/leads/delete/leadnote/", "multipart", map[string]string{"note_id": ""}), "note_id", "This field may not be blank.")
	wantField(t, c.post("/leads/delete/leadnote/", "multipart", map[string]string{"note_id": "abc"}), "note_id", "Invalid note id.")
	wantField(t, c.post("/leads/delete/leadnote/", "multipart", map[string]string{"note_id": "999"}), "note_id", "Requested note not found.")
	if a := c.post("/leads/delete/leadnote/", "multipart", map[string]string{"note_id": fmt.Sprint(n.ID)}); a.status != 200 {
		t.Fatalf("delete note: %d %s", a.status, a.raw)
	}

	// Delete.
	wantField(t, c.post("/leads/delete/lead/", "multipart", map[string]string{}), "slug", "This field is required.")
	wantField(t, c.post("/leads/delete/lead/", "multipart", map[string]string{"slug": ""}), "slug", "This field may not be blank.")
	wantField(t, c.post("/leads/delete/lead/", "multipart", map[string]string{"slug": "nope"}), "slug", "Requested lead not found.")
	if a := c.post("/leads/delete/lead/", "urlencoded", map[string]string{"slug": slug}); a.status != 200 {
		t.Fatalf("delete: %d %s", a.status, a.raw)
	}
	wantField(t, c.post("/leads/delete/lead/", "multipart", map[string]string{"slug": slug}), "slug", "Requested lead already has a deleted status.")
	wantField(t, c.post("/leads/create/leadnote/", "multipart", map[string]string{"slug": slug, "note": "x"}), "slug",
		"Requested lead already has a deleted status.")
	wantField(t, c.get("/leads/view/lead/", url.Values{"slug": {slug}}), "slug", "Requested slug is invalid.")
	if a := c.get("/leads/list/", nil); !strings.Contains(a.raw, `"count":0`) {
		t.Fatalf("deleted lead still listed: %s", a.raw)
	}
	// Wrong method, unknown route.
	if a := c.get("/leads/delete/lead/", nil); a.status != 405 {
		t.Fatalf("GET on a POST route: %d", a.status)
	}
	if a := c.get("/leads/nothing/", nil); a.status != 404 {
		t.Fatalf("unknown route: %d", a.status)
	}
}

type page struct {
	Count    int
	Next     *string
	Previous *string
	Results  []struct {
		Slug, Email, Status string
		CreatedAt           string `json:"created_at"`
	}
}

func TestListPaging(t *testing.T) {
	t.Parallel()
	s, c := start(t, Options{})
	people := make([]mapping.Person, 250)
	for i := range people {
		people[i] = mapping.Person{FirstName: "P", LastName: fmt.Sprint(i), Emails: []string{fmt.Sprintf("p%d@example.com", i)},
			Phones: []string{"+33612345678"}}
	}
	people[7].LeadStage = mapping.StageConverted
	ids, err := s.Seed(people)
	if err != nil {
		t.Fatal(err)
	}
	c.login()
	var p page
	a := c.get("/leads/list/", nil)
	_ = json.Unmarshal(a.env.Data, &p)
	if p.Count != 250 || len(p.Results) != 20 || p.Previous != nil || p.Next == nil {
		t.Fatalf("default page: count %d, %d results, next %v", p.Count, len(p.Results), p.Next)
	}
	if p.Results[0].Slug != ids[249] {
		t.Fatalf("first result %s, want the newest %s", p.Results[0].Slug, ids[249])
	}
	if !strings.HasPrefix(*p.Next, "http://") || !strings.Contains(*p.Next, "offset=20") {
		t.Fatalf("next = %s", *p.Next)
	}
	a = c.get("/leads/list/", url.Values{"limit": {"500"}, "offset": {"200"}})
	p = page{}
	_ = json.Unmarshal(a.env.Data, &p)
	if len(p.Results) != 50 || p.Next != nil || p.Previous == nil {
		t.Fatalf("capped page: %d results, next %v", len(p.Results), p.Next)
	}
	// Follow next links to the end, every lead once, timestamps decreasing.
	seen := map[string]bool{}
	u := c.s.URL() + "/leads/list/?limit=100"
	last := "9999"
	for u != "" {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		a := c.do(req)
		p = page{}
		_ = json.Unmarshal(a.env.Data, &p)
		for _, r := range p.Results {
			if seen[r.Slug] {
				t.Fatalf("lead %s twice", r.Slug)
			}
			seen[r.Slug] = true
			if r.CreatedAt >= last {
				t.Fatalf("created_at not strictly decreasing: %s after %s", r.CreatedAt, last)
			}
			last = r.CreatedAt
		}
		u = ""
		if p.Next != nil {
			u = *p.Next
		}
	}
	if len(seen) != 250 {
		t.Fatalf("saw %d leads", len(seen))
	}
	// Filters.
	a = c.get("/leads/list/", url.Values{"email": {"P7@Example.com"}})
	p = page{}
	_ = json.Unmarshal(a.env.Data, &p)
	if p.Count != 1 || p.Results[0].Slug != ids[7] || p.Results[0].Status != "customer" {
		t.Fatalf("email filter: %s", a.raw)
	}
	a = c.get("/leads/list/", url.Values{"status": {"customer"}, "first_name": {"P"}})
	p = page{}
	_ = json.Unmarshal(a.env.Data, &p)
	if p.Count != 1 {
		t.Fatalf("status filter: %s", a.raw)
	}
	// Snapshot is in listing order.
	snap := s.Snapshot()
	if len(snap) != 250 || snap[0].ID != ids[249] || snap[249].Person.Emails[0] != "p0@example.com" {
		t.Fatalf("snapshot order wrong")
	}
	if s.Requests()["GET /leads/list/"] == 0 || s.Requests()["POST /user/login/"] != 1 {
		t.Fatalf("requests = %v", s.Requests())
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	s, c := start(t, Options{RateLimit: 2})
	c.login()
	c.get("/leads/list/", nil)
	a := c.get("/leads/list/", nil)
	if a.status != 429 || a.header.Get("Retry-After") != "1" {
		t.Fatalf("third request: %d Retry-After %q", a.status, a.header.Get("Retry-After"))
	}
	if len(a.errs("detail")) != 1 {
		t.Fatalf("429 body: %s", a.raw)
	}
	// Another apikey has its own quota (and is refused for its key).
	other := &client{t: t, s: s, apiKey: "other"}
	wantDetail(t, other.get("/leads/list/", nil), 401, "Invalid API key.")
	time.Sleep(1100 * time.Millisecond)
	if a := c.get("/leads/list/", nil); a.status != 200 {
		t.Fatalf("after waiting: %d", a.status)
	}
	s.SetRateLimit(0)
	for range 5 {
		if a := c.get("/leads/list/", nil); a.status != 200 {
			t.Fatalf("unlimited: %d", a.status)
		}
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	s, c := start(t, Options{})
	c.login()
	s.SetFaults(1)
	applied := 0
	for i := range 40 {
		a := c.post("/leads/create/lead/", "multipart", with(validLead(), "last_name", fmt.Sprint(i)))
		if a.status != 500 && a.status != 502 && a.status != 503 {
			t.Fatalf("faulted create: %d", a.status)
		}
	}
	s.SetFaults(0)
	applied = len(s.Snapshot())
	if applied == 0 || applied == 40 {
		t.Fatalf("%d of 40 faulted writes applied, want about half", applied)
	}
}

func TestUserEditAndDelete(t *testing.T) {
	t.Parallel()
	s, c := start(t, Options{})
	ids, err := s.Seed([]mapping.Person{{FirstName: "Ada", LastName: "L", Emails: []string{"ada@example.com"}, Phones: []string{"+33612345678"},
		LeadStage: mapping.StageQualified, Owner: "carol"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UserEdit(ids[0], func(p *mapping.Person) {
		p.FirstName = "Augusta"
		p.Address = "London"
		p.Company = "ignored"
	}); err != nil {
		t.Fatal(err)
	}
	c.login()
	a := c.get("/leads/view/lead/", url.Values{"slug": {ids[0]}})
	var l map[string]any
	_ = json.Unmarshal(a.env.Data, &l)
	if l["first_name"] != "Augusta" || l["location"] != "London" || l["status"] != "potential" || l["assignee"] != "carol" {
		t.Fatalf("after user edit: %v", l)
	}
	// carol became a user: she can be assigned through the API.
	if a := c.post("/leads/create/lead/", "multipart", with(validLead(), "assignee", "carol")); a.status != 201 {
		t.Fatalf("assign to seeded owner: %d %s", a.status, a.raw)
	}
	if err := s.UserDelete(ids[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.UserDelete(ids[0]); err == nil {
		t.Fatal("second user delete: want an error")
	}
	if _, err := s.Seed([]mapping.Person{{}}); err == nil {
		t.Fatal("seeding an empty person: want an error")
	}
}
