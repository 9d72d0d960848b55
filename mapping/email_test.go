package mapping

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestNormalizeEmail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		reason   string // substring of the error; "" when valid
	}{
		{"jean@example.fr", "jean@example.fr", ""},
		{"  Jean.Dupont@Example.FR  ", "jean.dupont@example.fr", ""},
		{"jean+crm@example.fr", "jean+crm@example.fr", ""},
		{"Jean+Tag+Two@Gmail.com", "jean+tag+two@gmail.com", ""},
		{"o'brien@example.ie", "o'brien@example.ie", ""},
		{"a_b-c!#$%&*/=?^`{|}~@sub.example.co.uk", "a_b-c!#$%&*/=?^`{|}~@sub.example.co.uk", ""},
		{"user@exämple.fr", "user@exämple.fr", ""},
		{"USER@EXÄMPLE.FR", "user@exämple.fr", ""},
		{"user@xn--exmple-cua.fr", "user@xn--exmple-cua.fr", ""},
		{"élodie@müller.de", "élodie@müller.de", ""},
		{"x@a-b.io", "x@a-b.io", ""},
		{"x@123.com", "x@123.com", ""},
		{"\tjean@example.fr\n", "jean@example.fr", ""},

		{"", "", "empty"},
		{"   ", "", "empty"},
		{"a@b", "", "no dot"},
		{"@x.fr", "", "empty local part"},
		{"a@", "", "empty domain"},
		{"a b@c.fr", "", "white space"},
		{"a@b c.fr", "", "white space"},
		{"Jean <j@x.fr>", "", "display-name"},
		{"<j@x.fr>", "", "display-name"},
		{"jean.example.fr", "", "no @"},
		{"a@b@c.fr", "", "more than one @"},
		{"a@.fr", "", "empty label"},
		{"a@x..fr", "", "empty label"},
		{"a@x.fr.", "", "empty label"},
		{".a@x.fr", "", "starts or ends with a dot"},
		{"a.@x.fr", "", "starts or ends with a dot"},
		{"a..b@x.fr", "", "two dots"},
		{`"a b"@x.fr`, "", "white space"},
		{`"ab"@x.fr`, "", "invalid character"},
		{"a(b)@x.fr", "", "invalid character"},
		{"a@-x.fr", "", "hyphen"},
		{"a@x-.fr", "", "hyphen"},
		{"a@x_y.fr", "", "invalid character"},
		{"a@[1.2.3.4]", "", "invalid character"},
		{"a@1.2.3.4", "", "all digits"},
		{"a@x.fr,b@y.fr", "", "more than one @"},
		{"a@x.fr;", "", "invalid character"},
		{"a\x00@x.fr", "", "control"},
		{"a@x.fr\xff", "", "UTF-8"},
		{strings.Repeat("a", 65) + "@x.fr", "", "local part longer than 64"},
		{"a@" + strings.Repeat("b", 64) + ".fr", "", "longer than 63"},
		{strings.Repeat("a", 60) + "@" + strings.Repeat(strings.Repeat("b", 60)+".", 4) + "fr", "", "longer than 254"},
	}
	for _, tt := range tests {
		got, err := NormalizeEmail(tt.in)
		if tt.reason == "" {
			if err != nil || got != tt.want {
				t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("NormalizeEmail(%q) = %q, want an error with %q", tt.in, got, tt.reason)
			continue
		}
		if !errors.Is(err, ErrInvalidEmail) || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("NormalizeEmail(%q) error = %v, want ErrInvalidEmail with %q", tt.in, err, tt.reason)
		}
		if got != "" {
			t.Errorf("NormalizeEmail(%q) returned %q with an error", tt.in, got)
		}
	}
}

func TestEmailKey(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"user@exämple.fr", "user@xn--exmple-cua.fr"},
		{"User@XN--EXMPLE-CUA.FR", "user@xn--exmple-cua.fr"},
		{"a@münchen.de", "a@xn--mnchen-3ya.de"},
		{"a@bücher.example", "a@xn--bcher-kva.example"},
		{"a@例え.jp", "a@xn--r8jz45g.jp"},
		{"jean+crm@example.fr", "jean+crm@example.fr"},
		// NFD (e + combining acute) and NFC compare equal.
		{"e\u0301lodie@x.fr", "\u00e9lodie@x.fr"},
	}
	for _, tt := range tests {
		got, err := EmailKey(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("EmailKey(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := EmailKey("a@b"); !errors.Is(err, ErrInvalidEmail) {
		t.Errorf("EmailKey(a@b) error = %v", err)
	}
}

func TestPunycode(t *testing.T) {
	t.Parallel()
	// Vectors from RFC 3492 §7.1 (lower-cased) and common IDNs.
	tests := []struct{ in, want string }{
		{"münchen", "mnchen-3ya"},
		{"bücher", "bcher-kva"},
		{"exämple", "exmple-cua"},
		{"ليهمابتكلموشعربي؟", "egbpdaj6bu4bxfgehfvwxn"},
		{"他们为什么不说中文", "ihqwcrb4cv8a8dqg056pqjye"},
		{"почемужеонинеговорятпорусски", "b1abfaaepdrnnbgefbadotcwatmq2g4l"},
		{"3年b組金八先生", "3b-ww4c5e180e575a65lsy2b"},
	}
	for _, tt := range tests {
		if got, ok := punycode(tt.in); !ok || got != tt.want {
			t.Errorf("punycode(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
}

func TestNormalizeEmails(t *testing.T) {
	t.Parallel()
	valid, issues := NormalizeEmails([]string{
		" Jean@X.fr ", "", "jean@x.fr", "not an email", "j2@x.fr", "user@exämple.fr", "USER@xn--exmple-cua.fr", "  ",
	})
	if want := []string{"jean@x.fr", "j2@x.fr", "user@exämple.fr"}; !slices.Equal(valid, want) {
		t.Errorf("valid = %q, want %q", valid, want)
	}
	if len(issues) != 1 || !strings.Contains(issues[0], "not an email") {
		t.Errorf("issues = %q, want one about %q", issues, "not an email")
	}
	if v, i := NormalizeEmails(nil); v != nil || i != nil {
		t.Errorf("NormalizeEmails(nil) = %q, %q", v, i)
	}
}
