package ligotest

import (
	"strings"
	"time"
)

// Field indexes into a record's packed strings.
const (
	fName = iota
	fCompany
	fPosition
	fAddress
	fWebsite
	fLinkedin
	fInfo
	fMeeting
	fEmails // elements joined by listSep
	fPhones // elements joined by listSep
	nFields
)

// listSep separates the elements of emails[] and phones[] in the packed
// string; a value holding it cannot be stored, so it is replaced on input.
const listSep = "\x00"

// stringKeys are the API keys of the packed string fields, by index.
var stringKeys = [...]string{
	fName: "name", fCompany: "company", fPosition: "position", fAddress: "address",
	fWebsite: "website", fLinkedin: "linkedinUrl", fInfo: "additionalInfo", fMeeting: "meetingContext",
}

// record is one contact, stored compactly: every string field packed into
// one string with their end offsets, times as Unix milliseconds. A
// simulator holding a million contacts keeps a few hundred bytes each.
type record struct {
	id      [16]byte
	data    string
	ends    [nFields]uint32
	created int64
	updated int64
	status  uint8 // index into ligomap.Statuses
	state   int32 // index into Server.states, -1 for none
	deleted bool
}

func (r *record) field(i int) string {
	start := uint32(0)
	if i > 0 {
		start = r.ends[i-1]
	}
	return r.data[start:r.ends[i]]
}

func (r *record) list(i int) []string {
	s := r.field(i)
	if s == "" {
		return nil
	}
	return strings.Split(s, listSep)
}

// fields unpacks the record into a slice of nFields strings.
func (r *record) fields() [nFields]string {
	var out [nFields]string
	for i := range out {
		out[i] = r.field(i)
	}
	return out
}

// pack stores vals into the record.
func (r *record) pack(vals [nFields]string) {
	n := 0
	for _, v := range vals {
		n += len(v)
	}
	var b strings.Builder
	b.Grow(n)
	for i, v := range vals {
		b.WriteString(v)
		r.ends[i] = uint32(b.Len())
	}
	r.data = b.String()
}

func joinList(xs []string) string {
	clean := make([]string, 0, len(xs))
	for _, x := range xs {
		clean = append(clean, strings.ReplaceAll(x, listSep, ""))
	}
	return strings.Join(clean, listSep)
}

func cleanString(s string) string { return strings.ReplaceAll(s, listSep, "") }

// touch moves updated to now in milliseconds, strictly after its last value.
func (r *record) touch(now time.Time) {
	ms := now.UnixMilli()
	if ms <= r.updated {
		ms = r.updated + 1
	}
	r.updated = ms
}

type note struct {
	id      [16]byte
	content string
	created int64
}

func formatMillis(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z07:00")
}
