package nextleadtest

import (
	"encoding/binary"
	"hash/maphash"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crmsync/crmsync/mapping/nextleadmap"
)

// A contact is held packed in one string (its id and timestamps aside, which
// are derived from its index and record): a little-endian uint32 of presence
// bits, then each present field in slot order, a raw field as a uvarint
// length and its bytes, an interned field as the uvarint index of its value
// in Server.names, then the lead score as a zigzag varint when bitScore is
// set. Values are stored as given; encoding them writes what encoding/json
// wrote of them, and reading them back as a wire record replaces invalid
// UTF-8 as a JSON round trip did.

// Field slots of a packed contact, in the order of the record's JSON keys.
const (
	fType = iota
	fCivility
	fFirstName
	fLastName
	fBirthDate
	fSector
	fActivity
	fStatus
	fConversion
	fPhone
	fMobile
	fPhonePro
	fEmail
	fEmail2
	fComment
	fSource
	fListIDs // each list id as a uvarint length and its bytes
	fLinkedIn
	fFacebook
	fInstagram
	fTwitter
	fWebsite
	fOtherSocials
	fFirstTouch
	fLastTouch
	nFields
)

// Presence bits beyond the field slots.
const (
	bitScore    = 1 << nFields
	bitVerified = 1 << (nFields + 1)
)

// fieldKeys are the JSON keys of the field slots.
var fieldKeys = [nFields]string{
	fType: "type", fCivility: "civility", fFirstName: "first_name", fLastName: "last_name",
	fBirthDate: "birth_date", fSector: "sector", fActivity: "activity", fStatus: "status",
	fConversion: "conversion_status", fPhone: "phone", fMobile: "mobile", fPhonePro: "phone_pro",
	fEmail: "email", fEmail2: "email2", fComment: "comment", fSource: "source", fListIDs: "listIds",
	fLinkedIn: "linkedin", fFacebook: "facebook", fInstagram: "instagram", fTwitter: "twitter",
	fWebsite: "website", fOtherSocials: "otherSocials", fFirstTouch: "firstTouch", fLastTouch: "lastTouch",
}

// internedField reports whether slot f holds one of a few recurring values
// (stored as an index into Server.names).
func internedField(f int) bool {
	switch f {
	case fType, fCivility, fStatus, fConversion, fSource:
		return true
	}
	return false
}

// record is one contact: its packed fields ("" once deleted) and its
// timestamps in Unix milliseconds.
type record struct {
	data    string
	created int64
	updated int64
}

// feedItem is one user-edited or user-deleted item: the packed fields of
// contact i as they were then, and the time of the edit or deletion.
type feedItem struct {
	data string
	at   int64
	i    int32
}

// unpacked is a packed contact read back, its strings sharing the packed
// string's memory.
type unpacked struct {
	v        [nFields]string
	score    nextleadmap.Score
	verified bool
}

// slots returns pointers to c's string fields by slot (fListIDs aside).
func slots(c *nextleadmap.Contact) [nFields]*string {
	return [nFields]*string{
		fType: &c.Type, fCivility: &c.Civility, fFirstName: &c.FirstName, fLastName: &c.LastName,
		fBirthDate: &c.BirthDate, fSector: &c.Sector, fActivity: &c.Activity, fStatus: &c.Status,
		fConversion: &c.ConversionStatus, fPhone: &c.Phone, fMobile: &c.Mobile, fPhonePro: &c.PhonePro,
		fEmail: &c.Email, fEmail2: &c.Email2, fComment: &c.Comment, fSource: &c.Source,
		fLinkedIn: &c.LinkedIn, fFacebook: &c.Facebook, fInstagram: &c.Instagram, fTwitter: &c.Twitter,
		fWebsite: &c.Website, fOtherSocials: &c.OtherSocials, fFirstTouch: &c.FirstTouch, fLastTouch: &c.LastTouch,
	}
}

// validUTF8 returns s with each byte of invalid UTF-8 replaced by U+FFFD, as
// a JSON round trip leaves it.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// intern returns the index of v in s.names, adding it. Caller holds mu.
func (s *Server) intern(v string) uint64 {
	if n, ok := s.nameIdx[v]; ok {
		return uint64(n)
	}
	s.names = append(s.names, v)
	s.nameIdx[v] = uint32(len(s.names) - 1)
	return uint64(len(s.names) - 1)
}

