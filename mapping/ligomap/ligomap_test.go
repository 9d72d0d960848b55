package ligomap

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/crmsync/crmsync/mapping"
)

var ligoStages = mapping.DefaultStageMap("ligo")

func TestToPerson(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		in         Contact
		want       mapping.Person
		wantAt     time.Time
		wantIssues []string // substrings, in order
	}{
		{
			name: "full contact",
			in: Contact{
				ID: "123e4567-e89b-12d3-a456-426614174000", Name: "Marie Dubois",
				Emails:  []string{" Marie@Example.COM ", "m.dubois@acme.fr"},
				Phones:  []string{"+33 6 12 34 56 78", "01 23 45 67 89"},
				Company: "Acme Corp", Position: "Directrice", Address: "1 rue de Paris",
				Website: "https://acme.example", LinkedinURL: "http://fr.linkedin.com/in/Marie-Dubois/?x=1",
				AdditionalInfo: "met at the fair", MeetingContext: "salon", Status: "contacted",
				PipelineState: &PipelineState{ID: "223e4567-e89b-12d3-a456-426614174000", Name: "Nouveau contact"},
				UpdatedAt:     "2025-03-04T05:06:07.089Z",
			},
			want: mapping.Person{
				FirstName: "Marie", LastName: "Dubois",
				Emails:  []string{"marie@example.com", "m.dubois@acme.fr"},
				Phones:  []string{"+33612345678", "+33123456789"},
				Company: "Acme Corp", JobTitle: "Directrice", Address: "1 rue de Paris",
				Website: "https://acme.example", LinkedIn: "https://www.linkedin.com/in/marie-dubois",
				Notes: "met at the fair", LeadStage: mapping.StageContacted, PipelineStage: "Nouveau contact",
			},
			wantAt: time.Date(2025, 3, 4, 5, 6, 7, 89e6, time.UTC),
		},
		{
			name: "name split at the first space",
			in:   Contact{Name: "  Jean  Pierre de la   Cruz "},
			want: mapping.Person{FirstName: "Jean", LastName: "Pierre de la Cruz"},
		},
		{
			name: "single word is a first name",
			in:   Contact{Name: "Cher"},
			want: mapping.Person{FirstName: "Cher"},
		},
		{
			name:       "invalid email dropped and reported, duplicates merged",
			in:         Contact{Name: "A B", Emails: []string{"not-an-email", "a@b.co", "A@B.CO", ""}},
			want:       mapping.Person{FirstName: "A", LastName: "B", Emails: []string{"a@b.co"}},
			wantIssues: []string{"invalid email"},
		},
		{
			name: "unparseable phone kept raw",
			in:   Contact{Name: "A", Phones: []string{"call  reception", "  "}},
			want: mapping.Person{FirstName: "A", Phones: []string{"call reception"}},
		},
		{
			name: "pending and enriched are new",
			in:   Contact{Name: "A", Status: "enriched"},
			want: mapping.Person{FirstName: "A", LeadStage: mapping.StageNew},
		},
		{
			name: "pending is new",
			in:   Contact{Name: "A", Status: "pending"},
			want: mapping.Person{FirstName: "A", LeadStage: mapping.StageNew},
		},
		{
			name: "same-name statuses",
			in:   Contact{Name: "A", Status: "converted"},
			want: mapping.Person{FirstName: "A", LeadStage: mapping.StageConverted},
		},
		{
			name:       "unknown status reported",
			in:         Contact{Name: "A", Status: "archived"},
			want:       mapping.Person{FirstName: "A"},
			wantIssues: []string{`status: unmapped value "archived"`},
		},
		{
			name:       "non-profile LinkedIn kept and reported",
			in:         Contact{Name: "A", LinkedinURL: "https://www.linkedin.com/company/acme"},
			want:       mapping.Person{FirstName: "A", LinkedIn: "https://www.linkedin.com/company/acme"},
			wantIssues: []string{"not a LinkedIn profile"},
		},
		{
			name: "null pipeline state",
			in:   Contact{Name: "A", PipelineState: nil},
			want: mapping.Person{FirstName: "A"},
		},
		{
			name:       "bad timestamp reported",
			in:         Contact{Name: "A", UpdatedAt: "yesterday"},
			want:       mapping.Person{FirstName: "A"},
			wantIssues: []string{"updatedAt"},
		},
		{
			name:   "offset timestamp normalized to UTC",
			in:     Contact{Name: "A", UpdatedAt: "2025-03-04T07:06:07+02:00"},
			want:   mapping.Person{FirstName: "A"},
			wantAt: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, at, issues := ToPerson(tt.in, ligoStages, "FR")
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("person = %+v, want %+v", got, tt.want)
			}
			if !at.Equal(tt.wantAt) {
				t.Errorf("changedAt = %v, want %v", at, tt.wantAt)
			}
			if len(issues) != len(tt.wantIssues) {
				t.Fatalf("issues = %q, want %d matching %q", issues, len(tt.wantIssues), tt.wantIssues)
			}
			for i, w := range tt.wantIssues {
				if !strings.Contains(issues[i], w) {
					t.Errorf("issue %d = %q, want it to contain %q", i, issues[i], w)
				}
			}
		})
	}
}

