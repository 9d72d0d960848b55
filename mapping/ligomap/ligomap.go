// Package ligomap is the field map between Ligo's contact (an API Platform
// resource) and crmsync's canonical person, following the canonical map of
// providers.md: name split at the first space, emails[] and phones[] primary
// first, position ↔ job_title, additionalInfo ↔ notes, the read-only status ↔
// lead_stage and the pipeline state's name ↔ pipeline_stage.
//
// The package is pure: no I/O, no provider types.
package ligomap

import (
	"fmt"
	"strings"
	"time"

	"github.com/crmsync/crmsync/mapping"
)

// Statuses lists Ligo's contact statuses in Ligo's own order. Ligo sets the
// status itself: it cannot be written through the API.
var Statuses = []string{"pending", "enriched", "contacted", "qualified", "converted", "lost"}

// Holds lists the canonical fields a Ligo contact stores and reads back.
var Holds = mapping.NewFieldSet(
	mapping.FieldFirstName, mapping.FieldLastName, mapping.FieldEmails, mapping.FieldPhones,
	mapping.FieldLinkedIn, mapping.FieldCompany, mapping.FieldJobTitle, mapping.FieldWebsite,
	mapping.FieldAddress, mapping.FieldNotes, mapping.FieldLeadStage, mapping.FieldPipelineStage,
)

// Creates lists the canonical fields POST /api/contacts can set: everything
// held but the read-only status and the pipeline state (which only the
// pipeline-state route writes).
var Creates = mapping.NewFieldSet(
	mapping.FieldFirstName, mapping.FieldLastName, mapping.FieldEmails, mapping.FieldPhones,
	mapping.FieldLinkedIn, mapping.FieldCompany, mapping.FieldJobTitle, mapping.FieldWebsite,
	mapping.FieldAddress, mapping.FieldNotes,
)

// Updates lists the canonical fields an update can set: the PATCH fields plus
// pipeline_stage, which the adapter writes through the pipeline-state route.
var Updates = Creates | mapping.NewFieldSet(mapping.FieldPipelineStage)

// PatchFields lists the canonical fields PATCH /api/contacts/{id} itself
// writes (Updates without pipeline_stage).
var PatchFields = Creates

// PipelineState is a contact's embedded pipeline state, `{id,name}`.
type PipelineState struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Contact is a Ligo contact as GET /api/contacts and GET /api/contacts/{id}
// answer it (JSON-LD keys @id and @type included). Nullable strings decode to
// "" when null or absent.
type Contact struct {
	LDID           string         `json:"@id,omitempty"`
	LDType         string         `json:"@type,omitempty"`
	ID             string         `json:"id"`
	Name           string         `json:"name"`
	Emails         []string       `json:"emails"`
	Phones         []string       `json:"phones"`
	Company        string         `json:"company"`
	Position       string         `json:"position"`
	Address        string         `json:"address"`
	Website        string         `json:"website"`
	LinkedinURL    string         `json:"linkedinUrl"`
	AdditionalInfo string         `json:"additionalInfo"`
	MeetingContext string         `json:"meetingContext"`
	Status         string         `json:"status"`
	PipelineState  *PipelineState `json:"pipelineState"`
	CreatedAt      string         `json:"createdAt"`
	UpdatedAt      string         `json:"updatedAt"`
}

// PipelineStateItem is one entry of GET /api/pipeline_states.
type PipelineStateItem struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Color    string `json:"color"`
	Position int    `json:"position"`
}

// ContactInput is the body of POST /api/contacts. Empty fields are left out.
type ContactInput struct {
	Name           string   `json:"name"`
	Emails         []string `json:"emails,omitempty"`
	Phones         []string `json:"phones,omitempty"`
	Company        string   `json:"company,omitempty"`
	Position       string   `json:"position,omitempty"`
	Address        string   `json:"address,omitempty"`
	Website        string   `json:"website,omitempty"`
	LinkedinURL    string   `json:"linkedinUrl,omitempty"`
	AdditionalInfo string   `json:"additionalInfo,omitempty"`
}

// Patch is a JSON merge-patch body of PATCH /api/contacts/{id}: API key →
// value, where a string is set, nil (JSON null) clears a string field and a
// []string (possibly empty) replaces a list.
type Patch map[string]any

// PipelineStateInput is the body of PATCH /api/contacts/{id}/pipeline-state;
// a nil StateID removes the contact from the pipeline.
type PipelineStateInput struct {
	StateID *string `json:"stateId"`
}

// ErrNoName is returned by FromPerson for a person with neither first nor last
// name: Ligo requires name.
var ErrNoName = fmt.Errorf("ligo requires a name: the person has neither first nor last name")

// TimeLayout is the layout of the timestamps Ligo's simulator writes: RFC 3339
// UTC with milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// ParseTime parses a Ligo timestamp (any RFC 3339 form, with or without
// fractional seconds) and returns it in UTC.
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("parse timestamp %q: %w", s, err)
	}
	return t.UTC(), nil
}

