package ligotest

import (
	"encoding/hex"
	"strconv"
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
