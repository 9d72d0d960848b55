package nextleadmap

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/crmsync/crmsync/mapping"
)

var catalog = []string{"New", "Contacted", "Qualified", "Won", "Lost", "Disqualified"}

func intp(v int) *int { return &v }

func TestToPerson(t *testing.T) {
	tests := []struct {
		name       string
		in         Contact
		want       mapping.Person
		wantIssues int
		wantAt     string
	}{
		{
			name: "names trimmed and collapsed",
			in:   Contact{FirstName: "  Jean  Luc ", LastName: " de la Cruz "},
			want: mapping.Person{FirstName: "Jean Luc", LastName: "de la Cruz"},
		},
		{
			name: "emails primary first, normalized, deduplicated",
			in:   Contact{Email: " John@Example.COM ", Email2: "john@example.com"},
			want: mapping.Person{Emails: []string{"john@example.com"}},
		},
		{
			name: "email2 after email",
			in:   Contact{Email: "a@example.com", Email2: "B@example.com"},
			want: mapping.Person{Emails: []string{"a@example.com", "b@example.com"}},
		},
		{
			name:       "invalid email dropped and reported",
			in:         Contact{Email: "not-an-email", Email2: "b@example.com"},
			want:       mapping.Person{Emails: []string{"b@example.com"}},
			wantIssues: 1,
		},
		{
			name: "phones phone, mobile, phone_pro in E.164, raw kept when unparseable",
			in:   Contact{Phone: "01 23 45 67 89", Mobile: "+33 6 12 34 56 78", PhonePro: "ext. 12"},
			want: mapping.Person{Phones: []string{"+33123456789", "+33612345678", "ext. 12"}},
		},
		{
			name: "duplicate phones kept once",
			in:   Contact{Phone: "0612345678", Mobile: "+33612345678"},
			want: mapping.Person{Phones: []string{"+33612345678"}},
		},
		{
			name: "linkedin canonical",
			in:   Contact{LinkedIn: "linkedin.com/in/John-Doe/?x=1"},
			want: mapping.Person{LinkedIn: "https://www.linkedin.com/in/john-doe"},
		},
		{
			name:       "linkedin company page dropped and reported",
			in:         Contact{LinkedIn: "https://www.linkedin.com/company/acme"},
			want:       mapping.Person{},
			wantIssues: 1,
		},
		{
			name: "activity, website, socials, comment",
			in: Contact{Activity: " Developer ", Website: "https://john.dev", Facebook: "https://facebook.com/john",
				Instagram: "@john", Twitter: "@jd", Comment: " met at expo "},
			want: mapping.Person{JobTitle: "Developer", Website: "https://john.dev", Facebook: "https://facebook.com/john",
				Instagram: "@john", Twitter: "@jd", Notes: "met at expo"},
		},
		{
			name: "conversion status by tag name, case-insensitive",
			in:   Contact{ConversionStatus: "WON"},
			want: mapping.Person{LeadStage: mapping.StageConverted},
		},
		{
			name:       "unknown conversion status reported",
			in:         Contact{ConversionStatus: "Maybe"},
			want:       mapping.Person{},
			wantIssues: 1,
		},
		{
			name: "lead score",
			in:   Contact{LeadScore: Score{V: 85, Valid: true}},
			want: mapping.Person{LeadScore: intp(85)},
		},
		{
			name:   "updated_at is the change time",
			in:     Contact{CreatedAt: "2024-01-01T12:00:00.000Z", UpdatedAt: "2024-01-02T12:00:00.123Z"},
			want:   mapping.Person{},
			wantAt: "2024-01-02T12:00:00.123Z",
		},
		{
			name:   "created_at when updated_at absent",
			in:     Contact{CreatedAt: "2024-01-01T12:00:00Z"},
			want:   mapping.Person{},
			wantAt: "2024-01-01T12:00:00.000Z",
		},
		{
			name:       "bad timestamp reported",
			in:         Contact{UpdatedAt: "yesterday"},
			want:       mapping.Person{},
			wantIssues: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, at, issues := ToPerson(&tt.in, mapping.StageMap{}, "FR")
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("person = %+v, want %+v", got, tt.want)
			}
			if len(issues) != tt.wantIssues {
				t.Errorf("issues = %q, want %d", issues, tt.wantIssues)
			}
			gotAt := ""
			if !at.IsZero() {
				gotAt = FormatTime(at)
			}
			if gotAt != tt.wantAt {
				t.Errorf("changedAt = %q, want %q", gotAt, tt.wantAt)
			}
		})
	}
}

