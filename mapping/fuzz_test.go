package mapping

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// The fuzz targets check that no normalizer panics, that every output is
// bounded and that normalizing twice changes nothing. Seed corpora are in
// testdata/fuzz/<target>/; run one with e.g.
//
//	go test ./mapping -run '^$' -fuzz '^FuzzNormalizeEmail$' -fuzztime 30s

func FuzzNormalizeEmail(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		e, err := NormalizeEmail(s)
		if err != nil {
			if e != "" || !errors.Is(err, ErrInvalidEmail) {
				t.Fatalf("NormalizeEmail(%q) = %q, %v", s, e, err)
			}
			return
		}
		if len(e) > maxEmailLen || !utf8.ValidString(e) {
			t.Fatalf("NormalizeEmail(%q) = %q: %d bytes", s, e, len(e))
		}
		if e2, err := NormalizeEmail(e); err != nil || e2 != e {
			t.Fatalf("not idempotent: %q → %q → %q, %v", s, e, e2, err)
		}
		k, err := EmailKey(e)
		if err != nil || len(k) > 4*maxEmailLen {
			t.Fatalf("EmailKey(%q) = %q, %v", e, k, err)
		}
		if k2, err := EmailKey(k); err != nil || k2 != k {
			t.Fatalf("EmailKey not idempotent: %q → %q → %q, %v", e, k, k2, err)
		}
	})
}

func FuzzNormalizeLinkedIn(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		u, err := NormalizeLinkedIn(s)
		if err != nil {
			if u != "" || !errors.Is(err, ErrNotProfile) {
				t.Fatalf("NormalizeLinkedIn(%q) = %q, %v", s, u, err)
			}
			return
		}
		if len(u) > len(linkedInPrefix)+maxSlugLen || !strings.HasPrefix(u, linkedInPrefix) || !utf8.ValidString(u) {
			t.Fatalf("NormalizeLinkedIn(%q) = %q", s, u)
		}
		if u2, err := NormalizeLinkedIn(u); err != nil || u2 != u {
			t.Fatalf("not idempotent: %q → %q → %q, %v", s, u, u2, err)
		}
	})
}

func FuzzNormalizePhone(f *testing.F) {
	f.Fuzz(func(t *testing.T, s, region string) {
		p := NormalizePhone(s, region)
		k := p.Key()
		if len(k) > maxPhoneLen || len(p.Raw) > maxPhoneLen {
			t.Fatalf("NormalizePhone(%q, %q) = %+v: too long", s, region, p)
		}
		if p.Valid() && !strings.HasPrefix(p.E164, "+") {
			t.Fatalf("NormalizePhone(%q, %q) E164 = %q", s, region, p.E164)
		}
		if k2 := NormalizePhone(k, region).Key(); k2 != k {
			t.Fatalf("not idempotent in %q: %q → %q → %q", region, s, k, k2)
		}
	})
}

func FuzzSplitFullName(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		c := CollapseSpace(s)
		if len(c) > len(s) || CollapseSpace(c) != c {
			t.Fatalf("CollapseSpace(%q) = %q", s, c)
		}
		first, last := SplitFullName(s)
		if len(first)+len(last) > MaxFieldLen || strings.Contains(first, " ") {
			t.Fatalf("SplitFullName(%q) = (%q, %q)", s, first, last)
		}
		j := JoinName(first, last)
		if len(j) > MaxFieldLen {
			t.Fatalf("JoinName: %d bytes", len(j))
		}
		if f2, l2 := SplitFullName(j); f2 != first || l2 != last {
			t.Fatalf("SplitFullName(JoinName(SplitFullName(%q))) = (%q, %q), want (%q, %q)", s, f2, l2, first, last)
		}
		if n := NormalizeText(s); NormalizeText(n) != n || len(n) > MaxFieldLen {
			t.Fatalf("NormalizeText(%q) = %q", s, n)
		}
	})
}

func FuzzEqual(f *testing.F) {
	f.Fuzz(func(t *testing.T, fi uint8, a, b string) {
		fld := AllFields[int(fi)%len(AllFields)]
		va, vb := Value(strings.Split(a, "|")), Value(strings.Split(b, "|"))
		if !Equal(fld, va, va) || Equal(fld, va, vb) != Equal(fld, vb, va) {
			t.Fatalf("Equal(%s) not reflexive or symmetric on %q, %q", fld, va, vb)
		}
		var pa, pb Person
		pa.Set(fld, va)
		pb.Set(fld, vb)
		set := NewFieldSet(fld)
		if EqualPerson(set, &pa, &pb) && Hash(&pa, set) != Hash(&pb, set) {
			t.Fatalf("Equal(%s, %q, %q) but hashes differ", fld, va, vb)
		}
	})
}
