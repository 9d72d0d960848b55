package mapping

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// ErrNotProfile is wrapped when a URL is not a LinkedIn person profile; the
// message says what it is instead (a company page, a post, another site...).
var ErrNotProfile = errors.New("not a LinkedIn profile URL")

// linkedInPrefix is the canonical form's fixed part.
const linkedInPrefix = "https://www.linkedin.com/in/"

// maxSlugLen bounds a profile slug in bytes, once decoded (LinkedIn's custom
// URLs have at most 100 characters).
const maxSlugLen = 256

// NormalizeLinkedIn maps every spelling of a LinkedIn profile URL to
// https://www.linkedin.com/in/<slug>. The rule:
//   - surrounding white space is trimmed; the scheme may be http, https (any
//     case) or absent ("linkedin.com/in/x", "//linkedin.com/in/x");
//   - the host is linkedin.com or any subdomain of it, case-insensitive:
//     www., country subdomains such as fr. or uk., mobile. and m.;
//   - the path is /in/<slug>, optionally followed by anything
//     ("/in/slug/details/experience/", a locale suffix "/in/slug/fr"), and
//     with /mwlite/ (LinkedIn Lite) in front accepted; the query
//     ("?trk=...", "?locale=fr_FR") and the fragment are dropped;
//   - the slug is percent-decoded, lower-cased and put in Unicode NFC; it
//     must be letters, digits, "-", "_" or "." with at least one letter or
//     digit, at most 256 bytes.
//
// Company, school and showcase pages, posts, articles, groups, jobs, the old
// /pub/ profile URLs (their mapping to /in/ slugs is not reliable) and
// /profile/view?id= links are not canonical profiles, nor is any other site:
// the error wraps ErrNotProfile and says which. The result is at most
// len("https://www.linkedin.com/in/") + 256 bytes.
func NormalizeLinkedIn(s string) (string, error) {
	raw := strings.TrimSpace(s)
	if raw == "" {
		return "", fmt.Errorf("%w: empty", ErrNotProfile)
	}
	if len(raw) > MaxFieldLen {
		return "", fmt.Errorf("%w: longer than %d bytes", ErrNotProfile, MaxFieldLen)
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return "", fmt.Errorf("%w: %q contains white space", ErrNotProfile, truncate(raw))
	}
	if !utf8.ValidString(raw) {
		return "", fmt.Errorf("%w: %q is not valid UTF-8", ErrNotProfile, truncate(raw))
	}
	low := strings.ToLower(raw)
	switch {
	case strings.HasPrefix(low, "http://"), strings.HasPrefix(low, "https://"):
	case strings.HasPrefix(raw, "//"):
		raw = "https:" + raw
	case strings.Contains(low, "://"):
		return "", fmt.Errorf("%w: %q is not an http(s) URL", ErrNotProfile, truncate(raw))
	default:
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%w: %q does not parse as a URL", ErrNotProfile, truncate(s))
	}
	host := strings.ToLower(u.Hostname())
	if host != "linkedin.com" && !strings.HasSuffix(host, ".linkedin.com") {
		return "", fmt.Errorf("%w: host %q is not linkedin.com", ErrNotProfile, truncate(host))
	}
	if u.User != nil {
		return "", fmt.Errorf("%w: %q has user information", ErrNotProfile, truncate(s))
	}
	parts := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
	if strings.EqualFold(parts[0], "mwlite") {
		parts = parts[1:]
	}
	if len(parts) == 0 || !strings.EqualFold(parts[0], "in") {
		return "", fmt.Errorf("%w: %s", ErrNotProfile, notProfileReason(parts, u.Path))
	}
	if len(parts) < 2 || parts[1] == "" {
		return "", fmt.Errorf("%w: %q has no profile name after /in/", ErrNotProfile, truncate(u.Path))
	}
	slug, err := url.PathUnescape(parts[1])
	if err != nil || !utf8.ValidString(slug) {
		return "", fmt.Errorf("%w: profile name %q is badly percent-encoded", ErrNotProfile, truncate(parts[1]))
	}
	slug = norm.NFC.String(strings.ToLower(slug))
	if len(slug) > maxSlugLen {
		return "", fmt.Errorf("%w: profile name longer than %d bytes", ErrNotProfile, maxSlugLen)
	}
	if err := checkSlug(slug); err != nil {
		return "", fmt.Errorf("%w: profile name %q %s", ErrNotProfile, truncate(slug), err)
	}
	return linkedInPrefix + slug, nil
}

func checkSlug(slug string) error {
	alnum := false
	for _, r := range slug {
		switch {
		case r == '-' || r == '_' || r == '.':
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			alnum = true
		case unicode.IsMark(r):
		default:
			return fmt.Errorf("has the invalid character %q", r)
		}
	}
	if !alnum {
		return errors.New("has no letter or digit")
	}
	return nil
}

// notProfileReason says what a non-/in/ LinkedIn path is.
func notProfileReason(parts []string, path string) string {
	first := ""
	if len(parts) > 0 {
		first = strings.ToLower(parts[0])
	}
	switch first {
	case "company", "school", "showcase":
		return fmt.Sprintf("%q is a %s page, not a person", truncate(path), first)
	case "posts", "feed", "pulse", "embed":
		return fmt.Sprintf("%q is a post, not a person", truncate(path))
	case "pub":
		return fmt.Sprintf("%q is an old /pub/ profile URL; use the person's /in/ URL", truncate(path))
	case "profile":
		return fmt.Sprintf("%q is a profile link by internal id; use the person's /in/ URL", truncate(path))
	case "":
		return "no path: the LinkedIn home page is not a profile"
	}
	return fmt.Sprintf("%q is not an /in/<name> profile path", truncate(path))
}
