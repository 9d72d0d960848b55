package mapping

import (
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/text/unicode/norm"
	"pgregory.net/rapid"
)

// Generators shared by the property tests.

var (
	// slugGen draws LinkedIn slugs: ASCII and accented letters, digits and
	// hyphens, in mixed case.
	slugGen = rapid.StringOfN(rapid.RuneFrom([]rune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_éèàüçÉÜñøß张伟")), 1, 40, -1).
		Filter(func(s string) bool {
			return strings.ContainsFunc(s, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) })
		})

	emailGen = rapid.Custom(func(t *rapid.T) string {
		local := rapid.StringMatching(`[a-zA-Z0-9][a-zA-Z0-9._+'-]{0,20}[a-zA-Z0-9]`).Draw(t, "local")
		if strings.Contains(local, "..") {
			local = "x"
		}
		labels := rapid.SliceOfN(rapid.StringMatching(`[a-zA-Z0-9äöüéÉ]{1,12}`), 1, 3).Draw(t, "labels")
		tld := rapid.SampledFrom([]string{"fr", "com", "io", "co.uk", "de", "XN--P1AI"}).Draw(t, "tld")
		return local + "@" + strings.Join(labels, ".") + "." + tld
	})

	phoneGen = rapid.OneOf(
		rapid.StringMatching(`0[1-9]( ?[0-9]{2}){4}`),
		rapid.StringMatching(`\+33 ?[1-9]( ?[0-9]{2}){4}`),
		rapid.StringMatching(`\+[1-9][0-9 .()-]{4,18}`),
		rapid.StringMatching(`[0-9 .()+-]{0,20}`),
		rapid.String(),
	)

	// anyGen mixes arbitrary strings with near-valid ones.
	anyGen = rapid.OneOf(rapid.String(), emailGen, phoneGen, rapid.StringMatching(`[ \t]*[a-zA-Z@.+ ]{0,30}`))
)

func TestPropNormalizeEmailIdempotent(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.OneOf(emailGen, anyGen).Draw(t, "s")
		e, err := NormalizeEmail(s)
		if err != nil {
			return
		}
		if len(e) > maxEmailLen {
			t.Fatalf("NormalizeEmail(%q) = %d bytes", s, len(e))
		}
		e2, err := NormalizeEmail(e)
		if err != nil || e2 != e {
			t.Fatalf("not idempotent: %q → %q → %q, %v", s, e, e2, err)
		}
		k, err := EmailKey(s)
		if err != nil {
			t.Fatalf("EmailKey(%q) failed where NormalizeEmail succeeded: %v", s, err)
		}
		if k2, err := EmailKey(k); err != nil || k2 != k {
			t.Fatalf("EmailKey not idempotent: %q → %q → %q, %v", s, k, k2, err)
		}
		if k3, _ := EmailKey(strings.ToUpper(s)); strings.ToUpper(s) != s && isASCII(s) && k3 != k {
			t.Fatalf("EmailKey depends on case: %q vs %q", k, k3)
		}
	})
}

func TestPropEmailGenValid(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		s := emailGen.Draw(t, "s")
		if _, err := NormalizeEmail("  " + s + " "); err != nil {
			t.Fatalf("NormalizeEmail(%q): %v", s, err)
		}
	})
}

func TestPropNormalizeLinkedInIdempotent(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.OneOf(anyGen, linkedInSpelling(slugGen)).Draw(t, "s")
		u, err := NormalizeLinkedIn(s)
		if err != nil {
			return
		}
		if len(u) > len(linkedInPrefix)+maxSlugLen {
			t.Fatalf("NormalizeLinkedIn(%q) = %d bytes", s, len(u))
		}
		u2, err := NormalizeLinkedIn(u)
		if err != nil || u2 != u {
			t.Fatalf("not idempotent: %q → %q → %q, %v", s, u, u2, err)
		}
	})
}

// linkedInSpelling draws one of the many ways to write the profile URL of a
// slug drawn from slugs.
func linkedInSpelling(slugs *rapid.Generator[string]) *rapid.Generator[string] {
	return rapid.Custom(func(t *rapid.T) string {
		return spell(t, slugs.Draw(t, "slug"))
	})
}

