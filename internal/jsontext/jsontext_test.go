package jsontext

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestAppendString(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"\n\r\t\x01\x1f", `"\n\r\t\u0001\u001f"`},
		{"<b>&é日本語", `"<b>&é日本語"`},
		{"\u2028\u2029", `"\u2028\u2029"`},
		{string([]byte{'a', 0xff, 'b'}), `"a\ufffdb"`},
	}
	for _, tt := range tests {
		if got := string(AppendString([]byte("x"), tt.in)); got != "x"+tt.want {
			t.Errorf("%q → %s, want %s", tt.in, got, tt.want)
		}
		// The body alone, and in two parts split at an ASCII character.
		body := tt.want[1 : len(tt.want)-1]
		if got := string(AppendStringBody([]byte("x"), tt.in)); got != "x"+body {
			t.Errorf("body of %q → %s, want %s", tt.in, got, body)
		}
		if i := strings.IndexFunc(tt.in, func(r rune) bool { return r < 0x80 }); i >= 0 {
			if got := string(AppendStringBody(AppendStringBody(nil, tt.in[:i]), tt.in[i:])); got != body {
				t.Errorf("body of %q in two parts → %s, want %s", tt.in, got, body)
			}
		}
	}
}

// TestJSONEscaping: odd inputs decode back to themselves (invalid UTF-8
// replaced).
func TestJSONEscaping(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"Zoë \"Q\" \\ <b>\u2028\x01\t\n", string([]byte{'a', 0xff, 'b'}), "", "日本語"} {
		b := AppendString(nil, in)
		var out string
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%q → %s: %v", in, b, err)
		}
		if want := strings.ToValidUTF8(in, "\ufffd"); out != want {
			t.Errorf("%q → %q", in, out)
		}
	}
}

// FuzzAppendString: the hand-written encoder always produces valid JSON
// that decodes to the input, each invalid byte replaced by U+FFFD.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "a\"b\\c\nd\te\x01", "é\u2028", string([]byte{0xff, 'a', 0xc3}),
		"quote\" back\\slash \x00 \u2029 é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		b := AppendString(nil, in)
		var out string
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%q → %s: %v", in, b, err)
		}
		if want := string([]rune(in)); out != want { // []rune yields U+FFFD per bad byte, as the encoder does
			t.Fatalf("round trip of %q: %q", in, out)
		}
	})
}