func TestFromPerson(t *testing.T) {
	tests := []struct {
		name    string
		in      mapping.Person
		want    string
		wantErr bool
	}{
		{name: "no identity", in: mapping.Person{FirstName: "A"}, wantErr: true},
		{
			name: "email only",
			in:   mapping.Person{Emails: []string{"a@example.com", "b@example.com"}},
			want: `{"email":"a@example.com"}`,
		},
		{
			name: "linkedin only goes to socials[0]",
			in:   mapping.Person{LinkedIn: "https://www.linkedin.com/in/x"},
			want: `{"socials":[{"linkedin":"https://www.linkedin.com/in/x"}]}`,
		},
		{
			name: "full",
			in: mapping.Person{FirstName: "John", LastName: "Doe", Emails: []string{"j@example.com"},
				Phones: []string{"+33612345678", "+33123456789"}, LinkedIn: "https://www.linkedin.com/in/jd",
				Facebook: "fb", Instagram: "@jd", Twitter: "@ignored", Notes: "ignored", JobTitle: "ignored",
				LeadStage: mapping.StageConverted, LeadScore: intp(0), PipelineStage: "ignored"},
			want: `{"firstName":"John","lastName":"Doe","email":"j@example.com","phone":"+33612345678",` +
				`"socials":[{"linkedin":"https://www.linkedin.com/in/jd","facebook":"fb","instagram":"@jd"}],` +
				`"nextlead_config":[{"lead_score":0,"conversion_status":"Won"}]}`,
		},
		{
			name: "stage with no tag not written",
			in:   mapping.Person{Emails: []string{"a@example.com"}, LeadStage: "nope"},
			want: `{"email":"a@example.com"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromPerson(tt.in, mapping.StageMap{}, catalog)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("want error, got %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(got)
			if string(b) != tt.want {
				t.Errorf("got  %s\nwant %s", b, tt.want)
			}
		})
	}
}

func TestUpdateValues(t *testing.T) {
	cur := mapping.Person{FirstName: "John", LastName: "Doe", Phones: []string{"+33612345678"},
		LeadStage: mapping.StageNew, LeadScore: intp(5), Emails: []string{"j@example.com"}}
	tests := []struct {
		name    string
		desired func(p *mapping.Person)
		want    string
	}{
		{name: "nothing changed", desired: func(p *mapping.Person) {}, want: `{}`},
		{name: "email changes are not sent", desired: func(p *mapping.Person) { p.Emails = []string{"x@example.com"} }, want: `{}`},
		{name: "first name", desired: func(p *mapping.Person) { p.FirstName = "Jon" }, want: `{"firstName":"Jon"}`},
		{name: "clear last name", desired: func(p *mapping.Person) { p.LastName = "" }, want: `{"lastName":""}`},
		{name: "phone", desired: func(p *mapping.Person) { p.Phones = []string{"+33123456789"} }, want: `{"phone":"+33123456789"}`},
		{name: "secondary phone only is not sent", desired: func(p *mapping.Person) { p.Phones = append(p.Phones, "+33123456789") }, want: `{}`},
		{name: "stage", desired: func(p *mapping.Person) { p.LeadStage = mapping.StageLost }, want: `{"conversion_status":"Lost"}`},
		{name: "score", desired: func(p *mapping.Person) { p.LeadScore = intp(90) }, want: `{"lead_score":90}`},
		{name: "score cannot be cleared", desired: func(p *mapping.Person) { p.LeadScore = nil }, want: `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := cur.Clone()
			tt.desired(&d)
			b, _ := json.Marshal(UpdateValues(cur, d, mapping.StageMap{}, catalog))
			if string(b) != tt.want {
				t.Errorf("got %s, want %s", b, tt.want)
			}
		})
	}
}

