package ligotest

import (
	"encoding/binary"
	"math/bits"
	"sort"
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

// record is one contact: its ID and its packed form (see store.pack), ""
// once deleted (the ID stays known, as deleted).
type record struct {
	id   [16]byte
	data string
}

// meta is what a contact holds besides its string fields.
type meta struct {
	status  uint8 // index into ligomap.Statuses
	state   int32 // index into Server.states, -1 for none
	created int64 // Unix milliseconds
	updated int64 // Unix milliseconds, never before created
}

// touch moves m.updated to now in milliseconds, strictly after its last
// value.
func (m *meta) touch(now time.Time) {
	ms := now.UnixMilli()
	if ms <= m.updated {
		ms = m.updated + 1
	}
	m.updated = ms
}

// store holds the contacts a million at a time compactly (about a hundred
// bytes of heap for a typical one):
//
//   - records sit in fixed-size chunks, so that growing never copies them
//     nor leaves more than one chunk of spare room;
//   - a record's fields and meta are one packed string (see pack) where the
//     values that recur from contact to contact (company, position,
//     address, website, notes, name parts, email domains, LinkedIn URL
//     prefixes) are indexes into a table of interned strings;
//   - the ID index is an open-addressing table of record indexes;
//   - the live contacts, in creation order, are the records less a bitmap of
//     deleted ones, with per-block counts to find the k-th.
//
// Its methods expect the caller to hold Server.mu (for reading or writing
// as they read or write).
type store struct {
	chunks [][]record // every contact ever created, in creation order
	n      uint32     // records in chunks

	ids     []uint32 // ID index: record index + 1 by hash of the ID, 0 for empty
	idShift uint     // 64 - log2(len(ids))

	dead       []uint64 // bit i set: record i is deleted
	liveBefore []uint32 // live records before block b (of blockSize records)
	nLive      int

	names   []string          // interned values (append-only)
	nameIdx map[string]uint32 // value → index in names

	base int64 // Unix milliseconds that created times are stored relative to
}

const (
	chunkBits = 12
	chunkSize = 1 << chunkBits // records a chunk
	blockSize = 512            // records a liveBefore block

	maxInternLen = 256     // longer values are stored inline
	maxNames     = 1 << 12 // values interned at most; later new ones are stored inline
)

// newStore returns an empty store whose created times are stored relative
// to base (Unix milliseconds).
func newStore(base int64) store {
	return store{nameIdx: map[string]uint32{}, base: base}
}

// rec returns record i (i < st.n).
func (st *store) rec(i uint32) *record { return &st.chunks[i>>chunkBits][i&(chunkSize-1)] }

// add appends a live record and returns its index.
func (st *store) add(r record) uint32 {
	i := st.n
	if i&(chunkSize-1) == 0 {
		var c []record
		if i > 0 { // the first chunk grows as needed, the others are full size
			c = make([]record, 0, chunkSize)
		}
		st.chunks = append(st.chunks, c)
	}
	c := &st.chunks[len(st.chunks)-1]
	if len(*c) == cap(*c) {
		grown := make([]record, len(*c), min(chunkSize, max(16, 2*cap(*c))))
		copy(grown, *c)
		*c = grown
	}
	*c = append(*c, r)
	st.n++
	if i%64 == 0 {
		st.dead = append(st.dead, 0)
	}
	if i%blockSize == 0 {
		st.liveBefore = append(st.liveBefore, uint32(st.nLive))
	}
	st.nLive++
	st.indexID(i)
	return i
}

// idHash mixes the two halves of an ID into its index hash.
func idHash(id [16]byte) uint64 {
	h := binary.LittleEndian.Uint64(id[:8]) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(id[8:]), 29)
	return h * 0x9e3779b97f4a7c15
}

// indexID adds record i to the ID index, growing it beyond 3/4 full.
func (st *store) indexID(i uint32) {
	if uint64(st.n)*4 > uint64(len(st.ids))*3 {
		size := max(64, 2*len(st.ids))
		st.ids = make([]uint32, size)
		st.idShift = uint(64 - bits.TrailingZeros(uint(size)))
		for j := range st.n {
			if j != i {
				st.slot(j)
			}
		}
	}
	st.slot(i)
}

// slot puts record i in the first free slot of its probe sequence.
func (st *store) slot(i uint32) {
	mask := uint64(len(st.ids) - 1)
	for p := idHash(st.rec(i).id) >> st.idShift; ; p = (p + 1) & mask {
		if st.ids[p] == 0 {
			st.ids[p] = i + 1
			return
		}
	}
}

