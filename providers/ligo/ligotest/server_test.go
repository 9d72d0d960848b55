package ligotest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmsync/crmsync/mapping"
)

func newServer(t *testing.T, opts Options) *Server {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func call(t *testing.T, s *Server, method, path, ctype, body string, token ...string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	tok := s.token
	if len(token) > 0 {
		tok = token[0]
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	_ = json.Unmarshal(b, &a.body)
	return a
}

func seedOne(t *testing.T, s *Server, p mapping.Person) string {
	t.Helper()
	ids, err := s.Seed([]mapping.Person{p})
	if err != nil {
		t.Fatal(err)
	}
	return ids[0]
}

func violations(a answer) [][2]string {
	var out [][2]string
	vs, _ := a.body["violations"].([]any)
	for _, v := range vs {
		m := v.(map[string]any)
		out = append(out, [2]string{m["propertyPath"].(string), m["message"].(string)})
	}
	return out
}

const (
	jsonCT  = "application/json"
	patchCT = "application/merge-patch+json"
)

func TestErrorCases(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	id := seedOne(t, s, mapping.Person{FirstName: "Marie", LastName: "Dubois"})
	missing := "00000000-0000-4000-8000-000000000000"
	tests := []struct {
		name       string
		method     string
		path       string
		ctype      string
		body       string
		token      []string
		wantStatus int
		// wantKey/wantMsg: a top-level key and its verbatim value.
		wantKey, wantMsg string
		wantViolation    [2]string
	}{
		{name: "no token", method: "GET", path: "/api/contacts", token: []string{""}, wantStatus: 401, wantKey: "message", wantMsg: "Invalid credentials."},
		{name: "wrong token", method: "GET", path: "/api/contacts/" + id, token: []string{"nope"}, wantStatus: 401, wantKey: "message", wantMsg: "Invalid credentials."},
		{name: "wrong token on write", method: "POST", path: "/api/contacts", ctype: jsonCT, body: `{"name":"A"}`, token: []string{"nope"}, wantStatus: 401, wantKey: "message", wantMsg: "Invalid credentials."},
		{name: "get unknown", method: "GET", path: "/api/contacts/" + missing, wantStatus: 404, wantKey: "hydra:description", wantMsg: "Not Found"},
		{name: "get non-uuid", method: "GET", path: "/api/contacts/42", wantStatus: 404, wantKey: "hydra:description", wantMsg: "Not Found"},
		{name: "page zero", method: "GET", path: "/api/contacts?page=0", wantStatus: 400, wantKey: "hydra:description", wantMsg: "Page should not be less than 1"},
		{name: "create without name", method: "POST", path: "/api/contacts", ctype: jsonCT, body: `{"company":"Acme"}`, wantStatus: 422, wantViolation: [2]string{"name", "This value should not be blank."}},
		{name: "create with blank name", method: "POST", path: "/api/contacts", ctype: jsonCT, body: `{"name":"  "}`, wantStatus: 422, wantViolation: [2]string{"name", "This value should not be blank."}},
		{name: "create with bad email", method: "POST", path: "/api/contacts", ctype: jsonCT, body: `{"name":"A","emails":["a@b.co","nope"]}`, wantStatus: 422, wantViolation: [2]string{"emails[1]", "This value is not a valid email address."}},
		{name: "create malformed", method: "POST", path: "/api/contacts", ctype: jsonCT, body: `{"name":`, wantStatus: 400, wantKey: "hydra:description", wantMsg: "Syntax error"},
		{name: "create not an object", method: "POST", path: "/api/contacts", ctype: jsonCT, body: `["a"]`, wantStatus: 400, wantKey: "hydra:description", wantMsg: "Syntax error"},
		{name: "create wrong type", method: "POST", path: "/api/contacts", ctype: jsonCT, body: `{"name":5}`, wantStatus: 400, wantKey: "hydra:description", wantMsg: `The type of the "name" attribute must be "string", "int" given.`},
		{name: "create emails not a list", method: "POST", path: "/api/contacts", ctype: jsonCT, body: `{"name":"A","emails":"a@b.co"}`, wantStatus: 400, wantKey: "hydra:description", wantMsg: `The type of the "emails" attribute must be "array", "string" given.`},
		{name: "create wrong content type", method: "POST", path: "/api/contacts", ctype: "text/plain", body: `{"name":"A"}`, wantStatus: 415, wantKey: "hydra:description", wantMsg: `The content-type "text/plain" is not supported. Supported MIME types are "application/ld+json", "application/json".`},
		{name: "create no content type", method: "POST", path: "/api/contacts", body: `{"name":"A"}`, wantStatus: 415, wantKey: "hydra:description", wantMsg: `The "Content-Type" header must exist.`},
		{name: "patch unknown", method: "PATCH", path: "/api/contacts/" + missing, ctype: patchCT, body: `{"name":"B"}`, wantStatus: 404, wantKey: "hydra:description", wantMsg: "Not Found"},
		{name: "patch wrong content type", method: "PATCH", path: "/api/contacts/" + id, ctype: "application/x-www-form-urlencoded", body: `name=B`, wantStatus: 415, wantKey: "hydra:description", wantMsg: `The content-type "application/x-www-form-urlencoded" is not supported. Supported MIME types are "application/merge-patch+json", "application/json".`},
		{name: "patch malformed", method: "PATCH", path: "/api/contacts/" + id, ctype: patchCT, body: `{`, wantStatus: 400, wantKey: "hydra:description", wantMsg: "Syntax error"},
		{name: "patch clears name", method: "PATCH", path: "/api/contacts/" + id, ctype: patchCT, body: `{"name":null}`, wantStatus: 422, wantViolation: [2]string{"name", "This value should not be blank."}},
		{name: "patch bad email", method: "PATCH", path: "/api/contacts/" + id, ctype: patchCT, body: `{"emails":["x"]}`, wantStatus: 422, wantViolation: [2]string{"emails[0]", "This value is not a valid email address."}},
		{name: "state unknown contact", method: "PATCH", path: "/api/contacts/" + missing + "/pipeline-state", ctype: patchCT, body: `{"stateId":null}`, wantStatus: 404, wantKey: "hydra:description", wantMsg: "Not Found"},
		{name: "state unknown id", method: "PATCH", path: "/api/contacts/" + id + "/pipeline-state", ctype: jsonCT, body: `{"stateId":"` + missing + `"}`, wantStatus: 422, wantViolation: [2]string{"stateId", "This pipeline state does not exist."}},
		{name: "state not a uuid", method: "PATCH", path: "/api/contacts/" + id + "/pipeline-state", ctype: jsonCT, body: `{"stateId":"x"}`, wantStatus: 422, wantViolation: [2]string{"stateId", "This pipeline state does not exist."}},
		{name: "state wrong type", method: "PATCH", path: "/api/contacts/" + id + "/pipeline-state", ctype: jsonCT, body: `{"stateId":3}`, wantStatus: 400, wantKey: "hydra:description", wantMsg: `The type of the "stateId" attribute must be "string", "int" given.`},
		{name: "state wrong content type", method: "PATCH", path: "/api/contacts/" + id + "/pipeline-state", ctype: "text/plain", body: `{}`, wantStatus: 415},
		{name: "state malformed", method: "PATCH", path: "/api/contacts/" + id + "/pipeline-state", ctype: jsonCT, body: `{"stateId"`, wantStatus: 400, wantKey: "hydra:description", wantMsg: "Syntax error"},
		{name: "note unknown contact", method: "POST", path: "/api/contacts/" + missing + "/notes", ctype: jsonCT, body: `{"content":"x"}`, wantStatus: 404, wantKey: "hydra:description", wantMsg: "Not Found"},
		{name: "note blank", method: "POST", path: "/api/contacts/" + id + "/notes", ctype: jsonCT, body: `{"content":" "}`, wantStatus: 422, wantViolation: [2]string{"content", "This value should not be blank."}},
		{name: "delete unknown note", method: "DELETE", path: "/api/contacts/" + id + "/notes/" + missing, wantStatus: 404, wantKey: "hydra:description", wantMsg: "Not Found"},
		{name: "no contact delete route", method: "DELETE", path: "/api/contacts/" + id, wantStatus: 405},
		{name: "unknown route", method: "GET", path: "/api/people", wantStatus: 404, wantKey: "hydra:description", wantMsg: "Not Found"},
	}
	t.Run("cases", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				a := call(t, s, tt.method, tt.path, tt.ctype, tt.body, tt.token...)
				if a.status != tt.wantStatus {
					t.Fatalf("status = %d, want %d (%s)", a.status, tt.wantStatus, a.raw)
				}
				if tt.wantKey != "" && a.body[tt.wantKey] != tt.wantMsg {
					t.Errorf("%s = %v, want %q (%s)", tt.wantKey, a.body[tt.wantKey], tt.wantMsg, a.raw)
				}
				if tt.wantViolation != ([2]string{}) {
					vs := violations(a)
					if len(vs) != 1 || vs[0] != tt.wantViolation {
						t.Errorf("violations = %v, want [%v]", vs, tt.wantViolation)
					}
				}
			})
		}
	})
	if code, ok := s.Requests()["GET /api/contacts/{id}"]; !ok || code < 3 {
		t.Errorf("requests = %v", s.Requests())
	}
	// No failed write changed the contact.
	snap := s.Snapshot()
	if len(snap) != 1 || snap[0].Person.FirstName != "Marie" || snap[0].Person.PipelineStage != "" {
		t.Errorf("snapshot after failures = %+v", snap)
	}
}