func TestScoreJSON(t *testing.T) {
	tests := []struct {
		in   string
		want Score
		err  bool
	}{
		{`85`, Score{85, true}, false},
		{`"85"`, Score{85, true}, false},
		{`null`, Score{}, false},
		{`""`, Score{}, false},
		{`85.0`, Score{85, true}, false},
		{`"high"`, Score{}, true},
	}
	for _, tt := range tests {
		var s Score
		err := json.Unmarshal([]byte(tt.in), &s)
		if (err != nil) != tt.err || s != tt.want {
			t.Errorf("%s: got %+v, %v", tt.in, s, err)
		}
	}
}

func TestLinkedInSpellings(t *testing.T) {
	got := LinkedInSpellings("https://www.linkedin.com/in/jd")
	want := []string{
		"https://www.linkedin.com/in/jd", "https://www.linkedin.com/in/jd/",
		"https://linkedin.com/in/jd", "https://linkedin.com/in/jd/",
		"http://www.linkedin.com/in/jd", "www.linkedin.com/in/jd", "linkedin.com/in/jd",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q", got)
	}
	for _, s := range got {
		if u, err := mapping.NormalizeLinkedIn(s); err != nil || u != want[0] {
			t.Errorf("%s normalizes to %s, %v", s, u, err)
		}
	}
}

func TestFieldSets(t *testing.T) {
	if Holds.Has(mapping.FieldPipelineStage) {
		t.Error("pipeline_stage is write-only")
	}
	if Updates.Has(mapping.FieldEmails) || Updates.Has(mapping.FieldLinkedIn) {
		t.Error("email and linkedin are not writable after create")
	}
	if Creates&^Holds != 0 || Updates&^Holds != 0 {
		t.Error("Creates and Updates must be within Holds")
	}
}

// Generators of values NextLead holds in their normalized form.

func genName() *rapid.Generator[string] {
	return rapid.OneOf(rapid.Just(""), rapid.StringMatching(`[A-Z][a-zé]{1,8}( [A-Z][a-z]{1,8})?`))
}

func genEmail() *rapid.Generator[string] {
	return rapid.StringMatching(`[a-z][a-z0-9]{0,4}(\.[a-z0-9]{1,4})?@[a-z]{2,8}\.(com|fr|io)`)
}

func genPhone() *rapid.Generator[string] {
	return rapid.StringMatching(`\+336[0-9]{8}`)
}

func genOpt(g *rapid.Generator[string]) *rapid.Generator[string] {
	return rapid.OneOf(rapid.Just(""), g)
}

