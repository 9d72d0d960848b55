package epixelmap

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/mapping"
	"pgregory.net/rapid"
)

func TestToPerson(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		lead       Lead
		want       mapping.Person
		wantIssues int
	}{
		{
			name: "every field",
			lead: Lead{Slug: "a-1", FirstName: "Ada", LastName: "Lovelace", Email: " Ada@Example.COM ", Phone: "+33612345678",
				Location: "Paris", Message: "hello", Status: "customer", Source: "website", Assignee: "alice", CreatedAt: "2026-01-02T03:04:05.000Z"},
			want: mapping.Person{FirstName: "Ada", LastName: "Lovelace", Emails: []string{"ada@example.com"}, Phones: []string{"+33612345678"},
				Address: "Paris", Notes: "hello", LeadStage: mapping.StageConverted, Owner: "alice"},
		},
		{
			name: "national phone normalized with the region",
			lead: Lead{FirstName: "A", LastName: "B", Phone: "0612345678"},
			want: mapping.Person{FirstName: "A", LastName: "B", Phones: []string{"+33612345678"}},
		},
		{
			name: "unparseable phone kept raw",
			lead: Lead{FirstName: "A", Phone: "12"},
			want: mapping.Person{FirstName: "A", Phones: []string{"12"}},
		},
		{
			name:       "invalid email dropped with an issue",
			lead:       Lead{FirstName: "A", Email: "not-an-email"},
			want:       mapping.Person{FirstName: "A"},
			wantIssues: 1,
		},
		{
			name:       "unknown status left out with an issue",
			lead:       Lead{FirstName: "A", Status: "weird"},
			want:       mapping.Person{FirstName: "A"},
			wantIssues: 1,
		},
		{name: "prospect is new", lead: Lead{Status: "prospect"}, want: mapping.Person{LeadStage: mapping.StageNew}},
		{name: "contact is contacted", lead: Lead{Status: "contact"}, want: mapping.Person{LeadStage: mapping.StageContacted}},
		{name: "potential is qualified", lead: Lead{Status: "potential"}, want: mapping.Person{LeadStage: mapping.StageQualified}},
		{name: "tentative is qualified", lead: Lead{Status: "tentative"}, want: mapping.Person{LeadStage: mapping.StageQualified}},
		{name: "closed is lost", lead: Lead{Status: "closed"}, want: mapping.Person{LeadStage: mapping.StageLost}},
		{name: "status case-insensitive", lead: Lead{Status: "Customer"}, want: mapping.Person{LeadStage: mapping.StageConverted}},
		{name: "empty lead", lead: Lead{}, want: mapping.Person{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, at, issues := ToPerson(tt.lead, mapping.StageMap{}, "FR")
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ToPerson = %+v, want %+v", got, tt.want)
			}
			if !at.IsZero() {
				t.Errorf("changedAt = %v, want zero", at)
			}
			if len(issues) != tt.wantIssues {
				t.Errorf("issues = %q, want %d", issues, tt.wantIssues)
			}
		})
	}
}

