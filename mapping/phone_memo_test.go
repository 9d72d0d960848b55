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
	// Bounded: filling past the size empties it.
	m := &phoneMemo{m: make(map[phoneMemoKey]Phone)}
	for i := range phoneMemoSize + 10 {
		m.put(phoneMemoKey{raw: fmt.Sprint(i), region: "FR"}, Phone{Raw: fmt.Sprint(i)})
	}
	if n := len(m.m); n > phoneMemoSize || n == 0 {
		t.Errorf("memo holds %d entries, want 1..%d", n, phoneMemoSize)
	}
}
