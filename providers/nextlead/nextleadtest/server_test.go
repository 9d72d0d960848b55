package nextleadtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/mapping/nextleadmap"
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

func do(t *testing.T, s *Server, method, route, key string, body any) answer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		if str, ok := body.(string); ok {
			rd = strings.NewReader(str)
		} else {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
	}
	req, _ := http.NewRequest(method, s.URL()+"/api/v2/"+route, rd)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

func (a answer) wantError(t *testing.T, status int, msg string) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status = %d, want %d (%s)", a.status, status, a.raw)
	}
	if a.body["error"] != msg || a.body["status"] != float64(status) {
		t.Fatalf("body = %s, want {status:%d, error:%q}", a.raw, status, msg)
	}
}

const key = "nextlead-test-key"

func TestAuth(t *testing.T) {
	s := newServer(t, Options{})
	for _, r := range []struct{ method, route string }{
		{"POST", "receive/contact/new-contact"}, {"POST", "receive/contact/edit-contact"},
		{"POST", "receive/contact/delete-contact"}, {"POST", "receive/contact/find-contact"},
		{"GET", "receive/contact/get-conversion"}, {"GET", "receive/sales/get-columns"},
		{"POST", "receive/sales/create-sale"}, {"PUT", "receive/sales/update-sale"},
		{"GET", "polling/contact/user-created"}, {"GET", "polling/contact/user-edited"},
		{"GET", "polling/contact/user-deleted"},
	} {
		for _, k := range []string{"", "wrong"} {
			do(t, s, r.method, r.route, k, "{}").wantError(t, 401, "Missing or invalid automation API key")
		}
	}
	if got := s.Requests()["GET /api/v2/polling/contact/user-created"]; got != 2 {
		t.Errorf("requests = %d, want 2", got)
	}
}

func TestNewContact(t *testing.T) {
	s := newServer(t, Options{})
	a := do(t, s, "POST", "receive/contact/new-contact", key, map[string]any{
		"firstName": "John", "lastName": "Doe", "email": "John@Example.com", "phone": "0612345678",
		"socials":         []any{map[string]any{"linkedin": "https://linkedin.com/in/jd", "facebook": "fb", "instagram": "@jd"}},
		"nextlead_config": []any{map[string]any{"lead_score": 85, "conversion_status": "qualified"}},
		"unknown":         "ignored", "email2": "not-writable@example.com",
	})
	if a.status != 201 || a.body["status"] != float64(201) {
		t.Fatalf("create: %d %s", a.status, a.raw)
	}
	data := a.body["data"].(map[string]any)
	if data["message"] != "Contact successfully added" {
		t.Errorf("message = %v", data["message"])
	}
	id := data["contact"].(map[string]any)["id"].(string)
	c, ok := s.Contact(id)
	if !ok {
		t.Fatal("contact not stored")
	}
	if c.ConversionStatus != "Qualified" || c.LeadScore != (nextleadmap.Score{V: 85, Valid: true}) ||
		c.LinkedIn != "https://linkedin.com/in/jd" || c.Email2 != "" || c.CreatedAt != c.UpdatedAt {
		t.Errorf("stored %+v", c)
	}

	// Duplicate email, case-insensitive.
	do(t, s, "POST", "receive/contact/new-contact", key, map[string]any{"email": " john@example.COM"}).
		wantError(t, 409, "A contact with this email already exists")
	// Neither email nor LinkedIn.
	do(t, s, "POST", "receive/contact/new-contact", key, map[string]any{"firstName": "X"}).
		wantError(t, 400, "Invalid or missing data")
	do(t, s, "POST", "receive/contact/new-contact", key, "not json").
		wantError(t, 400, "Invalid or missing data")
	// Unknown conversion status.
	do(t, s, "POST", "receive/contact/new-contact", key, map[string]any{"email": "x@example.com",
		"nextlead_config": []any{map[string]any{"conversion_status": "Maybe"}}}).
		wantError(t, 400, "Invalid or missing data")
	// LinkedIn only is enough.
	if a := do(t, s, "POST", "receive/contact/new-contact", key, map[string]any{
		"socials": []any{map[string]any{"linkedin": "linkedin.com/in/only"}}}); a.status != 201 {
		t.Fatalf("linkedin only: %d %s", a.status, a.raw)
	}
	// A deleted contact's email can be used again.
	if a := do(t, s, "POST", "receive/contact/delete-contact", key, map[string]any{"email": "john@example.com"}); a.status != 200 {
		t.Fatalf("delete: %s", a.raw)
	}
	if a := do(t, s, "POST", "receive/contact/new-contact", key, map[string]any{"email": "john@example.com"}); a.status != 201 {
		t.Fatalf("reuse: %d %s", a.status, a.raw)
	}
}

