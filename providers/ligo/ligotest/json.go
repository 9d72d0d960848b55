package ligotest

import (
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/providers/simkit"
)

// appendUUID appends the canonical text form of id.
func appendUUID(b []byte, id [16]byte) []byte {
	var buf [36]byte
	hex.Encode(buf[0:8], id[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], id[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], id[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], id[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:], id[10:])
	return append(b, buf[:]...)
}

func uuidString(id [16]byte) string { return string(appendUUID(nil, id)) }

func appendInt(b []byte, n int) []byte { return strconv.AppendInt(b, int64(n), 10) }

// appendSegments appends the value of a field stored as segments (split at
// ASCII characters: see segments) as a JSON string, or null when empty and
// orNull.
func appendSegments(b []byte, seg [2]string, orNull bool) []byte {
	if seg[1] == "" {
		if orNull {
			return simkit.AppendJSONStringOrNull(b, seg[0])
		}
		return simkit.AppendJSONString(b, seg[0])
	}
	b = append(b, '"')
	b = simkit.AppendJSONStringBody(b, seg[0])
	b = simkit.AppendJSONStringBody(b, seg[1])
	return append(b, '"')
}

// appendList appends the elements of a list field stored as segments (its
// value split at listSep) as a JSON array of strings.
func appendList(b []byte, seg [2]string) []byte {
	if seg[0] == "" && seg[1] == "" {
		return append(b, '[', ']')
	}
	b = append(b, '[', '"')
	for _, v := range seg {
		for {
			i := strings.IndexByte(v, listSep[0])
			if i < 0 {
				b = simkit.AppendJSONStringBody(b, v)
				break
			}
			b = simkit.AppendJSONStringBody(b, v[:i])
			b = append(b, '"', ',', '"')
			v = v[i+1:]
		}
	}
	return append(b, '"', ']')
}
