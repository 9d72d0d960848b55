package skarbemap

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/crmsync/crmsync/mapping"
)

var testCatalog = Catalog{
	{ID: "7", Type: "qualified", Label: "Hot", Color: "#f00", Order: 3},
	{ID: "1", Type: "lead", Label: "New Lead", Color: "#3B82F6", Order: 1},
	{ID: "2", Type: "qualified", Label: "Qualified Lead", Color: "#10B981", Order: 2},
	{ID: "3", Type: "disqualified", Label: "Nope", Color: "#000", Order: 4},
	{ID: "9", Type: "weird", Label: "Custom", Color: "#111", Order: 5},
}

var skarbeStages = mapping.DefaultStageMap("skarbe")

func TestDecodeContact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want Contact
	}{
		{"doc example", `{ "id": 1, "email": "john@example.com", "firstName": "John", "lastName": "Doe", "fullName": "John Doe", "jobTitle": "Developer", "companyName": "Acme Corp", "createdAt": "2023-01-15T10:00:00Z", "leadStatus": { "id": 1, "label": "New Lead", "color": "#3B82F6" } }`,
			Contact{ID: "1", Email: "john@example.com", FirstName: "John", LastName: "Doe", FullName: "John Doe", JobTitle: "Developer", CompanyName: "Acme Corp", CreatedAt: "2023-01-15T10:00:00Z", LeadStatus: &LeadStatusRef{ID: "1", Label: "New Lead", Color: "#3B82F6"}}},
		{"nulls", `{"id":2,"email":null,"photo":null,"phoneNumbers":null,"leadStatus":null,"note":null}`, Contact{ID: "2"}},
		{"string id and phone string", `{"id":"3","phoneNumbers":"+33 6 12 34 56 78"}`, Contact{ID: "3", PhoneNumbers: Phones{"+33 6 12 34 56 78"}}},
		{"phones with null, empty and number", `{"id":4,"phoneNumbers":[null,"", "0612345678", 33612345678]}`, Contact{ID: "4", PhoneNumbers: Phones{"0612345678", "33612345678"}}},
		{"bare lead status id", `{"id":5,"leadStatus":2}`, Contact{ID: "5", LeadStatus: &LeadStatusRef{ID: "2"}}},
		{"unknown keys ignored", `{"id":6,"twitterUrl":"x","extra":{"a":[1]}}`, Contact{ID: "6"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got Contact
			if err := json.Unmarshal([]byte(tt.in), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestEncodeCreate(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(CreateContact{Email: "a@b.co", LeadStatus: "12"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"email":"a@b.co","leadStatus":12}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	b, _ = json.Marshal(CreateContact{FirstName: "A"})
	if got, want := string(b), `{"firstName":"A"}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestToPerson(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		in         Contact
		want       mapping.Person
		wantIssues []string // substrings, one per issue
	}{
		{"names and scalars",
			Contact{ID: "1", FirstName: " Jean  Paul ", LastName: "de la Cruz", FullName: "ignored", JobTitle: " CTO ", CompanyName: "Acme  Corp", Note: " hello\nworld ", FacebookURL: " https://facebook.com/x ", InstagramURL: "https://instagram.com/y"},
			mapping.Person{FirstName: "Jean Paul", LastName: "de la Cruz", JobTitle: "CTO", Company: "Acme Corp", Notes: "hello\nworld", Facebook: "https://facebook.com/x", Instagram: "https://instagram.com/y"}, nil},
		{"fullName fallback only when both names empty",
			Contact{FullName: "Ada  Lovelace King"},
			mapping.Person{FirstName: "Ada", LastName: "Lovelace King"}, nil},
		{"email normalized",
			Contact{Email: "  John.Doe@Example.COM "},
			mapping.Person{Emails: []string{"john.doe@example.com"}}, nil},
		{"invalid email dropped with issue",
			Contact{FirstName: "X", Email: "not-an-email"},
			mapping.Person{FirstName: "X"}, []string{"invalid email"}},
		{"phones E.164 primary first, deduped, raw kept",
			Contact{PhoneNumbers: Phones{"06 12 34 56 78", "+33612345678", "call me", "+1 415 555 2671"}},
			mapping.Person{Phones: []string{"+33612345678", "call me", "+14155552671"}}, nil},
		{"linkedin canonical",
			Contact{LinkedInURL: "linkedin.com/in/John-Doe/?trk=x"},
			mapping.Person{LinkedIn: "https://www.linkedin.com/in/john-doe"}, nil},
		{"linkedin not a profile kept as typed",
			Contact{LinkedInURL: " https://www.linkedin.com/company/acme "},
			mapping.Person{LinkedIn: "https://www.linkedin.com/company/acme"}, []string{"not a LinkedIn"}},
		{"lead status by type",
			Contact{LeadStatus: &LeadStatusRef{ID: "7", Label: "Hot"}},
			mapping.Person{LeadStage: mapping.StageQualified}, nil},
		{"lead status lead → new",
			Contact{LeadStatus: &LeadStatusRef{ID: "1"}},
			mapping.Person{LeadStage: mapping.StageNew}, nil},
		{"disqualified",
			Contact{LeadStatus: &LeadStatusRef{ID: "3"}},
			mapping.Person{LeadStage: mapping.StageDisqualified}, nil},
		{"unknown lead status id reported",
			Contact{LeadStatus: &LeadStatusRef{ID: "42"}},
			mapping.Person{}, []string{"not in the lead-status catalog"}},
		{"unmapped type reported",
			Contact{LeadStatus: &LeadStatusRef{ID: "9"}},
			mapping.Person{}, []string{"maps to no lead stage"}},
		{"null lead status", Contact{LeadStatus: nil}, mapping.Person{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, issues := ToPerson(tt.in, skarbeStages, "FR", testCatalog)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
			if len(issues) != len(tt.wantIssues) {
				t.Fatalf("issues %q, want %q", issues, tt.wantIssues)
			}
			for i, w := range tt.wantIssues {
				if !strings.Contains(issues[i], w) {
					t.Fatalf("issue %q does not contain %q", issues[i], w)
				}
			}
		})
	}
}

func TestFromPerson(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      mapping.Person
		want    CreateContact
		wantErr error
	}{
		{"all fields",
			mapping.Person{FirstName: "Jane", LastName: "Smith", Emails: []string{"jane@example.com", "other@example.com"}, Phones: []string{"+33612345678", "+14155552671"},
				LinkedIn: "https://www.linkedin.com/in/jane", Company: "Tech", JobTitle: "CMO", Facebook: "fb", Instagram: "ig", Twitter: "tw", Notes: "n",
				Website: "ignored", Address: "ignored", PipelineStage: "ignored", Owner: "ignored", LeadStage: mapping.StageQualified},
			CreateContact{Email: "jane@example.com", FirstName: "Jane", LastName: "Smith", JobTitle: "CMO", CompanyName: "Tech", PhoneNumbers: []string{"+33612345678", "+14155552671"},
				FacebookURL: "fb", InstagramURL: "ig", LinkedInURL: "https://www.linkedin.com/in/jane", TwitterURL: "tw", Note: "n", LeadStatus: "2"}, nil},
		{"email only", mapping.Person{Emails: []string{"A@B.co"}}, CreateContact{Email: "a@b.co"}, nil},
		{"first name only", mapping.Person{FirstName: "Solo"}, CreateContact{FirstName: "Solo"}, nil},
		{"neither", mapping.Person{LastName: "Only"}, CreateContact{}, ErrRequired},
		{"empty", mapping.Person{}, CreateContact{}, ErrRequired},
		{"invalid email", mapping.Person{FirstName: "x", Emails: []string{"bad"}}, CreateContact{}, mapping.ErrInvalidEmail},
		{"stage new → first lead status", mapping.Person{FirstName: "x", LeadStage: mapping.StageNew}, CreateContact{FirstName: "x", LeadStatus: "1"}, nil},
		{"stage with no type not written", mapping.Person{FirstName: "x", LeadStage: mapping.StageContacted}, CreateContact{FirstName: "x"}, nil},
		{"disqualified", mapping.Person{FirstName: "x", LeadStage: mapping.StageDisqualified}, CreateContact{FirstName: "x", LeadStatus: "3"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := FromPerson(tt.in, skarbeStages, testCatalog)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestStatusForOverride(t *testing.T) {
	t.Parallel()
	sm, err := skarbeStages.With(map[string]string{"weird": "contacted"}, map[string]string{"converted": "qualified"})
	if err != nil {
		t.Fatal(err)
	}
	for stage, want := range map[mapping.Stage]ID{
		mapping.StageContacted: "9", mapping.StageConverted: "2", mapping.StageQualified: "2", mapping.StageLost: "",
	} {
		st, ok := testCatalog.StatusFor(stage, sm)
		if ok != (want != "") || st.ID != want {
			t.Errorf("StatusFor(%s) = %v %v, want %q", stage, st.ID, ok, want)
		}
	}
	if _, ok := Catalog(nil).StatusFor(mapping.StageNew, sm); ok {
		t.Error("empty catalog must write no status")
	}
}

func TestCapabilitySets(t *testing.T) {
	t.Parallel()
	if Holds.Has(mapping.FieldTwitter) || !Creates.Has(mapping.FieldTwitter) {
		t.Error("twitter must be create-only")
	}
	if Updates != 0 {
		t.Error("skarbe has no update route")
	}
	for _, f := range []mapping.Field{mapping.FieldWebsite, mapping.FieldAddress, mapping.FieldPipelineStage, mapping.FieldLeadScore, mapping.FieldOwner} {
		if Creates.Has(f) {
			t.Errorf("skarbe cannot hold %s", f)
		}
	}
}

// contactFromCreate is what Skarbe stores and lists for a create body.
func contactFromCreate(b CreateContact, catalog Catalog) Contact {
	c := Contact{ID: "1", Email: b.Email, FirstName: b.FirstName, LastName: b.LastName, FullName: mapping.JoinName(b.FirstName, b.LastName),
		JobTitle: b.JobTitle, CompanyName: b.CompanyName, PhoneNumbers: Phones(b.PhoneNumbers), FacebookURL: b.FacebookURL,
		InstagramURL: b.InstagramURL, LinkedInURL: b.LinkedInURL, Note: b.Note}
	if b.LeadStatus != "" {
		st, _ := catalog.ByID(b.LeadStatus)
		c.LeadStatus = &LeadStatusRef{ID: st.ID, Label: st.Label, Color: st.Color}
	}
	return c
}

func genWord(t *rapid.T, label string) string {
	return rapid.StringMatching(`[A-Za-zéà][a-zé'\-]{0,8}`).Draw(t, label)
}

func genText(t *rapid.T, label string) string {
	return rapid.OneOf(rapid.Just(""), rapid.StringMatching(`[A-Za-z0-9]{1,6}( [A-Za-z0-9.,&]{1,6}){0,3}`)).Draw(t, label)
}

var phonePool = []string{"+33612345678", "+14155552671", "+442071838750", "+4915123456789", "+33142685300"}

// TestRoundTripProvider: Skarbe → canonical → Skarbe keeps everything Skarbe
// holds (values generated in their normalized form).
func TestRoundTripProvider(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		first := rapid.OneOf(rapid.Just(""), rapid.Custom(func(t *rapid.T) string { return genWord(t, "first") })).Draw(t, "firstName")
		email := ""
		if first == "" || rapid.Bool().Draw(t, "hasEmail") {
			email = strings.ToLower(genWord(t, "local")) + fmt.Sprintf("%d@example.com", rapid.IntRange(0, 99).Draw(t, "n"))
			email = strings.ReplaceAll(strings.ReplaceAll(email, "é", "e"), "à", "a")
		}
		idx := rapid.Permutation([]int{0, 1, 2, 3, 4}).Draw(t, "phones")[:rapid.IntRange(0, 3).Draw(t, "nphones")]
		var phones []string
		for _, i := range idx {
			phones = append(phones, phonePool[i])
		}
		body := CreateContact{
			Email: email, FirstName: first, LastName: rapid.OneOf(rapid.Just(""), rapid.Custom(func(t *rapid.T) string { return genWord(t, "last") })).Draw(t, "lastName"),
			JobTitle: genText(t, "job"), CompanyName: genText(t, "company"), PhoneNumbers: phones,
			FacebookURL:  rapid.SampledFrom([]string{"", "https://facebook.com/a"}).Draw(t, "fb"),
			InstagramURL: rapid.SampledFrom([]string{"", "https://instagram.com/b"}).Draw(t, "ig"),
			LinkedInURL:  rapid.SampledFrom([]string{"", "https://www.linkedin.com/in/someone", "https://www.linkedin.com/in/jean-pierre-ü"}).Draw(t, "li"),
			Note:         genText(t, "note"),
		}
		if rapid.Bool().Draw(t, "hasStatus") {
			// Only the first status by order of a type round-trips (the others of
			// the same type map to the same stage and back to the first).
			body.LeadStatus = rapid.SampledFrom([]ID{"1", "2", "3"}).Draw(t, "status")
		}
		c := contactFromCreate(body, testCatalog)
		p, issues := ToPerson(c, skarbeStages, "", testCatalog)
		if len(issues) > 0 {
			t.Fatalf("issues: %q", issues)
		}
		back, err := FromPerson(p, skarbeStages, testCatalog)
		if err != nil {
			t.Fatal(err)
		}
		if len(back.PhoneNumbers) == 0 {
			back.PhoneNumbers = nil
		}
		if !reflect.DeepEqual(back, body) {
			t.Fatalf("round trip\n got %+v\nwant %+v", back, body)
		}
	})
}

// TestRoundTripCanonical: canonical → Skarbe → canonical keeps every field a
// create can write and Skarbe lists back (the primary email only).
func TestRoundTripCanonical(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		var p mapping.Person
		p.FirstName = genWord(t, "first")
		p.LastName = rapid.OneOf(rapid.Just(""), rapid.Custom(func(t *rapid.T) string { return genWord(t, "last") })).Draw(t, "lastName")
		if rapid.Bool().Draw(t, "hasEmail") {
			p.Emails = []string{fmt.Sprintf("user%d@example.org", rapid.IntRange(0, 999).Draw(t, "n"))}
		}
		for _, i := range rapid.Permutation([]int{0, 1, 2, 3, 4}).Draw(t, "phones")[:rapid.IntRange(0, 3).Draw(t, "nphones")] {
			p.Phones = append(p.Phones, phonePool[i])
		}
		p.LinkedIn = rapid.SampledFrom([]string{"", "https://www.linkedin.com/in/x-y"}).Draw(t, "li")
		p.Company = genText(t, "company")
		p.JobTitle = genText(t, "job")
		p.Facebook = rapid.SampledFrom([]string{"", "https://facebook.com/a"}).Draw(t, "fb")
		p.Instagram = rapid.SampledFrom([]string{"", "https://instagram.com/a"}).Draw(t, "ig")
		p.Twitter = rapid.SampledFrom([]string{"", "https://twitter.com/a"}).Draw(t, "tw")
		p.Notes = genText(t, "notes")
		p.LeadStage = rapid.SampledFrom([]mapping.Stage{"", mapping.StageNew, mapping.StageQualified, mapping.StageDisqualified}).Draw(t, "stage")

		body, err := FromPerson(p, skarbeStages, testCatalog)
		if err != nil {
			t.Fatal(err)
		}
		got, issues := ToPerson(contactFromCreate(body, testCatalog), skarbeStages, "", testCatalog)
		if len(issues) > 0 {
			t.Fatalf("issues: %q", issues)
		}
		for _, f := range (Creates & Holds).Fields() {
			if !mapping.Equal(f, got.Get(f), p.Get(f)) {
				t.Fatalf("%s: got %q, want %q", f, got.Get(f), p.Get(f))
			}
		}
		if slices.Contains(mapping.AllFields, mapping.FieldTwitter) && got.Twitter != "" {
			t.Fatal("twitter must never be read back")
		}
	})
}

func FuzzDecodeContact(f *testing.F) {
	f.Add([]byte(`{"id":1,"email":"john@example.com","phoneNumbers":["0612345678"],"leadStatus":{"id":1,"label":"New","color":"#fff"}}`))
	f.Add([]byte(`{"id":"2","phoneNumbers":"+1 415 555 2671","leadStatus":3,"linkedinUrl":"linkedin.com/in/%C3%A9"}`))
	f.Add([]byte(`{"id":null,"email":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Contact
		if err := json.Unmarshal(data, &c); err != nil {
			return
		}
		p, _ := ToPerson(c, skarbeStages, "", testCatalog)
		for _, e := range p.Emails {
			if n, err := mapping.NormalizeEmail(e); err != nil || n != e {
				t.Fatalf("email %q not normalized", e)
			}
		}
		if p.LeadStage != "" && !mapping.ValidStage(p.LeadStage) {
			t.Fatalf("invalid stage %q", p.LeadStage)
		}
		if _, err := FromPerson(p, skarbeStages, testCatalog); err != nil && !errors.Is(err, ErrRequired) {
			t.Fatalf("FromPerson of a mapped contact: %v", err)
		}
	})
}
