package mapping

import (
	"slices"
	"testing"
)

func TestEqual(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		f    Field
		a, b Value
		want bool
	}{
		{"both empty", FieldFirstName, nil, Value{}, true},
		{"blank is no value", FieldFirstName, Value{"  "}, nil, true},
		{"name spaces", FieldFirstName, Value{" Jean "}, Value{"Jean"}, true},
		{"name inner spaces", FieldLastName, Value{"de  la\tFontaine"}, Value{"de la Fontaine"}, true},
		{"name case matters", FieldLastName, Value{"de la Cruz"}, Value{"De La Cruz"}, false},
		{"name accents matter", FieldFirstName, Value{"Élodie"}, Value{"Elodie"}, false},
		{"name NFC = NFD", FieldFirstName, Value{"\u00c9lodie"}, Value{"E\u0301lodie"}, true},
		{"name vs empty", FieldFirstName, Value{"Jean"}, nil, false},
		{"company", FieldCompany, Value{"ACME  SA"}, Value{"ACME SA"}, true},
		{"notes collapse", FieldNotes, Value{"line 1\nline 2"}, Value{"line 1 line 2"}, true},

		{"email case", FieldEmails, Value{"Jean@X.fr"}, Value{"jean@x.fr"}, true},
		{"email plus tag kept", FieldEmails, Value{"jean+a@x.fr"}, Value{"jean@x.fr"}, false},
		{"email IDN forms", FieldEmails, Value{"user@exämple.fr"}, Value{"user@xn--exmple-cua.fr"}, true},
		{"email order matters", FieldEmails, Value{"a@x.fr", "b@x.fr"}, Value{"b@x.fr", "a@x.fr"}, false},
		{"email duplicate counts once", FieldEmails, Value{"a@x.fr", "A@x.fr", "b@x.fr"}, Value{"a@x.fr", "b@x.fr"}, true},
		{"email extra", FieldEmails, Value{"a@x.fr"}, Value{"a@x.fr", "b@x.fr"}, false},
		{"email invalid compared lower", FieldEmails, Value{"Not An Email"}, Value{"not an email"}, true},
		{"email blank dropped", FieldEmails, Value{"a@x.fr", ""}, Value{"a@x.fr"}, true},

		{"phone formats", FieldPhones, Value{"06 12 34 56 78"}, Value{"+33612345678"}, true},
		{"phone raw", FieldPhones, Value{"call  me"}, Value{"call me"}, true},
		{"phone differ", FieldPhones, Value{"+33612345678"}, Value{"+33612345679"}, false},
		{"phone order", FieldPhones, Value{"+33612345678", "+33123456789"}, Value{"+33123456789", "+33612345678"}, false},

		{"linkedin spellings", FieldLinkedIn, Value{"fr.linkedin.com/in/Jean-Dupont/?trk=x"}, Value{"https://www.linkedin.com/in/jean-dupont"}, true},
		{"linkedin differ", FieldLinkedIn, Value{"linkedin.com/in/jean-dupont"}, Value{"linkedin.com/in/jean-dupond"}, false},
		{"linkedin not profile", FieldLinkedIn, Value{" linkedin.com/company/acme "}, Value{"linkedin.com/company/acme"}, true},

		{"website scheme", FieldWebsite, Value{"https://www.Acme.fr/"}, Value{"acme.fr"}, true},
		{"website path case", FieldWebsite, Value{"acme.fr/About"}, Value{"acme.fr/about"}, false},
		{"twitter", FieldTwitter, Value{"http://twitter.com/jean/"}, Value{"https://twitter.com/jean"}, true},

		{"stage case", FieldLeadStage, Value{"Qualified"}, Value{"qualified"}, true},
		{"stage differ", FieldLeadStage, Value{"new"}, Value{"lost"}, false},
		{"pipeline", FieldPipelineStage, Value{" Proposal  Sent "}, Value{"proposal sent"}, true},
		{"score ints", FieldLeadScore, Value{" 042"}, Value{"42"}, true},
		{"score differ", FieldLeadScore, Value{"41"}, Value{"42"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Equal(tt.f, tt.a, tt.b); got != tt.want {
				t.Errorf("Equal(%s, %q, %q) = %v, want %v", tt.f, tt.a, tt.b, got, tt.want)
			}
			if got := Equal(tt.f, tt.b, tt.a); got != tt.want {
				t.Errorf("Equal is not symmetric on %q, %q", tt.a, tt.b)
			}
		})
	}
}

