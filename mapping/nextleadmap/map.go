package nextleadmap

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync/mapping"
)

// Holds lists the canonical fields a NextLead contact stores and reads back.
// pipeline_stage is write-only (no route reads a contact's sale back).
var Holds = mapping.NewFieldSet(
	mapping.FieldFirstName, mapping.FieldLastName, mapping.FieldEmails, mapping.FieldPhones,
	mapping.FieldLinkedIn, mapping.FieldJobTitle, mapping.FieldWebsite, mapping.FieldFacebook,
	mapping.FieldInstagram, mapping.FieldTwitter, mapping.FieldNotes, mapping.FieldLeadStage,
	mapping.FieldLeadScore,
)

// Creates lists the fields new-contact can set. Only the primary email and
// the primary phone are written (email2, mobile and phone_pro are read-only).
var Creates = mapping.NewFieldSet(
	mapping.FieldFirstName, mapping.FieldLastName, mapping.FieldEmails, mapping.FieldPhones,
	mapping.FieldLinkedIn, mapping.FieldFacebook, mapping.FieldInstagram, mapping.FieldLeadStage,
	mapping.FieldLeadScore,
)

// Updates lists the fields edit-contact can set (values_update[0]). Email and
// LinkedIn are not writable once the contact exists; only the primary phone
// is written.
var Updates = mapping.NewFieldSet(
	mapping.FieldFirstName, mapping.FieldLastName, mapping.FieldPhones, mapping.FieldLeadStage,
	mapping.FieldLeadScore,
)

// RequireOneOf lists the fields of which a create needs at least one.
var RequireOneOf = []mapping.Field{mapping.FieldEmails, mapping.FieldLinkedIn}

// ErrNoIdentity is returned by FromPerson for a person with neither an email
// nor a LinkedIn URL, which NextLead refuses.
var ErrNoIdentity = errors.New("a NextLead contact needs an email or a LinkedIn URL")

// ToPerson maps a contact to the canonical model. stages maps conversion
// status tag names (the zero StageMap means mapping.DefaultStageMap("nextlead"));
// region is the default phone region. changedAt is updated_at (created_at
// when absent; zero when neither parses). issues lists values that could not
// be mapped: invalid emails (dropped), LinkedIn URLs that are not profiles
// (dropped), unmapped conversion statuses and unparseable timestamps.
func ToPerson(c *Contact, stages mapping.StageMap, region string) (p mapping.Person, changedAt time.Time, issues []string) {
	if stages.In == nil {
		stages = mapping.DefaultStageMap("nextlead")
	}
	p.FirstName = mapping.CollapseSpace(c.FirstName)
	p.LastName = mapping.CollapseSpace(c.LastName)
	for _, raw := range []string{c.Email, c.Email2} {
		if strings.TrimSpace(raw) == "" {
			continue
		}
		e, err := mapping.NormalizeEmail(raw)
		if err != nil {
			issues = append(issues, fmt.Sprintf("email: %v", err))
			continue
		}
		if !slices.Contains(p.Emails, e) {
			p.Emails = append(p.Emails, e)
		}
	}
	for _, raw := range []string{c.Phone, c.Mobile, c.PhonePro} {
		k := mapping.NormalizePhone(raw, region).Key()
		if k != "" && !slices.Contains(p.Phones, k) {
			p.Phones = append(p.Phones, k)
		}
	}
	if strings.TrimSpace(c.LinkedIn) != "" {
		u, err := mapping.NormalizeLinkedIn(c.LinkedIn)
		if err != nil {
			issues = append(issues, fmt.Sprintf("linkedin: %v", err))
		} else {
			p.LinkedIn = u
		}
	}
	p.JobTitle = mapping.CollapseSpace(c.Activity)
	p.Website = strings.TrimSpace(c.Website)
	p.Facebook = strings.TrimSpace(c.Facebook)
	p.Instagram = strings.TrimSpace(c.Instagram)
	p.Twitter = strings.TrimSpace(c.Twitter)
	p.Notes = strings.TrimSpace(c.Comment)
	if cs := strings.TrimSpace(c.ConversionStatus); cs != "" {
		if s, ok := stages.Inbound(cs); ok {
			p.LeadStage = s
		} else {
			issues = append(issues, fmt.Sprintf("conversion_status: %q maps to no lead stage", cs))
		}
	}
	p.LeadScore = c.LeadScore.Ptr()
	for _, ts := range []string{c.UpdatedAt, c.CreatedAt} {
		if ts == "" {
			continue
		}
		t, err := ParseTime(ts)
		if err != nil {
			issues = append(issues, err.Error())
			continue
		}
		changedAt = t
		break
	}
	return p, changedAt, issues
}