func spell(t *rapid.T, slug string) string {
	var b strings.Builder
	b.WriteString(rapid.SampledFrom([]string{"", "http://", "https://", "HTTPS://", "//"}).Draw(t, "scheme"))
	b.WriteString(rapid.SampledFrom([]string{"", "www.", "fr.", "uk.", "mobile.", "m.", "WWW."}).Draw(t, "sub"))
	b.WriteString(rapid.SampledFrom([]string{"linkedin.com", "LinkedIn.com", "linkedin.com:443"}).Draw(t, "host"))
	if rapid.Bool().Draw(t, "mwlite") {
		b.WriteString("/mwlite")
	}
	b.WriteString(rapid.SampledFrom([]string{"/in/", "/IN/", "/In/"}).Draw(t, "in"))
	// Case changes, then percent-encoding of some characters.
	for i, r := range slug {
		s := string(r)
		if rapid.Bool().Draw(t, fmt.Sprintf("upper%d", i)) {
			s = strings.ToUpper(s)
		}
		switch rapid.IntRange(0, 2).Draw(t, fmt.Sprintf("enc%d", i)) {
		case 1:
			s = url.PathEscape(s)
		case 2:
			var e strings.Builder
			for _, c := range []byte(s) {
				fmt.Fprintf(&e, "%%%02X", c)
			}
			s = e.String()
		}
		b.WriteString(s)
	}
	b.WriteString(rapid.SampledFrom([]string{"", "/", "/details/experience/", "/fr", "/en/", "/details/skills"}).Draw(t, "suffix"))
	b.WriteString(rapid.SampledFrom([]string{"", "?trk=public_profile", "?locale=fr_FR", "?originalSubdomain=fr&trk=x"}).Draw(t, "query"))
	b.WriteString(rapid.SampledFrom([]string{"", "#experience", "#"}).Draw(t, "fragment"))
	return rapid.SampledFrom([]string{"", " ", "\t"}).Draw(t, "pad") + b.String() + rapid.SampledFrom([]string{"", " ", "\n"}).Draw(t, "padr")
}

func TestPropLinkedInSpellingsOneURL(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		slug := slugGen.Draw(t, "slug")
		want := linkedInPrefix + norm.NFC.String(strings.ToLower(slug))
		for i := range 3 {
			s := spell(t, slug)
			got, err := NormalizeLinkedIn(s)
			if err != nil || got != want {
				t.Fatalf("spelling %d %q of %q = %q, %v; want %q", i, s, slug, got, err, want)
			}
		}
	})
}

func TestPropNormalizePhoneIdempotent(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		s := phoneGen.Draw(t, "s")
		region := rapid.SampledFrom([]string{"", "FR", "US", "GB", "DE", "BE", "XX"}).Draw(t, "region")
		k := NormalizePhone(s, region).Key()
		if len(k) > maxPhoneLen {
			t.Fatalf("key of %d bytes", len(k))
		}
		if k2 := NormalizePhone(k, region).Key(); k2 != k {
			t.Fatalf("not idempotent in %s: %q → %q → %q", region, s, k, k2)
		}
		if p := NormalizePhone(k, region); p.Valid() {
			// An E.164 key means the same in every region.
			if k3 := NormalizePhone(k, "JP").Key(); k3 != k {
				t.Fatalf("E.164 %q depends on the region: %q", k, k3)
			}
		}
	})
}

func TestPropTextIdempotent(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.OneOf(rapid.String(), rapid.StringMatching(`[ \t\n]*[A-Za-zéÉ-]{0,8}([ \t\n\x{a0}]+[A-Za-zéÉ-]{0,8}){0,4}[ \t]*`)).Draw(t, "s")
		c := CollapseSpace(s)
		if CollapseSpace(c) != c || len(c) > len(s) {
			t.Fatalf("CollapseSpace(%q) = %q", s, c)
		}
		n := NormalizeText(s)
		if NormalizeText(n) != n || len(n) > MaxFieldLen {
			t.Fatalf("NormalizeText(%q) = %q", s, n)
		}
		first, last := SplitFullName(s)
		f2, l2 := SplitFullName(JoinName(first, last))
		if f2 != first || l2 != last {
			t.Fatalf("SplitFullName(JoinName(SplitFullName(%q))) = (%q, %q), want (%q, %q)", s, f2, l2, first, last)
		}
		if strings.Contains(first, " ") {
			t.Fatalf("first name %q has a space", first)
		}
	})
}

