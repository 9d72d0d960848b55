package mapping

import (
	"encoding/binary"
	"slices"
	"strconv"
)

// Hash returns a stable 64-bit FNV-1a hash of p's fields in set, computed
// over the same comparison keys Equal uses, so two persons EqualPerson on set
// hash equal (the converse holds only up to hash collisions). The engine uses
// it for cheap unchanged-record detection; it does not change between runs or
// releases unless the normalization rules do.
//
// The bytes hashed are, for each field of set in AllFields order, the
// field's name, the number of its keys and each key, every string preceded
// by its length as a uvarint. It builds no value: a resync hashes every
// record it lists and every base state it writes.
func Hash(p *Person, set FieldSet) uint64 {
	h := fnvHash(fnvOffset)
	var lists [8]string
	for _, f := range AllFields {
		if !set.Has(f) {
			continue
		}
		h = h.str(string(f))
		switch f {
		case FieldEmails, FieldPhones:
			elems := p.Emails
			if f == FieldPhones {
				elems = p.Phones
			}
			ks := lists[:0]
			for _, s := range elems {
				if k := canonicalElem(f, s); k != "" && !slices.Contains(ks, k) {
					ks = append(ks, k)
				}
			}
			h = h.uvarint(uint64(len(ks)))
			for _, k := range ks {
				h = h.str(k)
			}
		default:
			var s string
			switch {
			case f == FieldLeadStage:
				s = string(p.LeadStage)
			case f == FieldLeadScore:
				if p.LeadScore != nil {
					s = strconv.Itoa(*p.LeadScore)
				}
			default:
				s = *p.Text(f)
			}
			var k string
			if s != "" {
				k = canonicalElem(f, s)
			}
			if k == "" {
				h = h.uvarint(0)
				continue
			}
			h = h.uvarint(1).str(k)
		}
	}
	return uint64(h)
}

// fnvHash is a 64-bit FNV-1a state.
type fnvHash uint64

const (
	fnvOffset fnvHash = 14695981039346656037
	fnvPrime  fnvHash = 1099511628211
)

func (h fnvHash) uvarint(v uint64) fnvHash {
	var buf [binary.MaxVarintLen64]byte
	for _, b := range buf[:binary.PutUvarint(buf[:], v)] {
		h = (h ^ fnvHash(b)) * fnvPrime
	}
	return h
}

// str hashes s preceded by its length.
func (h fnvHash) str(s string) fnvHash {
	h = h.uvarint(uint64(len(s)))
	for i := 0; i < len(s); i++ {
		h = (h ^ fnvHash(s[i])) * fnvPrime
	}
	return h
}
