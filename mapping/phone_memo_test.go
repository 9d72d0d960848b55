package mapping

import (
	"fmt"
	"testing"
)

func TestPhoneMemo(t *testing.T) {
	for _, in := range []string{"06 12 34 56 78", "+1 415 555 2671", "12", "not a phone", "+33 6 12 34 56 78 ext. 12"} {
		first := NormalizePhone(in, "fr")
		if again := NormalizePhone(in, "FR"); again != first {
			t.Errorf("%q: memoized %+v, parsed %+v", in, again, first)
		}
		if direct := parsePhone(CollapseSpace(in), "FR"); direct != first {
			t.Errorf("%q: NormalizePhone %+v, parse %+v", in, first, direct)
		}
	}
	// The same text in another region is another entry.
	if fr, us := NormalizePhone("0612345678", "FR"), NormalizePhone("0612345678", "US"); fr == us {
		t.Errorf("region ignored: %+v", fr)
	}
	// A number with its country code is one entry for every region.
	if a, b := NormalizePhone("+33 6 12 34 56 79", "US"), NormalizePhone("+33612345679", "DE"); a.E164 != "+33612345679" || b.E164 != a.E164 {
		t.Errorf("+33 6 12 34 56 79 in US: %+v; +33612345679 in DE: %+v", a, b)
	}
	if p, ok := phones.get(phoneMemoKey{raw: "+33612345679"}); !ok || p.E164 != "+33612345679" {
		t.Errorf("+33612345679 has no region-free entry: %+v, %v", p, ok)
	}
	// Bounded: two generations of at most phoneMemoSize entries; filling
	// past the size keeps the latest entries.
	m := newPhoneMemo()
	n := 2*phoneMemoSize + 10
	for i := range n {
		m.put(phoneMemoKey{raw: fmt.Sprint(i), region: "FR"}, Phone{Raw: fmt.Sprint(i)})
	}
	if len(m.cur) > phoneMemoSize || len(m.prev) > phoneMemoSize {
		t.Errorf("memo generations hold %d and %d entries, want at most %d", len(m.cur), len(m.prev), phoneMemoSize)
	}
	for _, i := range []int{n - 1, n - phoneMemoSize/2} {
		if _, ok := m.get(phoneMemoKey{raw: fmt.Sprint(i), region: "FR"}); !ok {
			t.Errorf("entry %d of %d lost", i, n)
		}
	}
}