// pack encodes c's fields (its id and timestamps aside). Caller holds mu.
func (s *Server) pack(c *nextleadmap.Contact) string {
	var v [nFields]string
	for f, p := range slots(c) {
		if p != nil {
			v[f] = *p
		}
	}
	if len(c.ListIDs) > 0 {
		var b []byte
		for _, l := range c.ListIDs {
			b = binary.AppendUvarint(b, uint64(len(l)))
			b = append(b, l...)
		}
		v[fListIDs] = string(b)
	}
	var bits uint32
	var ids [nFields]uint64
	size := 4
	for f, x := range v {
		if x == "" {
			continue
		}
		bits |= 1 << f
		if internedField(f) {
			ids[f] = s.intern(x)
			size += uvarintLen(ids[f])
		} else {
			size += uvarintLen(uint64(len(x))) + len(x)
		}
	}
	score := int64(0)
	if c.LeadScore.Valid {
		bits |= bitScore
		score = int64(c.LeadScore.V)
		size += binary.MaxVarintLen64
	}
	if c.EmailVerified {
		bits |= bitVerified
	}
	b := make([]byte, 0, size)
	b = binary.LittleEndian.AppendUint32(b, bits)
	for f, x := range v {
		if bits&(1<<f) == 0 {
			continue
		}
		if internedField(f) {
			b = binary.AppendUvarint(b, ids[f])
		} else {
			b = binary.AppendUvarint(b, uint64(len(x)))
			b = append(b, x...)
		}
	}
	if bits&bitScore != 0 {
		b = binary.AppendVarint(b, score)
	}
	return string(b)
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// unpack reads packed fields into u; names is Server.names (or a prefix of
// it holding every name the data refers to).
func unpack(data string, names []string, u *unpacked) {
	*u = unpacked{}
	bits := presence(data)
	p := 4
	for f := range nFields {
		if bits&(1<<f) == 0 {
			continue
		}
		n, k := uvarint(data[p:])
		p += k
		if internedField(f) {
			u.v[f] = names[n]
			continue
		}
		u.v[f] = data[p : p+int(n)]
		p += int(n)
	}
	if bits&bitScore != 0 {
		ux, _ := uvarint(data[p:])
		u.score = nextleadmap.Score{V: int(int64(ux>>1) ^ -int64(ux&1)), Valid: true}
	}
	u.verified = bits&bitVerified != 0
}

// presence returns the presence bits of packed fields.
func presence(data string) uint32 {
	return uint32(data[0]) | uint32(data[1])<<8 | uint32(data[2])<<16 | uint32(data[3])<<24
}

// field returns slot f of packed fields, not an interned one.
func field(data string, f int) string {
	bits := presence(data)
	if bits&(1<<f) == 0 {
		return ""
	}
	p := 4
	for g := range f {
		if bits&(1<<g) == 0 {
			continue
		}
		n, k := uvarint(data[p:])
		p += k
		if !internedField(g) {
			p += int(n)
		}
	}
	n, k := uvarint(data[p:])
	p += k
	return data[p : p+int(n)]
}

// uvarint decodes a uvarint at the start of s and returns it and its length.
func uvarint(s string) (uint64, int) {
	var x uint64
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		c := s[i]
		if c < 0x80 {
			return x | uint64(c)<<(7*i), i + 1
		}
		x |= uint64(c&0x7f) << (7 * i)
	}
	panic("nextleadtest: corrupt packed contact")
}

// listIDs iterates over the list ids of a packed fListIDs value.
func listIDs(v string, yield func(string)) {
	for p := 0; p < len(v); {
		n, k := uvarint(v[p:])
		p += k
		yield(v[p : p+int(n)])
		p += int(n)
	}
}

// contact returns u as a wire record with the given id and timestamps, as
// decoding its JSON encoding would.
func (u *unpacked) contact(id string, created, updated int64) nextleadmap.Contact {
	c := nextleadmap.Contact{ID: id, EmailVerified: u.verified, CreatedAt: fmtMs(created), UpdatedAt: fmtMs(updated)}
	if u.score.Valid {
		// Decoding a score goes through float64.
		c.LeadScore = nextleadmap.Score{V: int(float64(u.score.V)), Valid: true}
	}
	for f, p := range slots(&c) {
		if p != nil {
			*p = validUTF8(u.v[f])
		}
	}
	listIDs(u.v[fListIDs], func(l string) { c.ListIDs = append(c.ListIDs, validUTF8(l)) })
	return c
}