// outboundStage returns the tag name to write for s, "" when none maps.
func outboundStage(s mapping.Stage, stages mapping.StageMap, catalog []string) string {
	if stages.In == nil {
		stages = mapping.DefaultStageMap("nextlead")
	}
	v, _ := stages.Outbound(s, catalog)
	return v
}

// StageWritable reports whether stage s can be written given the catalog of
// conversion status tag names (in the API's order); an empty stage is
// trivially writable (it is not written).
func StageWritable(s mapping.Stage, stages mapping.StageMap, catalog []string) bool {
	return s == "" || outboundStage(s, stages, catalog) != ""
}

// FromPerson builds the new-contact body for p: the primary email, the
// primary phone, the LinkedIn URL, Facebook and Instagram in socials[0], and
// the lead score and conversion status (the first tag of catalog, in the API's
// order, whose name maps to p.LeadStage; none when no tag maps) in
// nextlead_config[0]. A person with neither email nor LinkedIn is
// ErrNoIdentity.
func FromPerson(p mapping.Person, stages mapping.StageMap, catalog []string) (NewContact, error) {
	if p.PrimaryEmail() == "" && p.LinkedIn == "" {
		return NewContact{}, ErrNoIdentity
	}
	nc := NewContact{
		FirstName: p.FirstName,
		LastName:  p.LastName,
		Email:     p.PrimaryEmail(),
		Phone:     p.PrimaryPhone(),
	}
	if s := (Socials{LinkedIn: p.LinkedIn, Facebook: p.Facebook, Instagram: p.Instagram}); s != (Socials{}) {
		nc.Socials = []Socials{s}
	}
	cfg := Config{LeadScore: ScoreOf(p.LeadScore), ConversionStatus: outboundStage(p.LeadStage, stages, catalog)}
	if cfg != (Config{}) {
		nc.NextleadConfig = []Config{cfg}
	}
	return nc, nil
}

// UpdateValues builds values_update[0] making a contact that holds current
// hold desired for the fields in Updates: only the fields that differ are
// sent; a cleared name or phone is sent as "". A lead score or a lead stage
// cannot be cleared through the API, and a stage no tag maps to is not sent.
func UpdateValues(current, desired mapping.Person, stages mapping.StageMap, catalog []string) Values {
	var v Values
	diff := func(f mapping.Field) bool {
		return !mapping.Equal(f, current.Get(f), desired.Get(f))
	}
	if diff(mapping.FieldFirstName) {
		v.FirstName = ptr(desired.FirstName)
	}
	if diff(mapping.FieldLastName) {
		v.LastName = ptr(desired.LastName)
	}
	if mapping.NormalizePhone(current.PrimaryPhone(), "").Key() != mapping.NormalizePhone(desired.PrimaryPhone(), "").Key() {
		v.Phone = ptr(desired.PrimaryPhone())
	}
	if diff(mapping.FieldLeadScore) && desired.LeadScore != nil {
		v.LeadScore = ScoreOf(desired.LeadScore)
	}
	if diff(mapping.FieldLeadStage) {
		v.ConversionStatus = outboundStage(desired.LeadStage, stages, catalog)
	}
	return v
}

func ptr(s string) *string { return &s }

// ApplyCreate returns the contact new-contact creates from nc (id and
// timestamps left to the caller).
func ApplyCreate(nc NewContact) Contact {
	c := Contact{
		Type:      "LEAD",
		Status:    "ACTIVE",
		FirstName: nc.FirstName,
		LastName:  nc.LastName,
		Email:     strings.TrimSpace(nc.Email),
		Phone:     nc.Phone,
	}
	if len(nc.Socials) > 0 {
		c.LinkedIn = strings.TrimSpace(nc.Socials[0].LinkedIn)
		c.Facebook = nc.Socials[0].Facebook
		c.Instagram = nc.Socials[0].Instagram
	}
	if len(nc.NextleadConfig) > 0 {
		c.LeadScore = nc.NextleadConfig[0].LeadScore
		c.ConversionStatus = nc.NextleadConfig[0].ConversionStatus
		if l := nc.NextleadConfig[0].AddToList; l != "" {
			c.ListIDs = append(c.ListIDs, l)
		}
	}
	return c
}

