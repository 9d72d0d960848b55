// Package skarbemap is the field map of Skarbe: the wire types of Skarbe's
// connect API (GET/POST /api/connect/contacts, GET
// /api/connect/contacts/lead-statuses) as the API spells them, and pure
// functions between them and the canonical mapping.Person, following the
// canonical map of providers.md.
//
// Skarbe is create-and-read only: it has no update or delete route, so the
// map only goes canonical → Skarbe for a create (see FromPerson).
package skarbemap

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// ID is a Skarbe identifier: an integer on the wire, held as its decimal text
// (IDs are opaque strings to the engine). Decoding also tolerates a JSON
// string; encoding writes a JSON number when the text is an integer.
type ID string

// UnmarshalJSON accepts a JSON number, a JSON string or null.
func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*id = ""
		return nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("skarbe id: %w", err)
		}
		*id = ID(strings.TrimSpace(s))
		return nil
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("skarbe id: %w", err)
		}
		*id = ID(n.String())
		return nil
	}
}

// MarshalJSON writes the ID as a JSON number when it is an integer, as a JSON
// string otherwise, and null when empty.
func (id ID) MarshalJSON() ([]byte, error) {
	if id == "" {
		return []byte("null"), nil
	}
	if _, err := strconv.ParseInt(string(id), 10, 64); err == nil {
		return []byte(id), nil
	}
	return json.Marshal(string(id))
}

// Phones is the phoneNumbers array of a contact. Decoding tolerates null, a
// single string and non-string elements (rendered as text); empty elements are
// dropped.
type Phones []string

// UnmarshalJSON accepts an array of strings, a single string or null.
func (p *Phones) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		*p = nil
		return nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("skarbe phoneNumbers: %w", err)
		}
		*p = nil
		if strings.TrimSpace(s) != "" {
			*p = Phones{s}
		}
		return nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("skarbe phoneNumbers: %w", err)
	}
	out := make(Phones, 0, len(raw))
	for _, r := range raw {
		r = bytes.TrimSpace(r)
		if len(r) == 0 || string(r) == "null" {
			continue
		}
		var s string
		if r[0] == '"' {
			if err := json.Unmarshal(r, &s); err != nil {
				return fmt.Errorf("skarbe phoneNumbers: %w", err)
			}
		} else {
			s = string(r)
		}
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		out = nil
	}
	*p = out
	return nil
}

// LeadStatusRef is the leadStatus object of a listed contact.
type LeadStatusRef struct {
	ID    ID     `json:"id"`
	Label string `json:"label,omitempty"`
	Color string `json:"color,omitempty"`
}

// UnmarshalJSON accepts the documented object and, tolerantly, a bare ID.
func (r *LeadStatusRef) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] != '{' {
		*r = LeadStatusRef{}
		return r.ID.UnmarshalJSON(b)
	}
	type plain LeadStatusRef
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("skarbe leadStatus: %w", err)
	}
	*r = LeadStatusRef(p)
	return nil
}

// Contact is one contact as GET /api/connect/contacts lists it and as POST
// /api/connect/contacts answers it (without leadStatus). Absent and null
// values decode to the zero value.
type Contact struct {
	ID             ID             `json:"id"`
	Email          string         `json:"email,omitempty"`
	Photo          string         `json:"photo,omitempty"`
	FirstName      string         `json:"firstName,omitempty"`
	LastName       string         `json:"lastName,omitempty"`
	FullName       string         `json:"fullName,omitempty"`
	JobTitle       string         `json:"jobTitle,omitempty"`
	CompanyName    string         `json:"companyName,omitempty"`
	PhoneNumbers   Phones         `json:"phoneNumbers,omitempty"`
	FacebookURL    string         `json:"facebookUrl,omitempty"`
	InstagramURL   string         `json:"instagramUrl,omitempty"`
	LinkedInURL    string         `json:"linkedinUrl,omitempty"`
	Note           string         `json:"note,omitempty"`
	LastActivityAt string         `json:"lastActivityAt,omitempty"`
	CreatedAt      string         `json:"createdAt,omitempty"`
	LeadStatus     *LeadStatusRef `json:"leadStatus,omitempty"`
}

// LeadStatus is one entry of GET /api/connect/contacts/lead-statuses.
type LeadStatus struct {
	ID ID `json:"id"`
	// Type is lead, qualified or disqualified.
	Type  string `json:"type"`
	Label string `json:"label"`
	Color string `json:"color"`
	Order int    `json:"order"`
}

// The status types Skarbe documents.
const (
	TypeLead         = "lead"
	TypeQualified    = "qualified"
	TypeDisqualified = "disqualified"
)

// CreateContact is the body of POST /api/connect/contacts: the documented
// keys only. At least Email or FirstName must be set.
type CreateContact struct {
	Email        string   `json:"email,omitempty"`
	FirstName    string   `json:"firstName,omitempty"`
	LastName     string   `json:"lastName,omitempty"`
	JobTitle     string   `json:"jobTitle,omitempty"`
	CompanyName  string   `json:"companyName,omitempty"`
	PhoneNumbers []string `json:"phoneNumbers,omitempty"`
	FacebookURL  string   `json:"facebookUrl,omitempty"`
	InstagramURL string   `json:"instagramUrl,omitempty"`
	LinkedInURL  string   `json:"linkedinUrl,omitempty"`
	// TwitterURL is create-only: Skarbe never lists it back.
	TwitterURL string `json:"twitterUrl,omitempty"`
	Note       string `json:"note,omitempty"`
	// LeadStatus is a lead status ID; empty means none.
	LeadStatus ID `json:"leadStatus,omitempty"`
}

// ErrorBody is Skarbe's error envelope: {"error": "<message>"}.
type ErrorBody struct {
	Error string `json:"error"`
}

// The verbatim error messages of POST /api/connect/contacts and of auth.
const (
	MsgRequired          = "At least email or firstName is required"
	MsgInvalidEmail      = "Invalid email"
	MsgInvalidLeadStatus = "Invalid lead status"
	MsgUnauthorized      = "Unauthorized"
)
