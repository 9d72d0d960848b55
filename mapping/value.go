package mapping

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Value is one field's value in a uniform shape: no element for "no value",
// one element for a scalar field, the list itself (primary first) for emails
// and phones. It is what base states, history and equality work on.
type Value []string

// Empty reports whether v holds no value.
func (v Value) Empty() bool { return len(v) == 0 }

// String renders v for logs and history: list elements joined by ", ".
func (v Value) String() string { return strings.Join(v, ", ") }

func scalar(s string) Value {
	if s == "" {
		return nil
	}
	return Value{s}
}

// Get returns the value of field f of p.
func (p *Person) Get(f Field) Value {
	switch f {
	case FieldFirstName:
		return scalar(p.FirstName)
	case FieldLastName:
		return scalar(p.LastName)
	case FieldEmails:
		return Value(slices.Clone(p.Emails))
	case FieldPhones:
		return Value(slices.Clone(p.Phones))
	case FieldLinkedIn:
		return scalar(p.LinkedIn)
	case FieldCompany:
		return scalar(p.Company)
	case FieldJobTitle:
		return scalar(p.JobTitle)
	case FieldWebsite:
		return scalar(p.Website)
	case FieldAddress:
		return scalar(p.Address)
	case FieldFacebook:
		return scalar(p.Facebook)
	case FieldInstagram:
		return scalar(p.Instagram)
	case FieldTwitter:
		return scalar(p.Twitter)
	case FieldNotes:
		return scalar(p.Notes)
	case FieldLeadStage:
		return scalar(string(p.LeadStage))
	case FieldPipelineStage:
		return scalar(p.PipelineStage)
	case FieldLeadScore:
		if p.LeadScore == nil {
			return nil
		}
		return Value{strconv.Itoa(*p.LeadScore)}
	case FieldOwner:
		return scalar(p.Owner)
	}
	return nil
}

// Has reports whether field f of p holds a value: !p.Get(f).Empty(),
// without building the value.
func (p *Person) Has(f Field) bool {
	switch f {
	case FieldEmails:
		return len(p.Emails) > 0
	case FieldPhones:
		return len(p.Phones) > 0
	case FieldLeadScore:
		return p.LeadScore != nil
	case FieldLeadStage:
		return p.LeadStage != ""
	}
	s := p.Text(f)
	return s != nil && *s != ""
}

// CopyField sets field f of p to src's value: p.Set(f, src.Get(f)),
// without building the value.
func (p *Person) CopyField(f Field, src *Person) {
	switch f {
	case FieldEmails:
		p.Emails = slices.Clone(src.Emails)
	case FieldPhones:
		p.Phones = slices.Clone(src.Phones)
	case FieldLeadScore:
		if src.LeadScore == nil {
			p.LeadScore = nil
			return
		}
		n := *src.LeadScore
		p.LeadScore = &n
	case FieldLeadStage:
		p.LeadStage = src.LeadStage
	default:
		if d, s := p.Text(f), src.Text(f); d != nil {
			*d = *s
		}
	}
}

// Text returns a pointer to field f of p when it is a plain string field,
// and nil for the others (emails, phones, lead stage, lead score) and for a
// name that is no field. Code that walks AllFields by hand (the engine's
// base-state codec) reaches the string fields through it.
func (p *Person) Text(f Field) *string {
	switch f {
	case FieldFirstName:
		return &p.FirstName
	case FieldLastName:
		return &p.LastName
	case FieldLinkedIn:
		return &p.LinkedIn
	case FieldCompany:
		return &p.Company
	case FieldJobTitle:
		return &p.JobTitle
	case FieldWebsite:
		return &p.Website
	case FieldAddress:
		return &p.Address
	case FieldFacebook:
		return &p.Facebook
	case FieldInstagram:
		return &p.Instagram
	case FieldTwitter:
		return &p.Twitter
	case FieldNotes:
		return &p.Notes
	case FieldPipelineStage:
		return &p.PipelineStage
	case FieldOwner:
		return &p.Owner
	}
	return nil
}

