package mapping

import (
	"testing"

	"pgregory.net/rapid"
)

// TestPropPhoneDigitsKeepE164 checks the memo's shared key: a number written
// with only digits, spaces, dots, dashes and parentheses (and a leading +)
// parses to the same E.164 form as its digits alone.
func TestPropPhoneDigitsKeepE164(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.OneOf(
			rapid.StringMatching(`\+?[0-9 .()\-]{0,24}`),
			rapid.StringMatching(`(\+|00)?[0-9]{1,3}[ .\-]?(\(0\))?[ .\-]?[0-9]{1,4}([ .\-][0-9]{1,4}){0,5}`),
			rapid.StringMatching(`\(?0[1-9]\)?([ .\-]?[0-9]{2}){4}`),
		).Draw(t, "s")
		region := rapid.SampledFrom([]string{"FR", "US", "GB", "DE", "BE", "XX"}).Draw(t, "region")
		raw := CollapseSpace(s)
		digits, ok := phoneDigits(raw)
		if !ok {
			return
		}
		a, b := parsePhone(raw, region), parsePhone(digits, region)
		if a.E164 != b.E164 {
			t.Fatalf("%q in %s: E.164 %q; its digits %q give %q", raw, region, a.E164, digits, b.E164)
		}
	})
}

// TestPropPlusNumbersIgnoreRegion checks the memo's region-free key: a
// number written with its country code (a + and a digit from 1 to 9; "+00"
// is read with the region's international prefix) parses alike in every
// region.
func TestPropPlusNumbersIgnoreRegion(t *testing.T) {
	t.Parallel()
	regions := []string{"FR", "US", "GB", "DE", "BE", "XX"}
	rapid.Check(t, func(t *rapid.T) {
		s := "+" + rapid.StringMatching(`[1-9][0-9]{0,2}[ .\-]?(\(0\))?[0-9 .\-]{0,18}`).Draw(t, "s")
		a := parsePhone(s, rapid.SampledFrom(regions).Draw(t, "a"))
		b := parsePhone(s, rapid.SampledFrom(regions).Draw(t, "b"))
		if a != b {
			t.Fatalf("%q: %+v in one region, %+v in another", s, a, b)
		}
	})
}