func TestEditContact(t *testing.T) {
	s := newServer(t, Options{})
	ids, err := s.Seed([]mapping.Person{
		{FirstName: "John", Emails: []string{"john@example.com"}, LinkedIn: "https://www.linkedin.com/in/john"},
		{FirstName: "Li", LinkedIn: "https://www.linkedin.com/in/li"},
	})
	if err != nil {
		t.Fatal(err)
	}
	do(t, s, "POST", "receive/contact/edit-contact", key, map[string]any{"values_update": []any{map[string]any{"firstName": "X"}}}).
		wantError(t, 400, "Contact email or LinkedIn URL required")
	do(t, s, "POST", "receive/contact/edit-contact", key, map[string]any{"mail": "nobody@example.com"}).
		wantError(t, 404, "Contact not found with provided criteria")
	// LinkedIn compares the stored string exactly.
	do(t, s, "POST", "receive/contact/edit-contact", key, map[string]any{"linkedin_find": "linkedin.com/in/li/"}).
		wantError(t, 404, "Contact not found with provided criteria")
	do(t, s, "POST", "receive/contact/edit-contact", key, map[string]any{"mail": "john@example.com",
		"values_update": []any{map[string]any{"conversion_status": "Maybe"}}}).
		wantError(t, 400, "Invalid or missing data")

	a := do(t, s, "POST", "receive/contact/edit-contact", key, map[string]any{"mail": "JOHN@example.com",
		"values_update": []any{map[string]any{"firstName": "Jon", "lead_score": 90, "conversion_status": "won",
			"email": "ignored@example.com"}}})
	if a.status != 200 || a.body["data"].(map[string]any)["message"] != "Contact successfully updated" {
		t.Fatalf("edit: %d %s", a.status, a.raw)
	}
	c, _ := s.Contact(ids[0])
	if c.FirstName != "Jon" || c.LeadScore.V != 90 || c.ConversionStatus != "Won" || c.Email != "john@example.com" {
		t.Errorf("stored %+v", c)
	}
	if c.UpdatedAt <= c.CreatedAt {
		t.Errorf("updated_at %s not after created_at %s", c.UpdatedAt, c.CreatedAt)
	}
	// Unknown mail falls back to LinkedIn; an edit changing nothing is listed.
	if a := do(t, s, "POST", "receive/contact/edit-contact", key, map[string]any{"mail": "other@example.com",
		"linkedin_find": " https://www.linkedin.com/in/li "}); a.status != 200 {
		t.Fatalf("edit by linkedin: %d %s", a.status, a.raw)
	}
	feed := do(t, s, "GET", "polling/contact/user-edited", key, nil)
	items := feed.body["data"].([]any)
	if len(items) != 2 {
		t.Fatalf("user-edited = %s", feed.raw)
	}
	last := items[1].(map[string]any)
	if last["id"] != ids[1] || last["firstName"] != "Li" || last["updated_at"] == "" {
		t.Errorf("edit item = %v", last)
	}
}

