package mapping

import (
	"strings"
	"testing"
)

func TestCollapseSpace(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"   ", ""},
		{"Jean", "Jean"},
		{"  Jean  ", "Jean"},
		{"Jean   de  la\tFontaine", "Jean de la Fontaine"},
		{"Jean\u00a0Dupont", "Jean Dupont"}, // no-break space
		{"Jean\r\nDupont\n", "Jean Dupont"},
		{"Élodie  Müller", "Élodie Müller"},
		{"a b", "a b"},
		{" a b", "a b"},
		{"a b ", "a b"},
		{"a\tb", "a b"},
	}
	for _, tt := range tests {
		if got := CollapseSpace(tt.in); got != tt.want {
			t.Errorf("CollapseSpace(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormalizeText(t *testing.T) {
	t.Parallel()
	if got := NormalizeText("  Zoë   O'Brien "); got != "Zoë O'Brien" {
		t.Errorf("got %q", got)
	}
	long := strings.Repeat("é", MaxFieldLen) // 2 bytes each
	got := NormalizeText(long)
	if len(got) > MaxFieldLen || !strings.HasPrefix(long, got) || len(got) < MaxFieldLen-1 {
		t.Errorf("cut to %d bytes, want ≤ %d on a character boundary", len(got), MaxFieldLen)
	}
}

func TestSplitFullName(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, first, last string }{
		{"Jean Dupont", "Jean", "Dupont"},
		{"  Jean    Dupont  ", "Jean", "Dupont"},
		{"Jean de la Fontaine", "Jean", "de la Fontaine"},
		{"Jean-Pierre Dupont", "Jean-Pierre", "Dupont"},
		{"Marie Dupont-Moretti", "Marie", "Dupont-Moretti"},
		{"Élodie Müller-Lüdenscheidt", "Élodie", "Müller-Lüdenscheidt"},
		{"François\u00a0Hollande", "François", "Hollande"},
		{"Madonna", "Madonna", ""},
		{"", "", ""},
		{"   ", "", ""},
		{"Ana María García Márquez", "Ana", "María García Márquez"},
		{"Jean\tDupont", "Jean", "Dupont"},
	}
	for _, tt := range tests {
		first, last := SplitFullName(tt.in)
		if first != tt.first || last != tt.last {
			t.Errorf("SplitFullName(%q) = (%q, %q), want (%q, %q)", tt.in, first, last, tt.first, tt.last)
		}
	}
}

func TestJoinName(t *testing.T) {
	t.Parallel()
	tests := []struct{ first, last, want string }{
		{"Jean", "Dupont", "Jean Dupont"},
		{"Jean", "", "Jean"},
		{"", "Dupont", "Dupont"},
		{"", "", ""},
		{"  Jean ", "  de   la Fontaine ", "Jean de la Fontaine"},
		{"Jean-Pierre", "Dupont-Moretti", "Jean-Pierre Dupont-Moretti"},
		{"Élodie", "Müller", "Élodie Müller"},
		{"   ", "Dupont", "Dupont"},
	}
	for _, tt := range tests {
		if got := JoinName(tt.first, tt.last); got != tt.want {
			t.Errorf("JoinName(%q, %q) = %q, want %q", tt.first, tt.last, got, tt.want)
		}
	}
}

func TestSplitJoinRoundTrip(t *testing.T) {
	t.Parallel()
	// A first name without a space survives a trip through a full name
	// (Ligo's name); a multi-word first name does not, by providers.md's rule.
	for _, tt := range []struct{ first, last string }{
		{"Jean", "de la Fontaine"}, {"Jean-Pierre", "Dupont"}, {"Zoë", ""}, {"Élodie", "Müller-Lüdenscheidt"},
	} {
		f, l := SplitFullName(JoinName(tt.first, tt.last))
		if f != tt.first || l != tt.last {
			t.Errorf("round trip of (%q, %q) gave (%q, %q)", tt.first, tt.last, f, l)
		}
	}
	if f, l := SplitFullName(JoinName("Jean Pierre", "Dupont")); f != "Jean" || l != "Pierre Dupont" {
		t.Errorf("multi-word first name: got (%q, %q)", f, l)
	}
}
