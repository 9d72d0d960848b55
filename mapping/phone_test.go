package mapping

import (
	"slices"
	"strings"
	"testing"
)

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, region string
		e164       string // "" when kept raw
		key        string
	}{
		{"06 12 34 56 78", "FR", "+33612345678", "+33612345678"},
		{"0612345678", "", "+33612345678", "+33612345678"}, // default region FR
		{"06.12.34.56.78", "FR", "+33612345678", "+33612345678"},
		{"06-12-34-56-78", "fr", "+33612345678", "+33612345678"}, // region in lower case
		{"  06\t12 34\n56 78 ", "FR", "+33612345678", "+33612345678"},
		{"+33 6 12 34 56 78", "FR", "+33612345678", "+33612345678"},
		{"+33 (0)6 12 34 56 78", "FR", "+33612345678", "+33612345678"},
		{"0033 6 12 34 56 78", "FR", "+33612345678", "+33612345678"},
		{"+33612345678", "US", "+33612345678", "+33612345678"},
		{"01 23 45 67 89", "FR", "+33123456789", "+33123456789"},
		{"(212) 555-0123", "US", "+12125550123", "+12125550123"},
		{"+1 212 555 0123", "FR", "+12125550123", "+12125550123"},
		{"020 7946 0018", "GB", "+442079460018", "+442079460018"},
		{"+49 30 12345678", "FR", "+493012345678", "+493012345678"},
		// Kept raw: too short, too long, words, extensions, unknown regions.
		{"12", "FR", "", "12"},
		{"06 12 34", "FR", "", "06 12 34"},
		{"06 12 34 56 78 90 12", "FR", "", "06 12 34 56 78 90 12"},
		{"call me", "FR", "", "call me"},
		{"+33 1 23 45 67 89 ext. 12", "FR", "", "+33 1 23 45 67 89 ext. 12"},
		{"0612345678", "XX", "", "0612345678"},
		{"n/a", "FR", "", "n/a"},
		{"", "FR", "", ""},
		{"   ", "FR", "", ""},
	}
	for _, tt := range tests {
		p := NormalizePhone(tt.in, tt.region)
		if p.E164 != tt.e164 || p.Key() != tt.key || p.Valid() != (tt.e164 != "") {
			t.Errorf("NormalizePhone(%q, %q) = %+v (key %q), want E164 %q key %q", tt.in, tt.region, p, p.Key(), tt.e164, tt.key)
		}
	}
	if p := NormalizePhone(strings.Repeat("1 ", 100), "FR"); len(p.Key()) > maxPhoneLen {
		t.Errorf("key of %d bytes, want ≤ %d", len(p.Key()), maxPhoneLen)
	}
}

func TestNormalizePhones(t *testing.T) {
	t.Parallel()
	got := NormalizePhones([]string{"06 12 34 56 78", "", "+33612345678", "call me", "01 23 45 67 89", " call  me "}, "FR")
	want := []string{"+33612345678", "call me", "+33123456789"}
	if !slices.Equal(got, want) {
		t.Errorf("NormalizePhones = %q, want %q", got, want)
	}
	if got := NormalizePhones(nil, ""); got != nil {
		t.Errorf("NormalizePhones(nil) = %q", got)
	}
}
