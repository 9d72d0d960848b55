package ligotest

import (
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/dataset"
	"github.com/crmsync/crmsync/mapping"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.txt from the current code")

// transcript records requests to a simulator and their answers: status,
// the headers a client sees, and the body (in full when short, else its
// length and SHA-256).
type transcript struct {
	t *testing.T
	s *Server
	b strings.Builder
}

func (tr *transcript) section(format string, args ...any) {
	fmt.Fprintf(&tr.b, "\n### "+format+"\n", args...)
}

func (tr *transcript) note(format string, args ...any) {
	fmt.Fprintf(&tr.b, format+"\n", args...)
}

// body records b in full when short, else its length and digest.
func (tr *transcript) body(b []byte) {
	if len(b) <= 2048 {
		tr.b.Write(b)
		tr.b.WriteByte('\n')
		return
	}
	fmt.Fprintf(&tr.b, "(%d bytes, sha256 %x)\n", len(b), sha256.Sum256(b))
}

// do sends a request and records it and its answer; it returns the body.
func (tr *transcript) do(method, path, ctype, body string) []byte {
	tr.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, tr.s.URL()+path, rd)
	if err != nil {
		tr.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tr.s.token)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tr.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tr.t.Fatal(err)
	}
	shown := body
	if len(shown) > 200 {
		shown = fmt.Sprintf("(%d bytes, sha256 %x)", len(body), sha256.Sum256([]byte(body)))
	}
	fmt.Fprintf(&tr.b, "> %s %s %s %s\n", method, path, ctype, shown)
	fmt.Fprintf(&tr.b, "< %d length=%d content-type=%q location=%q retry-after=%q\n", resp.StatusCode,
		resp.ContentLength, resp.Header.Get("Content-Type"), resp.Header.Get("Location"), resp.Header.Get("Retry-After"))
	tr.body(b)
	return b
}

// listAll records every listing page, and the two past the last.
func (tr *transcript) listAll() {
	tr.t.Helper()
	for page := 1; ; page++ {
		b := tr.do("GET", "/api/contacts?page="+strconv.Itoa(page), "", "")
		var c struct {
			View struct {
				Next string `json:"hydra:next"`
			} `json:"hydra:view"`
		}
		if err := json.Unmarshal(b, &c); err != nil {
			tr.t.Fatalf("page %d: %v", page, err)
		}
		if c.View.Next == "" {
			tr.do("GET", "/api/contacts?page="+strconv.Itoa(page+1), "", "")
			tr.do("GET", "/api/contacts?page="+strconv.Itoa(page+2), "", "")
			return
		}
	}
}

// digest records the SHA-256 of v's JSON encoding.
func (tr *transcript) digest(label string, v any) {
	tr.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tr.t.Fatal(err)
	}
	fmt.Fprintf(&tr.b, "%s: %d bytes, sha256 %x\n", label, len(b), sha256.Sum256(b))
}

func idOf(t *testing.T, b []byte) string {
	t.Helper()
	var c struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &c); err != nil || c.ID == "" {
		t.Fatalf("no id in %s", b)
	}
	return c.ID
}

