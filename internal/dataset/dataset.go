// Package dataset generates deterministic, realistic and overlapping people
// for the four CRMs crmsync syncs: the truth (one canonical person per real
// person) and, per CRM, the records to seed in it, spelled as a person would
// have typed them there. The integration suite, `crmsync simulate`, the demo
// and the benchmark all draw from it.
//
// Every person is generated from (seed, index) alone, so a dataset can be
// streamed (Each, All, Generator.At) without holding it in memory, and the
// same seed always gives the same data.
package dataset

import (
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/mapping"
)

// The provider kinds, in the order placements list them.
const (
	NextLead = "nextlead"
	Skarbe   = "skarbe"
	Epixel   = "epixel"
	Ligo     = "ligo"
)

// Kinds lists the provider kinds a dataset places people in.
var Kinds = []string{NextLead, Skarbe, Epixel, Ligo}

// Record is one person's record in one CRM, as it should be seeded there.
type Record struct {
	// Kind is the CRM the record goes to.
	Kind string
	// Person holds the record's values as typed in the CRM's screens (mixed
	// case emails, local phone formats, LinkedIn spellings), restricted to the
	// fields that CRM holds.
	Person mapping.Person
	// Duplicate is true for the second record of a pre-existing duplicate
	// (Skarbe only).
	Duplicate bool
}

// Placement is one real person: the canonical truth and the records that
// hold them in the CRMs.
type Placement struct {
	// Person is the truth, canonical (normalized values). Where CRMs disagree
	// (see Conflicts) it holds the values of the first record.
	Person mapping.Person
	// Records lists the person's records, in Kinds order; a Skarbe duplicate
	// directly follows the Skarbe record.
	Records []Record
	// LinkedInOnly is true when some records share only the LinkedIn URL with
	// the rest (a different email or none).
	LinkedInOnly bool
	// Conflicts lists the fields whose values differ between records.
	Conflicts []mapping.Field
}

// CRMs returns the distinct kinds the person is placed in, in Kinds order.
func (p *Placement) CRMs() []string {
	var out []string
	for _, r := range p.Records {
		if !slices.Contains(out, r.Kind) {
			out = append(out, r.Kind)
		}
	}
	return out
}

// In reports whether the person has a record in kind.
func (p *Placement) In(kind string) bool {
	for _, r := range p.Records {
		if r.Kind == kind {
			return true
		}
	}
	return false
}

// config holds the generator's options.
type config struct {
	overlap     [4]float64 // probability of living in exactly 1..4 CRMs
	skarbeDups  float64    // fraction of Skarbe records duplicated
	conflicts   float64    // fraction of multi-CRM people whose fields differ
	linkedInOne float64    // fraction of eligible multi-CRM people linked by LinkedIn only
}

func defaultConfig() config {
	return config{overlap: [4]float64{0.4, 0.3, 0.2, 0.1}, skarbeDups: 0.05, conflicts: 0.15, linkedInOne: 0.25}
}

// Option changes how a dataset is generated.
type Option func(*config)

// WithOverlap sets the fractions of people living in exactly one, two, three
// and four CRMs (normalized to sum to 1). The default is 40/30/20/10.
func WithOverlap(one, two, three, four float64) Option {
	return func(c *config) {
		sum := one + two + three + four
		if sum <= 0 {
			return
		}
		c.overlap = [4]float64{one / sum, two / sum, three / sum, four / sum}
	}
}

// WithSkarbeDuplicates sets the fraction of Skarbe records that exist twice
// (default 0.05).
func WithSkarbeDuplicates(f float64) Option { return func(c *config) { c.skarbeDups = f } }

// WithConflicts sets the fraction of multi-CRM people whose records disagree
// on a field (default 0.15).
func WithConflicts(f float64) Option { return func(c *config) { c.conflicts = f } }

// WithLinkedInOnly sets the fraction of eligible multi-CRM people whose
// records share only the LinkedIn URL (default 0.25).
func WithLinkedInOnly(f float64) Option { return func(c *config) { c.linkedInOne = f } }