func TestCreateGetPatch(t *testing.T) {
	t.Parallel()
	clock := newClock()
	s := newServer(t, Options{Now: clock.now})
	a := call(t, s, "POST", "/api/contacts", jsonCT,
		`{"name":"Marie Dubois","emails":["marie@example.com"],"company":"Acme","status":"converted","unknown":1,"pipelineState":{"id":"x"}}`)
	if a.status != 201 {
		t.Fatalf("create: %d %s", a.status, a.raw)
	}
	id := a.body["id"].(string)
	if a.header.Get("Location") != "/api/contacts/"+id || a.body["@id"] != "/api/contacts/"+id {
		t.Errorf("location %q, @id %v", a.header.Get("Location"), a.body["@id"])
	}
	if a.body["status"] != "pending" || a.body["pipelineState"] != nil || a.body["position"] != nil {
		t.Errorf("read-only or empty keys written: %s", a.raw)
	}
	created := a.body["updatedAt"].(string)
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", created); err != nil {
		t.Errorf("timestamp %q: %v", created, err)
	}

	// Merge-patch: only the keys sent change; null clears; unknown and
	// read-only keys are ignored.
	p := call(t, s, "PATCH", "/api/contacts/"+id, patchCT, `{"position":"CEO","company":null,"status":"lost","phones":["+33 6 12 34 56 78"]}`)
	if p.status != 200 {
		t.Fatalf("patch: %d %s", p.status, p.raw)
	}
	if p.body["position"] != "CEO" || p.body["company"] != nil || p.body["status"] != "pending" || p.body["name"] != "Marie Dubois" {
		t.Errorf("after patch: %s", p.raw)
	}
	if p.body["updatedAt"].(string) <= created {
		t.Errorf("updatedAt did not move: %s → %s", created, p.body["updatedAt"])
	}
	// Plain JSON is tolerated; a no-op patch does not move updatedAt.
	q := call(t, s, "PATCH", "/api/contacts/"+id, jsonCT, `{"position":"CEO"}`)
	if q.status != 200 || q.body["updatedAt"] != p.body["updatedAt"] {
		t.Errorf("no-op patch: %d %s", q.status, q.raw)
	}
	g := call(t, s, "GET", "/api/contacts/"+id, "", "")
	if g.status != 200 || g.body["position"] != "CEO" {
		t.Errorf("get: %d %s", g.status, g.raw)
	}
}