func TestDeleteContact(t *testing.T) {
	s := newServer(t, Options{})
	ids, _ := s.Seed([]mapping.Person{{FirstName: "A", Emails: []string{"a@example.com"}}, {LinkedIn: "https://www.linkedin.com/in/b"}})
	do(t, s, "POST", "receive/contact/delete-contact", key, map[string]any{}).
		wantError(t, 400, "Missing or invalid contact email address or LinkedIn account")
	do(t, s, "POST", "receive/contact/delete-contact", key, map[string]any{"email": "zz@example.com"}).
		wantError(t, 404, "No contact found with this email/LinkedIn")
	a := do(t, s, "POST", "receive/contact/delete-contact", key, map[string]any{"email": "A@example.com"})
	if a.status != 200 || a.body["data"].(map[string]any)["success"] != true {
		t.Fatalf("delete: %s", a.raw)
	}
	if a := do(t, s, "POST", "receive/contact/delete-contact", key, map[string]any{"linkedin": "https://www.linkedin.com/in/b"}); a.status != 200 {
		t.Fatalf("delete by linkedin: %s", a.raw)
	}
	do(t, s, "POST", "receive/contact/delete-contact", key, map[string]any{"email": "a@example.com"}).
		wantError(t, 404, "No contact found with this email/LinkedIn")
	feed := do(t, s, "GET", "polling/contact/user-deleted", key, nil)
	items := feed.body["data"].([]any)
	if len(items) != 2 || items[0].(map[string]any)["id"] != ids[0] || items[0].(map[string]any)["deleted_at"] == "" ||
		items[0].(map[string]any)["email"] != "a@example.com" {
		t.Fatalf("user-deleted = %s", feed.raw)
	}
	if created := do(t, s, "GET", "polling/contact/user-created", key, nil); len(created.body["data"].([]any)) != 0 {
		t.Fatalf("user-created after deletes = %s", created.raw)
	}
}

