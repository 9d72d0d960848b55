package skarbemap

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/crmsync/crmsync/mapping"
)

// Holds lists the canonical fields Skarbe stores and lists back.
var Holds = mapping.NewFieldSet(
	mapping.FieldFirstName, mapping.FieldLastName, mapping.FieldEmails, mapping.FieldPhones,
	mapping.FieldLinkedIn, mapping.FieldCompany, mapping.FieldJobTitle, mapping.FieldFacebook,
	mapping.FieldInstagram, mapping.FieldNotes, mapping.FieldLeadStage,
)

// Creates lists the canonical fields a create can set: what Skarbe holds plus
// twitter (twitterUrl is create-only, never listed back).
var Creates = Holds | mapping.NewFieldSet(mapping.FieldTwitter)

// Updates is empty: Skarbe has no update route.
var Updates mapping.FieldSet

// RequireOneOf lists the fields of which a create needs at least one.
var RequireOneOf = []mapping.Field{mapping.FieldEmails, mapping.FieldFirstName}

// ErrRequired is wrapped by FromPerson when a person has neither an email
// nor a first name.
var ErrRequired = errors.New(MsgRequired)

// Catalog is Skarbe's lead-status catalog, as GET
// /api/connect/contacts/lead-statuses lists it.
type Catalog []LeadStatus

// ByID returns the status with id, and false when the catalog has none.
func (c Catalog) ByID(id ID) (LeadStatus, bool) {
	for _, s := range c {
		if s.ID == id {
			return s, true
		}
	}
	return LeadStatus{}, false
}

// Ordered returns a copy of the catalog sorted by order (stable, so ties keep
// the API's order).
func (c Catalog) Ordered() Catalog {
	out := slices.Clone(c)
	slices.SortStableFunc(out, func(a, b LeadStatus) int { return cmp.Compare(a.Order, b.Order) })
	return out
}

// StageOf maps a status ID to a canonical stage through its type and the
// stage map. ok is false when the ID is not in the catalog or its type is
// unmapped; issue then says why.
func (c Catalog) StageOf(id ID, stages mapping.StageMap) (stage mapping.Stage, issue string, ok bool) {
	st, found := c.ByID(id)
	if !found {
		return "", fmt.Sprintf("leadStatus %s is not in the lead-status catalog", id), false
	}
	s, mapped := stages.Inbound(st.Type)
	if !mapped {
		return "", fmt.Sprintf("leadStatus %s (%q, type %q) maps to no lead stage", id, st.Label, st.Type), false
	}
	return s, "", true
}

// StatusFor returns the status to write for a canonical stage: the first
// status by order whose type maps to the stage (or, where the stage map names
// an outbound type, the first status of that type). ok is false when no
// status fits; the stage is then not written.
func (c Catalog) StatusFor(stage mapping.Stage, stages mapping.StageMap) (LeadStatus, bool) {
	if stage == "" {
		return LeadStatus{}, false
	}
	ordered := c.Ordered()
	types := make([]string, len(ordered))
	for i, s := range ordered {
		types[i] = s.Type
	}
	typ, ok := stages.Outbound(stage, types)
	if !ok {
		return LeadStatus{}, false
	}
	for _, s := range ordered {
		if strings.EqualFold(strings.TrimSpace(s.Type), strings.TrimSpace(typ)) {
			return s, true
		}
	}
	return LeadStatus{}, false
}

// ToPerson maps a listed contact to a canonical person. region is the default
// phone region ("" means mapping.DefaultRegion); catalog resolves leadStatus
// IDs to types. Values that cannot be mapped are reported in issues: an
// invalid email is dropped, a LinkedIn URL that is not a profile is kept as
// typed, an unknown or unmapped lead status leaves the stage empty. Skarbe
// has no change time, so none is returned.
func ToPerson(c Contact, stages mapping.StageMap, region string, catalog Catalog) (mapping.Person, []string) {
	p := mapping.Person{
		FirstName: c.FirstName,
		LastName:  c.LastName,
		Phones:    c.PhoneNumbers,
		LinkedIn:  c.LinkedInURL,
		Company:   c.CompanyName,
		JobTitle:  c.JobTitle,
		Facebook:  c.FacebookURL,
		Instagram: c.InstagramURL,
		Notes:     c.Note,
	}
	if mapping.NormalizeText(c.FirstName) == "" && mapping.NormalizeText(c.LastName) == "" {
		p.FirstName, p.LastName = mapping.SplitFullName(c.FullName)
	}
	if strings.TrimSpace(c.Email) != "" {
		p.Emails = []string{c.Email}
	}
	issues := p.Normalize(region)
	if c.LeadStatus != nil && c.LeadStatus.ID != "" {
		if s, issue, ok := catalog.StageOf(c.LeadStatus.ID, stages); ok {
			p.LeadStage = s
		} else {
			issues = append(issues, issue)
		}
	}
	return p, issues
}

// FromPerson builds the create body for p: the primary email only, every
// phone, names as they are, twitter included (create-only). The lead stage is
// written as the first status by order whose type maps to it; a stage no
// status fits is left out (not an error). A person with neither an email nor
// a first name wraps ErrRequired; an invalid primary email wraps
// mapping.ErrInvalidEmail.
func FromPerson(p mapping.Person, stages mapping.StageMap, catalog Catalog) (CreateContact, error) {
	var b CreateContact
	if e := p.PrimaryEmail(); strings.TrimSpace(e) != "" {
		n, err := mapping.NormalizeEmail(e)
		if err != nil {
			return CreateContact{}, fmt.Errorf("email: %w", err)
		}
		b.Email = n
	}
	b.FirstName = mapping.NormalizeText(p.FirstName)
	if b.Email == "" && b.FirstName == "" {
		return CreateContact{}, fmt.Errorf("skarbe create: %w", ErrRequired)
	}
	b.LastName = mapping.NormalizeText(p.LastName)
	b.JobTitle = mapping.NormalizeText(p.JobTitle)
	b.CompanyName = mapping.NormalizeText(p.Company)
	for _, ph := range p.Phones {
		if ph = strings.TrimSpace(ph); ph != "" && !slices.Contains(b.PhoneNumbers, ph) {
			b.PhoneNumbers = append(b.PhoneNumbers, ph)
		}
	}
	b.FacebookURL = strings.TrimSpace(p.Facebook)
	b.InstagramURL = strings.TrimSpace(p.Instagram)
	b.LinkedInURL = strings.TrimSpace(p.LinkedIn)
	b.TwitterURL = strings.TrimSpace(p.Twitter)
	b.Note = strings.TrimSpace(p.Notes)
	if st, ok := catalog.StatusFor(p.LeadStage, stages); ok {
		b.LeadStatus = st.ID
	}
	return b, nil
}

// NeedsCatalog reports whether mapping c needs a catalog entry that catalog
// lacks (an adapter then refreshes its cached catalog).
func NeedsCatalog(c Contact, catalog Catalog) bool {
	if c.LeadStatus == nil || c.LeadStatus.ID == "" {
		return false
	}
	_, ok := catalog.ByID(c.LeadStatus.ID)
	return !ok
}