// find returns the index of the record with the given ID, deleted or not.
func (st *store) find(id [16]byte) (uint32, bool) {
	if len(st.ids) == 0 {
		return 0, false
	}
	mask := uint64(len(st.ids) - 1)
	for p := idHash(id) >> st.idShift; ; p = (p + 1) & mask {
		v := st.ids[p]
		if v == 0 {
			return 0, false
		}
		if st.rec(v-1).id == id {
			return v - 1, true
		}
	}
}

// del deletes record i (live): its contents are freed.
func (st *store) del(i uint32) {
	st.rec(i).data = ""
	st.dead[i/64] |= 1 << (i % 64)
	for b := i/blockSize + 1; b < uint32(len(st.liveBefore)); b++ {
		st.liveBefore[b]--
	}
	st.nLive--
}

// nth returns the index of the k-th live record (k < st.nLive), counting
// from 0 in creation order.
func (st *store) nth(k int) uint32 {
	b := sort.Search(len(st.liveBefore), func(j int) bool { return int(st.liveBefore[j]) > k }) - 1
	rem := k - int(st.liveBefore[b])
	for w := b * blockSize / 64; ; w++ {
		live := ^st.dead[w]
		if valid := st.n - uint32(w)*64; valid < 64 {
			live &= 1<<valid - 1
		}
		c := bits.OnesCount64(live)
		if rem < c {
			for ; rem > 0; rem-- {
				live &= live - 1
			}
			return uint32(w*64 + bits.TrailingZeros64(live))
		}
		rem -= c
	}
}

// nextLive returns the index of the first live record at or after i, st.n
// if none.
func (st *store) nextLive(i uint32) uint32 {
	for i < st.n {
		if live := ^st.dead[i/64] >> (i % 64); live != 0 {
			return min(st.n, i+uint32(bits.TrailingZeros64(live)))
		}
		i = (i/64 + 1) * 64
	}
	return st.n
}

// The packed form of a contact, a string of:
//
//	uvarint  presence bits (1<<f: field f not empty) << 3 | status
//	uvarint  state + 1
//	varint   created - store.base
//	uvarint  updated - created
//	for each field f present, each of its segments (see segments):
//	  uvarint tag: tag&1 == 1: the interned value names[tag>>1]; else the
//	          tag>>1 bytes that follow
//
// A field of two segments is their concatenation. Segments are split at
// ASCII characters, so that each can be JSON-encoded apart.

// segmented reports whether field f is stored as two segments.
func segmented(f int) bool { return f == fName || f == fEmails || f == fLinkedin }

// segments splits a non-empty value of field f into the segments it is
// stored as: a name at its first space (first name and space, rest), emails
// at the last '@' of the last one (the rest, domain), a LinkedIn URL after
// its last '/' but a final one (prefix, profile). Other fields, and values
// without the separator, are one segment.
func segments(f int, v string) (string, string) {
	switch f {
	case fName:
		if i := strings.IndexByte(v, ' '); i >= 0 {
			return v[:i+1], v[i+1:]
		}
	case fEmails:
		if i := strings.LastIndexByte(v, '@'); i >= 0 && strings.IndexByte(v[i:], 0) < 0 {
			return v[:i], v[i:]
		}
	case fLinkedin:
		if i := strings.LastIndexByte(v[:len(v)-1], '/'); i >= 0 {
			return v[:i+1], v[i+1:]
		}
	}
	return v, ""
}

// internable reports whether segment seg of field f holds values that
// recur from contact to contact (phones, email local parts and LinkedIn
// profiles do not).
func internable(f, seg int) bool {
	switch f {
	case fPhones:
		return false
	case fEmails:
		return seg == 1
	case fLinkedin:
		return seg == 0
	}
	return true
}

// intern returns the index of v in st.names, adding a copy of it while
// there is room.
func (st *store) intern(v string) (uint32, bool) {
	if i, ok := st.nameIdx[v]; ok {
		return i, true
	}
	if len(st.names) >= maxNames {
		return 0, false
	}
	v = strings.Clone(v)
	i := uint32(len(st.names))
	st.names = append(st.names, v)
	st.nameIdx[v] = i
	return i, true
}