// Set stores v into field f of p. A lead score that is not an integer is
// dropped.
func (p *Person) Set(f Field, v Value) {
	first := ""
	if len(v) > 0 {
		first = v[0]
	}
	switch f {
	case FieldFirstName:
		p.FirstName = first
	case FieldLastName:
		p.LastName = first
	case FieldEmails:
		p.Emails = slices.Clone([]string(v))
	case FieldPhones:
		p.Phones = slices.Clone([]string(v))
	case FieldLinkedIn:
		p.LinkedIn = first
	case FieldCompany:
		p.Company = first
	case FieldJobTitle:
		p.JobTitle = first
	case FieldWebsite:
		p.Website = first
	case FieldAddress:
		p.Address = first
	case FieldFacebook:
		p.Facebook = first
	case FieldInstagram:
		p.Instagram = first
	case FieldTwitter:
		p.Twitter = first
	case FieldNotes:
		p.Notes = first
	case FieldLeadStage:
		p.LeadStage = Stage(first)
	case FieldPipelineStage:
		p.PipelineStage = first
	case FieldLeadScore:
		if first == "" {
			p.LeadScore = nil
			return
		}
		n, err := strconv.Atoi(first)
		if err != nil {
			p.LeadScore = nil
			return
		}
		p.LeadScore = &n
	case FieldOwner:
		p.Owner = first
	}
}

// Equal reports whether a and b are the same value of field f, after
// normalization. It is the one equality used by matching, change detection
// and echo suppression. Each element is reduced to a comparison key; blank
// elements are no value (Value{" "} equals nil), and for emails and phones a
// repeated element counts once. Two values are equal when their lists of keys
// are equal, in order (the primary is part of the value). The keys:
//   - names, company, job title, address, notes, owner: white space trimmed
//     and collapsed, Unicode NFC; case matters ("de la Cruz" is not "De La
//     Cruz");
//   - emails: EmailKey (trimmed, lower-cased, IDN domains in punycode form);
//     an invalid address is compared trimmed and lower-cased;
//   - phones: NormalizePhone's Key with DefaultRegion (values should already
//     be normalized with the connection's region by NormalizePhones);
//   - LinkedIn: the canonical profile URL; a URL that is not a profile is
//     compared trimmed;
//   - website and social URLs: ignoring the scheme, the case of the host, a
//     leading "www." and a trailing slash;
//   - stages: white space collapsed, ignoring case; lead score: as integers.
func Equal(f Field, a, b Value) bool {
	if slices.Equal(a, b) {
		// The same elements have the same keys: most values compared (a
		// record in step with its person) are stored alike on both sides.
		return true
	}
	ka, kb := keys(f, a), keys(f, b)
	return slices.Equal(ka, kb)
}

// keys returns the comparison keys of v's elements: blanks dropped, and for
// list fields duplicates dropped after their first occurrence.
func keys(f Field, v Value) []string {
	if len(v) == 0 {
		return nil
	}
	out := make([]string, 0, len(v))
	list := f == FieldEmails || f == FieldPhones
	for _, s := range v {
		k := canonicalElem(f, s)
		if k == "" || (list && slices.Contains(out, k)) {
			continue
		}
		out = append(out, k)
	}
	return out
}

// canonicalElem is the comparison key of one element of a value of f.
// Values already in their key's form, as crmsync stores them, are their
// own key without being parsed again (see isEmailKey, isLinkedInKey).
func canonicalElem(f Field, s string) string {
	switch f {
	case FieldEmails:
		if isEmailKey(s) {
			return s
		}
	case FieldLinkedIn:
		if isLinkedInKey(s) {
			return s
		}
	}
	return canonicalElemSlow(f, s)
}

// isEmailKey reports whether s is its own email key whether it is a valid
// address or not: ASCII (EmailKey changes no ASCII address beyond
// NormalizeEmail), without upper-case letters, without white space at
// either end (NormalizeEmail, and the key of an invalid address, only trim
// and lower-case it).
func isEmailKey(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			return false
		}
	}
	return !isASCIISpace(s[0]) && !isASCIISpace(s[len(s)-1])
}