// ToPerson maps a Ligo contact to the canonical person. stages maps the
// read-only status (pending and enriched → new by default); region is the
// default phone region. changedAt is updatedAt (zero when absent or invalid).
// issues lists the values that could not be mapped: invalid emails (dropped),
// a LinkedIn URL that is not a profile (kept as given), an unknown status, a
// bad timestamp.
func ToPerson(c Contact, stages mapping.StageMap, region string) (p mapping.Person, changedAt time.Time, issues []string) {
	p.FirstName, p.LastName = mapping.SplitFullName(c.Name)
	p.Emails = c.Emails
	p.Phones = c.Phones
	p.LinkedIn = c.LinkedinURL
	p.Company = c.Company
	p.JobTitle = c.Position
	p.Address = c.Address
	p.Website = c.Website
	p.Notes = c.AdditionalInfo
	// The canonical rules: emails validated (invalid ones dropped and
	// reported), phones E.164 where parseable (raw otherwise), a LinkedIn URL
	// that is not a profile kept and reported, texts trimmed and collapsed.
	issues = p.Normalize(region)
	if st := strings.TrimSpace(c.Status); st != "" {
		if s, ok := stages.Inbound(st); ok {
			p.LeadStage = s
		} else {
			issues = append(issues, fmt.Sprintf("status: unmapped value %q", st))
		}
	}
	if c.PipelineState != nil {
		p.PipelineStage = strings.TrimSpace(c.PipelineState.Name)
	}
	if c.UpdatedAt != "" {
		t, err := ParseTime(c.UpdatedAt)
		if err != nil {
			issues = append(issues, "updatedAt: "+err.Error())
		} else {
			changedAt = t
		}
	}
	return p, changedAt, issues
}

// FromPerson builds the create body for p: name = first + " " + last, emails
// and phones primary first, empty fields left out. The read-only status and
// the pipeline stage are not part of a create. A person without any name is
// ErrNoName.
func FromPerson(p mapping.Person) (ContactInput, error) {
	name := mapping.JoinName(p.FirstName, p.LastName)
	if name == "" {
		return ContactInput{}, ErrNoName
	}
	return ContactInput{
		Name:           name,
		Emails:         nonEmpty(p.Emails),
		Phones:         nonEmpty(p.Phones),
		Company:        strings.TrimSpace(p.Company),
		Position:       strings.TrimSpace(p.JobTitle),
		Address:        strings.TrimSpace(p.Address),
		Website:        strings.TrimSpace(p.Website),
		LinkedinURL:    strings.TrimSpace(p.LinkedIn),
		AdditionalInfo: strings.TrimSpace(p.Notes),
	}, nil
}

// Diff builds the merge-patch that makes a contact holding current hold
// desired, for the fields of PatchFields: only fields whose values differ
// (mapping.Equal) are sent; a cleared string is null, a cleared list is [].
// The name is sent whole when first or last name differs; a desired person
// without any name is ErrNoName (Ligo cannot clear the name).
func Diff(current, desired mapping.Person) (Patch, error) {
	patch := Patch{}
	if !mapping.Equal(mapping.FieldFirstName, current.Get(mapping.FieldFirstName), desired.Get(mapping.FieldFirstName)) ||
		!mapping.Equal(mapping.FieldLastName, current.Get(mapping.FieldLastName), desired.Get(mapping.FieldLastName)) {
		name := mapping.JoinName(desired.FirstName, desired.LastName)
		if name == "" {
			return nil, ErrNoName
		}
		patch["name"] = name
	}
	lists := []struct {
		f   mapping.Field
		key string
	}{{mapping.FieldEmails, "emails"}, {mapping.FieldPhones, "phones"}}
	for _, l := range lists {
		if !mapping.Equal(l.f, current.Get(l.f), desired.Get(l.f)) {
			v := nonEmpty(desired.Get(l.f))
			if v == nil {
				v = []string{}
			}
			patch[l.key] = v
		}
	}
	for _, s := range scalarFields {
		cur, want := current.Get(s.f), desired.Get(s.f)
		if mapping.Equal(s.f, cur, want) {
			continue
		}
		if v := strings.TrimSpace(want.String()); v != "" {
			patch[s.key] = v
		} else {
			patch[s.key] = nil
		}
	}
	return patch, nil
}

// scalarFields pairs the canonical string fields with their Ligo keys.
var scalarFields = []struct {
	f   mapping.Field
	key string
}{
	{mapping.FieldLinkedIn, "linkedinUrl"},
	{mapping.FieldCompany, "company"},
	{mapping.FieldJobTitle, "position"},
	{mapping.FieldWebsite, "website"},
	{mapping.FieldAddress, "address"},
	{mapping.FieldNotes, "additionalInfo"},
}

func nonEmpty(in []string) []string {
	var out []string
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
