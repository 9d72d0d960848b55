// Package nextleadmap is the field map between NextLead CRM (API v2.1)
// contacts and crmsync's canonical mapping.Person: the wire types as the API
// spells them, the capability field sets, and pure functions both ways.
package nextleadmap

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TimeLayout is the timestamp layout NextLead answers with: RFC 3339 UTC
// with milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// FormatTime renders t in TimeLayout (UTC).
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// ParseTime parses any RFC 3339 timestamp (with or without fractional
// seconds); the zero time and an error for anything else.
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("parse time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// Score is a lead score as NextLead sends it: a JSON number, tolerated as a
// numeric string; null or "" is no score.
type Score struct {
	V     int
	Valid bool
}

// ScoreOf returns a Score for p (invalid when p is nil).
func ScoreOf(p *int) Score {
	if p == nil {
		return Score{}
	}
	return Score{V: *p, Valid: true}
}

// Ptr returns the score as *int, nil when not valid.
func (s Score) Ptr() *int {
	if !s.Valid {
		return nil
	}
	v := s.V
	return &v
}

// MarshalJSON writes the number, or null.
func (s Score) MarshalJSON() ([]byte, error) {
	if !s.Valid {
		return []byte("null"), nil
	}
	return strconv.AppendInt(nil, int64(s.V), 10), nil
}

// UnmarshalJSON reads a number, a numeric string or null.
func (s *Score) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*s = Score{}
		return nil
	}
	str := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &str); err != nil {
			return fmt.Errorf("lead_score: %w", err)
		}
		str = strings.TrimSpace(str)
		if str == "" {
			*s = Score{}
			return nil
		}
	}
	f, err := strconv.ParseFloat(str, 64)
	if err != nil {
		return fmt.Errorf("lead_score: %q is not a number", str)
	}
	*s = Score{V: int(f), Valid: true}
	return nil
}

// IsZero lets encoding/json's omitzero drop an absent score.
func (s Score) IsZero() bool { return !s.Valid }

// Contact is one contact record as user-created and find-contact return it
// (snake_case keys). Found is set only by find-contact. Keys NextLead may send
// as null decode to the zero value.
type Contact struct {
	Found            *bool    `json:"found,omitempty"`
	ID               string   `json:"id,omitempty"`
	Type             string   `json:"type,omitempty"`
	Civility         string   `json:"civility,omitempty"`
	FirstName        string   `json:"first_name,omitempty"`
	LastName         string   `json:"last_name,omitempty"`
	BirthDate        string   `json:"birth_date,omitempty"`
	Sector           string   `json:"sector,omitempty"`
	Activity         string   `json:"activity,omitempty"`
	Status           string   `json:"status,omitempty"`
	ConversionStatus string   `json:"conversion_status,omitempty"`
	LeadScore        Score    `json:"lead_score,omitzero"`
	Phone            string   `json:"phone,omitempty"`
	Mobile           string   `json:"mobile,omitempty"`
	PhonePro         string   `json:"phone_pro,omitempty"`
	Email            string   `json:"email,omitempty"`
	Email2           string   `json:"email2,omitempty"`
	EmailVerified    bool     `json:"email_verified,omitempty"`
	Comment          string   `json:"comment,omitempty"`
	Source           string   `json:"source,omitempty"`
	ListIDs          []string `json:"listIds,omitempty"`
	LinkedIn         string   `json:"linkedin,omitempty"`
	Facebook         string   `json:"facebook,omitempty"`
	Instagram        string   `json:"instagram,omitempty"`
	Twitter          string   `json:"twitter,omitempty"`
	Website          string   `json:"website,omitempty"`
	OtherSocials     string   `json:"otherSocials,omitempty"`
	FirstTouch       string   `json:"firstTouch,omitempty"`
	LastTouch        string   `json:"lastTouch,omitempty"`
	CreatedAt        string   `json:"created_at,omitempty"`
	UpdatedAt        string   `json:"updated_at,omitempty"`
}

// FeedItem is one item of the user-edited (UpdatedAt set) or user-deleted
// (DeletedAt set) polling feed.
type FeedItem struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	UpdatedAt string `json:"updated_at,omitempty"`
	DeletedAt string `json:"deleted_at,omitempty"`
}

// Tag is one conversion-status tag of get-conversion.
type Tag struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	Color          string `json:"color,omitempty"`
	Type           string `json:"type,omitempty"`
	OrganizationID string `json:"organizationId,omitempty"`
}

// Column is one sales pipeline column of sales/get-columns.
type Column struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	Order          int    `json:"order"`
	OrganizationID string `json:"organizationId,omitempty"`
}

// Socials is socials[0] of new-contact.
type Socials struct {
	LinkedIn  string `json:"linkedin,omitempty"`
	Facebook  string `json:"facebook,omitempty"`
	Instagram string `json:"instagram,omitempty"`
}

// Config is nextlead_config[0] of new-contact.
type Config struct {
	LeadScore        Score  `json:"lead_score,omitzero"`
	ConversionStatus string `json:"conversion_status,omitempty"`
	AssignedTo       string `json:"assigned_to,omitempty"`
	AddToList        string `json:"add_to_list,omitempty"`
}

// NewContact is the body of POST receive/contact/new-contact.
type NewContact struct {
	FirstName      string    `json:"firstName,omitempty"`
	LastName       string    `json:"lastName,omitempty"`
	Email          string    `json:"email,omitempty"`
	Phone          string    `json:"phone,omitempty"`
	Socials        []Socials `json:"socials,omitempty"`
	NextleadConfig []Config  `json:"nextlead_config,omitempty"`
}

// Values is values_update[0] of edit-contact. A nil pointer leaves the field
// as it is; a pointer to "" clears it.
type Values struct {
	FirstName        *string `json:"firstName,omitempty"`
	LastName         *string `json:"lastName,omitempty"`
	Phone            *string `json:"phone,omitempty"`
	LeadScore        Score   `json:"lead_score,omitzero"`
	ConversionStatus string  `json:"conversion_status,omitempty"`
	AssignedTo       string  `json:"assigned_to,omitempty"`
	AddToList        string  `json:"add_to_list,omitempty"`
}

// Empty reports whether v changes nothing.
func (v Values) Empty() bool {
	return v.FirstName == nil && v.LastName == nil && v.Phone == nil && !v.LeadScore.Valid &&
		v.ConversionStatus == "" && v.AssignedTo == "" && v.AddToList == ""
}

// EditContact is the body of POST receive/contact/edit-contact: the contact
// is found by Mail, else by LinkedInFind (the stored string, exactly).
type EditContact struct {
	Mail         string   `json:"mail,omitempty"`
	LinkedInFind string   `json:"linkedin_find,omitempty"`
	ValuesUpdate []Values `json:"values_update"`
}

// DeleteContact is the body of POST receive/contact/delete-contact.
type DeleteContact struct {
	Email    string `json:"email,omitempty"`
	LinkedIn string `json:"linkedin,omitempty"`
}

// FindContact is the body of POST receive/contact/find-contact.
type FindContact struct {
	Email       string `json:"email,omitempty"`
	LinkedInURL string `json:"linkedin_url,omitempty"`
}

// CreateSale is the body of POST receive/sales/create-sale.
type CreateSale struct {
	Name    string `json:"name"`
	Column  string `json:"column"`
	Contact string `json:"contact,omitempty"`
}

// UpdateSale is the body of PUT receive/sales/update-sale.
type UpdateSale struct {
	ContactEmail string `json:"contact_email"`
	Column       string `json:"column,omitempty"`
}
