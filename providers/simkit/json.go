package simkit

import "github.com/crmsync/crmsync/internal/jsontext"

// AppendJSONString appends s to b as a JSON string (jsontext.AppendString).
func AppendJSONString(b []byte, s string) []byte { return jsontext.AppendString(b, s) }

// AppendJSONStringBody appends s escaped, without the quotes
// (jsontext.AppendStringBody).
func AppendJSONStringBody(b []byte, s string) []byte { return jsontext.AppendStringBody(b, s) }

// AppendJSONStringOrNull appends s as a JSON string, or null when s is
// empty (an unset nullable field).
func AppendJSONStringOrNull(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return AppendJSONString(b, s)
}
