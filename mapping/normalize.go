package mapping

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxFieldLen bounds the length in bytes of a normalized name or short text
// value; longer input is cut at a character boundary, so no such field grows
// without bound. Emails (254 bytes), LinkedIn URLs and phones have tighter
// bounds of their own.
const MaxFieldLen = 4096

// CollapseSpace trims s and collapses every run of white space (any Unicode
// space, including the no-break space, tabs and new lines) into one ASCII
// space. It never lengthens s.
func CollapseSpace(s string) string {
	// Fast path: nothing to do for the common already-clean value, accented
	// or not.
	clean := true
	prevSpace := true // a leading space is not clean
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError || unicode.IsSpace(r) {
				clean = false
				break
			}
			prevSpace = false
			i += size
			continue
		}
		sp := c == ' ' || (c >= '\t' && c <= '\r')
		if sp && (prevSpace || c != ' ') {
			clean = false
			break
		}
		prevSpace = sp
		i++
	}
	if clean && !prevSpace {
		return s
	}
	if clean && s == "" {
		return s
	}
	return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
}

// NormalizeText is the rule for names and other short free-text values:
// white space trimmed and collapsed (CollapseSpace), then cut to MaxFieldLen
// bytes at a character boundary. Case and accents are kept.
func NormalizeText(s string) string {
	return cutBytes(CollapseSpace(s), MaxFieldLen)
}

// cutBytes returns the longest prefix of s of at most n bytes that does not
// split a UTF-8 sequence, with trailing white space removed.
func cutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return strings.TrimRightFunc(s[:i], unicode.IsSpace)
}

// truncate shortens s for an error message.
func truncate(s string) string {
	if len(s) > 80 {
		return cutBytes(s, 80) + "…"
	}
	return s
}

// textKey is the comparison key of a free-text value: collapsed white space
// and Unicode NFC, so that "é" typed as one character or as "e" plus a
// combining accent compare equal. Case is kept.
func textKey(s string) string {
	s = CollapseSpace(s)
	if isASCII(s) {
		return s
	}
	return norm.NFC.String(s)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// SplitFullName splits a full name at the first space, as providers.md says
// for Ligo: first name before it, last name after it (white space trimmed and
// collapsed first, by NormalizeText). A single word is a first name, so
// "Jean de la Fontaine" is ("Jean", "de la Fontaine"), "Jean-Pierre Dupont" is
// ("Jean-Pierre", "Dupont") and "Madonna" is ("Madonna", "").
func SplitFullName(full string) (first, last string) {
	first, last, _ = strings.Cut(NormalizeText(full), " ")
	return first, last
}

// JoinName joins first and last names with one space, each normalized by
// NormalizeText, skipping an empty part: JoinName("", "Dupont") is "Dupont".
// The result is cut to MaxFieldLen bytes.
func JoinName(first, last string) string {
	first, last = NormalizeText(first), NormalizeText(last)
	switch {
	case first == "":
		return last
	case last == "":
		return first
	}
	return cutBytes(first+" "+last, MaxFieldLen)
}