func TestFromPerson(t *testing.T) {
	t.Parallel()
	score := 5
	tests := []struct {
		name    string
		in      mapping.Person
		want    ContactInput
		wantErr bool
	}{
		{
			name: "every writable field",
			in: mapping.Person{
				FirstName: "Marie", LastName: "Dubois", Emails: []string{"marie@example.com", "m@acme.fr"},
				Phones: []string{"+33612345678"}, LinkedIn: "https://www.linkedin.com/in/marie", Company: "Acme",
				JobTitle: "CEO", Website: "acme.fr", Address: "Paris", Notes: "hello",
				// Not written on create:
				LeadStage: mapping.StageQualified, PipelineStage: "Won", Facebook: "fb", LeadScore: &score, Owner: "bob",
			},
			want: ContactInput{
				Name: "Marie Dubois", Emails: []string{"marie@example.com", "m@acme.fr"}, Phones: []string{"+33612345678"},
				LinkedinURL: "https://www.linkedin.com/in/marie", Company: "Acme", Position: "CEO", Website: "acme.fr",
				Address: "Paris", AdditionalInfo: "hello",
			},
		},
		{name: "first name only", in: mapping.Person{FirstName: "Cher"}, want: ContactInput{Name: "Cher"}},
		{name: "last name only", in: mapping.Person{LastName: "Dubois"}, want: ContactInput{Name: "Dubois"}},
		{name: "no name", in: mapping.Person{Emails: []string{"a@b.co"}}, wantErr: true},
		{name: "blank names", in: mapping.Person{FirstName: " ", LastName: "\t"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := FromPerson(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestFromPersonOmitsEmpty(t *testing.T) {
	t.Parallel()
	in, err := FromPerson(mapping.Person{FirstName: "A"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(in)
	if string(b) != `{"name":"A"}` {
		t.Errorf("body = %s", b)
	}
}

func TestDiff(t *testing.T) {
	t.Parallel()
	base := mapping.Person{
		FirstName: "Marie", LastName: "Dubois", Emails: []string{"a@b.co"}, Phones: []string{"+33612345678"},
		Company: "Acme", JobTitle: "CEO", Notes: "n", LeadStage: mapping.StageNew, PipelineStage: "X",
	}
	tests := []struct {
		name    string
		edit    func(p *mapping.Person)
		want    Patch
		wantErr bool
	}{
		{name: "no change", edit: func(p *mapping.Person) {}, want: Patch{}},
		{name: "lead and pipeline stage not patched", edit: func(p *mapping.Person) {
			p.LeadStage = mapping.StageLost
			p.PipelineStage = "Y"
		}, want: Patch{}},
		{name: "whitespace-only change ignored", edit: func(p *mapping.Person) { p.Company = " Acme  " }, want: Patch{}},
		{name: "last name changes the whole name", edit: func(p *mapping.Person) { p.LastName = "Martin" },
			want: Patch{"name": "Marie Martin"}},
		{name: "cleared string is null", edit: func(p *mapping.Person) { p.Company = "" }, want: Patch{"company": nil}},
		{name: "cleared list is empty", edit: func(p *mapping.Person) { p.Emails = nil }, want: Patch{"emails": []string{}}},
		{name: "primary swap sends the list", edit: func(p *mapping.Person) { p.Phones = []string{"+33700000000", "+33612345678"} },
			want: Patch{"phones": []string{"+33700000000", "+33612345678"}}},
		{name: "set several", edit: func(p *mapping.Person) {
			p.JobTitle = "CTO"
			p.Website = "acme.fr"
			p.LinkedIn = "https://www.linkedin.com/in/m"
			p.Address = "Lyon"
			p.Notes = "m"
		}, want: Patch{"position": "CTO", "website": "acme.fr", "linkedinUrl": "https://www.linkedin.com/in/m", "address": "Lyon", "additionalInfo": "m"}},
		{name: "cannot clear the name", edit: func(p *mapping.Person) { p.FirstName, p.LastName = "", "" }, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := base.Clone()
			tt.edit(&d)
			got, err := Diff(base, d)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("patch = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestFieldSets(t *testing.T) {
	t.Parallel()
	for _, f := range []mapping.Field{mapping.FieldLeadStage, mapping.FieldPipelineStage} {
		if !Holds.Has(f) || Creates.Has(f) {
			t.Errorf("%s: want held, not created", f)
		}
	}
	if Updates.Has(mapping.FieldLeadStage) || !Updates.Has(mapping.FieldPipelineStage) {
		t.Error("Updates: lead_stage is read-only, pipeline_stage goes through the pipeline route")
	}
	for _, f := range []mapping.Field{mapping.FieldFacebook, mapping.FieldInstagram, mapping.FieldTwitter, mapping.FieldLeadScore, mapping.FieldOwner} {
		if Holds.Has(f) {
			t.Errorf("Ligo does not hold %s", f)
		}
	}
	if Creates&^Holds != 0 || Updates&^Holds != 0 {
		t.Error("writes must be a subset of Holds")
	}
}

// Generators of values as Ligo and the canonical model hold them.
var (
	genWord   = rapid.StringMatching(`[A-Za-zéèÉ'-]{1,12}`)
	genText   = rapid.StringMatching(`[A-Za-z0-9éà,.'-]{1,10}( [A-Za-z0-9éà,.'-]{1,10}){0,3}`)
	genEmail  = rapid.StringMatching(`[a-z0-9]([a-z0-9_]{0,8}[a-z0-9])?@[a-z]{1,10}\.(com|fr|io)`)
	genPhone  = rapid.SampledFrom([]string{"+33612345678", "+33123456789", "+14155552671", "+442079460958", "+4930123456", "ext 42"})
	genLinked = rapid.Custom(func(t *rapid.T) string {
		return "https://www.linkedin.com/in/" + rapid.StringMatching(`[a-z0-9][a-z0-9-]{0,19}`).Draw(t, "slug")
	})
	genStatus = rapid.SampledFrom(append([]string{""}, Statuses...))
)

func optional(t *rapid.T, g *rapid.Generator[string], label string) string {
	if rapid.Bool().Draw(t, label+"?") {
		return g.Draw(t, label)
	}
	return ""
}

func uniq(t *rapid.T, g *rapid.Generator[string], label string) []string {
	xs := rapid.SliceOfNDistinct(g, 0, 3, rapid.ID[string]).Draw(t, label)
	if len(xs) == 0 {
		return nil
	}
	return xs
}

// TestPropertyLigoRoundTrip: a contact as Ligo holds it (normalized values)
// survives Ligo → canonical → Ligo unchanged in every writable key.
func TestPropertyLigoRoundTrip(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		name := genWord.Draw(t, "first")
		if rapid.Bool().Draw(t, "hasLast") {
			name += " " + genText.Draw(t, "last")
		}
		c := Contact{
			Name: name, Emails: uniq(t, genEmail, "emails"), Phones: uniq(t, genPhone, "phones"),
			Company: optional(t, genText, "company"), Position: optional(t, genText, "position"),
			Address: optional(t, genText, "address"), Website: optional(t, genText, "website"),
			LinkedinURL: optional(t, genLinked, "linkedin"), AdditionalInfo: optional(t, genText, "info"),
			Status: genStatus.Draw(t, "status"),
		}
		p, _, issues := ToPerson(c, ligoStages, "FR")
		if len(issues) != 0 {
			t.Fatalf("issues: %q", issues)
		}
		back, err := FromPerson(p)
		if err != nil {
			t.Fatal(err)
		}
		want := ContactInput{
			Name: c.Name, Emails: c.Emails, Phones: c.Phones, Company: c.Company, Position: c.Position,
			Address: c.Address, Website: c.Website, LinkedinURL: c.LinkedinURL, AdditionalInfo: c.AdditionalInfo,
		}
		if !reflect.DeepEqual(back, want) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", back, want)
		}
		// The stage read back is the default map's.
		if c.Status != "" {
			if s, _ := ligoStages.Inbound(c.Status); s != p.LeadStage {
				t.Fatalf("status %q → %q", c.Status, p.LeadStage)
			}
		}
	})
}

// TestPropertyCanonicalRoundTrip: a canonical person survives canonical →
// Ligo → canonical in every field Ligo can create, and Diff from any
// person to it followed by applying the patch gives it back.
func TestPropertyCanonicalRoundTrip(t *testing.T) {
	t.Parallel()
	genPerson := rapid.Custom(func(t *rapid.T) mapping.Person {
		p := mapping.Person{
			// A first name holds no space: Ligo splits the name at the first one.
			FirstName: genWord.Draw(t, "first"), LastName: optional(t, genText, "last"),
			Emails: uniq(t, genEmail, "emails"), Phones: uniq(t, genPhone, "phones"),
			LinkedIn: optional(t, genLinked, "linkedin"), Company: optional(t, genText, "company"),
			JobTitle: optional(t, genText, "job"), Website: optional(t, genText, "website"),
			Address: optional(t, genText, "address"), Notes: optional(t, genText, "notes"),
		}
		return p
	})
	rapid.Check(t, func(t *rapid.T) {
		p := genPerson.Draw(t, "person")
		in, err := FromPerson(p)
		if err != nil {
			t.Fatal(err)
		}
		c := contactFromInput(in)
		got, _, issues := ToPerson(c, ligoStages, "FR")
		if len(issues) != 0 {
			t.Fatalf("issues: %q", issues)
		}
		if !mapping.EqualPerson(Creates, &p, &got) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, p)
		}

		// Diff from another person, applied as a merge-patch, lands on p.
		other := genPerson.Draw(t, "other")
		patch, err := Diff(other, p)
		if err != nil {
			t.Fatal(err)
		}
		oc := contactFromInput(mustFrom(t, other))
		applyPatch(t, &oc, patch)
		got2, _, _ := ToPerson(oc, ligoStages, "FR")
		if !mapping.EqualPerson(PatchFields, &p, &got2) {
			t.Fatalf("diff+patch:\n got %+v\nwant %+v\npatch %#v", got2, p, patch)
		}
	})
}

func mustFrom(t *rapid.T, p mapping.Person) ContactInput {
	in, err := FromPerson(p)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func contactFromInput(in ContactInput) Contact {
	return Contact{
		Name: in.Name, Emails: in.Emails, Phones: in.Phones, Company: in.Company, Position: in.Position,
		Address: in.Address, Website: in.Website, LinkedinURL: in.LinkedinURL, AdditionalInfo: in.AdditionalInfo,
	}
}

// applyPatch applies a merge-patch the way Ligo does, through JSON.
func applyPatch(t *rapid.T, c *Contact, p Patch) {
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for k, raw := range m {
		var s *string
		var l []string
		switch k {
		case "emails", "phones":
			if err := json.Unmarshal(raw, &l); err != nil {
				t.Fatal(err)
			}
		default:
			if err := json.Unmarshal(raw, &s); err != nil {
				t.Fatal(err)
			}
		}
		str := ""
		if s != nil {
			str = *s
		}
		switch k {
		case "name":
			c.Name = str
		case "emails":
			c.Emails = l
		case "phones":
			c.Phones = l
		case "company":
			c.Company = str
		case "position":
			c.Position = str
		case "address":
			c.Address = str
		case "website":
			c.Website = str
		case "linkedinUrl":
			c.LinkedinURL = str
		case "additionalInfo":
			c.AdditionalInfo = str
		default:
			t.Fatalf("unexpected key %q", k)
		}
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"2025-01-02T03:04:05.006Z", "2025-01-02T03:04:05Z", "2025-01-02T04:04:05.006+01:00"} {
		if _, err := ParseTime(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	if got := time.Date(2025, 1, 2, 3, 4, 5, 6e6, time.UTC).Format(TimeLayout); got != "2025-01-02T03:04:05.006Z" {
		t.Errorf("layout renders %s", got)
	}
}

// FuzzToPerson decodes arbitrary bytes as a Ligo contact and maps it: it must
// never panic, and the person must hold only normalized, distinct emails.
func FuzzToPerson(f *testing.F) {
	f.Add([]byte(`{"id":"1","name":"Marie Dubois","emails":["A@B.co","bad"],"phones":["+33 6 12 34 56 78"],"status":"pending","pipelineState":{"id":"2","name":"New"},"updatedAt":"2025-01-01T00:00:00.000Z"}`))
	f.Add([]byte(`{"name":null,"emails":null,"pipelineState":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var c Contact
		if json.Unmarshal(b, &c) != nil {
			return
		}
		p, _, _ := ToPerson(c, ligoStages, "FR")
		for _, e := range p.Emails {
			n, err := mapping.NormalizeEmail(e)
			if err != nil || n != e {
				t.Fatalf("email %q not normalized", e)
			}
		}
		if len(slices.Compact(slices.Clone(p.Emails))) != len(p.Emails) {
			t.Fatalf("duplicate emails %q", p.Emails)
		}
		if strings.Contains(p.FirstName, " ") {
			t.Fatalf("first name %q holds a space", p.FirstName)
		}
	})
}