func TestPipelineStateAndNotes(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{Now: newClock().now})
	id := seedOne(t, s, mapping.Person{FirstName: "A"})
	states := s.PipelineStates()
	l := call(t, s, "GET", "/api/pipeline_states", "", "")
	if l.status != 200 || l.body["hydra:totalItems"] != float64(len(states)) {
		t.Fatalf("states: %s", l.raw)
	}
	before := call(t, s, "GET", "/api/contacts/"+id, "", "").body["updatedAt"].(string)

	a := call(t, s, "PATCH", "/api/contacts/"+id+"/pipeline-state", patchCT, `{"stateId":"`+states[2].ID+`"}`)
	ps, _ := a.body["pipelineState"].(map[string]any)
	if a.status != 200 || ps["name"] != states[2].Name || ps["id"] != states[2].ID {
		t.Fatalf("set state: %d %s", a.status, a.raw)
	}
	moved := a.body["updatedAt"].(string)
	if moved <= before {
		t.Errorf("a pipeline-state change must move updatedAt: %s → %s", before, moved)
	}

	n := call(t, s, "POST", "/api/contacts/"+id+"/notes", jsonCT, `{"content":"called"}`)
	if n.status != 201 || n.body["content"] != "called" {
		t.Fatalf("note: %d %s", n.status, n.raw)
	}
	if got := call(t, s, "GET", "/api/contacts/"+id, "", "").body["updatedAt"]; got != moved {
		t.Errorf("a note must not move updatedAt: %s → %v", moved, got)
	}
	d := call(t, s, "DELETE", "/api/contacts/"+id+"/notes/"+n.body["id"].(string), "", "")
	if d.status != 204 || len(s.Notes(id)) != 0 {
		t.Errorf("delete note: %d %s", d.status, d.raw)
	}

	// An empty body (stateId omitted) removes the contact from the pipeline.
	e := call(t, s, "PATCH", "/api/contacts/"+id+"/pipeline-state", jsonCT, `{}`)
	if e.status != 200 || e.body["pipelineState"] != nil {
		t.Errorf("remove: %d %s", e.status, e.raw)
	}
}