// personGen draws persons and a second spelling of each: same values, written
// differently (case, spaces, phone formats, LinkedIn spellings).
func personPair(t *rapid.T) (Person, Person) {
	var a, b Person
	name := rapid.StringMatching(`[A-Z][a-zéè]{0,8}( [a-z]{1,3})?`)
	a.FirstName = name.Draw(t, "first")
	b.FirstName = "  " + strings.ReplaceAll(a.FirstName, " ", "   ") + "\t"
	a.LastName = name.Draw(t, "last")
	b.LastName = a.LastName + " "
	for i, e := range rapid.SliceOfN(emailGen, 0, 3).Draw(t, "emails") {
		a.Emails = append(a.Emails, e)
		if rapid.Bool().Draw(t, fmt.Sprintf("up%d", i)) {
			e = strings.ToUpper(e)
		}
		b.Emails = append(b.Emails, " "+e)
	}
	for _, n := range rapid.SliceOfN(rapid.StringMatching(`[1-9][0-9]{8}`), 0, 2).Draw(t, "phones") {
		a.Phones = append(a.Phones, "+33"+n)
		b.Phones = append(b.Phones, "0"+n[:1]+" "+n[1:3]+" "+n[3:5]+" "+n[5:7]+" "+n[7:])
	}
	if rapid.Bool().Draw(t, "haveLinkedIn") {
		slug := slugGen.Draw(t, "slug")
		a.LinkedIn = spell(t, slug)
		b.LinkedIn = spell(t, slug)
	}
	a.Company = rapid.StringMatching(`[A-Za-z ]{0,10}`).Draw(t, "company")
	b.Company = " " + a.Company
	a.Website = rapid.StringMatching(`(https?://)?(www\.)?[a-z]{1,8}\.fr/?`).Draw(t, "site")
	b.Website = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(a.Website, "https://"), "http://"), "/")
	st := rapid.SampledFrom(append([]Stage{""}, Stages...)).Draw(t, "stage")
	a.LeadStage, b.LeadStage = st, Stage(strings.ToUpper(string(st)))
	if rapid.Bool().Draw(t, "haveScore") {
		n := rapid.IntRange(-5, 100).Draw(t, "score")
		m := n
		a.LeadScore, b.LeadScore = &n, &m
	}
	a.Notes = rapid.String().Draw(t, "notes")
	b.Notes = "\n" + a.Notes + "  "
	return a, b
}

func TestPropHashFollowsEqual(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		a, b := personPair(t)
		set := FieldSet(rapid.Uint32Range(0, 1<<len(AllFields)-1).Draw(t, "set"))
		if !EqualPerson(set, &a, &b) {
			t.Fatalf("two spellings of one person are not equal on %v:\n%+v\n%+v", set.Fields(), a, b)
		}
		if Hash(&a, set) != Hash(&b, set) {
			t.Fatalf("equal persons hash differently on %v", set.Fields())
		}
		// Normalizing does not change the value.
		c := a.Clone()
		c.Normalize("FR")
		if !EqualPerson(NewFieldSet(AllFields...), &a, &c) || Hash(&a, set) != Hash(&c, set) {
			t.Fatalf("Normalize changed the value:\n%+v\n%+v", a, c)
		}
	})
}

func TestPropEqualReflexiveSymmetric(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		f := rapid.SampledFrom(AllFields).Draw(t, "field")
		a := Value(rapid.SliceOfN(anyGen, 0, 3).Draw(t, "a"))
		b := Value(rapid.SliceOfN(anyGen, 0, 3).Draw(t, "b"))
		if !Equal(f, a, a) {
			t.Fatalf("Equal(%s) not reflexive on %q", f, a)
		}
		if Equal(f, a, b) != Equal(f, b, a) {
			t.Fatalf("Equal(%s) not symmetric on %q, %q", f, a, b)
		}
		pa, pb := Person{}, Person{}
		pa.Set(f, a)
		pb.Set(f, b)
		set := NewFieldSet(f)
		if EqualPerson(set, &pa, &pb) && Hash(&pa, set) != Hash(&pb, set) {
			t.Fatalf("Equal(%s, %q, %q) but hashes differ", f, a, b)
		}
	})
}

// Has and CopyField are Get's emptiness and Set(Get) without the values in
// between, field by field.
func TestPropHasAndCopyFieldFollowGetSet(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		a, b := personPair(t)
		if rapid.Bool().Draw(t, "emptyEmails") {
			a.Emails = []string{}
		}
		for _, f := range AllFields {
			if a.Has(f) == a.Get(f).Empty() {
				t.Fatalf("Has(%s) = %v for %v", f, a.Has(f), a.Get(f))
			}
			want, got := b, b
			want.Set(f, a.Get(f))
			got.CopyField(f, &a)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("CopyField(%s):\n got %#v\nwant %#v", f, got, want)
			}
		}
	})
}

// With every field of a Person set, Has and CopyField agree with Get and Set
// on every field: a field added to Person and not to them fails here.
func TestHasAndCopyFieldCoverEveryField(t *testing.T) {
	t.Parallel()
	var full Person
	v := reflect.ValueOf(&full).Elem()
	for i := range v.NumField() {
		switch f := v.Field(i); f.Kind() {
		case reflect.String:
			f.SetString("v")
		case reflect.Slice:
			f.Set(reflect.ValueOf([]string{"v"}))
		case reflect.Pointer:
			n := 7
			f.Set(reflect.ValueOf(&n))
		}
	}
	for _, f := range AllFields {
		if !full.Has(f) {
			t.Errorf("Has(%s) = false on a person with every field set", f)
		}
		var want, got Person
		want.Set(f, full.Get(f))
		got.CopyField(f, &full)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("CopyField(%s):\n got %#v\nwant %#v", f, got, want)
		}
	}
}
