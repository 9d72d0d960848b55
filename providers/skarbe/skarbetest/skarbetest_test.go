package skarbetest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/mapping/skarbemap"
)

func newServer(t testing.TB, opts Options) *Server {
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
	body   string
}

func call(t *testing.T, s *Server, method, path, key, contentType, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-Api-Key", key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func post(t *testing.T, s *Server, body string) answer {
	return call(t, s, http.MethodPost, "/api/connect/contacts", DefaultAPIKey, "application/json", body)
}

func TestAuth(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	for _, route := range []struct{ method, path string }{
		{"GET", "/api/connect/contacts"}, {"POST", "/api/connect/contacts"},
		{"GET", "/api/connect/contacts/lead-statuses"}, {"GET", "/api/connect/me"},
	} {
		for _, key := range []string{"", "wrong"} {
			a := call(t, s, route.method, route.path, key, "application/json", `{"email":"a@b.co"}`)
			if a.status != 401 || a.body != `{"error":"Unauthorized"}` {
				t.Errorf("%s %s key %q: %d %s", route.method, route.path, key, a.status, a.body)
			}
		}
	}
	if n := s.Len(); n != 0 {
		t.Fatalf("unauthorized create stored %d contacts", n)
	}
}

func TestCreateErrors(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	tests := []struct {
		name, body, ct string
		status         int
		msg            string
	}{
		{"empty object", `{}`, "", 400, skarbemap.MsgRequired},
		{"only last name", `{"lastName":"Doe"}`, "", 400, skarbemap.MsgRequired},
		{"blank email and first name", `{"email":"  ","firstName":" "}`, "", 400, skarbemap.MsgRequired},
		{"null email", `{"email":null,"lastName":"x"}`, "", 400, skarbemap.MsgRequired},
		{"form body is not parsed", `email=a%40b.co`, "application/x-www-form-urlencoded", 400, skarbemap.MsgRequired},
		{"invalid email", `{"email":"nope"}`, "", 400, skarbemap.MsgInvalidEmail},
		{"invalid email with first name", `{"email":"a@b","firstName":"A"}`, "", 400, skarbemap.MsgInvalidEmail},
		{"email not a string", `{"email":{"x":1}}`, "", 400, skarbemap.MsgInvalidEmail},
		{"unknown lead status", `{"email":"a@b.co","leadStatus":99}`, "", 400, skarbemap.MsgInvalidLeadStatus},
		{"lead status not a number", `{"email":"a@b.co","leadStatus":"hot"}`, "", 400, skarbemap.MsgInvalidLeadStatus},
		{"lead status object", `{"email":"a@b.co","leadStatus":{"id":1}}`, "", 400, skarbemap.MsgInvalidLeadStatus},
		{"email checked before lead status", `{"email":"bad","leadStatus":99}`, "", 400, skarbemap.MsgInvalidEmail},
		{"malformed JSON", `{"email":`, "", 400, "Invalid request data"},
		{"array body", `[1]`, "", 400, "Invalid request data"},
		{"name not text", `{"firstName":["a"]}`, "", 400, "Invalid request data"},
	}
	for _, tt := range tests {
		ct := tt.ct
		if ct == "" {
			ct = "application/json"
		}
		a := call(t, s, "POST", "/api/connect/contacts", DefaultAPIKey, ct, tt.body)
		want, _ := json.Marshal(skarbemap.ErrorBody{Error: tt.msg})
		if a.status != tt.status || a.body != string(want) {
			t.Errorf("%s: got %d %s, want %d %s", tt.name, a.status, a.body, tt.status, want)
		}
	}
	if n := s.Len(); n != 0 {
		t.Fatalf("refused creates stored %d contacts", n)
	}
	big := `{"firstName":"` + strings.Repeat("x", 2<<20) + `"}`
	if a := post(t, s, big); a.status != 413 {
		t.Errorf("huge body: %d %s", a.status, a.body)
	}
}