func TestPagingAndDelete(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	people := make([]mapping.Person, 65)
	for i := range people {
		people[i] = mapping.Person{FirstName: fmt.Sprintf("P%02d", i)}
	}
	ids, err := s.Seed(people)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	path := "/api/contacts?page=1"
	pages := 0
	for path != "" {
		a := call(t, s, "GET", path, "", "")
		if a.status != 200 || a.body["@type"] != "hydra:Collection" || a.body["hydra:totalItems"] != float64(65) {
			t.Fatalf("%s: %d %s", path, a.status, a.raw)
		}
		pages++
		members := a.body["hydra:member"].([]any)
		if pages < 3 && len(members) != 30 {
			t.Fatalf("page %d holds %d", pages, len(members))
		}
		for _, m := range members {
			got = append(got, m.(map[string]any)["id"].(string))
		}
		view := a.body["hydra:view"].(map[string]any)
		path, _ = view["hydra:next"].(string)
		if pages == 1 && path != "/api/contacts?page=2" {
			t.Fatalf("next = %q", path)
		}
	}
	if pages != 3 || strings.Join(got, ",") != strings.Join(ids, ",") {
		t.Fatalf("listing in creation order: %d pages, %d ids", pages, len(got))
	}
	beyond := call(t, s, "GET", "/api/contacts?page=9", "", "")
	if beyond.status != 200 || len(beyond.body["hydra:member"].([]any)) != 0 {
		t.Errorf("beyond last page: %s", beyond.raw)
	}

	if err := s.UserDelete(ids[0]); err != nil {
		t.Fatal(err)
	}
	if a := call(t, s, "GET", "/api/contacts/"+ids[0], "", ""); a.status != 404 {
		t.Errorf("deleted contact: %d", a.status)
	}
	first := call(t, s, "GET", "/api/contacts", "", "").body["hydra:member"].([]any)[0].(map[string]any)
	if first["id"] != ids[1] {
		t.Errorf("deleted contact still listed")
	}
	if err := s.UserDelete(ids[0]); err == nil {
		t.Error("second delete must fail")
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	clock := newClock()
	s := newServer(t, Options{Now: clock.now, RateLimit: 2})
	for i := range 2 {
		if a := call(t, s, "GET", "/api/contacts", "", ""); a.status != 200 {
			t.Fatalf("request %d: %d", i, a.status)
		}
	}
	clock.advance(300 * time.Millisecond)
	for range 3 { // refused requests do not use the quota
		a := call(t, s, "GET", "/api/contacts", "", "")
		if a.status != 429 || a.header.Get("Retry-After") != "1" || a.body["hydra:description"] != "Too Many Requests" {
			t.Fatalf("over the limit: %d %v %s", a.status, a.header, a.raw)
		}
	}
	clock.advance(700 * time.Millisecond)
	if a := call(t, s, "GET", "/api/contacts", "", ""); a.status != 200 {
		t.Fatalf("after the window: %d", a.status)
	}
	if got := s.Requests()["GET /api/contacts"]; got != 6 {
		t.Errorf("requests counted %d, want 6 (429s included)", got)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{FaultFraction: 1})
	codes := map[int]int{}
	for range 60 {
		a := call(t, s, "POST", "/api/contacts", jsonCT, `{"name":"A"}`)
		codes[a.status]++
	}
	if codes[500]+codes[502]+codes[503] != 60 || codes[500] == 0 || codes[502] == 0 || codes[503] == 0 {
		t.Errorf("codes = %v", codes)
	}
	// About half the faulted writes were applied (lost replies).
	if n := s.Len(); n < 10 || n > 50 {
		t.Errorf("%d of 60 faulted creates applied, want about half", n)
	}
	s.SetFaults(0)
	if a := call(t, s, "GET", "/api/contacts", "", ""); a.status != 200 {
		t.Errorf("after SetFaults(0): %d", a.status)
	}
}

func TestLatency(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	s.SetLatency(50 * time.Millisecond)
	start := time.Now()
	call(t, s, "GET", "/api/contacts", "", "")
	if time.Since(start) < 50*time.Millisecond {
		t.Error("latency not applied")
	}
}

func TestUserEdit(t *testing.T) {
	t.Parallel()
	clock := newClock()
	s := newServer(t, Options{Now: clock.now})
	id := seedOne(t, s, mapping.Person{FirstName: "Marie", LastName: "Dubois", Emails: []string{"m@a.co"}, LeadStage: mapping.StageContacted})
	before := s.Snapshot()[0]
	if before.Person.LeadStage != mapping.StageContacted {
		t.Fatalf("seeded stage = %q", before.Person.LeadStage)
	}
	// An edit that changes nothing does not move updatedAt.
	if err := s.UserEdit(id, func(p *mapping.Person) {}); err != nil {
		t.Fatal(err)
	}
	if !s.Snapshot()[0].ChangedAt.Equal(before.ChangedAt) {
		t.Error("no-op edit moved updatedAt")
	}
	err := s.UserEdit(id, func(p *mapping.Person) {
		p.LastName = "Martin"
		p.Emails = append(p.Emails, "x@y.fr")
		p.PipelineStage = "gagné"
		p.LeadStage = mapping.StageQualified
		p.Facebook = "ignored"
	})
	if err != nil {
		t.Fatal(err)
	}
	after := s.Snapshot()[0]
	want := mapping.Person{FirstName: "Marie", LastName: "Martin", Emails: []string{"m@a.co", "x@y.fr"}, PipelineStage: "Gagné", LeadStage: mapping.StageQualified}
	if !mapping.EqualPerson(^mapping.FieldSet(0), &after.Person, &want) {
		t.Errorf("after edit = %+v", after.Person)
	}
	if !after.ChangedAt.After(before.ChangedAt) {
		t.Error("edit did not move updatedAt")
	}
	if err := s.UserEdit(id, func(p *mapping.Person) { p.FirstName, p.LastName = "", "" }); err == nil {
		t.Error("clearing the name must fail")
	}
	if err := s.UserEdit("nope", func(p *mapping.Person) {}); err == nil {
		t.Error("unknown id must fail")
	}
}

func TestSeedRejectsNameless(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	if _, err := s.Seed([]mapping.Person{{FirstName: "A"}, {Emails: []string{"a@b.co"}}}); err == nil {
		t.Fatal("want an error")
	}
	if s.Len() != 0 {
		t.Error("a failed seed stored people")
	}
	if got := len(s.Requests()); got != 0 {
		t.Errorf("seed counted requests: %v", s.Requests())
	}
}

// clock is a settable clock for tests.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }
