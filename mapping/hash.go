package mapping

import (
	"encoding/binary"
	"hash/fnv"
)

// Hash returns a stable 64-bit FNV-1a hash of p's fields in set, computed
// over the same comparison keys Equal uses, so two persons EqualPerson on set
// hash equal (the converse holds only up to hash collisions). The engine uses
// it for cheap unchanged-record detection; it does not change between runs or
// releases unless the normalization rules do.
func Hash(p *Person, set FieldSet) uint64 {
	h := fnv.New64a()
	var buf [binary.MaxVarintLen64]byte
	writeStr := func(s string) {
		n := binary.PutUvarint(buf[:], uint64(len(s)))
		h.Write(buf[:n])
		h.Write([]byte(s))
	}
	for _, f := range AllFields {
		if !set.Has(f) {
			continue
		}
		ks := keys(f, p.Get(f))
		writeStr(string(f))
		n := binary.PutUvarint(buf[:], uint64(len(ks)))
		h.Write(buf[:n])
		for _, k := range ks {
			writeStr(k)
		}
	}
	return h.Sum64()
}
