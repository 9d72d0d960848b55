// Package epixelmap is the field map between Epixel "Leads & CRM" leads and
// crmsync's canonical person (providers.md, "epixel" and the canonical map).
// It holds the wire types as the API spells them and pure functions both
// ways; it does no I/O.
package epixelmap

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crmsync/crmsync/mapping"
)

// Lead is one lead as GET /leads/list/ and GET /leads/view/lead/ answer it.
type Lead struct {
	Slug      string `json:"slug"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
	Phone     string `json:"phone"`
	Location  string `json:"location"`
	Message   string `json:"message"`
	Status    string `json:"status"`
	Source    string `json:"source"`
	// Assignee is the assigned user's username ("" or null when none).
	Assignee  string `json:"assignee"`
	CreatedAt string `json:"created_at"`
	// Notes is only present in GET /leads/view/lead/.
	Notes []Note `json:"notes,omitempty"`
}

// Note is one lead note of GET /leads/view/lead/.
type Note struct {
	ID        ID     `json:"id"`
	Note      string `json:"note"`
	CreatedAt string `json:"created_at"`
}

// ID is an identifier the API may spell as a JSON number or a string; it is
// held as its decimal text.
type ID string

// UnmarshalJSON accepts a JSON number, a string or null.
func (id *ID) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	switch {
	case s == "null":
		*id = ""
	case strings.HasPrefix(s, `"`):
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return fmt.Errorf("decode id: %w", err)
		}
		*id = ID(v)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("decode id: %w", err)
		}
		*id = ID(n.String())
	}
	return nil
}

// MarshalJSON writes the ID as a number when it is one, else as a string.
func (id ID) MarshalJSON() ([]byte, error) {
	if _, err := strconv.ParseInt(string(id), 10, 64); err == nil {
		return []byte(id), nil
	}
	return json.Marshal(string(id))
}

// The lead statuses of the API, in its own order [public].
var Statuses = []string{"prospect", "tentative", "potential", "closed", "contact", "customer"}

// The lead sources the API accepts [assumed].
var Sources = []string{"website", "referral", "social", "campaign", "other"}

// MaxLen is the longest value (in characters) the API takes for a text field.
const MaxLen = 255

// PhonePattern is the phone format the API enforces.
var PhonePattern = regexp.MustCompile(`^\+?1?\d{9,15}$`)

// The API's verbatim validation messages used by the map and the simulator.
const (
	MsgRequired    = "This field is required."
	MsgBlank       = "This field may not be blank."
	MsgTooLong     = "Ensure this field has no more than 255 characters."
	MsgInvalidMail = "Invalid email."
	MsgPhoneFormat = "Phone number must be entered in the format: '999999999'. Up to 15 digits allowed."
)

// Capability sets of Epixel, for the adapter's providers.Capabilities.
var (
	// Holds lists the canonical fields a lead stores and reads back.
	Holds = mapping.NewFieldSet(mapping.FieldFirstName, mapping.FieldLastName, mapping.FieldEmails,
		mapping.FieldPhones, mapping.FieldAddress, mapping.FieldNotes, mapping.FieldLeadStage, mapping.FieldOwner)
	// Creates lists the fields POST /leads/create/lead/ can set.
	Creates = Holds
	// Updates lists the fields POST /leads/update/lead/ can set.
	Updates = Holds
	// Required lists the fields a create and an update (a full replace)
	// cannot do without.
	Required = []mapping.Field{mapping.FieldFirstName, mapping.FieldLastName, mapping.FieldEmails, mapping.FieldPhones}
)

// NativeField maps an Epixel form field to the canonical field it carries;
// fields with no canonical counterpart (slug, source) map to themselves.
func NativeField(native string) string {
	switch native {
	case "email":
		return string(mapping.FieldEmails)
	case "phone":
		return string(mapping.FieldPhones)
	case "location":
		return string(mapping.FieldAddress)
	case "message":
		return string(mapping.FieldNotes)
	case "status":
		return string(mapping.FieldLeadStage)
	case "assignee":
		return string(mapping.FieldOwner)
	}
	return native
}

