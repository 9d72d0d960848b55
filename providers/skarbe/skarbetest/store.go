package skarbetest

import (
	"encoding/binary"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crmsync/crmsync/mapping/skarbemap"
	"github.com/crmsync/crmsync/providers/simkit"
)

// contact is one stored contact, kept small: the text fields are packed into
// one immutable string (see fields.pack), so a million contacts cost little
// more than their text. An edit replaces data; it never changes it in place,
// so a reader may keep a copy of the struct after unlocking.
type contact struct {
	id      int64
	created int64 // Unix milliseconds; lastActivityAt is the same instant
	data    string
	status  int32 // lead status ID, 0 for none
	deleted bool
}

// fields are a contact's text fields, as the API stores them.
type fields struct {
	Email, FirstName, LastName, JobTitle, CompanyName string
	FacebookURL, InstagramURL, LinkedInURL, Note      string
	Phones                                            []string
}

func (f *fields) strs() [9]*string {
	return [9]*string{&f.Email, &f.FirstName, &f.LastName, &f.JobTitle, &f.CompanyName,
		&f.FacebookURL, &f.InstagramURL, &f.LinkedInURL, &f.Note}
}

// pack encodes f as length-prefixed strings: the nine fields, then the count
// of phones and each phone.
func (f *fields) pack() string {
	n := 0
	for _, s := range f.strs() {
		n += len(*s) + 2
	}
	for _, p := range f.Phones {
		n += len(p) + 2
	}
	b := make([]byte, 0, n+2)
	for _, s := range f.strs() {
		b = binary.AppendUvarint(b, uint64(len(*s)))
		b = append(b, *s...)
	}
	b = binary.AppendUvarint(b, uint64(len(f.Phones)))
	for _, p := range f.Phones {
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
	}
	return string(b)
}

// unpack decodes data; the strings share data's memory.
func unpack(data string) fields {
	var f fields
	rest := data
	next := func() string {
		n, k := uvarint(rest)
		s := rest[k : k+int(n)]
		rest = rest[k+int(n):]
		return s
	}
	for _, s := range f.strs() {
		*s = next()
	}
	n, k := uvarint(rest)
	rest = rest[k:]
	if n > 0 {
		f.Phones = make([]string, n)
		for i := range f.Phones {
			f.Phones[i] = next()
		}
	}
	return f
}

// uvarint decodes a uvarint at the start of s (see binary.AppendUvarint).
func uvarint(s string) (uint64, int) {
	var x uint64
	var shift uint
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x80 {
			return x | uint64(c)<<shift, i + 1
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
	return 0, 0
}

const tsLayout = "2006-01-02T15:04:05.000Z"

func appendTime(b []byte, ms int64) []byte {
	b = append(b, '"')
	b = time.UnixMilli(ms).UTC().AppendFormat(b, tsLayout)
	return append(b, '"')
}

// appendContact renders c as the list (withStatus) or the create answer
// renders it: every attribute, null where empty.
func appendContact(b []byte, c *contact, statuses map[int32]skarbemap.LeadStatus, withStatus bool) []byte {
	f := unpack(c.data)
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, c.id, 10)
	b = append(b, `,"email":`...)
	b = simkit.AppendJSONStringOrNull(b, f.Email)
	b = append(b, `,"photo":null,"firstName":`...)
	b = simkit.AppendJSONStringOrNull(b, f.FirstName)
	b = append(b, `,"lastName":`...)
	b = simkit.AppendJSONStringOrNull(b, f.LastName)
	b = append(b, `,"fullName":`...)
	b = simkit.AppendJSONStringOrNull(b, fullName(f.FirstName, f.LastName))
	b = append(b, `,"jobTitle":`...)
	b = simkit.AppendJSONStringOrNull(b, f.JobTitle)
	b = append(b, `,"companyName":`...)
	b = simkit.AppendJSONStringOrNull(b, f.CompanyName)
	b = append(b, `,"phoneNumbers":`...)
	if f.Phones == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, p := range f.Phones {
			if i > 0 {
				b = append(b, ',')
			}
			b = simkit.AppendJSONString(b, p)
		}
		b = append(b, ']')
	}
	b = append(b, `,"facebookUrl":`...)
	b = simkit.AppendJSONStringOrNull(b, f.FacebookURL)
	b = append(b, `,"instagramUrl":`...)
	b = simkit.AppendJSONStringOrNull(b, f.InstagramURL)
	b = append(b, `,"linkedinUrl":`...)
	b = simkit.AppendJSONStringOrNull(b, f.LinkedInURL)
	b = append(b, `,"note":`...)
	b = simkit.AppendJSONStringOrNull(b, f.Note)
	b = append(b, `,"lastActivityAt":`...)
	b = appendTime(b, c.created)
	b = append(b, `,"createdAt":`...)
	b = appendTime(b, c.created)
	if withStatus {
		b = append(b, `,"leadStatus":`...)
		if st, ok := statuses[c.status]; ok && c.status != 0 {
			b = append(b, `{"id":`...)
			b = strconv.AppendInt(b, int64(c.status), 10)
			b = append(b, `,"label":`...)
			b = simkit.AppendJSONString(b, st.Label)
			b = append(b, `,"color":`...)
			b = simkit.AppendJSONString(b, st.Color)
			b = append(b, '}')
		} else {
			b = append(b, "null"...)
		}
	}
	return append(b, '}')
}

// fullName is what Skarbe shows as the full name: first and last joined by
// one space, either may be missing.
func fullName(first, last string) string {
	switch {
	case first == "":
		return last
	case last == "":
		return first
	}
	return first + " " + last
}

// toContact is c as skarbemap decodes it from the list.
func toContact(c *contact, statuses map[int32]skarbemap.LeadStatus) skarbemap.Contact {
	f := unpack(c.data)
	out := skarbemap.Contact{
		ID: skarbemap.ID(strconv.FormatInt(c.id, 10)), Email: f.Email, FirstName: f.FirstName, LastName: f.LastName,
		FullName: fullName(f.FirstName, f.LastName), JobTitle: f.JobTitle, CompanyName: f.CompanyName,
		PhoneNumbers: skarbemap.Phones(f.Phones), FacebookURL: f.FacebookURL, InstagramURL: f.InstagramURL,
		LinkedInURL: f.LinkedInURL, Note: f.Note,
		CreatedAt: time.UnixMilli(c.created).UTC().Format(tsLayout), LastActivityAt: time.UnixMilli(c.created).UTC().Format(tsLayout),
	}
	if st, ok := statuses[c.status]; ok && c.status != 0 {
		out.LeadStatus = &skarbemap.LeadStatusRef{ID: st.ID, Label: st.Label, Color: st.Color}
	}
	return out
}

// matches reports whether the contact matches a search: a case-insensitive
// substring of firstName, lastName or email. An empty query matches all.
func matches(c *contact, query string) bool {
	if query == "" {
		return true
	}
	f := unpack(c.data)
	return containsFold(f.FirstName, query) || containsFold(f.LastName, query) || containsFold(f.Email, query)
}

// containsFold reports whether sub is in s, ignoring case.
func containsFold(s, sub string) bool {
	if len(sub) > len(s) {
		return false
	}
	if isASCII(s) && isASCII(sub) {
		for i := 0; i+len(sub) <= len(s); i++ {
			if strings.EqualFold(s[i:i+len(sub)], sub) {
				return true
			}
		}
		return false
	}
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