func TestCreateAndList(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := newServer(t, Options{Now: func() time.Time { return now }})
	a := post(t, s, `{"email":"Jane@Example.com","firstName":"Jane","lastName":"Smith","jobTitle":"CMO","companyName":"Tech",
		"phoneNumbers":["+33 6 12 34 56 78"],"linkedinUrl":"linkedin.com/in/jane","twitterUrl":"https://twitter.com/j","leadStatus":2,"unknown":"ignored","photo":"ignored"}`)
	want := `{"id":1,"email":"Jane@Example.com","photo":null,"firstName":"Jane","lastName":"Smith","fullName":"Jane Smith","jobTitle":"CMO","companyName":"Tech","phoneNumbers":["+33 6 12 34 56 78"],"facebookUrl":null,"instagramUrl":null,"linkedinUrl":"linkedin.com/in/jane","note":null,"lastActivityAt":"2026-03-01T12:00:00.000Z","createdAt":"2026-03-01T12:00:00.000Z"}`
	if a.status != 200 || a.body != want {
		t.Fatalf("create: %d\n got %s\nwant %s", a.status, a.body, want)
	}
	// Duplicates are allowed; the clock does not move but timestamps do.
	if a := post(t, s, `{"email":"jane@example.com","leadStatus":"4"}`); a.status != 200 || !strings.Contains(a.body, `"createdAt":"2026-03-01T12:00:00.001Z"`) {
		t.Fatalf("duplicate create: %d %s", a.status, a.body)
	}
	post(t, s, `{"firstName":"Bob","email":"bob@other.org"}`)

	var list []skarbemap.Contact
	a = call(t, s, "GET", "/api/connect/contacts", DefaultAPIKey, "", "")
	if err := json.Unmarshal([]byte(a.body), &list); err != nil || a.status != 200 {
		t.Fatalf("list: %d %v %s", a.status, err, a.body)
	}
	if len(list) != 3 || list[0].ID != "1" || list[1].ID != "2" || list[2].ID != "3" {
		t.Fatalf("list order: %+v", list)
	}
	if l := list[0].LeadStatus; l == nil || l.ID != "2" || l.Label != "Qualified Lead" || l.Color != "#10B981" {
		t.Fatalf("leadStatus: %+v", l)
	}
	if list[2].LeadStatus != nil || !strings.Contains(a.body, `"leadStatus":null`) {
		t.Fatalf("no status must list as null: %s", a.body)
	}
	if strings.Contains(a.body, "twitter") {
		t.Fatal("twitterUrl must never be listed")
	}

	for q, want := range map[string][]skarbemap.ID{
		"JANE": {"1", "2"}, "smi": {"1"}, "bob": {"3"}, "other.org": {"3"}, "zzz": nil, "": {"1", "2", "3"},
		"Tech": nil, // companyName is not searched
	} {
		var got []skarbemap.Contact
		a := call(t, s, "GET", "/api/connect/contacts?query="+url.QueryEscape(q), DefaultAPIKey, "", "")
		if err := json.Unmarshal([]byte(a.body), &got); err != nil {
			t.Fatal(err)
		}
		var ids []skarbemap.ID
		for _, c := range got {
			ids = append(ids, c.ID)
		}
		if len(ids) != len(want) || (len(want) > 0 && strings.Join(toStrings(ids), ",") != strings.Join(toStrings(want), ",")) {
			t.Errorf("query %q: got %v, want %v", q, ids, want)
		}
		if q == "zzz" && a.body != "[]" {
			t.Errorf("empty result must be [], got %s", a.body)
		}
	}
}

func toStrings(ids []skarbemap.ID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = string(id)
	}
	return out
}