// pack returns the packed form of a contact.
func (st *store) pack(vals [nFields]string, m meta) string {
	var (
		tags     [nFields][2]uint64
		segs     [nFields][2]string
		presence uint64
	)
	size := 0
	for f, v := range vals {
		if v == "" {
			continue
		}
		presence |= 1 << f
		n := 1
		if segmented(f) {
			n = 2
			segs[f][0], segs[f][1] = segments(f, v)
		} else {
			segs[f][0] = v
		}
		for k, s := range segs[f][:n] {
			if s != "" && len(s) <= maxInternLen && internable(f, k) {
				if i, ok := st.intern(s); ok {
					tags[f][k] = uint64(i)<<1 | 1
					size += uvarintLen(tags[f][k])
					continue
				}
			}
			tags[f][k] = uint64(len(s)) << 1
			size += uvarintLen(tags[f][k]) + len(s)
		}
	}
	var hdr [4 * binary.MaxVarintLen64]byte
	h := st.appendHeader(hdr[:0], presence, m)
	var b strings.Builder
	b.Grow(len(h) + size)
	b.Write(h)
	for f := range nFields {
		if presence&(1<<f) == 0 {
			continue
		}
		n := 1
		if segmented(f) {
			n = 2
		}
		for k := range n {
			t := tags[f][k]
			b.Write(binary.AppendUvarint(hdr[:0], t))
			if t&1 == 0 {
				b.WriteString(segs[f][k])
			}
		}
	}
	return b.String()
}

func (st *store) appendHeader(b []byte, presence uint64, m meta) []byte {
	b = binary.AppendUvarint(b, presence<<3|uint64(m.status))
	b = binary.AppendUvarint(b, uint64(int64(m.state)+1))
	b = binary.AppendVarint(b, m.created-st.base)
	return binary.AppendUvarint(b, uint64(m.updated)-uint64(m.created))
}

func uvarintLen(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

// uvarint decodes the uvarint at data[p:] and returns it and the offset
// after it.
func uvarint(data string, p int) (uint64, int) {
	var x uint64
	for s := uint(0); ; s += 7 {
		c := data[p]
		p++
		if c < 0x80 {
			return x | uint64(c)<<s, p
		}
		x |= uint64(c&0x7f) << s
	}
}

// readMeta decodes the header of packed data: its meta, presence bits, and
// the offset of its fields.
func (st *store) readMeta(data string) (meta, uint64, int) {
	var m meta
	h, p := uvarint(data, 0)
	m.status = uint8(h & 7)
	state, p := uvarint(data, p)
	m.state = int32(int64(state) - 1)
	ux, p := uvarint(data, p)
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	m.created = st.base + x
	d, p := uvarint(data, p)
	m.updated = int64(uint64(m.created) + d)
	return m, h >> 3, p
}

// withMeta returns packed data with its meta replaced by m.
func (st *store) withMeta(data string, m meta) string {
	_, presence, p := st.readMeta(data)
	var hdr [4 * binary.MaxVarintLen64]byte
	h := st.appendHeader(hdr[:0], presence, m)
	var b strings.Builder
	b.Grow(len(h) + len(data) - p)
	b.Write(h)
	b.WriteString(data[p:])
	return b.String()
}

// unpacked is a contact read from its packed form; its strings share the
// packed string's and the interned ones' memory.
type unpacked struct {
	meta
	seg [nFields][2]string // a field is seg[f][0] + seg[f][1]
}

// unpack reads packed data into u; names is store.names (or a prefix of it
// holding every value the data refers to).
func (st *store) unpack(data string, names []string, u *unpacked) {
	var presence uint64
	var p int
	u.meta, presence, p = st.readMeta(data)
	u.seg = [nFields][2]string{}
	for f := range nFields {
		if presence&(1<<f) == 0 {
			continue
		}
		n := 1
		if segmented(f) {
			n = 2
		}
		for k := range n {
			var t uint64
			t, p = uvarint(data, p)
			if t&1 == 1 {
				u.seg[f][k] = names[t>>1]
				continue
			}
			end := p + int(t>>1)
			u.seg[f][k] = data[p:end]
			p = end
		}
	}
}

// field returns field f.
func (u *unpacked) field(f int) string {
	a, b := u.seg[f][0], u.seg[f][1]
	switch {
	case b == "":
		return a
	case a == "":
		return b
	}
	return a + b
}

// list returns the elements of a list field, nil if empty.
func (u *unpacked) list(f int) []string {
	s := u.field(f)
	if s == "" {
		return nil
	}
	return strings.Split(s, listSep)
}

// fields returns every field.
func (u *unpacked) fields() [nFields]string {
	var out [nFields]string
	for f := range out {
		out[f] = u.field(f)
	}
	return out
}

func joinList(xs []string) string {
	clean := make([]string, 0, len(xs))
	for _, x := range xs {
		clean = append(clean, strings.ReplaceAll(x, listSep, ""))
	}
	return strings.Join(clean, listSep)
}

func cleanString(s string) string { return strings.ReplaceAll(s, listSep, "") }

type note struct {
	id      [16]byte
	content string
	created int64
}

const timeLayout = "2006-01-02T15:04:05.000Z07:00"

func formatMillis(ms int64) string {
	return time.UnixMilli(ms).UTC().Format(timeLayout)
}

func appendMillis(b []byte, ms int64) []byte {
	return time.UnixMilli(ms).UTC().AppendFormat(b, timeLayout)
}
