package mapping

import (
	"slices"
	"strconv"
	"strings"
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
// and echo suppression:
//   - names, company, job title, address, notes, owner: equal after trimming
//     and collapsing inner whitespace (case matters: "de la Cruz" is not
//     "De La Cruz");
//   - emails: equal as ordered lists of normalized addresses (the primary is
//     part of the value);
//   - phones: equal as ordered lists of normalized numbers;
//   - LinkedIn: equal as canonical profile URLs;
//   - website and social URLs: equal ignoring scheme, case of the host and a
//     trailing slash;
//   - stages: equal ignoring case; lead score: equal as integers.
func Equal(f Field, a, b Value) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if canonicalElem(f, a[i]) != canonicalElem(f, b[i]) {
			return false
		}
	}
	return true
}

// canonicalElem is the comparison key of one element of a value of f.
func canonicalElem(f Field, s string) string {
	switch f {
	case FieldEmails:
		if e, err := NormalizeEmail(s); err == nil {
			return e
		}
		return strings.ToLower(strings.TrimSpace(s))
	case FieldPhones:
		return NormalizePhone(s, "").Key()
	case FieldLinkedIn:
		if u, err := NormalizeLinkedIn(s); err == nil {
			return u
		}
		return strings.TrimSpace(s)
	case FieldWebsite, FieldFacebook, FieldInstagram, FieldTwitter:
		return urlKey(s)
	case FieldLeadStage, FieldPipelineStage:
		return strings.ToLower(CollapseSpace(s))
	case FieldLeadScore:
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
			return strconv.Itoa(n)
		}
		return strings.TrimSpace(s)
	default:
		return CollapseSpace(s)
	}
}

func urlKey(s string) string {
	s = strings.TrimSpace(s)
	low := strings.ToLower(s)
	for _, p := range []string{"https://", "http://"} {
		if strings.HasPrefix(low, p) {
			s = s[len(p):]
			low = low[len(p):]
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

// EqualPerson reports whether a and b hold equal values in every field of set.
func EqualPerson(set FieldSet, a, b *Person) bool {
	for _, f := range AllFields {
		if set.Has(f) && !Equal(f, a.Get(f), b.Get(f)) {
			return false
		}
	}
	return true
}