func TestToPersonCustomStageMap(t *testing.T) {
	t.Parallel()
	sm, err := mapping.DefaultStageMap("epixel").With(map[string]string{"tentative": "contacted"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, _, _ := ToPerson(Lead{Status: "tentative"}, sm, "")
	if p.LeadStage != mapping.StageContacted {
		t.Fatalf("stage = %q, want contacted", p.LeadStage)
	}
}

func full() mapping.Person {
	return mapping.Person{FirstName: "Ada", LastName: "Lovelace", Emails: []string{"ada@example.com", "second@example.com"},
		Phones: []string{"+33612345678", "+33700000000"}}
}

func TestFromPerson(t *testing.T) {
	t.Parallel()
	with := func(f func(p *mapping.Person)) mapping.Person { p := full(); f(&p); return p }
	tests := []struct {
		name      string
		p         mapping.Person
		want      Form
		wantField mapping.Field
	}{
		{
			name: "required only, primary email and phone",
			p:    full(),
			want: Form{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Phone: "+33612345678"},
		},
		{
			name: "every field",
			p: with(func(p *mapping.Person) {
				p.Address, p.Notes, p.LeadStage, p.Owner, p.Company = "Paris", "note", mapping.StageQualified, "alice", "ignored"
			}),
			want: Form{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Phone: "+33612345678",
				Location: "Paris", Message: "note", Status: "potential", Assignee: "alice"},
		},
		{name: "new is prospect", p: with(func(p *mapping.Person) { p.LeadStage = mapping.StageNew }),
			want: Form{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Phone: "+33612345678", Status: "prospect"}},
		{name: "contacted is contact", p: with(func(p *mapping.Person) { p.LeadStage = mapping.StageContacted }),
			want: Form{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Phone: "+33612345678", Status: "contact"}},
		{name: "converted is customer", p: with(func(p *mapping.Person) { p.LeadStage = mapping.StageConverted }),
			want: Form{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Phone: "+33612345678", Status: "customer"}},
		{name: "lost is closed", p: with(func(p *mapping.Person) { p.LeadStage = mapping.StageLost }),
			want: Form{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Phone: "+33612345678", Status: "closed"}},
		{name: "disqualified is closed", p: with(func(p *mapping.Person) { p.LeadStage = mapping.StageDisqualified }),
			want: Form{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Phone: "+33612345678", Status: "closed"}},
		{name: "raw phone with separators", p: with(func(p *mapping.Person) { p.Phones = []string{"+1 (415) 555-0100 22"} }),
			want: Form{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Phone: "+1415555010022"}},
		{name: "no first name", p: with(func(p *mapping.Person) { p.FirstName = " " }), wantField: mapping.FieldFirstName},
		{name: "no last name", p: with(func(p *mapping.Person) { p.LastName = "" }), wantField: mapping.FieldLastName},
		{name: "no email", p: with(func(p *mapping.Person) { p.Emails = nil }), wantField: mapping.FieldEmails},
		{name: "invalid email", p: with(func(p *mapping.Person) { p.Emails = []string{"x@"} }), wantField: mapping.FieldEmails},
		{name: "no phone", p: with(func(p *mapping.Person) { p.Phones = nil }), wantField: mapping.FieldPhones},
		{name: "phone with letters", p: with(func(p *mapping.Person) { p.Phones = []string{"call me"} }), wantField: mapping.FieldPhones},
		{name: "phone too short", p: with(func(p *mapping.Person) { p.Phones = []string{"1234"} }), wantField: mapping.FieldPhones},
		{name: "location too long", p: with(func(p *mapping.Person) { p.Address = strings.Repeat("é", 256) }), wantField: mapping.FieldAddress},
		{name: "empty person", p: mapping.Person{}, wantField: mapping.FieldFirstName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := FromPerson(tt.p, mapping.StageMap{}, "FR")
			if tt.wantField != "" {
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != tt.wantField {
					t.Fatalf("err = %v, want a FieldError on %s", err, tt.wantField)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("FromPerson = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestFormPairs(t *testing.T) {
	t.Parallel()
	got := Form{Slug: "s", FirstName: "A", LastName: "B", Email: "e", Phone: "p", Status: "closed"}.Pairs()
	want := [][2]string{{"slug", "s"}, {"first_name", "A"}, {"last_name", "B"}, {"email", "e"}, {"phone", "p"}, {"status", "closed"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Pairs = %q, want %q", got, want)
	}
	got = Form{}.Pairs()
	if len(got) != 4 {
		t.Fatalf("empty form pairs = %q, want the four required keys", got)
	}
}

func TestUpdateForm(t *testing.T) {
	t.Parallel()
	existing := Lead{Slug: "ada-1", FirstName: "Ada", LastName: "Lovelace", Email: "Ada@Example.com", Phone: "0612345678",
		Location: "Paris", Message: "old note", Status: "tentative", Source: "referral", Assignee: "bob"}
	base, _, _ := ToPerson(existing, mapping.StageMap{}, "FR")
	tests := []struct {
		name    string
		base    mapping.Person
		desired func(p *mapping.Person)
		want    Form
	}{
		{
			name:    "unchanged keeps the lead's own spellings",
			base:    base,
			desired: func(p *mapping.Person) {},
			want: Form{Slug: "ada-1", FirstName: "Ada", LastName: "Lovelace", Email: "Ada@Example.com", Phone: "0612345678",
				Location: "Paris", Message: "old note", Status: "tentative", Source: "referral", Assignee: "bob"},
		},
		{
			name:    "stage change writes the mapped status",
			base:    base,
			desired: func(p *mapping.Person) { p.LeadStage = mapping.StageConverted; p.FirstName = "Augusta" },
			want: Form{Slug: "ada-1", FirstName: "Augusta", LastName: "Lovelace", Email: "Ada@Example.com", Phone: "0612345678",
				Location: "Paris", Message: "old note", Status: "customer", Source: "referral", Assignee: "bob"},
		},
		{
			name:    "cleared on purpose",
			base:    base,
			desired: func(p *mapping.Person) { p.Address, p.Notes, p.Owner = "", "", "" },
			want: Form{Slug: "ada-1", FirstName: "Ada", LastName: "Lovelace", Email: "Ada@Example.com", Phone: "0612345678",
				Status: "tentative", Source: "referral"},
		},
		{
			name: "fields crmsync never saw are re-sent",
			base: mapping.Person{FirstName: "Ada", LastName: "Lovelace", Emails: []string{"ada@example.com"}, Phones: []string{"+33612345678"}},
			desired: func(p *mapping.Person) {
				p.Address, p.Notes, p.Owner, p.LeadStage = "", "", "", ""
				p.Emails = []string{"new@example.com"}
				p.Phones = []string{"+33799999999"}
			},
			want: Form{Slug: "ada-1", FirstName: "Ada", LastName: "Lovelace", Email: "new@example.com", Phone: "+33799999999",
				Location: "Paris", Message: "old note", Status: "tentative", Source: "referral", Assignee: "bob"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := base.Clone()
			tt.desired(&d)
			got, err := UpdateForm(existing, tt.base, d, mapping.StageMap{}, "FR")
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("UpdateForm =\n %+v, want\n %+v", got, tt.want)
			}
		})
	}
	if _, err := UpdateForm(existing, base, mapping.Person{FirstName: "x"}, mapping.StageMap{}, "FR"); err == nil {
		t.Error("UpdateForm with no last name: want an error")
	}
}

func TestIDDecode(t *testing.T) {
	t.Parallel()
	var n []Note
	if err := json.Unmarshal([]byte(`[{"id":12,"note":"a"},{"id":"x7","note":"b"},{"id":null}]`), &n); err != nil {
		t.Fatal(err)
	}
	if n[0].ID != "12" || n[1].ID != "x7" || n[2].ID != "" {
		t.Fatalf("ids = %q %q %q", n[0].ID, n[1].ID, n[2].ID)
	}
	b, _ := json.Marshal(n[0])
	if !strings.Contains(string(b), `"id":12`) {
		t.Fatalf("marshal = %s", b)
	}
}

// Statuses that survive a round trip under the default map (tentative reads
// as qualified, which writes back as potential).
var roundTripStatuses = []string{"", "prospect", "contact", "potential", "customer", "closed"}

func genName() *rapid.Generator[string] {
	return rapid.StringMatching(`[A-Z][a-zé]{0,12}( [A-Z][a-z]{1,8})?`)
}

func genPhone() *rapid.Generator[string] {
	return rapid.Custom(func(t *rapid.T) string {
		return "+336" + rapid.StringMatching(`[0-9]{8}`).Draw(t, "digits")
	})
}

func genEmail() *rapid.Generator[string] {
	return rapid.StringMatching(`[a-z][a-z0-9]{0,6}(\.[a-z0-9]{1,4})?@[a-z]{1,10}\.(com|fr|io)`)
}

func genText() *rapid.Generator[string] {
	return rapid.StringMatching(`([A-Za-z0-9,.]{1,10}( [A-Za-z0-9]{1,10}){0,4})?`)
}

// Provider → canonical → provider keeps every value the CRM holds.
func TestRoundTripLead(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		l := Lead{
			Slug:      "s-1",
			FirstName: genName().Draw(t, "first"),
			LastName:  genName().Draw(t, "last"),
			Email:     genEmail().Draw(t, "email"),
			Phone:     genPhone().Draw(t, "phone"),
			Location:  genText().Draw(t, "location"),
			Message:   genText().Draw(t, "message"),
			Status:    rapid.SampledFrom(roundTripStatuses).Draw(t, "status"),
			Assignee:  rapid.SampledFrom([]string{"", "alice", "bob"}).Draw(t, "assignee"),
		}
		p, _, issues := ToPerson(l, mapping.StageMap{}, "FR")
		if len(issues) != 0 {
			t.Fatalf("issues: %q", issues)
		}
		f, err := FromPerson(p, mapping.StageMap{}, "FR")
		if err != nil {
			t.Fatal(err)
		}
		want := Form{FirstName: l.FirstName, LastName: l.LastName, Email: l.Email, Phone: l.Phone,
			Location: l.Location, Message: l.Message, Status: l.Status, Assignee: l.Assignee}
		if f != want {
			t.Fatalf("round trip\n got %+v\nwant %+v", f, want)
		}
	})
}

// Canonical → provider → canonical keeps every writable field (the primary
// email and phone; extra ones Epixel cannot hold are dropped).
func TestRoundTripPerson(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		p := mapping.Person{
			FirstName: genName().Draw(t, "first"),
			LastName:  genName().Draw(t, "last"),
			Emails:    rapid.SliceOfN(genEmail(), 1, 3).Draw(t, "emails"),
			Phones:    rapid.SliceOfN(genPhone(), 1, 3).Draw(t, "phones"),
			Address:   genText().Draw(t, "address"),
			Notes:     genText().Draw(t, "notes"),
			LeadStage: mapping.Stage(rapid.SampledFrom([]string{"", "new", "contacted", "qualified", "converted", "lost"}).Draw(t, "stage")),
			Owner:     rapid.SampledFrom([]string{"", "alice"}).Draw(t, "owner"),
			Company:   genText().Draw(t, "company"),
		}
		f, err := FromPerson(p, mapping.StageMap{}, "FR")
		if err != nil {
			t.Fatal(err)
		}
		l := Lead{FirstName: f.FirstName, LastName: f.LastName, Email: f.Email, Phone: f.Phone, Location: f.Location,
			Message: f.Message, Status: f.Status, Assignee: f.Assignee}
		got, _, issues := ToPerson(l, mapping.StageMap{}, "FR")
		if len(issues) != 0 {
			t.Fatalf("issues: %q", issues)
		}
		want := p.Clone()
		want.Emails, want.Phones = want.Emails[:1], want.Phones[:1]
		if !mapping.EqualPerson(Updates, &got, &want) {
			t.Fatalf("round trip\n got %+v\nwant %+v", got, want)
		}
	})
}