func TestFindContact(t *testing.T) {
	s := newServer(t, Options{})
	ids, _ := s.Seed([]mapping.Person{{FirstName: "A", Emails: []string{"a@example.com", "a2@example.com"}, LinkedIn: "https://www.linkedin.com/in/a"}})
	do(t, s, "POST", "receive/contact/find-contact", key, map[string]any{}).
		wantError(t, 400, "Missing contact email or LinkedIn URL")
	a := do(t, s, "POST", "receive/contact/find-contact", key, map[string]any{"email": "A@EXAMPLE.com"})
	items := a.body["data"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["found"] != true || items[0].(map[string]any)["id"] != ids[0] ||
		items[0].(map[string]any)["first_name"] != "A" {
		t.Fatalf("find = %s", a.raw)
	}
	for _, q := range []map[string]any{
		{"email": "a2@example.com"},                        // email2 is not searched
		{"linkedin_url": "https://linkedin.com/in/a"},      // exact string only
		{"email": "x@example.com", "linkedin_url": "nope"}, // neither
	} {
		a := do(t, s, "POST", "receive/contact/find-contact", key, q)
		if a.status != 200 || a.raw != `{"status":200,"data":[{"found":false}]}`+"\n" {
			t.Errorf("find %v = %d %s", q, a.status, a.raw)
		}
	}
	// Email not matching falls back to LinkedIn.
	a = do(t, s, "POST", "receive/contact/find-contact", key, map[string]any{"email": "x@example.com", "linkedin_url": "https://www.linkedin.com/in/a"})
	if len(a.body["data"].([]any)) != 1 || a.body["data"].([]any)[0].(map[string]any)["found"] != true {
		t.Errorf("fallback = %s", a.raw)
	}
}

func TestCatalogs(t *testing.T) {
	s := newServer(t, Options{})
	a := do(t, s, "GET", "receive/contact/get-conversion", key, nil)
	tags := a.body["data"].([]any)
	if len(tags) != len(DefaultConversionTags) || tags[0].(map[string]any)["type"] != "CONVERSION_STATUS" {
		t.Fatalf("tags = %s", a.raw)
	}
	a = do(t, s, "GET", "receive/sales/get-columns", key, nil)
	cols := a.body["data"].([]any)
	if len(cols) != len(DefaultSaleColumns) || cols[0].(map[string]any)["order"] != float64(1) {
		t.Fatalf("columns = %s", a.raw)
	}
}

func TestSales(t *testing.T) {
	s := newServer(t, Options{})
	ids, _ := s.Seed([]mapping.Person{{FirstName: "A", Emails: []string{"a@example.com"}}})
	cols := s.Columns()
	tests := []struct {
		method, route string
		body          map[string]any
		status        int
		msg           string
	}{
		{"POST", "receive/sales/create-sale", map[string]any{"name": "x"}, 400, "Le paramètre 'column' est obligatoire"},
		{"POST", "receive/sales/create-sale", map[string]any{"column": cols[0].ID}, 400, "Le paramètre 'name' est obligatoire"},
		{"POST", "receive/sales/create-sale", map[string]any{"column": cols[0].ID, "name": "x", "priority": "URGENT"}, 400, "La priorité doit être 'LOW', 'NORMAL' ou 'HIGH'"},
		{"POST", "receive/sales/create-sale", map[string]any{"column": cols[0].ID, "name": "x", "success_rate": 101}, 400, "Le taux de succès doit être un nombre entre 0 et 100"},
		{"POST", "receive/sales/create-sale", map[string]any{"column": "nope", "name": "x"}, 500, "Erreur lors de la création de la vente"},
		{"PUT", "receive/sales/update-sale", map[string]any{"column": cols[1].ID}, 400, "Le paramètre 'contact_email' est obligatoire"},
		{"PUT", "receive/sales/update-sale", map[string]any{"contact_email": "a@example.com", "priority": "x"}, 400, "La priorité doit être 'LOW', 'NORMAL' ou 'HIGH'"},
		{"PUT", "receive/sales/update-sale", map[string]any{"contact_email": "a@example.com", "success_rate": "abc"}, 400, "Le taux de succès doit être un nombre entre 0 et 100"},
		{"PUT", "receive/sales/update-sale", map[string]any{"contact_email": "zz@example.com"}, 404, "Contact non trouvé avec cet email"},
		{"PUT", "receive/sales/update-sale", map[string]any{"contact_email": "a@example.com", "column": cols[1].ID}, 404, "Aucune vente trouvée pour ce contact"},
	}
	for _, tt := range tests {
		do(t, s, tt.method, tt.route, key, tt.body).wantError(t, tt.status, tt.msg)
	}
	a := do(t, s, "POST", "receive/sales/create-sale", key, map[string]any{"name": "Deal", "column": cols[0].ID, "contact": "A@example.com"})
	if a.status != 201 || a.body["data"].(map[string]any)["message"] != "Vente créée avec succès" {
		t.Fatalf("create sale: %s", a.raw)
	}
	if got := s.SaleColumn(ids[0]); got != cols[0].Name {
		t.Fatalf("sale column = %q", got)
	}
	a = do(t, s, "PUT", "receive/sales/update-sale", key, map[string]any{"contact_email": "a@example.com", "column": cols[2].ID})
	if a.status != 200 || a.body["data"].(map[string]any)["message"] != "Vente mise à jour avec succès" {
		t.Fatalf("update sale: %s", a.raw)
	}
	if got := s.SaleColumn(ids[0]); got != cols[2].Name {
		t.Fatalf("sale column = %q", got)
	}
	// Wrong method.
	if a := do(t, s, "POST", "receive/sales/update-sale", key, map[string]any{}); a.status != 405 {
		t.Errorf("POST update-sale = %d", a.status)
	}
}

func TestFeedsAndTimestamps(t *testing.T) {
	fixed := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	s := newServer(t, Options{Now: func() time.Time { return fixed }})
	ids, _ := s.Seed([]mapping.Person{{Emails: []string{"a@example.com"}}, {Emails: []string{"b@example.com"}}})
	for range 3 {
		if err := s.UserEdit(ids[0], func(p *mapping.Person) { p.Notes += "x" }); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.UserEdit(ids[0], func(p *mapping.Person) { p.Emails = []string{"new@example.com"} }); err != nil {
		t.Fatal(err)
	}
	c, _ := s.Contact(ids[0])
	if c.Comment != "xxx" || c.Email != "new@example.com" {
		t.Errorf("user edit not applied: %+v", c)
	}
	a := do(t, s, "GET", "polling/contact/user-edited", key, nil)
	var prev string
	for _, it := range a.body["data"].([]any) {
		ts := it.(map[string]any)["updated_at"].(string)
		if _, err := time.Parse("2006-01-02T15:04:05.000Z", ts); err != nil {
			t.Fatalf("timestamp %q: %v", ts, err)
		}
		if ts <= prev {
			t.Fatalf("timestamps not strictly increasing: %q after %q", ts, prev)
		}
		prev = ts
	}
	if err := s.UserDelete(ids[1]); err != nil {
		t.Fatal(err)
	}
	if err := s.UserDelete(ids[1]); err == nil {
		t.Error("second delete should fail")
	}
	if snap := s.Snapshot(); len(snap) != 1 || snap[0].ID != ids[0] || snap[0].Person.Notes != "xxx" {
		t.Errorf("snapshot = %+v", snap)
	}
	// Bare stream of user-created is a valid envelope.
	a = do(t, s, "GET", "polling/contact/user-created", key, nil)
	if len(a.body["data"].([]any)) != 1 {
		t.Errorf("user-created = %s", a.raw)
	}
}

func TestRateLimit(t *testing.T) {
	s := newServer(t, Options{RateLimit: 2})
	for i := range 2 {
		if a := do(t, s, "GET", "receive/contact/get-conversion", key, nil); a.status != 200 {
			t.Fatalf("request %d: %d", i, a.status)
		}
	}
	a := do(t, s, "GET", "receive/contact/get-conversion", key, nil)
	a.wantError(t, 429, "Too many requests")
	ra, err := strconv.Atoi(a.header.Get("Retry-After"))
	if err != nil || ra < 1 {
		t.Fatalf("Retry-After = %q", a.header.Get("Retry-After"))
	}
	time.Sleep(time.Duration(ra) * time.Second)
	if a := do(t, s, "GET", "receive/contact/get-conversion", key, nil); a.status != 200 {
		t.Fatalf("after Retry-After: %d", a.status)
	}
	if got := s.Requests()["GET /api/v2/receive/contact/get-conversion"]; got != 4 {
		t.Errorf("requests = %d, want 4 (429s counted)", got)
	}
}

func TestFaults(t *testing.T) {
	s := newServer(t, Options{FaultFraction: 1})
	applied := 0
	for i := range 40 {
		a := do(t, s, "POST", "receive/contact/new-contact", key, map[string]any{"email": "f" + strconv.Itoa(i) + "@example.com"})
		if a.status != 500 && a.status != 502 && a.status != 503 {
			t.Fatalf("status = %d", a.status)
		}
	}
	applied = s.Len()
	if applied == 0 || applied == 40 {
		t.Errorf("applied %d of 40 faulted writes, want about half", applied)
	}
	s.SetFaults(0)
	if a := do(t, s, "GET", "receive/contact/get-conversion", key, nil); a.status != 200 {
		t.Errorf("after SetFaults(0): %d", a.status)
	}
}

func TestLatency(t *testing.T) {
	s := newServer(t, Options{})
	s.SetLatency(100 * time.Millisecond)
	start := time.Now()
	do(t, s, "GET", "receive/contact/get-conversion", key, nil)
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("answered in %s", d)
	}
}

func TestConcurrentStreamAndWrites(t *testing.T) {
	s := newServer(t, Options{})
	people := make([]mapping.Person, 5000)
	for i := range people {
		people[i] = mapping.Person{FirstName: "P", Emails: []string{"p" + strconv.Itoa(i) + "@example.com"}}
	}
	ids, err := s.Seed(people)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 200 {
			_ = s.UserEdit(ids[i], func(p *mapping.Person) { p.LastName = "L" })
		}
	}()
	a := do(t, s, "GET", "polling/contact/user-created", key, nil)
	wg.Wait()
	if n := len(a.body["data"].([]any)); n != 5000 {
		t.Fatalf("streamed %d, want 5000", n)
	}
}

func TestIDs(t *testing.T) {
	s := newServer(t, Options{})
	ids, _ := s.Seed(make([]mapping.Person, 3))
	seen := map[string]bool{}
	for i, id := range ids {
		if len(id) != 25 || id[0] != 'c' || seen[id] {
			t.Errorf("id %q", id)
		}
		seen[id] = true
		if n, ok := s.index(id); !ok || int(n) != i {
			t.Errorf("index(%q) = %d, %v", id, n, ok)
		}
	}
	if _, ok := s.index("c" + strings.Repeat("0", 24)); ok {
		t.Error("forged id accepted")
	}
}
