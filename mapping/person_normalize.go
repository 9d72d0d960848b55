package mapping

import (
	"fmt"
	"slices"
	"strings"
)

// Normalize puts p's values in the canonical form the Person doc describes,
// in place, and returns a message for each value it had to drop or could not
// canonicalize: names and short texts by NormalizeText; emails by
// NormalizeEmails (invalid addresses dropped and reported); phones by
// NormalizePhones with region (unparseable numbers kept raw, not reported);
// the LinkedIn URL by NormalizeLinkedIn (a URL that is not a profile is kept
// trimmed, is never identity, and is reported); the lead stage lower-cased
// (an unknown stage is dropped and reported). Notes keep their line breaks
// (only trimmed).
func (p *Person) Normalize(region string) (issues []string) {
	p.FirstName = NormalizeText(p.FirstName)
	p.LastName = NormalizeText(p.LastName)
	p.Company = NormalizeText(p.Company)
	p.JobTitle = NormalizeText(p.JobTitle)
	p.Address = NormalizeText(p.Address)
	p.Owner = NormalizeText(p.Owner)
	p.PipelineStage = NormalizeText(p.PipelineStage)
	p.Website = strings.TrimSpace(p.Website)
	p.Facebook = strings.TrimSpace(p.Facebook)
	p.Instagram = strings.TrimSpace(p.Instagram)
	p.Twitter = strings.TrimSpace(p.Twitter)
	p.Notes = strings.TrimSpace(p.Notes)

	p.Emails, issues = NormalizeEmails(p.Emails)
	p.Phones = NormalizePhones(p.Phones, region)

	if li := strings.TrimSpace(p.LinkedIn); li != "" {
		u, err := NormalizeLinkedIn(li)
		if err != nil {
			issues = append(issues, err.Error())
			u = cutBytes(li, MaxFieldLen)
		}
		p.LinkedIn = u
	} else {
		p.LinkedIn = ""
	}

	if p.LeadStage != "" {
		st := Stage(stageKey(string(p.LeadStage)))
		if !ValidStage(st) {
			issues = append(issues, fmt.Sprintf("unknown lead stage %q dropped", truncate(string(p.LeadStage))))
			st = ""
		}
		p.LeadStage = st
	}
	return issues
}

// Identity returns p's identity keys: the EmailKey of every valid email, then
// the canonical LinkedIn URL when p has a profile URL. Phones and names are
// never identity. A person with no key cannot be matched, only created.
func (p *Person) Identity() []string {
	var out []string
	for _, e := range p.Emails {
		if k, err := EmailKey(e); err == nil && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	if u, err := NormalizeLinkedIn(p.LinkedIn); err == nil {
		out = append(out, u)
	}
	return out
}