func isASCIISpace(c byte) bool { return c == ' ' || ('\t' <= c && c <= '\r') }

// isLinkedInKey reports whether s is NormalizeLinkedIn's form of itself:
// the canonical prefix and a profile name of lower-case ASCII letters,
// digits, '-', '_' and '.' (the key of a name without a letter or digit,
// which NormalizeLinkedIn refuses, is s as well).
func isLinkedInKey(s string) bool {
	slug, ok := strings.CutPrefix(s, linkedInPrefix)
	if !ok || slug == "" || len(s) > MaxFieldLen {
		return false
	}
	for i := 0; i < len(slug); i++ {
		c := slug[i]
		if !('a' <= c && c <= 'z') && !('0' <= c && c <= '9') && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// canonicalElemSlow is canonicalElem without its fast paths.
func canonicalElemSlow(f Field, s string) string {
	switch f {
	case FieldEmails:
		if e, err := EmailKey(s); err == nil {
			return e
		}
		return strings.ToLower(strings.TrimSpace(s))
	case FieldPhones:
		if isE164Shape(s) {
			// Already "+digits": NormalizePhone would give it back as it
			// is (E.164 when possible, else the raw text), so skip the
			// costly parse on the hot path.
			return s
		}
		return NormalizePhone(s, "").Key()
	case FieldLinkedIn:
		if u, err := NormalizeLinkedIn(s); err == nil {
			return u
		}
		return strings.TrimSpace(s)
	case FieldWebsite, FieldFacebook, FieldInstagram, FieldTwitter:
		return urlKey(s)
	case FieldLeadStage, FieldPipelineStage:
		return strings.ToLower(textKey(s))
	case FieldLeadScore:
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
			return strconv.Itoa(n)
		}
		return strings.TrimSpace(s)
	default:
		return textKey(s)
	}
}

// urlKey is the comparison key of a website or social URL: scheme, a leading
// "www." and trailing slashes removed, host lower-cased; path, query and
// their case kept.
func urlKey(s string) string {
	s = strings.TrimSpace(s)
	low := strings.ToLower(s)
	for _, p := range []string{"https://", "http://"} {
		if strings.HasPrefix(low, p) {
			s = s[len(p):]
			break
		}
	}
	host, rest, _ := strings.Cut(s, "/")
	host = strings.TrimPrefix(strings.ToLower(host), "www.")
	out := host
	if rest != "" {
		out += "/" + rest
	}
	return strings.TrimRight(out, "/")
}

// EqualPerson reports whether a and b hold equal values (Equal) in every
// field of set.
func EqualPerson(set FieldSet, a, b *Person) bool {
	for _, f := range AllFields {
		if set.Has(f) && !Equal(f, a.Get(f), b.Get(f)) {
			return false
		}
	}
	return true
}

// MergeList merges two lists of already-normalized values as sets: every
// element of a in order (a's primary stays first), then the elements of b
// not already present; duplicates keep their first occurrence and blanks are
// dropped. Elements are compared as they are; use MergeValue to compare
// through a field's keys.
func MergeList(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	for _, list := range [][]string{a, b} {
		for _, s := range list {
			if strings.TrimSpace(s) == "" || slices.Contains(out, s) {
				continue
			}
			out = append(out, s)
		}
	}
	return out
}

// MergeValue is MergeList comparing elements by field f's comparison key (as
// Equal does): an element of b whose key is already present is dropped.
func MergeValue(f Field, a, b Value) Value {
	var out Value
	var seen []string
	for _, list := range []Value{a, b} {
		for _, s := range list {
			k := canonicalElem(f, s)
			if k == "" || slices.Contains(seen, k) {
				continue
			}
			seen = append(seen, k)
			out = append(out, s)
		}
	}
	return out
}

// isE164Shape reports whether s is "+" and 1 to 15 digits, with nothing else.
func isE164Shape(s string) bool {
	if len(s) < 2 || len(s) > 16 || s[0] != '+' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
