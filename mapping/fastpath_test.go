package mapping

import (
	"encoding/binary"
	"hash/fnv"
	"strings"
	"testing"
	"unicode"

	"pgregory.net/rapid"
)

// keyishGen draws strings near the forms the fast paths take: addresses and
// LinkedIn URLs in key form or off by a character (upper case, white space at
// an end or inside, a slash, a percent sign, an accent), names with
// accents, and arbitrary strings.
func keyishGen() *rapid.Generator[string] {
	odd := rapid.SampledFrom([]string{"A", "Z", " ", "\t", "\u00a0", "/", "%41", "é", "..", "@", "?x=1", "\xff", "\u2003"})
	body := rapid.StringOfN(rapid.RuneFrom([]rune("abcxyz0189.-_@")), 1, 20, -1)
	return rapid.Custom(func(t *rapid.T) string {
		var s string
		from := 0 // where mangles go
		switch rapid.IntRange(0, 3).Draw(t, "shape") {
		case 0:
			s = body.Draw(t, "local") + "@" + body.Draw(t, "domain") + ".com"
		case 1:
			s = linkedInPrefix + body.Draw(t, "slug")
			if rapid.Bool().Draw(t, "in slug") {
				from = len(linkedInPrefix)
			}
		case 2:
			s = rapid.StringOfN(rapid.RuneFrom([]rune("abcÉéèü  -'")), 0, 20, -1).Draw(t, "name")
		default:
			return rapid.String().Draw(t, "any")
		}
		for range rapid.IntRange(0, 2).Draw(t, "mangles") {
			i := rapid.IntRange(from, len(s)).Draw(t, "at")
			s = s[:i] + odd.Draw(t, "odd") + s[i:]
		}
		return s
	})
}

// The fast paths of canonicalElem give the key the full normalization
// gives, for every field.
func TestPropCanonicalElemFastPaths(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		// Many values a check: the near misses are a few of many shapes.
		for range 50 {
			s := keyishGen().Draw(t, "value")
			for _, f := range AllFields {
				if got, want := canonicalElem(f, s), canonicalElemSlow(f, s); got != want {
					t.Fatalf("%s %q: key %q, want %q", f, s, got, want)
				}
			}
		}
	})
}

// The fast path finds the values in key form that crmsync stores.
func TestCanonicalElemFastPathsTakeKeys(t *testing.T) {
	for _, s := range []string{"ada.lovelace@example.com", "a_b-c@x-y.fr"} {
		if !isEmailKey(s) {
			t.Errorf("isEmailKey(%q) = false", s)
		}
	}
	for _, s := range []string{"https://www.linkedin.com/in/ada-lovelace-4b2", "https://www.linkedin.com/in/a.b_c"} {
		if !isLinkedInKey(s) {
			t.Errorf("isLinkedInKey(%q) = false", s)
		}
	}
	for _, s := range []string{"Ada@example.com", " ada@example.com", "adé@example.com", ""} {
		if isEmailKey(s) {
			t.Errorf("isEmailKey(%q) = true", s)
		}
	}
	for _, s := range []string{"https://www.linkedin.com/in/Ada", "https://www.linkedin.com/in/ada/", "https://www.linkedin.com/in/", "linkedin.com/in/ada"} {
		if isLinkedInKey(s) {
			t.Errorf("isLinkedInKey(%q) = true", s)
		}
	}
}

// CollapseSpace's fast path, accents included, agrees with collapsing by
// hand.
func TestPropCollapseSpaceFastPath(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		for range 50 {
			s := keyishGen().Draw(t, "s")
			if got, want := CollapseSpace(s), strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " "); got != want {
				t.Fatalf("CollapseSpace(%q) = %q, want %q", s, got, want)
			}
		}
	})
}

// hashByValues is Hash as it was written first: through Get, keys and
// hash/fnv. The stored base hashes were made by it.
func hashByValues(p *Person, set FieldSet) uint64 {
	h := fnv.New64a()
	var buf [binary.MaxVarintLen64]byte
	writeStr := func(s string) {
		n := binary.PutUvarint(buf[:], uint64(len(s)))
		h.Write(buf[:n])
		h.Write([]byte(s))
	}
	for _, f := range AllFields {
		if !set.Has(f) {
			continue
		}
		ks := keys(f, p.Get(f))
		writeStr(string(f))
		n := binary.PutUvarint(buf[:], uint64(len(ks)))
		h.Write(buf[:n])
		for _, k := range ks {
			writeStr(k)
		}
	}
	return h.Sum64()
}

// Hash gives the hashes it always gave, so that base states stored before
// still match the records they came from.
func TestPropHashUnchanged(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		a, b := personPair(t)
		for _, f := range []Field{FieldJobTitle, FieldAddress, FieldFacebook, FieldInstagram, FieldTwitter, FieldPipelineStage, FieldOwner} {
			*a.Text(f) = keyishGen().Draw(t, string(f))
		}
		set := FieldSet(rapid.Uint32Range(0, 1<<len(AllFields)-1).Draw(t, "set"))
		for _, p := range []*Person{&a, &b} {
			if got, want := Hash(p, set), hashByValues(p, set); got != want {
				t.Fatalf("Hash on %v = %x, want %x for %+v", set.Fields(), got, want, *p)
			}
		}
	})
	if got, want := Hash(&Person{}, NewFieldSet(AllFields...)), hashByValues(&Person{}, NewFieldSet(AllFields...)); got != want {
		t.Fatalf("Hash of nobody = %x, want %x", got, want)
	}
}
