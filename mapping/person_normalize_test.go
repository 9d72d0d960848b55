package mapping

import (
	"slices"
	"strings"
	"testing"
)

func TestPersonNormalize(t *testing.T) {
	t.Parallel()
	p := Person{
		FirstName: "  Jean ", LastName: "de  la Fontaine",
		Emails:   []string{" Jean@X.fr", "bad email", "jean@x.fr", "j2@x.fr"},
		Phones:   []string{"06 12 34 56 78", "+33612345678", "call me"},
		LinkedIn: " fr.linkedin.com/in/Jean-Dupont/?trk=x ",
		Company:  " ACME\tSA ", LeadStage: "Qualified", Notes: "  line 1\nline 2  ",
	}
	issues := p.Normalize("FR")
	want := Person{
		FirstName: "Jean", LastName: "de la Fontaine",
		Emails:   []string{"jean@x.fr", "j2@x.fr"},
		Phones:   []string{"+33612345678", "call me"},
		LinkedIn: "https://www.linkedin.com/in/jean-dupont",
		Company:  "ACME SA", LeadStage: StageQualified, Notes: "line 1\nline 2",
	}
	if !EqualPerson(NewFieldSet(AllFields...), &p, &want) || p.Notes != want.Notes || !slices.Equal(p.Emails, want.Emails) {
		t.Errorf("Normalize =\n%+v\nwant\n%+v", p, want)
	}
	if len(issues) != 1 || !strings.Contains(issues[0], "bad email") {
		t.Errorf("issues = %q", issues)
	}

	q := Person{LinkedIn: "linkedin.com/company/acme", LeadStage: "golden", Emails: []string{"only@x.fr"}}
	issues = q.Normalize("")
	if q.LinkedIn != "linkedin.com/company/acme" || q.LeadStage != "" || len(issues) != 2 {
		t.Errorf("Normalize = %+v, issues %q", q, issues)
	}
	if got := q.Identity(); !slices.Equal(got, []string{"only@x.fr"}) {
		t.Errorf("Identity = %q: a company page must not be identity", got)
	}
}

func TestPersonIdentity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p    Person
		want []string
	}{
		{Person{}, nil},
		{Person{FirstName: "Jean", Phones: []string{"+33612345678"}}, nil}, // phones and names are never identity
		{Person{Emails: []string{"A@x.fr", "a@X.fr", "user@exämple.fr"}}, []string{"a@x.fr", "user@xn--exmple-cua.fr"}},
		{Person{LinkedIn: "linkedin.com/in/JD"}, []string{"https://www.linkedin.com/in/jd"}},
		{Person{Emails: []string{"bad"}, LinkedIn: "linkedin.com/in/jd"}, []string{"https://www.linkedin.com/in/jd"}},
	}
	for _, tt := range tests {
		if got := tt.p.Identity(); !slices.Equal(got, tt.want) {
			t.Errorf("Identity(%+v) = %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestPersonOnlyFullNameOrEmail(t *testing.T) {
	t.Parallel()
	// A person with only a full name (Ligo's name) still maps.
	var p Person
	p.FirstName, p.LastName = SplitFullName("  Jean   de la Fontaine ")
	if issues := p.Normalize("FR"); issues != nil || p.FirstName != "Jean" || p.LastName != "de la Fontaine" {
		t.Errorf("full name only: %+v, %q", p, issues)
	}
	// A person with only an email still maps and has an identity.
	q := Person{Emails: []string{"Solo@X.fr"}}
	if issues := q.Normalize("FR"); issues != nil || len(q.Identity()) != 1 || JoinName(q.FirstName, q.LastName) != "" {
		t.Errorf("email only: %+v, %q", q, issues)
	}
}
