// Package mapping holds crmsync's canonical person model, the normalizers that
// decide what "the same person" and "the same value" mean, and the lead-stage
// and pipeline-stage maps. Per-CRM field maps live in the subpackages
// mapping/nextleadmap, mapping/skarbemap, mapping/epixelmap and
// mapping/ligomap, each built on this package.
package mapping

import (
	"slices"
	"time"
)

// Field names one canonical field. The names are the column names of the
// canonical map in providers.md and are stored in the database as they are.
type Field string

// The canonical fields.
const (
	FieldFirstName     Field = "first_name"
	FieldLastName      Field = "last_name"
	FieldEmails        Field = "emails"
	FieldPhones        Field = "phones"
	FieldLinkedIn      Field = "linkedin_url"
	FieldCompany       Field = "company"
	FieldJobTitle      Field = "job_title"
	FieldWebsite       Field = "website"
	FieldAddress       Field = "address"
	FieldFacebook      Field = "facebook"
	FieldInstagram     Field = "instagram"
	FieldTwitter       Field = "twitter"
	FieldNotes         Field = "notes"
	FieldLeadStage     Field = "lead_stage"
	FieldPipelineStage Field = "pipeline_stage"
	FieldLeadScore     Field = "lead_score"
	FieldOwner         Field = "owner"
)

// AllFields lists every canonical field in a fixed order (the order used for
// hashing, history and display).
var AllFields = []Field{
	FieldFirstName, FieldLastName, FieldEmails, FieldPhones, FieldLinkedIn,
	FieldCompany, FieldJobTitle, FieldWebsite, FieldAddress, FieldFacebook,
	FieldInstagram, FieldTwitter, FieldNotes, FieldLeadStage, FieldPipelineStage,
	FieldLeadScore, FieldOwner,
}

// FieldSet is a set of canonical fields, as a bit set so that capability
// checks on the hot path cost nothing.
type FieldSet uint32

func fieldBit(f Field) FieldSet {
	i := slices.Index(AllFields, f)
	if i < 0 {
		return 0
	}
	return 1 << uint(i)
}

// NewFieldSet returns the set of the given fields.
func NewFieldSet(fields ...Field) FieldSet {
	var s FieldSet
	for _, f := range fields {
		s |= fieldBit(f)
	}
	return s
}

// Has reports whether f is in the set.
func (s FieldSet) Has(f Field) bool { return s&fieldBit(f) != 0 }

// Fields lists the set's fields in AllFields order.
func (s FieldSet) Fields() []Field {
	var out []Field
	for _, f := range AllFields {
		if s.Has(f) {
			out = append(out, f)
		}
	}
	return out
}

// Stage is a canonical lead stage.
type Stage string

// The canonical lead stages of providers.md.
const (
	StageNew          Stage = "new"
	StageContacted    Stage = "contacted"
	StageQualified    Stage = "qualified"
	StageConverted    Stage = "converted"
	StageLost         Stage = "lost"
	StageDisqualified Stage = "disqualified"
)

// Stages lists the canonical lead stages.
var Stages = []Stage{StageNew, StageContacted, StageQualified, StageConverted, StageLost, StageDisqualified}

// ValidStage reports whether s is a canonical lead stage.
func ValidStage(s Stage) bool { return slices.Contains(Stages, s) }

// Person is the canonical record of one person: the fields of the canonical
// map in providers.md. Values are held normalized: emails trimmed and
// lower-cased, the LinkedIn URL canonical, phones E.164 where parseable
// (Person.Normalize puts a record in this form). The zero value of a field
// means "no value". Only emails and the LinkedIn URL identify a person
// (Person.Identity); phones and names are values.
type Person struct {
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	// Emails holds every address, the primary first, without duplicates.
	Emails []string `json:"emails,omitempty"`
	// Phones holds every number, the primary first, E.164 where parseable and
	// the raw text otherwise.
	Phones        []string `json:"phones,omitempty"`
	LinkedIn      string   `json:"linkedin_url,omitempty"`
	Company       string   `json:"company,omitempty"`
	JobTitle      string   `json:"job_title,omitempty"`
	Website       string   `json:"website,omitempty"`
	Address       string   `json:"address,omitempty"`
	Facebook      string   `json:"facebook,omitempty"`
	Instagram     string   `json:"instagram,omitempty"`
	Twitter       string   `json:"twitter,omitempty"`
	Notes         string   `json:"notes,omitempty"`
	LeadStage     Stage    `json:"lead_stage,omitempty"`
	PipelineStage string   `json:"pipeline_stage,omitempty"`
	// LeadScore is nil when unknown.
	LeadScore *int   `json:"lead_score,omitempty"`
	Owner     string `json:"owner,omitempty"`
}

// Provenance says which connection set a field's value and when: the CRM's own
// change time where it has one, the observation time otherwise.
type Provenance struct {
	Connection string    `json:"connection"`
	At         time.Time `json:"at"`
}

// PrimaryEmail returns the first email, or "".
func (p *Person) PrimaryEmail() string {
	if len(p.Emails) == 0 {
		return ""
	}
	return p.Emails[0]
}

// PrimaryPhone returns the first phone, or "".
func (p *Person) PrimaryPhone() string {
	if len(p.Phones) == 0 {
		return ""
	}
	return p.Phones[0]
}

// Clone returns a deep copy of p.
func (p Person) Clone() Person {
	p.Emails = slices.Clone(p.Emails)
	p.Phones = slices.Clone(p.Phones)
	if p.LeadScore != nil {
		v := *p.LeadScore
		p.LeadScore = &v
	}
	return p
}