// Generator produces the placements of one seed.
type Generator struct {
	seed int64
	cfg  config
}

// New returns the generator of seed.
func New(seed int64, opts ...Option) *Generator {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	return &Generator{seed: seed, cfg: cfg}
}

// All streams the placements 0..n-1.
func (g *Generator) All(n int) iter.Seq2[int, Placement] {
	return func(yield func(int, Placement) bool) {
		for i := range n {
			if !yield(i, g.At(i)) {
				return
			}
		}
	}
}

// Each calls fn for the placements 0..n-1 in order.
func Each(seed int64, n int, fn func(i int, p Placement), opts ...Option) {
	g := New(seed, opts...)
	for i := range n {
		fn(i, g.At(i))
	}
}

// All streams the placements 0..n-1 of seed; break to stop early.
func All(seed int64, n int, opts ...Option) iter.Seq2[int, Placement] {
	return New(seed, opts...).All(n)
}

// Dataset is a generated dataset held in memory.
type Dataset struct {
	// Seed is the seed it was generated from.
	Seed int64
	// People is the truth: one canonical person per real person.
	People []mapping.Person
	// Seeds holds, per provider kind, the people to seed in that CRM (as
	// canonical Persons, spelled as typed there), duplicates included.
	Seeds map[string][]mapping.Person
	// Owners holds, per provider kind, the index in People of each entry of
	// Seeds[kind].
	Owners map[string][]int
	// Expected holds the dataset's facts, for tests.
	Expected Expected
}

// ForCRM returns the people to seed in kind.
func (d *Dataset) ForCRM(kind string) []mapping.Person { return d.Seeds[kind] }

// Expected are the facts of a dataset that tests check against.
type Expected struct {
	// People is the number of distinct people (the truth).
	People int
	// ByCount[k] is the number of people living in exactly k CRMs (k 1..4).
	ByCount [5]int
	// Records is the number of records per CRM, duplicates included.
	Records map[string]int
	// PeopleIn is the number of distinct people per CRM.
	PeopleIn map[string]int
	// Holdable is the number of people each CRM could hold (their truth
	// satisfies its constraints), whether placed there or not.
	Holdable map[string]int
	// SkarbeDuplicates is the number of duplicate Skarbe records.
	SkarbeDuplicates int
	// LinkedInOnly is the number of people linked only by LinkedIn somewhere.
	LinkedInOnly int
	// Conflicts is the number of people whose records disagree on a field.
	Conflicts int
	// NoPhone and NoLastName count people without a phone or last name.
	NoPhone, NoLastName int
}

func newExpected() Expected {
	return Expected{Records: map[string]int{}, PeopleIn: map[string]int{}, Holdable: map[string]int{}}
}

func (e *Expected) add(p *Placement) {
	e.People++
	crms := p.CRMs()
	e.ByCount[len(crms)]++
	for _, r := range p.Records {
		e.Records[r.Kind]++
		if r.Duplicate {
			e.SkarbeDuplicates++
		}
	}
	for _, k := range crms {
		e.PeopleIn[k]++
	}
	for _, k := range Kinds {
		if CanHold(k, p.Person) {
			e.Holdable[k]++
		}
	}
	if p.LinkedInOnly {
		e.LinkedInOnly++
	}
	if len(p.Conflicts) > 0 {
		e.Conflicts++
	}
	if len(p.Person.Phones) == 0 {
		e.NoPhone++
	}
	if p.Person.LastName == "" {
		e.NoLastName++
	}
}

// Generate builds a dataset of n people from seed in memory. For large n
// prefer Each or All, which hold one person at a time.
func Generate(seed int64, n int, opts ...Option) Dataset {
	g := New(seed, opts...)
	d := Dataset{
		Seed:     seed,
		People:   make([]mapping.Person, 0, n),
		Seeds:    map[string][]mapping.Person{},
		Owners:   map[string][]int{},
		Expected: newExpected(),
	}
	for i := range n {
		p := g.At(i)
		d.People = append(d.People, p.Person)
		for _, r := range p.Records {
			d.Seeds[r.Kind] = append(d.Seeds[r.Kind], r.Person)
			d.Owners[r.Kind] = append(d.Owners[r.Kind], i)
		}
		d.Expected.add(&p)
	}
	return d
}