// oddPeople are seeded people whose values exercise the store and the
// encoding: JSON escapes, invalid UTF-8, the list separator, empty list
// elements, several emails and phones, values beyond 64 KiB, stages.
func oddPeople() []mapping.Person {
	long := func(n int, unit string) string { return strings.Repeat(unit, n/len(unit)+1)[:n] }
	return []mapping.Person{
		{FirstName: "Zoé", LastName: "L'Héritier", Emails: []string{"zoe@example.fr"}, Phones: []string{"+33 6 12 34 56 78"},
			Company: "<b>Acme & Co</b>", JobTitle: `say "hi" \ bye`, Website: "https://acme.example/?a=1&b=<2>",
			Address: "1 rue\tde la Paix\n75002 Paris\r", Notes: "ctrl \x01\x1f\x7f \u2028 \u2029 end", LinkedIn: "https://www.linkedin.com/in/zoe-lh/",
			LeadStage: mapping.StageContacted, PipelineStage: "gagné"},
		{FirstName: "Bad\xffUTF8", LastName: "\xc3", Emails: []string{"", "b@example.com"}, Phones: []string{"", ""},
			Company: "nul\x00inside", JobTitle: "\x00", Notes: "😀 日本語 Ελληνικά", LeadStage: mapping.StageQualified, PipelineStage: "Proposition"},
		{FirstName: "Many", Emails: []string{"a\x00b@example.com", "second@example.com", "third@example.org", "x"},
			Phones: []string{"+1 202 555 0100", "0612345678", "+44 20 7946 0958"}, LeadStage: mapping.StageConverted, PipelineStage: "nowhere"},
		{FirstName: "Empty", LastName: "Lists", Emails: []string{""}, Phones: []string{}, LeadStage: mapping.StageLost},
		{FirstName: "Big", LastName: "Notes", Notes: long(70_000, "note ✓ "), Company: "Big Co", LeadStage: mapping.StageDisqualified},
		{FirstName: "Exact", LastName: "Boundary", Company: long(65_535, "c"), JobTitle: "x", LeadStage: mapping.StageNew},
		{FirstName: "Sum", LastName: "Beyond", Company: long(30_000, "é"), JobTitle: long(30_000, "p"), Address: long(10_000, "a<"),
			Website: long(5_000, "w"), Notes: long(1_000, `"`), Emails: []string{long(2_000, "e") + "@x.co"}},
		{FirstName: long(66_000, "N"), LastName: "Long", Emails: []string{"long@example.com"}},
		{FirstName: "Only"},
	}
}

// datasetPeople returns the Ligo records of a dataset of n people.
func datasetPeople(n int) []mapping.Person {
	var out []mapping.Person
	for _, pl := range dataset.All(3, n) {
		for _, r := range pl.Records {
			if r.Kind == dataset.Ligo {
				out = append(out, r.Person)
			}
		}
	}
	return out
}