func TestGetSet(t *testing.T) {
	t.Parallel()
	score := 7
	p := Person{
		FirstName: "Jean", LastName: "Dupont", Emails: []string{"a@x.fr", "b@x.fr"},
		Phones: []string{"+33612345678"}, LinkedIn: "https://www.linkedin.com/in/jd",
		Company: "ACME", JobTitle: "CTO", Website: "acme.fr", Address: "Paris",
		Facebook: "fb", Instagram: "ig", Twitter: "tw", Notes: "n",
		LeadStage: StageQualified, PipelineStage: "Demo", LeadScore: &score, Owner: "me",
	}
	var q Person
	for _, f := range AllFields {
		v := p.Get(f)
		if v.Empty() {
			t.Errorf("Get(%s) is empty", f)
		}
		q.Set(f, v)
	}
	if !EqualPerson(NewFieldSet(AllFields...), &p, &q) {
		t.Errorf("Set(Get) lost data: %+v vs %+v", p, q)
	}
	q.Set(FieldLeadScore, Value{"x"})
	if q.LeadScore != nil {
		t.Errorf("a non-integer lead score was kept")
	}
	// Get returns copies.
	p.Get(FieldEmails)[0] = "changed"
	if p.Emails[0] != "a@x.fr" {
		t.Errorf("Get shares the slice")
	}
}

func TestMergeList(t *testing.T) {
	t.Parallel()
	tests := []struct{ a, b, want []string }{
		{nil, nil, []string{}},
		{[]string{"a"}, nil, []string{"a"}},
		{nil, []string{"b", "a"}, []string{"b", "a"}},
		{[]string{"a", "b"}, []string{"c", "a"}, []string{"a", "b", "c"}},
		{[]string{"a", "a", ""}, []string{" ", "b", "b"}, []string{"a", "b"}},
	}
	for _, tt := range tests {
		if got := MergeList(tt.a, tt.b); !slices.Equal(got, tt.want) {
			t.Errorf("MergeList(%q, %q) = %q, want %q", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestMergeValue(t *testing.T) {
	t.Parallel()
	got := MergeValue(FieldEmails, Value{"Jean@x.fr", "b@x.fr"}, Value{"jean@X.FR", "c@x.fr", "B@x.fr"})
	if want := (Value{"Jean@x.fr", "b@x.fr", "c@x.fr"}); !slices.Equal(got, want) {
		t.Errorf("MergeValue(emails) = %q, want %q", got, want)
	}
	got = MergeValue(FieldPhones, Value{"+33612345678"}, Value{"06 12 34 56 78", "01 23 45 67 89"})
	if want := (Value{"+33612345678", "01 23 45 67 89"}); !slices.Equal(got, want) {
		t.Errorf("MergeValue(phones) = %q, want %q", got, want)
	}
}

func TestHash(t *testing.T) {
	t.Parallel()
	all := NewFieldSet(AllFields...)
	a := Person{FirstName: "Jean", Emails: []string{"Jean@X.fr"}, Phones: []string{"06 12 34 56 78"}, LinkedIn: "linkedin.com/in/JD/"}
	b := Person{FirstName: " Jean ", Emails: []string{"jean@x.fr"}, Phones: []string{"+33612345678"}, LinkedIn: "https://www.linkedin.com/in/jd"}
	if !EqualPerson(all, &a, &b) || Hash(&a, all) != Hash(&b, all) {
		t.Errorf("equal persons hash differently")
	}
	c := b.Clone()
	c.LastName = "Dupont"
	if Hash(&b, all) == Hash(&c, all) {
		t.Errorf("a changed last name did not change the hash")
	}
	if Hash(&b, NewFieldSet(FieldFirstName)) != Hash(&c, NewFieldSet(FieldFirstName)) {
		t.Errorf("a field outside the set changed the hash")
	}
	// Field boundaries matter: a value moving between fields changes the hash.
	d := Person{FirstName: "Jean Dupont"}
	e := Person{FirstName: "Jean", LastName: "Dupont"}
	if Hash(&d, all) == Hash(&e, all) {
		t.Errorf("values moved between fields hash equal")
	}
	// Stable across runs and releases: a golden value.
	if got := Hash(&Person{FirstName: "Jean"}, NewFieldSet(FieldFirstName)); got != goldenHash {
		t.Errorf("Hash golden = %#x, want %#x", got, uint64(goldenHash))
	}
}

// goldenHash is Hash(&Person{FirstName: "Jean"}, NewFieldSet(FieldFirstName)).
const goldenHash = 0x7a0f8aab08ee9d0e

func TestE164FastPathMatchesNormalizePhone(t *testing.T) {
	for _, s := range []string{"+33612345678", "+14155550100", "+3361234", "+0123456789", "+1", "+999999999999999", "+33"} {
		if got, want := canonicalElem(FieldPhones, s), NormalizePhone(s, "").Key(); got != want {
			t.Errorf("canonicalElem(%q) = %q, NormalizePhone(...).Key() = %q", s, got, want)
		}
	}
}
