package mapping

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// MaxFieldLen bounds the length in bytes of any normalized value; longer input
// is rejected or cut, so no field grows without bound.
const MaxFieldLen = 4096

// CollapseSpace trims s and collapses every run of white space into one space.
func CollapseSpace(s string) string {
	return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
}

// ErrInvalidEmail is wrapped by every email rejection.
var ErrInvalidEmail = errors.New("invalid email")

// NormalizeEmail trims and lower-cases an address and validates it: one "@",
// a non-empty local part, a domain with a dot, no spaces. Internationalized
// domains are accepted (in Unicode or punycode form).
func NormalizeEmail(s string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(s))
	if e == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalidEmail)
	}
	if len(e) > 254 {
		return "", fmt.Errorf("%w: longer than 254 bytes", ErrInvalidEmail)
	}
	local, domain, ok := strings.Cut(e, "@")
	if !ok || strings.Contains(domain, "@") {
		return "", fmt.Errorf("%w: %q must contain exactly one @", ErrInvalidEmail, truncate(e))
	}
	if local == "" || domain == "" {
		return "", fmt.Errorf("%w: %q has an empty local part or domain", ErrInvalidEmail, truncate(e))
	}
	if strings.ContainsFunc(e, unicode.IsSpace) {
		return "", fmt.Errorf("%w: %q contains white space", ErrInvalidEmail, truncate(e))
	}
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", fmt.Errorf("%w: %q has no valid domain", ErrInvalidEmail, truncate(e))
	}
	if _, err := mail.ParseAddress(e); err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrInvalidEmail, truncate(e), err)
	}
	return e, nil
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// ErrNotProfile is wrapped when a URL is not a LinkedIn person profile.
var ErrNotProfile = errors.New("not a LinkedIn profile URL")

// NormalizeLinkedIn maps every spelling of a LinkedIn profile URL to
// https://www.linkedin.com/in/<slug>, the slug percent-decoded and
// lower-cased. Company pages, posts and other sites are rejected with
// ErrNotProfile.
func NormalizeLinkedIn(s string) (string, error) {
	raw := strings.TrimSpace(s)
	if raw == "" {
		return "", fmt.Errorf("%w: empty", ErrNotProfile)
	}
	if len(raw) > MaxFieldLen {
		return "", fmt.Errorf("%w: longer than %d bytes", ErrNotProfile, MaxFieldLen)
	}
	low := strings.ToLower(raw)
	if !strings.HasPrefix(low, "http://") && !strings.HasPrefix(low, "https://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNotProfile, err)
	}
	host := strings.ToLower(u.Hostname())
	if host != "linkedin.com" && !strings.HasSuffix(host, ".linkedin.com") {
		return "", fmt.Errorf("%w: host %q is not linkedin.com", ErrNotProfile, truncate(host))
	}
	parts := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
	if len(parts) < 2 || strings.ToLower(parts[0]) != "in" || parts[1] == "" {
		return "", fmt.Errorf("%w: %q is not an /in/ profile path", ErrNotProfile, truncate(u.Path))
	}
	slug, err := url.PathUnescape(parts[1])
	if err != nil {
		return "", fmt.Errorf("%w: bad slug: %v", ErrNotProfile, err)
	}
	slug = strings.ToLower(slug)
	if strings.ContainsFunc(slug, func(r rune) bool { return unicode.IsSpace(r) || r == '/' }) {
		return "", fmt.Errorf("%w: bad slug %q", ErrNotProfile, truncate(slug))
	}
	return "https://www.linkedin.com/in/" + slug, nil
}

// DefaultRegion is the phone region used when the config names none.
const DefaultRegion = "FR"

// Phone is a normalized phone number: E164 set when the number parses and is
// valid in its region, Raw the input trimmed.
type Phone struct {
	E164 string
	Raw  string
}

// Valid reports whether the number parsed to E.164. Only valid numbers are
// used as identity.
func (p Phone) Valid() bool { return p.E164 != "" }

// Key is the value stored and compared: the E.164 form, or the raw text with
// white space collapsed.
func (p Phone) Key() string {
	if p.E164 != "" {
		return p.E164
	}
	return CollapseSpace(p.Raw)
}

// NormalizePhone parses s with region as the default region (DefaultRegion
// when empty) and returns its E.164 form where it is a possible number.
func NormalizePhone(s, region string) Phone {
	raw := strings.TrimSpace(s)
	if len(raw) > 64 {
		raw = raw[:64]
	}
	if region == "" {
		region = DefaultRegion
	}
	if raw == "" {
		return Phone{}
	}
	num, err := phonenumbers.Parse(raw, region)
	if err != nil || !phonenumbers.IsPossibleNumber(num) {
		return Phone{Raw: raw}
	}
	return Phone{E164: phonenumbers.Format(num, phonenumbers.E164), Raw: raw}
}

// SplitFullName splits a full name at the first space, as providers.md says
// for Ligo: first name before it, last name after it (white space trimmed and
// collapsed first). A single word is a first name.
func SplitFullName(full string) (first, last string) {
	full = CollapseSpace(full)
	first, last, _ = strings.Cut(full, " ")
	return first, last
}

// JoinName joins first and last names with one space, skipping an empty part.
func JoinName(first, last string) string {
	return CollapseSpace(first + " " + last)
}
