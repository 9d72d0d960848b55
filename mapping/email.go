package mapping

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// ErrInvalidEmail is wrapped by every email rejection; the message says why.
var ErrInvalidEmail = errors.New("invalid email")

// Length limits of an address (RFC 5321 §4.5.3.1, with the 254-byte path
// limit of RFC 3696 errata).
const (
	maxEmailLen  = 254
	maxLocalLen  = 64
	maxDomainLen = 253
	maxLabelLen  = 63
)

// NormalizeEmail trims and lower-cases an address and validates it. The rule:
//   - white space around it is trimmed; inside it is an error;
//   - the address is lower-cased (Unicode lower case, local part included, as
//     every CRM here compares emails case-insensitively);
//   - exactly one "@"; a display-name form such as "Jean <j@x.fr>", a
//     quoted local part and a domain literal ("a@[1.2.3.4]") are rejected, not
//     extracted;
//   - the local part is 1 to 64 bytes of RFC 5322 atext ("a-z0-9!#$%&'*+/=?^_`{|}~-")
//     or non-ASCII letters and digits (RFC 6531), with dots only between
//     characters: plus tags ("jean+crm@x.fr") are kept as they are;
//   - the domain has at least two labels ("a@b" is rejected), each 1 to 63
//     bytes of letters, digits and inner hyphens, the last not all digits.
//     Internationalized domains are accepted in Unicode ("exämple.fr") or
//     punycode ("xn--exmple-cua.fr") form and kept as written; EmailKey
//     compares the two forms equal;
//   - the whole address is at most 254 bytes.
//
// The result is at most 254 bytes. The error wraps ErrInvalidEmail and says
// what is wrong.
func NormalizeEmail(s string) (string, error) {
	e := strings.TrimSpace(s)
	if e == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalidEmail)
	}
	if len(e) > 4*maxEmailLen {
		return "", fmt.Errorf("%w: longer than %d bytes", ErrInvalidEmail, maxEmailLen)
	}
	if !utf8.ValidString(e) {
		return "", fmt.Errorf("%w: %q is not valid UTF-8", ErrInvalidEmail, truncate(e))
	}
	e = strings.ToLower(e)
	if len(e) > maxEmailLen {
		return "", fmt.Errorf("%w: longer than %d bytes", ErrInvalidEmail, maxEmailLen)
	}
	if strings.ContainsAny(e, "<>") {
		return "", fmt.Errorf("%w: %q is a display-name form; give the bare address", ErrInvalidEmail, truncate(e))
	}
	if strings.ContainsFunc(e, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return "", fmt.Errorf("%w: %q contains white space or control characters", ErrInvalidEmail, truncate(e))
	}
	local, domain, ok := strings.Cut(e, "@")
	if !ok {
		return "", fmt.Errorf("%w: %q has no @", ErrInvalidEmail, truncate(e))
	}
	if strings.Contains(domain, "@") {
		return "", fmt.Errorf("%w: %q has more than one @", ErrInvalidEmail, truncate(e))
	}
	if err := checkLocal(local); err != nil {
		return "", fmt.Errorf("%w: %q: %s", ErrInvalidEmail, truncate(e), err)
	}
	if err := checkDomain(domain); err != nil {
		return "", fmt.Errorf("%w: %q: %s", ErrInvalidEmail, truncate(e), err)
	}
	return e, nil
}

// EmailKey is the identity and comparison key of an address: NormalizeEmail's
// result in Unicode NFC with an internationalized domain in its ASCII
// (punycode) form, so "user@exämple.fr" and "user@xn--exmple-cua.fr" have
// the same key. It returns the NormalizeEmail error for an invalid address.
func EmailKey(s string) (string, error) {
	e, err := NormalizeEmail(s)
	if err != nil {
		return "", err
	}
	if isASCII(e) {
		return e, nil
	}
	local, domain, _ := strings.Cut(e, "@")
	return norm.NFC.String(local) + "@" + asciiDomain(norm.NFC.String(domain)), nil
}

const atextSpecials = "!#$%&'*+/=?^_`{|}~-"

func checkLocal(local string) error {
	switch {
	case local == "":
		return errors.New("empty local part")
	case len(local) > maxLocalLen:
		return fmt.Errorf("local part longer than %d bytes", maxLocalLen)
	case local[0] == '.' || local[len(local)-1] == '.':
		return errors.New("local part starts or ends with a dot")
	case strings.Contains(local, ".."):
		return errors.New("local part has two dots in a row")
	}
	for _, r := range local {
		switch {
		case r < utf8.RuneSelf:
			if !isASCIIAlnum(byte(r)) && r != '.' && !strings.ContainsRune(atextSpecials, r) {
				return fmt.Errorf("local part has the invalid character %q", r)
			}
		case !unicode.IsLetter(r) && !unicode.IsMark(r) && !unicode.IsDigit(r):
			return fmt.Errorf("local part has the invalid character %q", r)
		}
	}
	return nil
}

func checkDomain(domain string) error {
	switch {
	case domain == "":
		return errors.New("empty domain")
	case len(domain) > maxDomainLen:
		return fmt.Errorf("domain longer than %d bytes", maxDomainLen)
	case !strings.Contains(domain, "."):
		return errors.New("domain has no dot")
	}
	labels := strings.Split(domain, ".")
	for _, l := range labels {
		if l == "" {
			return errors.New("domain has an empty label")
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("domain label %q starts or ends with a hyphen", truncate(l))
		}
		for _, r := range l {
			switch {
			case r < utf8.RuneSelf:
				if !isASCIIAlnum(byte(r)) && r != '-' {
					return fmt.Errorf("domain has the invalid character %q", r)
				}
			case !unicode.IsLetter(r) && !unicode.IsMark(r) && !unicode.IsDigit(r):
				return fmt.Errorf("domain has the invalid character %q", r)
			}
		}
		if n := len(asciiLabel(l)); n > maxLabelLen {
			return fmt.Errorf("domain label %q longer than %d bytes", truncate(l), maxLabelLen)
		}
	}
	tld := labels[len(labels)-1]
	if strings.Trim(tld, "0123456789") == "" {
		return errors.New("top-level domain is all digits")
	}
	if len(asciiDomain(domain)) > maxDomainLen {
		return fmt.Errorf("domain longer than %d bytes in ASCII form", maxDomainLen)
	}
	return nil
}

func isASCIIAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// asciiDomain returns domain with every non-ASCII label in punycode form.
func asciiDomain(domain string) string {
	if isASCII(domain) {
		return domain
	}
	labels := strings.Split(domain, ".")
	for i, l := range labels {
		labels[i] = asciiLabel(l)
	}
	return strings.Join(labels, ".")
}

// asciiLabel returns "xn--" and the punycode of a non-ASCII label, or the
// label itself when it is ASCII.
func asciiLabel(l string) string {
	if isASCII(l) {
		return l
	}
	p, ok := punycode(l)
	if !ok {
		return l
	}
	return "xn--" + p
}

// NormalizeEmails normalizes a list of addresses, the primary first: blank
// entries are skipped silently, invalid ones are left out and reported in
// issues (one message per entry, saying why), and duplicates (same EmailKey)
// keep their first occurrence, so the order and the primary are kept.
func NormalizeEmails(list []string) (valid []string, issues []string) {
	seen := make(map[string]struct{}, len(list))
	for _, s := range list {
		if strings.TrimSpace(s) == "" {
			continue
		}
		e, err := NormalizeEmail(s)
		if err != nil {
			issues = append(issues, err.Error())
			continue
		}
		k, _ := EmailKey(e)
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		valid = append(valid, e)
	}
	return valid, issues
}
