package engine

import (
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/crmsync/crmsync/internal/jsontext"
	"github.com/crmsync/crmsync/mapping"
)

// A link's base state is stored as the JSON text of a mapping.Person, in
// json.Marshal's shape (its field names, empty values left out).
// encodeBase writes it and decodeBase reads it without reflection: a
// resync encodes a base per link written and decodes one per link
// planned, and encoding/json's reflection was about 2 s of CPU in a 100k
// resync. Anything decodeBase does not expect (bases written by
// json.Marshal before, with HTML characters escaped, included) it hands to
// encoding/json, which stays the reference.

// encodeBase returns p as JSON, which json.Unmarshal reads back as p (each
// byte of invalid UTF-8 as U+FFFD, as after json.Marshal). The keys are the
// field names, in mapping.AllFields' order, which are Person's JSON names
// in its declaration order.
func encodeBase(p *mapping.Person) []byte {
	b := make([]byte, 0, 256)
	b = append(b, '{')
	key := func(f mapping.Field) {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, f...)
		b = append(b, '"', ':')
	}
	for _, f := range mapping.AllFields {
		switch f {
		case mapping.FieldEmails, mapping.FieldPhones:
			vs := p.Emails
			if f == mapping.FieldPhones {
				vs = p.Phones
			}
			if len(vs) == 0 {
				continue
			}
			key(f)
			b = append(b, '[')
			for i, v := range vs {
				if i > 0 {
					b = append(b, ',')
				}
				b = jsontext.AppendString(b, v)
			}
			b = append(b, ']')
		case mapping.FieldLeadScore:
			if p.LeadScore != nil {
				key(f)
				b = strconv.AppendInt(b, int64(*p.LeadScore), 10)
			}
		case mapping.FieldLeadStage:
			if p.LeadStage != "" {
				key(f)
				b = jsontext.AppendString(b, string(p.LeadStage))
			}
		default:
			if s := p.Text(f); s != nil && *s != "" {
				key(f)
				b = jsontext.AppendString(b, *s)
			}
		}
	}
	return append(b, '}')
}

// decodeBase reads a base state written by encodeBase or json.Marshal.
func decodeBase(b []byte) (*mapping.Person, error) {
	var p mapping.Person
	if decodeBaseFast(b, &p) {
		return &p, nil
	}
	p = mapping.Person{}
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("decode base state: %w", err)
	}
	return &p, nil
}

// baseParser reads the JSON that encodeBase writes: one object of known
// keys with string, string-array and integer values, no white space. It
// reports false on anything else, and decodeBase hands that to
// encoding/json.
type baseParser struct {
	// b is the input as one string: the values read are substrings of it,
	// one allocation in all.
	b string
	i int
}

func (d *baseParser) byte(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// str reads a string. A surrogate escape (\uD800-\uDFFF) is left to
// encoding/json, whose rules for unpaired halves are its own.
func (d *baseParser) str() (string, bool) {
	if !d.byte('"') {
		return "", false
	}
	start := d.i
	for d.i < len(d.b) {
		switch c := d.b[d.i]; {
		case c == '"':
			raw := d.b[start:d.i]
			d.i++
			if !utf8.ValidString(raw) {
				return "", false
			}
			return raw, true
		case c == '\\':
			return d.escaped(start)
		case c < 0x20:
			return "", false
		default:
			d.i++
		}
	}
	return "", false
}

// escaped reads the rest of a string that started at start and has an
// escape at d.i.
func (d *baseParser) escaped(start int) (string, bool) {
	out := []byte(d.b[start:d.i])
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			if !utf8.Valid(out) {
				return "", false
			}
			return string(out), true
		case c < 0x20:
			return "", false
		case c != '\\':
			out = append(out, c)
			d.i++
			continue
		}
		if d.i+1 >= len(d.b) {
			return "", false
		}
		switch e := d.b[d.i+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			if d.i+6 > len(d.b) {
				return "", false
			}
			r, err := strconv.ParseUint(d.b[d.i+2:d.i+6], 16, 16)
			if err != nil || (r >= 0xD800 && r < 0xE000) || d.b[d.i+2] == '+' {
				return "", false
			}
			out = utf8.AppendRune(out, rune(r))
			d.i += 4
		default:
			return "", false
		}
		d.i += 2
	}
	return "", false
}

func (d *baseParser) list() ([]string, bool) {
	if !d.byte('[') {
		return nil, false
	}
	out := []string{}
	if d.byte(']') {
		return out, true
	}
	for {
		s, ok := d.str()
		if !ok {
			return nil, false
		}
		out = append(out, s)
		if d.byte(']') {
			return out, true
		}
		if !d.byte(',') {
			return nil, false
		}
	}
}

func (d *baseParser) int() (int, bool) {
	start := d.i
	if d.i < len(d.b) && d.b[d.i] == '-' {
		d.i++
	}
	digits := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	if d.i-digits > 1 && d.b[digits] == '0' {
		return 0, false // JSON has no leading zeros
	}
	n, err := strconv.Atoi(d.b[start:d.i])
	return n, err == nil
}

func decodeBaseFast(b []byte, p *mapping.Person) bool {
	d := &baseParser{b: string(b)}
	if !d.byte('{') {
		return false
	}
	if d.byte('}') {
		return d.i == len(b)
	}
	for {
		key, ok := d.str()
		if !ok || !d.byte(':') {
			return false
		}
		var field *string
		switch f := mapping.Field(key); f {
		case mapping.FieldLeadStage:
			s, ok := d.str()
			if !ok {
				return false
			}
			p.LeadStage = mapping.Stage(s)
		case mapping.FieldEmails, mapping.FieldPhones:
			vs, ok := d.list()
			if !ok {
				return false
			}
			if f == mapping.FieldEmails {
				p.Emails = vs
			} else {
				p.Phones = vs
			}
		case mapping.FieldLeadScore:
			n, ok := d.int()
			if !ok {
				return false
			}
			p.LeadScore = &n
		default:
			if field = p.Text(f); field == nil {
				return false
			}
		}
		if field != nil {
			s, ok := d.str()
			if !ok {
				return false
			}
			*field = s
		}
		if d.byte('}') {
			return d.i == len(b)
		}
		if !d.byte(',') {
			return false
		}
	}
}
