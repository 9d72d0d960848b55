package epixeltest

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/crmsync/crmsync/mapping/epixelmap"
)

// fields is a lead's values in the unpacked form the handlers work on.
type fields struct {
	slug      string
	firstName string
	lastName  string
	email     string
	phone     string
	location  string
	message   string
	status    string
	source    string
	assignee  string
}

// The text fields packed into a lead's data, in order.
const (
	fSlug = iota
	fFirstName
	fLastName
	fEmail
	fPhone
	fLocation
	fMessage
	nText
)

// lead is one stored lead, packed to stay small with a million of them: the
// text fields concatenated in one string, the choice fields and the assignee
// as small indexes.
type lead struct {
	data      string
	ends      [nText]uint32
	status    uint8 // index in epixelmap.Statuses
	source    uint8 // 1 + index in epixelmap.Sources; 0: none
	deleted   bool
	assignee  int32 // 1 + index in store.userNames; 0: none
	createdMS int64
	notes     *[]note
}

func (l *lead) text(i int) string {
	start := uint32(0)
	if i > 0 {
		start = l.ends[i-1]
	}
	return l.data[start:l.ends[i]]
}

type note struct {
	id        int64
	text      string
	createdMS int64
}

// store holds every lead in creation order; live lists the indexes of the
// live ones, ascending. A slug ends in "-<index+1>", so no slug index is
// kept. The Server's mutex guards it.
type store struct {
	leads     []lead
	live      []int32
	noteLead  map[int64]int32 // note id → lead index
	nextNote  int64
	lastMS    int64
	userNames []string
	userID    map[string]int32
}

func newStore(users []string) *store {
	s := &store{noteLead: map[int64]int32{}, nextNote: 1, userID: map[string]int32{}}
	for _, u := range users {
		s.addUser(u)
	}
	return s
}

// addUser registers username (idempotent) and returns its index + 1.
func (s *store) addUser(u string) int32 {
	if id, ok := s.userID[u]; ok {
		return id
	}
	s.userNames = append(s.userNames, u)
	id := int32(len(s.userNames))
	s.userID[u] = id
	return id
}

func (s *store) hasUser(u string) bool {
	_, ok := s.userID[u]
	return ok
}

// stamp returns a creation time in milliseconds, strictly after the last.
func (s *store) stamp(now time.Time) int64 {
	ms := now.UnixMilli()
	if ms <= s.lastMS {
		ms = s.lastMS + 1
	}
	s.lastMS = ms
	return ms
}

// slugify turns a name into the slug's readable part.
func slugify(first, last string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(first + " " + last) {
		switch {
		case r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 40 {
			break
		}
	}
	out := strings.TrimRight(b.String(), "-")
	if out == "" {
		out = "lead"
	}
	return out
}

// pack stores f's values into l (slug included).
func (s *store) pack(l *lead, f fields) {
	texts := [nText]string{f.slug, f.firstName, f.lastName, f.email, f.phone, f.location, f.message}
	n := 0
	for _, t := range texts {
		n += len(t)
	}
	var b strings.Builder
	b.Grow(n)
	for i, t := range texts {
		b.WriteString(t)
		l.ends[i] = uint32(b.Len())
	}
	l.data = b.String()
	l.status = uint8(max(slices.Index(epixelmap.Statuses, f.status), 0))
	l.source = uint8(slices.Index(epixelmap.Sources, f.source) + 1)
	l.assignee = 0
	if f.assignee != "" {
		l.assignee = s.addUser(f.assignee)
	}
}

// get returns lead idx unpacked (substrings of its data: no copy).
func (s *store) get(idx int32) fields {
	l := &s.leads[idx]
	f := fields{
		slug: l.text(fSlug), firstName: l.text(fFirstName), lastName: l.text(fLastName), email: l.text(fEmail),
		phone: l.text(fPhone), location: l.text(fLocation), message: l.text(fMessage),
		status: epixelmap.Statuses[l.status],
	}
	if l.source > 0 {
		f.source = epixelmap.Sources[l.source-1]
	}
	if l.assignee > 0 {
		f.assignee = s.userNames[l.assignee-1]
	}
	return f
}

// set replaces lead idx's values with f, keeping its slug.
func (s *store) set(idx int32, f fields) {
	f.slug = s.leads[idx].text(fSlug)
	s.pack(&s.leads[idx], f)
}

// add stores f as a new live lead and returns its index.
func (s *store) add(f fields, now time.Time) int32 {
	idx := int32(len(s.leads))
	f.slug = slugify(f.firstName, f.lastName) + "-" + strconv.Itoa(int(idx)+1)
	s.leads = append(s.leads, lead{createdMS: s.stamp(now)})
	s.pack(&s.leads[idx], f)
	s.live = append(s.live, idx)
	return idx
}

// find returns the index of the lead with slug, live or deleted.
func (s *store) find(slug string) (int32, bool) {
	i := strings.LastIndexByte(slug, '-')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.Atoi(slug[i+1:])
	if err != nil || n < 1 || n > len(s.leads) || slug[i+1] == '0' {
		return 0, false
	}
	idx := int32(n - 1)
	if s.leads[idx].text(fSlug) != slug {
		return 0, false
	}
	return idx, true
}

// remove soft-deletes lead idx.
func (s *store) remove(idx int32) {
	s.leads[idx].deleted = true
	if i, ok := slices.BinarySearch(s.live, idx); ok {
		s.live = slices.Delete(s.live, i, i+1)
	}
}

// notesOf returns lead idx's notes.
func (s *store) notesOf(idx int32) []note {
	if p := s.leads[idx].notes; p != nil {
		return *p
	}
	return nil
}

// wire returns lead idx as the API's record.
func (s *store) wire(idx int32) epixelmap.Lead {
	f := s.get(idx)
	return epixelmap.Lead{Slug: f.slug, FirstName: f.firstName, LastName: f.lastName, Email: f.email, Phone: f.phone,
		Location: f.location, Message: f.message, Status: f.status, Source: f.source, Assignee: f.assignee,
		CreatedAt: formatMS(s.leads[idx].createdMS)}
}

// formatMS renders a millisecond time as RFC 3339 UTC with milliseconds.
func formatMS(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z07:00")
}