// goldenTranscript drives a simulator through seeds, listings, reads,
// writes, user edits and deletions at chosen times, and returns the
// transcript of its answers.
func goldenTranscript(t *testing.T) string {
	clk := newClock()
	clk.ns.Store(time.Date(2025, 3, 4, 5, 6, 7, 89_000_000, time.UTC).UnixNano())
	s := newServer(t, Options{Now: clk.now, RandSeed: 42})
	tr := &transcript{t: t, s: s}

	tr.section("seed")
	people := datasetPeople(600)
	var ids []string
	for len(people) > 0 {
		n := min(100, len(people))
		got, err := s.Seed(people[:n])
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got...)
		people = people[n:]
		clk.advance(1234567 * time.Microsecond)
	}
	odd, err := s.Seed(oddPeople())
	if err != nil {
		t.Fatal(err)
	}
	tr.note("seeded %d + %d: %s ... %s, %s", len(ids), len(odd), ids[0], ids[len(ids)-1], strings.Join(odd, " "))

	tr.section("listing")
	clk.advance(time.Minute)
	tr.listAll()
	for _, q := range []string{"0", "-1", "abc", "99999999999999999999", "1000000000000", "9223372036854775807", "1&page=2"} {
		tr.do("GET", "/api/contacts?page="+q, "", "")
	}
	tr.do("GET", "/api/pipeline_states", "", "")
	tr.do("GET", "/api/pipeline_states?page=2", "", "")

	tr.section("reads")
	for _, id := range odd {
		tr.do("GET", "/api/contacts/"+id, "", "")
	}
	for i := 0; i < len(ids); i += 7 {
		tr.do("GET", "/api/contacts/"+ids[i], "", "")
	}
	tr.do("GET", "/api/contacts/"+strings.ToUpper(ids[0]), "", "")
	tr.do("GET", "/api/contacts/{"+ids[1]+"}", "", "")
	tr.do("GET", "/api/contacts/urn:uuid:"+ids[2], "", "")
	tr.do("GET", "/api/contacts/00000000-0000-4000-8000-000000000000", "", "")
	tr.do("GET", "/api/contacts/nope", "", "")

	tr.section("creates")
	var created []string
	create := func(body string) {
		b := tr.do("POST", "/api/contacts", jsonCT, body)
		var c struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(b, &c) == nil && c.ID != "" {
			created = append(created, c.ID)
		}
	}
	create(`{"name":"Plain Person"}`)
	create(`{"name":"Full Person","emails":["full@example.com","other@example.org"],"phones":["+33 1 23 45 67 89"],` +
		`"company":"Full \u003cCo\u003e","position":"CTO","address":"2 avenue","website":"https://full.example",` +
		`"linkedinUrl":"https://www.linkedin.com/in/full","additionalInfo":"info","meetingContext":"met at a fair",` +
		`"status":"lost","pipelineState":"x","id":"forged","createdAt":"2001-01-01T00:00:00.000Z"}`)
	create(`{"name":"Nulls","emails":null,"phones":null,"company":null,"position":null,"meetingContext":null}`)
	create(`{"name":"Empty lists","emails":[],"phones":[],"company":""}`)
	create(`{"name":"Escapes \ud83d\ude00 \u2028 \u0000 \\ \" \/","phones":["a\u0000b",""],"emails":["e\u0000@x.co"]}`)
	create(`{"name":"Lone surrogate \ud800","additionalInfo":"\udfff"}`)
	create(`{"name":"List escapes","phones":["t\tab","q\"uote","\u2028","<&>","\\"],"emails":["a@b.co","c@d.co"]}`)
	create(`{"name":"Long info","additionalInfo":"` + strings.Repeat("ligo ", 20_000) + `","meetingContext":"` + strings.Repeat("m", 70_000) + `"}`)
	create(`{"name":"Long position","position":"` + strings.Repeat("p", 65_536) + `"}`)
	create(`{"name":"Bad email","emails":["ok@example.com","nope",""]}`)
	create(`{"name":"","emails":["nope"]}`)
	create(`{"name":["x"]}`)
	create(`{"name":"X","emails":[1]}`)
	create(`{"name":"X","phones":{"a":"b"}}`)
	create(`{"name":"X","company":true}`)
	create(`{"name":"X","company":1.5}`)
	create(`{"name":"X"`)
	create(`null`)
	create(``)
	tr.do("POST", "/api/contacts", "text/plain", `{"name":"X"}`)
	tr.do("POST", "/api/contacts", "application/ld+json; charset=utf-8", `{"name":"LD"}`)
	// Clocks before 1970, at the epoch, far ahead, and going back.
	for _, at := range []time.Time{
		time.Date(1969, 12, 31, 23, 59, 59, 999_000_000, time.UTC),
		time.Unix(0, 0),
		time.Date(1900, 1, 1, 0, 0, 0, 1_000_000, time.UTC),
		time.Date(2262, 4, 11, 23, 47, 16, 854_775_807, time.UTC),
		time.Date(2025, 3, 4, 5, 6, 7, 0, time.FixedZone("X", 3600)),
		time.Date(2106, 2, 7, 6, 28, 16, 0, time.UTC),
		time.Date(2038, 1, 19, 3, 14, 8, 0, time.UTC),
	} {
		clk.ns.Store(at.UnixNano())
		create(`{"name":"At ` + at.String() + `"}`)
	}
	clk.ns.Store(time.Date(2025, 3, 4, 6, 0, 0, 0, time.UTC).UnixNano())

	tr.section("patches")
	patch := func(id, body string) { tr.do("PATCH", "/api/contacts/"+id, patchCT, body) }
	for i, id := range append(append([]string{}, odd...), ids[0], ids[5], ids[len(ids)-1]) {
		clk.advance(time.Duration(i*37+1) * time.Millisecond)
		patch(id, `{"company":"Patched `+strconv.Itoa(i)+`"}`)
		patch(id, `{"company":"Patched `+strconv.Itoa(i)+`"}`) // no-op
		patch(id, `{"position":null,"emails":["p`+strconv.Itoa(i)+`@example.com"],"phones":null}`)
		patch(id, `{"name":"Renamed <`+strconv.Itoa(i)+`>","address":"`+strings.Repeat("a", i*9000)+`"}`)
		patch(id, `{"additionalInfo":"`+strings.Repeat("é", i*5000)+`","website":""}`)
	}
	for _, id := range created {
		patch(id, `{"linkedinUrl":"https://www.linkedin.com/in/x","emails":[]}`)
	}
	// Same clock: updatedAt moves by a millisecond each time.
	for i := range 3 {
		patch(ids[1], `{"position":"Same clock `+strconv.Itoa(i)+`"}`)
	}
	// A clock gone back: updatedAt still moves forward.
	clk.ns.Store(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	patch(ids[2], `{"position":"Back in time"}`)
	clk.ns.Store(time.Date(2025, 3, 4, 7, 0, 0, 0, time.UTC).UnixNano())
	patch(ids[3], `{"name":null}`)
	patch(ids[3], `{"name":"  "}`)
	patch(ids[3], `{"emails":["bad"]}`)
	patch(ids[3], `{"emails":"a@b.co"}`)
	patch(ids[3], `{"name":`)
	patch(ids[3], `[]`)
	patch(ids[3], `{}`)
	tr.do("PATCH", "/api/contacts/"+ids[3], "text/plain", `{}`)
	tr.do("PATCH", "/api/contacts/"+ids[3], jsonCT, `{"phones":["plain json"]}`)
	patch("00000000-0000-4000-8000-000000000000", `{"name":"X"}`)

	tr.section("pipeline states")
	states := s.PipelineStates()
	setState := func(id, body string) { tr.do("PATCH", "/api/contacts/"+id+"/pipeline-state", patchCT, body) }
	for i, id := range ids[10:20] {
		clk.advance(3 * time.Second)
		setState(id, `{"stateId":"`+states[i%len(states)].ID+`"}`)
		setState(id, `{"stateId":"`+states[i%len(states)].ID+`"}`) // no change
		if i%3 == 0 {
			setState(id, `{}`)
		}
		if i%3 == 1 {
			setState(id, `{"stateId":null}`)
		}
	}
	setState(ids[20], ``)
	setState(ids[20], `{"stateId":"nope"}`)
	setState(ids[20], `{"stateId":5}`)
	setState(odd[0], `{"stateId":"`+strings.ToUpper(states[1].ID)+`"}`)

	tr.section("notes")
	var noteIDs []string
	for i, id := range []string{ids[0], ids[0], ids[30], odd[1]} {
		clk.advance(time.Second)
		b := tr.do("POST", "/api/contacts/"+id+"/notes", jsonCT, `{"content":"note `+strconv.Itoa(i)+` <&> \u2028"}`)
		noteIDs = append(noteIDs, idOf(t, b))
	}
	tr.do("POST", "/api/contacts/"+ids[0]+"/notes", jsonCT, `{"content":"  "}`)
	tr.do("POST", "/api/contacts/"+ids[0]+"/notes", jsonCT, `{"content":1}`)
	tr.do("DELETE", "/api/contacts/"+ids[0]+"/notes/"+noteIDs[0], "", "")
	tr.do("DELETE", "/api/contacts/"+ids[0]+"/notes/"+noteIDs[0], "", "")
	tr.do("DELETE", "/api/contacts/"+ids[30]+"/notes/"+noteIDs[1], "", "")
	tr.do("DELETE", "/api/contacts/"+ids[0]+"/notes/nope", "", "")
	tr.note("notes: %q %q %q", s.Notes(ids[0]), s.Notes(ids[30]), s.Notes(odd[1]))

	tr.section("user edits")
	for i, id := range ids[40:60] {
		clk.advance(time.Duration(i) * time.Millisecond)
		err := s.UserEdit(id, func(p *mapping.Person) {
			switch i % 5 {
			case 0:
				p.Company = "Edited Co"
			case 1:
				p.LeadStage = mapping.Stages[i%len(mapping.Stages)]
			case 2:
				p.PipelineStage = s.PipelineStates()[i%6].Name
			case 3:
				p.Emails = append(p.Emails, fmt.Sprintf("edit%d@example.com", i))
				p.Phones = nil
			case 4:
				p.FirstName, p.LastName = "Edited", fmt.Sprintf("Name %d", i)
				p.Notes = ""
			}
		})
		tr.note("edit %s: %v", id, err)
		tr.do("GET", "/api/contacts/"+id, "", "")
	}
	tr.note("edit nameless: %v", s.UserEdit(ids[61], func(p *mapping.Person) { p.FirstName, p.LastName = "", "" }))

	tr.section("deletes")
	for _, id := range []string{ids[0], ids[1], ids[29], ids[30], ids[31], ids[len(ids)-1], odd[4], created[0]} {
		tr.note("delete %s: %v", id, s.UserDelete(id))
	}
	tr.note("delete again: %v", s.UserDelete(ids[0]))
	tr.do("GET", "/api/contacts/"+ids[0], "", "")
	patch(ids[1], `{"name":"Ghost"}`)
	setState(ids[29], `{}`)
	tr.do("POST", "/api/contacts/"+ids[30]+"/notes", jsonCT, `{"content":"x"}`)
	tr.note("notes of deleted: %q", s.Notes(ids[30]))
	tr.listAll()
	tr.note("len %d", s.Len())
	tr.digest("snapshot", s.Snapshot())
	var recs []any
	for r := range s.Records() {
		recs = append(recs, r)
	}
	tr.digest("records", recs)

	tr.section("after deletes")
	clk.advance(time.Hour)
	create(`{"name":"After deletes","emails":["after@example.com"]}`)
	tr.do("GET", "/api/contacts/"+created[len(created)-1], "", "")
	tr.listAll()

	// A second simulator with another page size and seed.
	tr.section("page size 7")
	s2 := newServer(t, Options{Now: clk.now, RandSeed: 7, PageSize: 7, PipelineStates: []string{"Un", "Deux"}})
	tr.s = s2
	if _, err := s2.Seed(oddPeople()[:3]); err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		clk.advance(time.Millisecond)
		create(`{"name":"Seven ` + strconv.Itoa(i) + `"}`)
	}
	tr.listAll()
	tr.do("GET", "/api/pipeline_states", "", "")
	tr.digest("snapshot 7", s2.Snapshot())
	return tr.b.String()
}

// TestGoldenAnswers checks that the simulator answers exactly as recorded in
// testdata/golden.txt (written by the contact store before it was packed
// tighter; regenerate with -update only for an intended change).
func TestGoldenAnswers(t *testing.T) {
	got := goldenTranscript(t)
	const path = "testdata/golden.txt"
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := string(b)
	if got == want {
		return
	}
	gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range min(len(gl), len(wl)) {
		if gl[i] != wl[i] {
			lo := max(0, i-6)
			t.Fatalf("transcript differs at line %d:\n got: %s\nwant: %s\ncontext (want):\n%s",
				i+1, clip(gl[i]), clip(wl[i]), clip(strings.Join(wl[lo:i+1], "\n")))
		}
	}
	t.Fatalf("transcript has %d lines, want %d", len(gl), len(wl))
}

func clip(s string) string {
	if len(s) > 3000 {
		return s[:3000] + "…"
	}
	return s
}
