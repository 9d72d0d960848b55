package mapping

// Punycode (RFC 3492) encoding, used to compare internationalized email
// domains with their ASCII form. Only encoding is needed.

const (
	pcBase        = 36
	pcTMin        = 1
	pcTMax        = 26
	pcSkew        = 38
	pcDamp        = 700
	pcInitialBias = 72
	pcInitialN    = 128
)

// punycode returns the RFC 3492 encoding of s, without the "xn--" prefix;
// false on overflow (inputs far longer than any domain label).
func punycode(s string) (string, bool) {
	rs := []rune(s)
	out := make([]byte, 0, len(s)+8)
	var b int32
	for _, r := range rs {
		if r < 0x80 {
			out = append(out, byte(r))
			b++
		}
	}
	h := b
	if b > 0 {
		out = append(out, '-')
	}
	n, delta, bias := int32(pcInitialN), int32(0), int32(pcInitialBias)
	for h < int32(len(rs)) {
		m := int32(0x7fffffff)
		for _, r := range rs {
			if r >= n && r < m {
				m = r
			}
		}
		if int64(delta)+int64(m-n)*int64(h+1) > 0x7fffffff {
			return "", false
		}
		delta += (m - n) * (h + 1)
		n = m
		for _, r := range rs {
			if r < n {
				delta++
				if delta < 0 {
					return "", false
				}
				continue
			}
			if r > n {
				continue
			}
			q := delta
			for k := int32(pcBase); ; k += pcBase {
				t := k - bias
				if t < pcTMin {
					t = pcTMin
				} else if t > pcTMax {
					t = pcTMax
				}
				if q < t {
					break
				}
				out = append(out, pcDigit(t+(q-t)%(pcBase-t)))
				q = (q - t) / (pcBase - t)
			}
			out = append(out, pcDigit(q))
			bias = pcAdapt(delta, h+1, h == b)
			delta = 0
			h++
		}
		delta++
		n++
	}
	return string(out), true
}

func pcDigit(d int32) byte {
	if d < 26 {
		return byte('a' + d)
	}
	return byte('0' + d - 26)
}

func pcAdapt(delta, numPoints int32, first bool) int32 {
	if first {
		delta /= pcDamp
	} else {
		delta /= 2
	}
	delta += delta / numPoints
	k := int32(0)
	for delta > ((pcBase-pcTMin)*pcTMax)/2 {
		delta /= pcBase - pcTMin
		k += pcBase
	}
	return k + (pcBase-pcTMin+1)*delta/(delta+pcSkew)
}