// ToPerson maps a lead to the canonical person. stages maps the status
// (mapping.DefaultStageMap("epixel") when it is the zero map); region is the
// default phone region. A lead has no change time, so changedAt is always
// zero. Issues lists values that could not be mapped: an invalid email
// (dropped) or an unmapped status (left out); an unparseable phone is kept
// raw.
func ToPerson(l Lead, stages mapping.StageMap, region string) (p mapping.Person, changedAt time.Time, issues []string) {
	stages = orDefault(stages)
	p.FirstName = l.FirstName
	p.LastName = l.LastName
	if strings.TrimSpace(l.Email) != "" {
		if e, err := mapping.NormalizeEmail(l.Email); err == nil {
			p.Emails = []string{e}
		} else {
			issues = append(issues, fmt.Sprintf("email: %v (dropped)", err))
		}
	}
	if strings.TrimSpace(l.Phone) != "" {
		p.Phones = []string{mapping.NormalizePhone(l.Phone, region).Key()}
	}
	p.Address = l.Location
	p.Notes = l.Message
	p.Owner = l.Assignee
	if strings.TrimSpace(l.Status) != "" {
		if s, ok := stages.Inbound(l.Status); ok {
			p.LeadStage = s
		} else {
			issues = append(issues, fmt.Sprintf("status: %q maps to no canonical stage", l.Status))
		}
	}
	return p, time.Time{}, issues
}

// Form is the write payload of POST /leads/create/lead/ and
// POST /leads/update/lead/ (Slug only on update). An empty optional field is
// left out of the form, which the API reads as "none" (and, on update, as
// "clear"; an absent status goes back to prospect).
type Form struct {
	Slug      string
	FirstName string
	LastName  string
	Email     string
	Phone     string
	Location  string
	Message   string
	Status    string
	Source    string
	Assignee  string
}

// Pairs lists the form's fields in a fixed order as key, value pairs,
// leaving out the empty optional ones.
func (f Form) Pairs() [][2]string {
	out := make([][2]string, 0, 10)
	add := func(k, v string, always bool) {
		if always || v != "" {
			out = append(out, [2]string{k, v})
		}
	}
	add("slug", f.Slug, false)
	add("first_name", f.FirstName, true)
	add("last_name", f.LastName, true)
	add("email", f.Email, true)
	add("phone", f.Phone, true)
	add("location", f.Location, false)
	add("message", f.Message, false)
	add("status", f.Status, false)
	add("source", f.Source, false)
	add("assignee", f.Assignee, false)
	return out
}

// FieldError says why a person cannot be written to Epixel: the canonical
// field and a message. It is returned before any request is sent.
type FieldError struct {
	Field   mapping.Field
	Message string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Message) }

// WirePhone turns a canonical phone (E.164 or raw text) into the form the API
// takes: digits with an optional leading "+". It reports false when the result
// does not match PhonePattern.
func WirePhone(phone, region string) (string, bool) {
	s := strings.TrimSpace(phone)
	if n := mapping.NormalizePhone(s, region); n.Valid() && PhonePattern.MatchString(n.E164) {
		return n.E164, true
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '/':
		default:
			return "", false
		}
	}
	out := b.String()
	return out, PhonePattern.MatchString(out)
}

