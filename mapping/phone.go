package mapping

import (
	"slices"
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// DefaultRegion is the phone region used when the config names none.
const DefaultRegion = "FR"

// maxPhoneLen bounds a phone's raw text in bytes.
const maxPhoneLen = 64

// Phone is a normalized phone number: E164 set when the number parses and is
// a possible number (see NormalizePhone), Raw the input with white space
// trimmed and collapsed, cut to 64 bytes.
type Phone struct {
	E164 string
	Raw  string
}

// Valid reports whether the number parsed to E.164. Phones are never used to
// decide that two records are the same person (the engine matches on emails
// and LinkedIn URLs only); E.164 only makes equal numbers compare equal.
func (p Phone) Valid() bool { return p.E164 != "" }

// Key is the value stored and compared: the E.164 form, or the raw text with
// white space collapsed. It is at most 64 bytes.
func (p Phone) Key() string {
	if p.E164 != "" {
		return p.E164
	}
	return CollapseSpace(p.Raw)
}

// NormalizePhone parses s with github.com/nyaruka/phonenumbers, region (an
// ISO 3166 code, any case; DefaultRegion when empty) being the region of
// numbers written without a country code, so "06 12 34 56 78" in FR is
// +33612345678.
//
// The number gets an E.164 form when it parses and its length is possible
// for its country (phonenumbers.IsPossibleNumberWithReason is IS_POSSIBLE).
// Possible, not valid: IsValidNumber also checks the number ranges in the
// library's metadata, which lag behind real allocations; a number judged
// invalid would then stay raw in one CRM and be E.164 in another, and the two
// would never compare equal. As phones are values, never identity, the
// consistent form matters more than the check. Numbers only dialable
// locally, numbers with an extension (E.164 cannot carry it) and anything
// unparseable are kept raw. It never panics.
func NormalizePhone(s, region string) Phone {
	raw := cutBytes(CollapseSpace(s), maxPhoneLen)
	if raw == "" {
		return Phone{}
	}
	region = strings.ToUpper(strings.TrimSpace(region))
	if region == "" {
		region = DefaultRegion
	}
	// Spellings of one number that differ only in separators ("06 12 34
	// 56 78", "06.12.34.56.78", "0612345678") share one entry, keyed by
	// their digits: they parse alike (TestPropPhoneDigitsKeepE164), and a
	// listing meets a number in several of them. A number written with its
	// country code (+ and a digit from 1 to 9) parses alike in every
	// region (TestPropPlusNumbersIgnoreRegion), so its entry has none. The
	// entry holds the E.164 form; Raw is always this input's.
	k := phoneMemoKey{raw: raw, region: region}
	if d, ok := phoneDigits(raw); ok {
		k.raw = d
		if len(d) > 1 && d[0] == '+' && d[1] >= '1' && d[1] <= '9' {
			k.region = ""
		}
	}
	if p, ok := phones.get(k); ok {
		p.Raw = raw
		return p
	}
	p := parsePhone(raw, region)
	phones.put(k, Phone{E164: p.E164})
	return p
}

// parsePhone is NormalizePhone without the memo.
func parsePhone(raw, region string) (p Phone) {
	defer func() {
		// The parser is a port of a large Java library; a panic on some odd
		// input must not take the sync down.
		if recover() != nil {
			p = Phone{Raw: raw}
		}
	}()
	num, err := phonenumbers.Parse(raw, region)
	if err != nil || num.GetExtension() != "" ||
		phonenumbers.IsPossibleNumberWithReason(num) != phonenumbers.IS_POSSIBLE {
		return Phone{Raw: raw}
	}
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	if len(e164) > maxPhoneLen || !strings.HasPrefix(e164, "+") {
		return Phone{Raw: raw}
	}
	return Phone{E164: e164, Raw: raw}
}

// NormalizePhones normalizes a list of numbers, the primary first: each
// becomes its Key (E.164 or collapsed raw text), blanks are dropped and
// duplicates keep their first occurrence, so the order and the primary are
// kept.
func NormalizePhones(list []string, region string) []string {
	var out []string
	for _, s := range list {
		k := NormalizePhone(s, region).Key()
		if k == "" || slices.Contains(out, k) {
			continue
		}
		out = append(out, k)
	}
	return out
}

// phoneMemoSize bounds each of the memo's two generations: about 100
// bytes an entry, so some 26 MiB when both are full.
const phoneMemoSize = 1 << 17

// phones memoizes NormalizePhone. Parsing a number with phonenumbers costs
// 10 to 20 µs, and the same numbers are parsed over and over: every poll of a
// CRM without change feeds decodes every record again, and every write reads
// back the numbers it sent. The memo caches a pure function, so it changes
// no result, only the time taken.
var phones = newPhoneMemo()

// phoneMemoKey is a memo entry's key: the number's digits (or its text) and
// the region it was read in ("" for numbers with a country code).
type phoneMemoKey struct{ raw, region string }

// phoneMemo holds two generations of entries: when the current one is full
// it becomes the previous one, and the previous one is dropped, so the
// numbers met lately stay.
type phoneMemo struct {
	mu        sync.RWMutex
	cur, prev map[phoneMemoKey]Phone
}

func newPhoneMemo() *phoneMemo {
	return &phoneMemo{cur: make(map[phoneMemoKey]Phone), prev: map[phoneMemoKey]Phone{}}
}

func (m *phoneMemo) get(k phoneMemoKey) (Phone, bool) {
	m.mu.RLock()
	p, ok := m.cur[k]
	if !ok {
		p, ok = m.prev[k]
	}
	m.mu.RUnlock()
	return p, ok
}

func (m *phoneMemo) put(k phoneMemoKey, p Phone) {
	m.mu.Lock()
	if len(m.cur) >= phoneMemoSize {
		m.prev, m.cur = m.cur, make(map[phoneMemoKey]Phone, phoneMemoSize/4)
	}
	m.cur[k] = p
	m.mu.Unlock()
}

// phoneDigits returns s with its separators (spaces, dots, dashes,
// parentheses) removed, a leading + kept, when s holds nothing else and at
// least one digit: the parser reads such a number from its digits alone,
// so every spelling of it can share one memo entry.
func phoneDigits(s string) (string, bool) {
	digits, seps := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '+' && i == 0:
		case c == ' ' || c == '.' || c == '-' || c == '(' || c == ')':
			seps++
		default:
			return "", false
		}
	}
	if digits == 0 {
		return "", false
	}
	if seps == 0 {
		return s, true
	}
	buf := make([]byte, 0, len(s)-seps)
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c >= '0' && c <= '9') || c == '+' {
			buf = append(buf, c)
		}
	}
	return string(buf), true
}