func TestCatalogMeAndUnknownRoutes(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	a := call(t, s, "GET", "/api/connect/contacts/lead-statuses", DefaultAPIKey, "", "")
	var cat []skarbemap.LeadStatus
	if err := json.Unmarshal([]byte(a.body), &cat); err != nil || a.status != 200 || len(cat) != len(DefaultStatuses) {
		t.Fatalf("lead-statuses: %d %s", a.status, a.body)
	}
	if !strings.Contains(a.body, `{"id":1,"type":"lead","label":"New Lead","color":"#3B82F6","order":1}`) {
		t.Fatalf("lead-statuses shape: %s", a.body)
	}
	a = call(t, s, "GET", "/api/connect/me", DefaultAPIKey, "", "")
	if a.status != 200 || !strings.Contains(a.body, `"details":{`) || !strings.Contains(a.body, `"workspace":{"name":`) {
		t.Fatalf("me: %d %s", a.status, a.body)
	}
	ids, _ := s.Seed([]mapping.Person{{FirstName: "A"}})
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/connect/contacts/" + ids[0]}, {"PUT", "/api/connect/contacts/" + ids[0]},
		{"PATCH", "/api/connect/contacts/" + ids[0]}, {"DELETE", "/api/connect/contacts/" + ids[0]},
		{"DELETE", "/api/connect/contacts"}, {"POST", "/api/connect/me"},
	} {
		if a := call(t, s, r.method, r.path, DefaultAPIKey, "application/json", `{"firstName":"B"}`); a.status != 404 {
			t.Errorf("%s %s: %d", r.method, r.path, a.status)
		}
	}
	if s.Len() != 1 {
		t.Fatal("unknown routes must change nothing")
	}
	got := s.Requests()
	if got[RouteLeadStatuses] != 1 || got[RouteMe] != 1 || got["DELETE /*"] != 2 || got["PUT /*"] != 1 {
		t.Fatalf("requests: %v", got)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	s := newServer(t, Options{RateLimit: 2, Now: clock})
	get := func() answer { return call(t, s, "GET", "/api/connect/me", DefaultAPIKey, "", "") }
	if get().status != 200 {
		t.Fatal("first")
	}
	advance(300 * time.Millisecond)
	if get().status != 200 {
		t.Fatal("second")
	}
	for range 3 { // refused requests do not use up the quota
		a := get()
		if a.status != 429 || a.header.Get("Retry-After") != "1" || a.body != `{"error":"Too many requests"}` {
			t.Fatalf("over the limit: %d %q %s", a.status, a.header.Get("Retry-After"), a.body)
		}
	}
	advance(701 * time.Millisecond) // the first slot frees
	if a := get(); a.status != 200 {
		t.Fatalf("after a slot freed: %d", a.status)
	}
	if a := get(); a.status != 429 {
		t.Fatalf("window still full: %d", a.status)
	}
	// A wrong key is refused before the limiter.
	if a := call(t, s, "GET", "/api/connect/me", "x", "", ""); a.status != 401 {
		t.Fatalf("wrong key: %d", a.status)
	}
	s.SetRateLimit(0)
	if get().status != 200 {
		t.Fatal("limit off")
	}
	if got := s.Requests()[RouteMe]; got != 9 {
		t.Fatalf("429s and 401s must be counted: %d", got)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{FaultFraction: 1, RandSeed: 7})
	statuses := map[int]int{}
	for i := range 40 {
		a := post(t, s, `{"firstName":"F`+strconv.Itoa(i)+`"}`)
		statuses[a.status]++
		if a.status < 500 || !strings.HasPrefix(a.body, `{"error":`) {
			t.Fatalf("fault: %d %s", a.status, a.body)
		}
	}
	if len(statuses) != 3 {
		t.Errorf("want 500, 502 and 503: %v", statuses)
	}
	// About half the faulted writes were applied anyway.
	if n := s.Len(); n < 8 || n > 32 {
		t.Errorf("applied faulted writes: %d of 40", n)
	}
	s.SetFaults(0)
	if a := post(t, s, `{"firstName":"ok"}`); a.status != 200 {
		t.Fatalf("faults off: %d", a.status)
	}
}

func TestLatency(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{Latency: 50 * time.Millisecond})
	start := time.Now()
	call(t, s, "GET", "/api/connect/me", DefaultAPIKey, "", "")
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("latency not applied: %s", d)
	}
}