// genContact draws a contact holding any of NextLead's fields, valid
// values only.
func genContact(t *rapid.T) Contact {
	c := Contact{
		FirstName:        genName().Draw(t, "first"),
		LastName:         genName().Draw(t, "last"),
		Email:            genOpt(genEmail()).Draw(t, "email"),
		Email2:           genOpt(genEmail()).Draw(t, "email2"),
		Phone:            genOpt(genPhone()).Draw(t, "phone"),
		Mobile:           genOpt(genPhone()).Draw(t, "mobile"),
		PhonePro:         genOpt(genPhone()).Draw(t, "phonePro"),
		LinkedIn:         genOpt(rapid.StringMatching(`https://www\.linkedin\.com/in/[a-z][a-z0-9-]{2,11}`)).Draw(t, "linkedin"),
		Activity:         genName().Draw(t, "activity"),
		Website:          genOpt(rapid.StringMatching(`https://[a-z]{3,8}\.dev`)).Draw(t, "website"),
		Facebook:         genOpt(rapid.StringMatching(`https://facebook\.com/[a-z]{3,8}`)).Draw(t, "facebook"),
		Instagram:        genOpt(rapid.StringMatching(`@[a-z]{3,8}`)).Draw(t, "instagram"),
		Twitter:          genOpt(rapid.StringMatching(`@[a-z]{3,8}`)).Draw(t, "twitter"),
		Comment:          genOpt(rapid.StringMatching(`[a-z]{1,5}( [a-z]{1,5}){0,3}`)).Draw(t, "comment"),
		ConversionStatus: genOpt(rapid.SampledFrom(catalog)).Draw(t, "status"),
	}
	if rapid.Bool().Draw(t, "hasScore") {
		c.LeadScore = Score{V: rapid.IntRange(0, 100).Draw(t, "score"), Valid: true}
	}
	return c
}

// TestRoundTripContact: provider → canonical → provider → canonical keeps
// every field NextLead holds.
func TestRoundTripContact(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := genContact(t)
		p1, _, issues := ToPerson(&c, mapping.StageMap{}, "FR")
		if len(issues) != 0 {
			t.Fatalf("issues: %q", issues)
		}
		var back Contact
		ApplyPerson(&back, mapping.Person{}, p1, mapping.StageMap{}, catalog)
		p2, _, _ := ToPerson(&back, mapping.StageMap{}, "FR")
		if !mapping.EqualPerson(Holds, &p1, &p2) {
			t.Fatalf("round trip changed the person:\n%+v\n%+v", p1, p2)
		}
	})
}

// TestRoundTripPerson: canonical → new-contact → stored contact → canonical
// keeps every field a create writes (the primary email and phone only).
func TestRoundTripPerson(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := mapping.Person{
			FirstName: genName().Draw(t, "first"),
			LastName:  genName().Draw(t, "last"),
			Emails:    rapid.SliceOfNDistinct(genEmail(), 0, 2, rapid.ID[string]).Draw(t, "emails"),
			Phones:    rapid.SliceOfNDistinct(genPhone(), 0, 3, rapid.ID[string]).Draw(t, "phones"),
			LinkedIn:  genOpt(rapid.StringMatching(`https://www\.linkedin\.com/in/[a-z][a-z0-9-]{2,11}`)).Draw(t, "linkedin"),
			Facebook:  genOpt(rapid.StringMatching(`https://facebook\.com/[a-z]{3,8}`)).Draw(t, "facebook"),
			Instagram: genOpt(rapid.StringMatching(`@[a-z]{3,8}`)).Draw(t, "instagram"),
			LeadStage: rapid.SampledFrom(append([]mapping.Stage{""}, mapping.Stages...)).Draw(t, "stage"),
		}
		if rapid.Bool().Draw(t, "hasScore") {
			p.LeadScore = intp(rapid.IntRange(-5, 1000).Draw(t, "score"))
		}
		nc, err := FromPerson(p, mapping.StageMap{}, catalog)
		if p.PrimaryEmail() == "" && p.LinkedIn == "" {
			if err == nil {
				t.Fatal("want ErrNoIdentity")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		// Through the wire and back.
		b, _ := json.Marshal(nc)
		var wire NewContact
		if err := json.Unmarshal(b, &wire); err != nil {
			t.Fatal(err)
		}
		c := ApplyCreate(wire)
		got, _, issues := ToPerson(&c, mapping.StageMap{}, "FR")
		if len(issues) != 0 {
			t.Fatalf("issues: %q", issues)
		}
		want := p.Clone()
		want.Emails = want.Emails[:min(1, len(want.Emails))]
		want.Phones = want.Phones[:min(1, len(want.Phones))]
		if !mapping.EqualPerson(Creates, &want, &got) {
			t.Fatalf("round trip changed the person:\n%+v\n%+v", want, got)
		}
	})
}