// ApplyPerson writes into c, as a person using NextLead's screens would,
// every held field whose canonical value differs between before (the
// contact's canonical view) and after. Lists are written in order: emails to
// email and email2, phones to phone, mobile and phone_pro (values beyond
// those slots are dropped). A lead stage no tag of catalog maps to is left
// as it is.
func ApplyPerson(c *Contact, before, after mapping.Person, stages mapping.StageMap, catalog []string) {
	diff := func(f mapping.Field) bool {
		b, a := before.Get(f), after.Get(f)
		if len(b) == 0 || len(a) == 0 {
			return len(b) != len(a)
		}
		return !mapping.Equal(f, b, a)
	}
	at := func(l []string, i int) string {
		if i < len(l) {
			return l[i]
		}
		return ""
	}
	if diff(mapping.FieldFirstName) {
		c.FirstName = after.FirstName
	}
	if diff(mapping.FieldLastName) {
		c.LastName = after.LastName
	}
	if diff(mapping.FieldEmails) {
		c.Email, c.Email2 = at(after.Emails, 0), at(after.Emails, 1)
	}
	if diff(mapping.FieldPhones) {
		c.Phone, c.Mobile, c.PhonePro = at(after.Phones, 0), at(after.Phones, 1), at(after.Phones, 2)
	}
	if diff(mapping.FieldLinkedIn) {
		c.LinkedIn = after.LinkedIn
	}
	if diff(mapping.FieldJobTitle) {
		c.Activity = after.JobTitle
	}
	if diff(mapping.FieldWebsite) {
		c.Website = after.Website
	}
	if diff(mapping.FieldFacebook) {
		c.Facebook = after.Facebook
	}
	if diff(mapping.FieldInstagram) {
		c.Instagram = after.Instagram
	}
	if diff(mapping.FieldTwitter) {
		c.Twitter = after.Twitter
	}
	if diff(mapping.FieldNotes) {
		c.Comment = after.Notes
	}
	if diff(mapping.FieldLeadStage) {
		if after.LeadStage == "" {
			c.ConversionStatus = ""
		} else if v := outboundStage(after.LeadStage, stages, catalog); v != "" {
			c.ConversionStatus = v
		}
	}
	if diff(mapping.FieldLeadScore) {
		c.LeadScore = ScoreOf(after.LeadScore)
	}
}

// LinkedInSpellings returns the spellings under which a canonical LinkedIn
// URL (https://www.linkedin.com/in/<slug>) is commonly stored, the canonical
// form first. NextLead compares the stored string exactly, so a lookup tries
// them in turn; a spelling not in this list (upper-case slug, country
// subdomain, query string) cannot be found.
func LinkedInSpellings(canonical string) []string {
	u, err := mapping.NormalizeLinkedIn(canonical)
	if err != nil {
		u = strings.TrimSpace(canonical)
		if u == "" {
			return nil
		}
		return []string{u}
	}
	rest := strings.TrimPrefix(u, "https://www.")
	return []string{
		u,
		u + "/",
		"https://" + rest,
		"https://" + rest + "/",
		"http://www." + rest,
		"www." + rest,
		rest,
	}
}

// ApplyValues applies values_update[0] to c as edit-contact does: a set name
// or phone replaces the stored one ("" clears it), a score or a status
// replaces the stored one, add_to_list appends a list.
func ApplyValues(c *Contact, v Values) {
	if v.FirstName != nil {
		c.FirstName = *v.FirstName
	}
	if v.LastName != nil {
		c.LastName = *v.LastName
	}
	if v.Phone != nil {
		c.Phone = *v.Phone
	}
	if v.LeadScore.Valid {
		c.LeadScore = v.LeadScore
	}
	if v.ConversionStatus != "" {
		c.ConversionStatus = v.ConversionStatus
	}
	if v.AddToList != "" {
		c.ListIDs = append(c.ListIDs, v.AddToList)
	}
}

// ApplyValuesToPerson applies values_update[0] to p, the canonical view of a
// contact (ToPerson's result), as ApplyValues and then ToPerson would: names
// as stored and read back, the score, and the lead stage the new status maps
// to (none when it maps to none). It reports false, leaving p unchanged, when
// v sets the phone: the canonical phones do not say which of phone, mobile
// and phone_pro each came from, so the contact's phones after the edit
// cannot be known from p.
func ApplyValuesToPerson(p *mapping.Person, v Values, stages mapping.StageMap) bool {
	if v.Phone != nil {
		return false
	}
	if stages.In == nil {
		stages = mapping.DefaultStageMap("nextlead")
	}
	if v.FirstName != nil {
		p.FirstName = mapping.CollapseSpace(*v.FirstName)
	}
	if v.LastName != nil {
		p.LastName = mapping.CollapseSpace(*v.LastName)
	}
	if v.LeadScore.Valid {
		p.LeadScore = v.LeadScore.Ptr()
	}
	if v.ConversionStatus != "" {
		p.LeadStage = ""
		if cs := strings.TrimSpace(v.ConversionStatus); cs != "" {
			if s, ok := stages.Inbound(cs); ok {
				p.LeadStage = s
			}
		}
	}
	return true
}