func TestSeedSnapshotEditDelete(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	ids, err := s.Seed([]mapping.Person{
		{FirstName: "Ann", LastName: "Lee", Emails: []string{"ann@example.com", "ann2@example.com"}, Phones: []string{"+33612345678"}, LeadStage: mapping.StageQualified, Website: "dropped"},
		{Emails: []string{"ann@example.com"}},                // duplicate emails are allowed
		{FirstName: "Cy", LeadStage: mapping.StageContacted}, // no status type: no stage
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(ids, ",") != "1,2,3" {
		t.Fatalf("ids %v", ids)
	}
	if _, err := s.Seed([]mapping.Person{{LastName: "NoFirst"}}); !errors.Is(err, skarbemap.ErrRequired) {
		t.Fatalf("seed without email or first name: %v", err)
	}
	snap := s.Snapshot()
	if len(snap) != 3 || snap[0].Person.LeadStage != mapping.StageQualified || snap[2].Person.LeadStage != "" ||
		len(snap[0].Person.Emails) != 1 || snap[0].Person.Website != "" || snap[1].Person.PrimaryEmail() != "ann@example.com" {
		t.Fatalf("snapshot: %+v", snap)
	}
	before := call(t, s, "GET", "/api/connect/contacts", DefaultAPIKey, "", "").body

	if err := s.UserEdit(ids[0], func(p *mapping.Person) {
		p.JobTitle = "CEO"
		p.LeadStage = mapping.StageDisqualified
		p.Twitter = "ignored"
	}); err != nil {
		t.Fatal(err)
	}
	after := call(t, s, "GET", "/api/connect/contacts", DefaultAPIKey, "", "").body
	var l1, l2 []skarbemap.Contact
	_ = json.Unmarshal([]byte(before), &l1)
	_ = json.Unmarshal([]byte(after), &l2)
	if l2[0].JobTitle != "CEO" || l2[0].LeadStatus.ID != "4" || l2[0].LastActivityAt != l1[0].LastActivityAt || l2[0].Email != l1[0].Email {
		t.Fatalf("edit: before %+v after %+v", l1[0], l2[0])
	}
	if err := s.UserEdit(ids[0], func(p *mapping.Person) { p.LeadStage = mapping.StageLost }); err == nil {
		t.Fatal("a stage no status fits must be refused")
	}
	if err := s.UserEdit(ids[1], func(p *mapping.Person) { p.Emails = nil }); err == nil {
		t.Fatal("an edit leaving neither email nor first name must be refused")
	}
	if err := s.UserDelete(ids[1]); err != nil {
		t.Fatal(err)
	}
	if err := s.UserDelete(ids[1]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if err := s.UserEdit("999", func(*mapping.Person) {}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("edit unknown: %v", err)
	}
	var l3 []skarbemap.Contact
	_ = json.Unmarshal([]byte(call(t, s, "GET", "/api/connect/contacts", DefaultAPIKey, "", "").body), &l3)
	if len(l3) != 2 || l3[0].ID != "1" || l3[1].ID != "3" {
		t.Fatalf("after delete: %+v", l3)
	}
	if got := s.Requests()[RouteListContacts]; got != 3 {
		t.Fatalf("Seed/UserEdit must not count requests; list count %d", got)
	}
}

func TestJSONEscaping(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	odd := "a\"b\\c\nd\te\x01f\u2028é" + string([]byte{0xff})
	if _, err := s.Seed([]mapping.Person{{FirstName: "x", Notes: odd}}); err != nil {
		t.Fatal(err)
	}
	var got []skarbemap.Contact
	a := call(t, s, "GET", "/api/connect/contacts", DefaultAPIKey, "", "")
	if err := json.Unmarshal([]byte(a.body), &got); err != nil {
		t.Fatalf("%v: %s", err, a.body)
	}
	if want := strings.ToValidUTF8(strings.TrimSpace(odd), "\uFFFD"); got[0].Note != want {
		t.Fatalf("note %q, want %q", got[0].Note, want)
	}
}

func TestPackRoundTrip(t *testing.T) {
	t.Parallel()
	f := fields{Email: "e", FirstName: strings.Repeat("é", 200), Note: "n", Phones: []string{"1", "", "333"}}
	if g := unpack(f.pack()); g.FirstName != f.FirstName || g.Email != "e" || g.Note != "n" || len(g.Phones) != 3 || g.Phones[2] != "333" || g.LastName != "" {
		t.Fatalf("%+v", g)
	}
	if g := unpack((&fields{}).pack()); g.Phones != nil {
		t.Fatal("no phones must unpack as nil")
	}
}
