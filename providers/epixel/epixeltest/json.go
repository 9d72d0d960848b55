package epixeltest

import (
	"strconv"
	"time"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendLead appends lead idx as JSON, with its notes when withNotes.
func (s *store) appendLead(b []byte, idx int32, withNotes bool) []byte {
	l := s.get(idx)
	b = append(b, `{"slug":`...)
	b = appendString(b, l.slug)
	b = append(b, `,"first_name":`...)
	b = appendString(b, l.firstName)
	b = append(b, `,"last_name":`...)
	b = appendString(b, l.lastName)
	b = append(b, `,"email":`...)
	b = appendString(b, l.email)
	b = append(b, `,"phone":`...)
	b = appendString(b, l.phone)
	b = append(b, `,"location":`...)
	b = appendString(b, l.location)
	b = append(b, `,"message":`...)
	b = appendString(b, l.message)
	b = append(b, `,"status":`...)
	b = appendString(b, l.status)
	b = append(b, `,"source":`...)
	b = appendOptional(b, l.source)
	b = append(b, `,"assignee":`...)
	b = appendOptional(b, l.assignee)
	b = append(b, `,"created_at":"`...)
	b = time.UnixMilli(s.leads[idx].createdMS).UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	b = append(b, '"')
	if withNotes {
		b = append(b, `,"notes":[`...)
		for i, n := range s.notesOf(idx) {
			if i > 0 {
				b = append(b, ',')
			}
			b = s.appendNote(b, n)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendNote appends one note as JSON.
func (s *store) appendNote(b []byte, n note) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, n.id, 10)
	b = append(b, `,"note":`...)
	b = appendString(b, n.text)
	b = append(b, `,"created_at":`...)
	b = appendString(b, formatMS(n.createdMS))
	return append(b, '}')
}

// appendOptional appends s, or null when empty (as Django renders an unset
// nullable field).
func appendOptional(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendString(b, s)
}

// fieldErrors is a validation answer's errors object, in field order.
type fieldErrors struct {
	keys []string
	msgs map[string][]string
}

func (e *fieldErrors) add(field, msg string) {
	if e.msgs == nil {
		e.msgs = map[string][]string{}
	}
	if _, ok := e.msgs[field]; !ok {
		e.keys = append(e.keys, field)
	}
	e.msgs[field] = append(e.msgs[field], msg)
}

func (e *fieldErrors) empty() bool { return len(e.keys) == 0 }

func (e *fieldErrors) appendJSON(b []byte) []byte {
	b = append(b, '{')
	for i, k := range e.keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ":["...)
		for j, m := range e.msgs[k] {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendString(b, m)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}