// Facts computes the Expected facts of the first n placements of seed by
// streaming them.
func Facts(seed int64, n int, opts ...Option) Expected {
	e := newExpected()
	for _, p := range All(seed, n, opts...) {
		e.add(&p)
	}
	return e
}

// CanHold reports whether CRM kind can hold p (canonical or as typed) per
// providers.md: NextLead needs an email or a LinkedIn URL; Skarbe an email
// or a first name; Epixel a first name, last name, email and a phone of its
// format; Ligo a name (a first name, without spaces since Ligo splits the
// name at the first one). Unknown kinds hold nobody.
func CanHold(kind string, p mapping.Person) bool {
	switch kind {
	case NextLead:
		return len(p.Emails) > 0 || p.LinkedIn != ""
	case Skarbe:
		return len(p.Emails) > 0 || p.FirstName != ""
	case Epixel:
		return p.FirstName != "" && p.LastName != "" && len(p.Emails) > 0 &&
			len(p.Phones) > 0 && epixelPhone(p.Phones[0])
	case Ligo:
		return p.FirstName != "" && !strings.Contains(p.FirstName, " ")
	}
	return false
}

// epixelPhone reports whether s matches Epixel's ^\+?1?\d{9,15}$.
func epixelPhone(s string) bool {
	s = strings.TrimPrefix(s, "+")
	s = strings.TrimPrefix(s, "1")
	if len(s) < 9 || len(s) > 15 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// ForCRM returns the people of people that CRM kind can hold (see CanHold),
// dropping a second person with an already used email where the CRM needs
// unique emails (NextLead).
func ForCRM(kind string, people []mapping.Person) []mapping.Person {
	var out []mapping.Person
	seen := map[string]bool{}
	for _, p := range people {
		if !CanHold(kind, p) {
			continue
		}
		if kind == NextLead && len(p.Emails) > 0 {
			e := strings.ToLower(strings.TrimSpace(p.Emails[0]))
			if seen[e] {
				continue
			}
			seen[e] = true
		}
		out = append(out, p)
	}
	return out
}

// Satisfies reports whether p has every field of required and, when oneOf is
// not empty, at least one of oneOf: the check of providers.Capabilities
// Required and RequireOneOf.
func Satisfies(p mapping.Person, required, oneOf []mapping.Field) bool {
	for _, f := range required {
		if p.Get(f).Empty() {
			return false
		}
	}
	if len(oneOf) == 0 {
		return true
	}
	for _, f := range oneOf {
		if !p.Get(f).Empty() {
			return true
		}
	}
	return false
}

// holds lists, per kind, the canonical fields the CRM stores (the canonical
// map of providers.md; pipeline stages and owners are not generated).
var holds = map[string]mapping.FieldSet{
	NextLead: mapping.NewFieldSet(mapping.FieldFirstName, mapping.FieldLastName, mapping.FieldEmails,
		mapping.FieldPhones, mapping.FieldLinkedIn, mapping.FieldJobTitle, mapping.FieldWebsite,
		mapping.FieldFacebook, mapping.FieldInstagram, mapping.FieldTwitter, mapping.FieldNotes,
		mapping.FieldLeadStage, mapping.FieldLeadScore),
	Skarbe: mapping.NewFieldSet(mapping.FieldFirstName, mapping.FieldLastName, mapping.FieldEmails,
		mapping.FieldPhones, mapping.FieldLinkedIn, mapping.FieldCompany, mapping.FieldJobTitle,
		mapping.FieldFacebook, mapping.FieldInstagram, mapping.FieldNotes, mapping.FieldLeadStage),
	Epixel: mapping.NewFieldSet(mapping.FieldFirstName, mapping.FieldLastName, mapping.FieldEmails,
		mapping.FieldPhones, mapping.FieldAddress, mapping.FieldNotes, mapping.FieldLeadStage),
	Ligo: mapping.NewFieldSet(mapping.FieldFirstName, mapping.FieldLastName, mapping.FieldEmails,
		mapping.FieldPhones, mapping.FieldLinkedIn, mapping.FieldCompany, mapping.FieldJobTitle,
		mapping.FieldWebsite, mapping.FieldAddress, mapping.FieldNotes, mapping.FieldLeadStage),
}

// Holds returns the canonical fields CRM kind stores, as the dataset uses
// them (the canonical map of providers.md).
func Holds(kind string) mapping.FieldSet { return holds[kind] }

// stagesFor lists the lead stages a CRM can represent and read back as the
// same canonical stage under the default stage maps.
var stagesFor = map[string][]mapping.Stage{
	NextLead: mapping.Stages,
	Skarbe:   {mapping.StageNew, mapping.StageQualified, mapping.StageDisqualified},
	Epixel:   {mapping.StageNew, mapping.StageContacted, mapping.StageQualified, mapping.StageConverted, mapping.StageLost},
	Ligo:     {mapping.StageNew, mapping.StageContacted, mapping.StageQualified, mapping.StageConverted, mapping.StageLost},
}

// maxRecords is how many CRM records a person can have (four CRMs plus a
// Skarbe duplicate).
const maxRecords = 5

// At returns placement i. It depends only on the generator's seed, options
// and i.
func (g *Generator) At(i int) Placement {
	r := rand.New(rand.NewPCG(uint64(g.seed), uint64(i)*0x9E3779B97F4A7C15+1))
	c := &g.cfg

	// Which CRMs: k by the overlap fractions, then k distinct kinds.
	k := 4
	x := r.Float64()
	for j, f := range c.overlap {
		if x < f {
			k = j + 1
			break
		}
		x -= f
	}
	perm := r.Perm(len(Kinds))[:k]
	slices.Sort(perm)
	in := make([]string, k)
	for j, idx := range perm {
		in[j] = Kinds[idx]
	}
	inEpixel := slices.Contains(in, Epixel)
	inLigo := slices.Contains(in, Ligo)

	// Who: the truth, constrained so that every chosen CRM can hold them.
	var p mapping.Person
	fi, li := r.IntN(len(firstNames)), r.IntN(len(lastNames))
	first, last := firstNames[fi], lastNames[li]
	ffirst, flast := foldedFirst[fi], foldedLast[li]
	if !inLigo && !inEpixel && r.Float64() < 0.02 {
		first = "" // a bare email, no name at all
	}
	if !inEpixel && r.Float64() < 0.08 {
		last, flast = "", ""
	}
	if first == "" {
		ffirst = ""
	}
	p.FirstName, p.LastName = first, last
	local := emailLocal(r, ffirst, flast, i)
	var primaryEmail string
	if r.Float64() < 0.6 {
		primaryEmail = local + "@" + pick(r, freeDomains)
	} else {
		primaryEmail = local + "@" + pick(r, companyDomains)
	}
	if r.Float64() < 0.1 {
		primaryEmail = strings.Replace(primaryEmail, "@", "+"+pick(r, plusTags)+"@", 1)
	}
	hasLinkedIn := r.Float64() < 0.75
	hasEmail := true
	if !inEpixel && (first != "" || !slices.Contains(in, Skarbe)) && r.Float64() < 0.06 {
		hasEmail = false
		hasLinkedIn = true
	}
	if first == "" {
		hasEmail = true
	}
	if hasEmail {
		p.Emails = []string{primaryEmail}
	}
	slug := linkedInSlug(ffirst, flast, i)
	if hasLinkedIn {
		p.LinkedIn = "https://www.linkedin.com/in/" + slug
	}
	country := phoneCountry(r)
	if inEpixel || r.Float64() < 0.8 {
		p.Phones = []string{phoneE164(country, uint64(i))}
	}
	co := r.IntN(len(companies))
	if r.Float64() < 0.85 {
		p.Company = companies[co]
		p.JobTitle = pick(r, jobTitles)
		if r.Float64() < 0.4 {
			p.Website = "https://www." + companyDomains[co]
		}
	} else if r.Float64() < 0.5 {
		p.JobTitle = pick(r, jobTitles)
	}
	if r.Float64() < 0.3 {
		p.Address = pick(r, addresses)
	}
	if r.Float64() < 0.35 {
		p.Notes = pick(r, notesText)
	}
	if r.Float64() < 0.05 && hasLinkedIn {
		p.Instagram = "https://www.instagram.com/" + strings.ReplaceAll(slug, "-", "_")
	}
	if r.Float64() < 0.7 {
		p.LeadStage = mapping.Stages[r.IntN(len(mapping.Stages))]
	}
	if slices.Contains(in, NextLead) && r.Float64() < 0.5 {
		s := r.IntN(101)
		p.LeadScore = &s
	}

	pl := Placement{Records: make([]Record, 0, maxRecords)}

	// LinkedIn-only linking: every record of a CRM that holds LinkedIn keeps
	// it; the first such record keeps the primary email, later ones get
	// another address or none; Epixel (no LinkedIn) keeps the primary email
	// so that it links by email to the first.
	var liHolders int
	for _, kd := range in {
		if holds[kd].Has(mapping.FieldLinkedIn) {
			liHolders++
		}
	}
	liOnly := hasLinkedIn && hasEmail && liHolders >= 2 && r.Float64() < c.linkedInOne
	altEmail := ffirst + strconv.Itoa(i) + "@" + pick(r, companyDomains)
	if first == "" {
		altEmail = "contact" + strconv.Itoa(i) + "@" + pick(r, companyDomains)
	}
	altUsed := false

	// Conflicts: one record after the first differs in job title or phone.
	conflictAt := -1
	var conflictField mapping.Field
	if k >= 2 && r.Float64() < c.conflicts {
		conflictAt = 1 + r.IntN(k-1)
		kd := in[conflictAt]
		switch {
		case p.JobTitle != "" && holds[kd].Has(mapping.FieldJobTitle):
			conflictField = mapping.FieldJobTitle
		case len(p.Phones) > 0:
			conflictField = mapping.FieldPhones
		default:
			conflictAt = -1
		}
	}

	seenLI := 0
	for j, kd := range in {
		rec := variant(r, kd, &p, country, i)
		if liOnly && holds[kd].Has(mapping.FieldLinkedIn) {
			seenLI++
			if seenLI > 1 {
				if r.Float64() < 0.5 || !canDropEmail(kd, &rec) {
					rec.Emails = []string{spellEmail(r, altEmail)}
					altUsed = true
				} else {
					rec.Emails = nil
				}
			}
		}
		if j == conflictAt {
			switch conflictField {
			case mapping.FieldJobTitle:
				rec.JobTitle = pick(r, altJobTitles)
			case mapping.FieldPhones:
				rec.Phones = []string{spellPhone(r, kd, country, phoneE164(country, uint64(i)+50_000_000))}
			}
		}
		pl.Records = append(pl.Records, Record{Kind: kd, Person: rec})
		if kd == Skarbe && r.Float64() < c.skarbeDups {
			dup := variant(r, kd, &p, country, i)
			if len(rec.Emails) > 0 {
				dup.Emails = []string{spellEmail(r, rec.Emails[0])}
			} else {
				dup.Emails = nil
			}
			if r.Float64() < 0.5 {
				dup.Phones = nil // typed in a hurry
			}
			pl.Records = append(pl.Records, Record{Kind: kd, Person: dup, Duplicate: true})
		}
	}
	if altUsed {
		p.Emails = append(p.Emails, altEmail)
		pl.LinkedInOnly = true
	}
	if conflictAt >= 0 {
		pl.Conflicts = []mapping.Field{conflictField}
	}
	pl.Person = p
	return pl
}

// canDropEmail reports whether the record stays holdable in kind without
// an email.
func canDropEmail(kind string, rec *mapping.Person) bool {
	q := *rec
	q.Emails = nil
	return CanHold(kind, q)
}

// variant returns the truth p as typed in CRM kind: only the fields it
// holds, one email where it has one, raw spellings.
func variant(r *rand.Rand, kind string, p *mapping.Person, country int, i int) mapping.Person {
	h := holds[kind]
	v := *p // shallow: every slice and pointer below is replaced
	v.Emails, v.Phones, v.LeadScore = nil, nil, nil
	clearUnheld(&v, h)
	if len(p.Emails) > 0 {
		v.Emails = []string{spellEmail(r, p.Emails[0])}
	}
	if len(p.Phones) > 0 {
		v.Phones = []string{spellPhone(r, kind, country, p.Phones[0])}
	}
	if v.LinkedIn != "" {
		v.LinkedIn = spellLinkedIn(r, v.LinkedIn)
	}
	if v.LeadStage != "" && !slices.Contains(stagesFor[kind], v.LeadStage) {
		v.LeadStage = ""
	}
	if p.LeadScore != nil && h.Has(mapping.FieldLeadScore) {
		s := *p.LeadScore
		v.LeadScore = &s
	}
	return v
}

// clearUnheld empties the scalar fields of v that h does not hold (emails,
// phones and the lead score are handled by the caller; every kind holds
// names, emails and phones).
func clearUnheld(v *mapping.Person, h mapping.FieldSet) {
	for _, c := range []struct {
		f mapping.Field
		s *string
	}{
		{mapping.FieldLinkedIn, &v.LinkedIn}, {mapping.FieldCompany, &v.Company},
		{mapping.FieldJobTitle, &v.JobTitle}, {mapping.FieldWebsite, &v.Website},
		{mapping.FieldAddress, &v.Address}, {mapping.FieldFacebook, &v.Facebook},
		{mapping.FieldInstagram, &v.Instagram}, {mapping.FieldTwitter, &v.Twitter},
		{mapping.FieldNotes, &v.Notes}, {mapping.FieldPipelineStage, &v.PipelineStage},
		{mapping.FieldOwner, &v.Owner},
	} {
		if !h.Has(c.f) {
			*c.s = ""
		}
	}
	if !h.Has(mapping.FieldLeadStage) {
		v.LeadStage = ""
	}
}

func pick(r *rand.Rand, s []string) string { return s[r.IntN(len(s))] }

// emailLocal builds, from the folded names, the local part of a person's primary email; the index
// makes it unique among all people.
func emailLocal(r *rand.Rand, f, l string, i int) string {
	n := strconv.Itoa(i)
	switch {
	case f == "":
		return "contact" + n
	case l == "":
		return f + n
	}
	switch r.IntN(4) {
	case 0:
		return f + "." + l + n
	case 1:
		return f[:1] + l + n
	case 2:
		return f + "_" + l + n
	default:
		return f + "." + l + "." + n
	}
}

// linkedInSlug is, from the folded names, the person's unique profile slug.
func linkedInSlug(f, l string, i int) string {
	s := strconv.FormatInt(int64(i)*7919+0x1a2b, 36)
	if l != "" {
		s = l + "-" + s
	}
	if f != "" {
		s = f + "-" + s
	}
	return s
}

// spellEmail returns the address as typed: mostly as is, sometimes with
// capitals.
func spellEmail(r *rand.Rand, e string) string {
	switch x := r.IntN(10); {
	case x < 6:
		return e
	case x < 9:
		// Capitalize each dot-separated part of the local part and the domain.
		local, domain, _ := strings.Cut(e, "@")
		return titleParts(local, ".") + "@" + titleParts(domain, ".")
	default:
		return strings.ToUpper(e)
	}
}

func titleParts(s, sep string) string {
	parts := strings.Split(s, sep)
	for j, p := range parts {
		if p != "" {
			parts[j] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, sep)
}

// spellLinkedIn returns one of the spellings of a canonical profile URL.
func spellLinkedIn(r *rand.Rand, canonical string) string {
	slug := strings.TrimPrefix(canonical, "https://www.linkedin.com/in/")
	switch r.IntN(6) {
	case 0, 1:
		return canonical
	case 2:
		return "linkedin.com/in/" + titleParts(slug, "-") + "/"
	case 3:
		return "https://fr.linkedin.com/in/" + slug + "?trk=abc"
	case 4:
		return "http://linkedin.com/in/" + slug
	default:
		return "www.linkedin.com/in/" + slug + "/"
	}
}

// Phone countries: most people are French.
const (
	countryFR = iota
	countryUS
	countryUK
	countryDE
)

func phoneCountry(r *rand.Rand) int {
	switch x := r.IntN(100); {
	case x < 75:
		return countryFR
	case x < 87:
		return countryUS
	case x < 94:
		return countryUK
	default:
		return countryDE
	}
}

// usAreas are the US area codes numbers are drawn in.
var usAreas = [8]string{"415", "212", "646", "312", "617", "206", "512", "303"}

// phoneE164 returns the E.164 mobile number of index n in country: distinct
// indexes below 10^8 give distinct numbers.
func phoneE164(country int, n uint64) string {
	switch country {
	case countryUS:
		x := (n * 7919) % 8_000_000 // bijective on [0, 8e6): 7919 is coprime to 8e6
		return fmt.Sprintf("+1%s%d%06d", usAreas[(n/8_000_000)%8], 2+x/1_000_000, x%1_000_000)
	case countryUK:
		return fmt.Sprintf("+447%09d", (n*7919)%1_000_000_000)
	case countryDE:
		return fmt.Sprintf("+4915%d%08d", 1+(n/100_000_000)%8, (n*7919)%100_000_000)
	default:
		x := (n * 7919) % 100_000_000
		lead := 6 + (n/100_000_000)%2
		return fmt.Sprintf("+33%d%08d", lead, x)
	}
}

// spellPhone returns an E.164 number as typed in kind: a French number in
// one of its local or international spellings, a US one with punctuation.
// Epixel only takes digits with an optional leading +.
func spellPhone(r *rand.Rand, kind string, country int, e164 string) string {
	x := r.IntN(6)
	switch country {
	case countryFR:
		nat := "0" + e164[3:] // 0612345678
		if kind == Epixel {
			return []string{nat, e164, "00" + e164[1:]}[x%3]
		}
		switch x {
		case 0:
			return nat[0:2] + " " + nat[2:4] + " " + nat[4:6] + " " + nat[6:8] + " " + nat[8:10]
		case 1:
			d := e164[3:]
			return "+33 " + d[0:1] + " " + d[1:3] + " " + d[3:5] + " " + d[5:7] + " " + d[7:9]
		case 2:
			return "00" + e164[1:]
		case 3:
			return nat
		case 4:
			return nat[0:2] + "." + nat[2:4] + "." + nat[4:6] + "." + nat[6:8] + "." + nat[8:10]
		default:
			return e164
		}
	case countryUS:
		if kind == Epixel {
			return e164
		}
		d := e164[2:]
		switch x % 3 {
		case 0:
			return "+1 (" + d[0:3] + ") " + d[3:6] + "-" + d[6:]
		case 1:
			return "+1 " + d[0:3] + "-" + d[3:6] + "-" + d[6:]
		default:
			return e164
		}
	case countryUK:
		if kind == Epixel || x%2 == 0 {
			return e164
		}
		return "+44 " + e164[3:7] + " " + e164[7:]
	default:
		if kind == Epixel || x%2 == 0 {
			return e164
		}
		return "+49 " + e164[3:6] + " " + e164[6:]
	}
}
