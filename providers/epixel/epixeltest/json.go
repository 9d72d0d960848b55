package epixeltest

import (
	"strconv"
	"time"

	"github.com/crmsync/crmsync/providers/simkit"
)

// appendLead appends lead idx as JSON, with its notes when withNotes.
func (s *store) appendLead(b []byte, idx int32, withNotes bool) []byte {
	l := s.get(idx)
	b = append(b, `{"slug":`...)
	b = simkit.AppendJSONString(b, l.slug)
	b = append(b, `,"first_name":`...)
	b = simkit.AppendJSONString(b, l.firstName)
	b = append(b, `,"last_name":`...)
	b = simkit.AppendJSONString(b, l.lastName)
	b = append(b, `,"email":`...)
	b = simkit.AppendJSONString(b, l.email)
	b = append(b, `,"phone":`...)
	b = simkit.AppendJSONString(b, l.phone)
	b = append(b, `,"location":`...)
	b = simkit.AppendJSONString(b, l.location)
	b = append(b, `,"message":`...)
	b = simkit.AppendJSONString(b, l.message)
	b = append(b, `,"status":`...)
	b = simkit.AppendJSONString(b, l.status)
	// An unset nullable field is null, as Django renders it.
	b = append(b, `,"source":`...)
	b = simkit.AppendJSONStringOrNull(b, l.source)
	b = append(b, `,"assignee":`...)
	b = simkit.AppendJSONStringOrNull(b, l.assignee)
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
	b = simkit.AppendJSONString(b, n.text)
	b = append(b, `,"created_at":`...)
	b = simkit.AppendJSONString(b, formatMS(n.createdMS))
	return append(b, '}')
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
		b = simkit.AppendJSONString(b, k)
		b = append(b, ":["...)
		for j, m := range e.msgs[k] {
			if j > 0 {
				b = append(b, ',')
			}
			b = simkit.AppendJSONString(b, m)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}