// FromPerson builds the create form for p: its first name, last name, primary
// email and primary phone (all required, as the API demands), address as
// location, notes as message, lead stage as status (through stages; a stage
// with no status is left out) and owner as assignee. A person Epixel cannot
// take is a *FieldError naming the canonical field; nothing is invented.
func FromPerson(p mapping.Person, stages mapping.StageMap, region string) (Form, error) {
	stages = orDefault(stages)
	var f Form
	f.FirstName = strings.TrimSpace(p.FirstName)
	f.LastName = strings.TrimSpace(p.LastName)
	if f.FirstName == "" {
		return Form{}, &FieldError{mapping.FieldFirstName, "required by Epixel"}
	}
	if f.LastName == "" {
		return Form{}, &FieldError{mapping.FieldLastName, "required by Epixel"}
	}
	if len(p.Emails) == 0 || strings.TrimSpace(p.Emails[0]) == "" {
		return Form{}, &FieldError{mapping.FieldEmails, "required by Epixel"}
	}
	e, err := mapping.NormalizeEmail(p.Emails[0])
	if err != nil {
		return Form{}, &FieldError{mapping.FieldEmails, err.Error()}
	}
	f.Email = e
	if len(p.Phones) == 0 || strings.TrimSpace(p.Phones[0]) == "" {
		return Form{}, &FieldError{mapping.FieldPhones, "required by Epixel"}
	}
	ph, ok := WirePhone(p.Phones[0], region)
	if !ok {
		return Form{}, &FieldError{mapping.FieldPhones, fmt.Sprintf("%q cannot be written as Epixel's format (%s)", p.Phones[0], MsgPhoneFormat)}
	}
	f.Phone = ph
	f.Location = strings.TrimSpace(p.Address)
	f.Message = strings.TrimSpace(p.Notes)
	f.Assignee = strings.TrimSpace(p.Owner)
	if p.LeadStage != "" {
		if st, ok := stages.Outbound(p.LeadStage, Statuses); ok {
			f.Status = st
		}
	}
	for _, c := range []struct {
		field mapping.Field
		v     string
	}{
		{mapping.FieldFirstName, f.FirstName}, {mapping.FieldLastName, f.LastName},
		{mapping.FieldEmails, f.Email}, {mapping.FieldAddress, f.Location}, {mapping.FieldNotes, f.Message},
	} {
		if utf8.RuneCountInString(c.v) > MaxLen {
			return Form{}, &FieldError{c.field, MsgTooLong}
		}
	}
	return f, nil
}

// UpdateForm builds the full-replace update form that makes lead existing
// hold desired for the fields Epixel holds, without clearing anything crmsync
// does not manage. base is what crmsync last saw in the lead (its base state):
// an optional field empty in both base and desired is one crmsync has no
// value for, so the lead's own value is re-sent; one that base held and
// desired does not is cleared on purpose. source is always re-sent. Where the
// lead's own value already equals the desired one (a "tentative" status for
// the qualified stage, a phone spelled differently), the lead's spelling is
// kept.
func UpdateForm(existing Lead, base, desired mapping.Person, stages mapping.StageMap, region string) (Form, error) {
	stages = orDefault(stages)
	f, err := FromPerson(desired, stages, region)
	if err != nil {
		return Form{}, err
	}
	f.Slug = existing.Slug
	f.Source = existing.Source
	if e, err := mapping.NormalizeEmail(existing.Email); err == nil && e == f.Email {
		f.Email = existing.Email
	}
	if mapping.Equal(mapping.FieldPhones, mapping.Value{existing.Phone}, mapping.Value{f.Phone}) && PhonePattern.MatchString(existing.Phone) {
		f.Phone = existing.Phone
	}
	keep := func(dst *string, cur string, f mapping.Field) {
		if *dst == "" && base.Get(f).Empty() && desired.Get(f).Empty() {
			*dst = cur
		}
	}
	keep(&f.Location, existing.Location, mapping.FieldAddress)
	keep(&f.Message, existing.Message, mapping.FieldNotes)
	keep(&f.Assignee, existing.Assignee, mapping.FieldOwner)
	switch {
	case desired.LeadStage == "" && base.LeadStage == "":
		f.Status = existing.Status
	case desired.LeadStage != "":
		if s, ok := stages.Inbound(existing.Status); ok && s == desired.LeadStage {
			f.Status = existing.Status
		} else if f.Status == "" {
			// No status maps to the stage: leave the lead's as it is rather
			// than let the full replace reset it to prospect.
			f.Status = existing.Status
		}
	}
	return f, nil
}

// orDefault returns stages, or Epixel's default map for the zero value.
func orDefault(stages mapping.StageMap) mapping.StageMap {
	if len(stages.In) == 0 && len(stages.Out) == 0 {
		return mapping.DefaultStageMap("epixel")
	}
	return stages
}