// TestRoundTripUpdate: an update applied to the stored contact makes it hold
// the desired values of every field in Updates.
func TestRoundTripUpdate(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		gen := func(label string) mapping.Person {
			p := mapping.Person{
				FirstName: genName().Draw(t, label+"first"),
				LastName:  genName().Draw(t, label+"last"),
				Phones:    rapid.SliceOfNDistinct(genPhone(), 0, 1, rapid.ID[string]).Draw(t, label+"phones"),
				LeadStage: rapid.SampledFrom(mapping.Stages).Draw(t, label+"stage"),
				LeadScore: intp(rapid.IntRange(0, 100).Draw(t, label+"score")),
			}
			return p
		}
		cur, desired := gen("cur."), gen("desired.")
		var c Contact
		ApplyPerson(&c, mapping.Person{}, cur, mapping.StageMap{}, catalog)
		v := UpdateValues(cur, desired, mapping.StageMap{}, catalog)
		ApplyValues(&c, v)
		got, _, _ := ToPerson(&c, mapping.StageMap{}, "FR")
		if !mapping.EqualPerson(Updates, &desired, &got) {
			t.Fatalf("update did not reach desired:\n%+v\n%+v", desired, got)
		}
	})
}

// TestPropApplyValuesToPerson: applying an edit to a contact's canonical view
// gives what reading the edited contact back gives, for every edit without a
// phone (which it refuses, leaving the person as it was).
func TestPropApplyValuesToPerson(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := genContact(t)
		if rapid.Bool().Draw(t, "oddStatus") {
			c.ConversionStatus = rapid.SampledFrom([]string{"Unknown tag", " " + catalog[0] + " "}).Draw(t, "stored status")
		}
		spaced := rapid.StringMatching(`( ?[A-Za-zé]{1,6}){0,3} ?`)
		var v Values
		if rapid.Bool().Draw(t, "setFirst") {
			v.FirstName = ptr(spaced.Draw(t, "first"))
		}
		if rapid.Bool().Draw(t, "setLast") {
			v.LastName = ptr(spaced.Draw(t, "last"))
		}
		if rapid.Bool().Draw(t, "setScore") {
			v.LeadScore = Score{V: rapid.IntRange(0, 100).Draw(t, "score"), Valid: true}
		}
		v.ConversionStatus = rapid.SampledFrom(append([]string{"", "Unknown tag", " " + catalog[1]}, catalog...)).Draw(t, "status")
		before, _, _ := ToPerson(&c, mapping.StageMap{}, "FR")
		if rapid.Bool().Draw(t, "setPhone") {
			v.Phone = ptr(genOpt(genPhone()).Draw(t, "phone"))
			p := before.Clone()
			if ApplyValuesToPerson(&p, v, mapping.StageMap{}) || !reflect.DeepEqual(p, before) {
				t.Fatalf("an edit with a phone was applied: %+v", p)
			}
			return
		}
		edited := c
		ApplyValues(&edited, v)
		want, _, _ := ToPerson(&edited, mapping.StageMap{}, "FR")
		got := before.Clone()
		if !ApplyValuesToPerson(&got, v, mapping.StageMap{}) {
			t.Fatal("refused an edit without a phone")
		}
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("values %+v:\nread back %+v\napplied   %+v", v, want, got)
		}
	})
}

func TestParseTime(t *testing.T) {
	for _, s := range []string{"2024-01-01T12:00:00Z", "2024-01-01T12:00:00.000Z", "2024-01-01T13:00:00+01:00"} {
		got, err := ParseTime(s)
		if err != nil || !got.Equal(time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)) {
			t.Errorf("%s: %v %v", s, got, err)
		}
	}
	if _, err := ParseTime("nope"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("err = %v", err)
	}
	_ = fmt.Sprint()
}