// appendContact appends u as encoding/json encodes the wire record
// (nextleadmap.Contact) with the given id and timestamps.
func appendContact(b []byte, id []byte, u *unpacked, created, updated int64) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, id)
	for f := range nFields {
		switch f {
		case fPhone:
			if u.score.Valid {
				b = append(b, `,"lead_score":`...)
				b = strconv.AppendInt(b, int64(u.score.V), 10)
			}
		case fComment:
			if u.verified {
				b = append(b, `,"email_verified":true`...)
			}
		}
		v := u.v[f]
		if v == "" {
			continue
		}
		b = append(b, ',', '"')
		b = append(b, fieldKeys[f]...)
		b = append(b, '"', ':')
		if f != fListIDs {
			b = appendJSONString(b, v)
			continue
		}
		b = append(b, '[')
		n := 0
		listIDs(v, func(l string) {
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = appendJSONString(b, l)
		})
		b = append(b, ']')
	}
	b = append(b, `,"created_at":"`...)
	b = appendMs(b, created)
	b = append(b, `","updated_at":"`...)
	b = appendMs(b, updated)
	return append(b, '"', '}')
}

// appendFeedItem appends it as encoding/json encodes a nextleadmap.FeedItem
// with the id, email and names of packed data, and its time under key at.
// With decoded set, the strings are first read back as a wire record (as
// deletions always did; edits encoded the values as given).
func appendFeedItem(b []byte, id []byte, data string, at int64, key string, decoded bool) []byte {
	str := func(f int) string {
		if decoded {
			return validUTF8(field(data, f))
		}
		return field(data, f)
	}
	b = append(b, `{"id":`...)
	b = appendJSONString(b, id)
	b = append(b, `,"email":`...)
	b = appendJSONString(b, str(fEmail))
	b = append(b, `,"firstName":`...)
	b = appendJSONString(b, str(fFirstName))
	b = append(b, `,"lastName":`...)
	b = appendJSONString(b, str(fLastName))
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, `":"`...)
	b = appendMs(b, at)
	return append(b, '"', '}')
}

// appendMs appends a Unix millisecond time as nextleadmap.FormatTime does.
func appendMs(b []byte, ms int64) []byte {
	return time.UnixMilli(ms).UTC().AppendFormat(b, nextleadmap.TimeLayout)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as encoding/json encodes a string: HTML
// characters, control characters, U+2028 and U+2029 escaped, each byte of
// invalid UTF-8 as \ufffd.
func appendJSONString[S ~string | ~[]byte](b []byte, s S) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
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
		r, size := utf8.DecodeRuneInString(string(s[i:min(len(s), i+utf8.UTFMax)]))
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
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

// hashIndex indexes live contacts by the hash of a key (the caller checks
// the key itself): first holds the first contact indexed under a hash, more
// the others in the order they were indexed.
type hashIndex struct {
	seed  maphash.Seed
	first map[uint64]int32
	more  map[uint64][]int32
}

func newHashIndex() hashIndex {
	return hashIndex{seed: maphash.MakeSeed(), first: map[uint64]int32{}, more: map[uint64][]int32{}}
}

func (x *hashIndex) hash(k string) uint64 { return maphash.String(x.seed, k) }

// add indexes contact i under k ("" is not indexed).
func (x *hashIndex) add(k string, i int32) {
	if k == "" {
		return
	}
	h := x.hash(k)
	if _, ok := x.first[h]; ok {
		x.more[h] = append(x.more[h], i)
		return
	}
	x.first[h] = i
}

// del removes contact i from under k.
func (x *hashIndex) del(k string, i int32) {
	if k == "" {
		return
	}
	h := x.hash(k)
	if j, ok := x.first[h]; ok && j == i {
		if d := x.more[h]; len(d) > 0 {
			x.first[h] = d[0]
			if len(d) == 1 {
				delete(x.more, h)
			} else {
				x.more[h] = d[1:]
			}
		} else {
			delete(x.first, h)
		}
		return
	}
	d := x.more[h]
	for n, j := range d {
		if j == i {
			d = append(d[:n:n], d[n+1:]...)
			break
		}
	}
	if len(d) == 0 {
		delete(x.more, h)
	} else {
		x.more[h] = d
	}
}

// lookup returns the contacts indexed under k, in the order they were
// indexed; keyOf returns a candidate's key.
func (x *hashIndex) lookup(k string, keyOf func(i int32) string) []int32 {
	if k == "" {
		return nil
	}
	h := x.hash(k)
	i, ok := x.first[h]
	if !ok {
		return nil
	}
	var out []int32
	for _, j := range append([]int32{i}, x.more[h]...) {
		if keyOf(j) == k {
			out = append(out, j)
		}
	}
	return out
}
