package constraint

// Exact decimals for the numbers of schemas (bounds, enum values). math/big would do, at ~400 KB of
// guest binary; these needs are few: parse, compare, cut to a number of fraction digits, add one unit.

import "strings"

// dec is the exact value (-1 if neg) × digits × 10^exp; digits has no leading or trailing zeros, and
// zero is digits "" (never negative).
type dec struct {
	neg    bool
	digits string
	exp    int
}

// maxExp bounds the exponents parseDec keeps: past it a number is further from zero than every bound
// kept (or closer to it than every fraction digit kept), so the clamp changes nothing that is used.
const maxExp = 1_000_000

// parseDec reads a JSON number text; false if s is not one.
func parseDec(s string) (dec, bool) {
	var d dec
	if strings.HasPrefix(s, "-") {
		d.neg, s = true, s[1:]
	}
	mant, e := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		es := strings.TrimPrefix(s[i+1:], "+")
		eneg := strings.HasPrefix(es, "-")
		es = strings.TrimPrefix(es, "-")
		if es == "" || !allDigits(es) {
			return dec{}, false
		}
		for _, c := range []byte(es) {
			e = min(e*10+int(c-'0'), maxExp)
		}
		if eneg {
			e = -e
		}
	}
	ip, fp, _ := strings.Cut(mant, ".")
	if ip == "" || !allDigits(ip) || !allDigits(fp) {
		return dec{}, false
	}
	d.digits, d.exp = ip+fp, e-len(fp)
	return d.norm(), true
}

// allDigits reports whether s is only ASCII digits.
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// norm strips leading and trailing zeros (the latter into exp).
func (d dec) norm() dec {
	d.digits = strings.TrimLeft(d.digits, "0")
	t := strings.TrimRight(d.digits, "0")
	d.exp += len(d.digits) - len(t)
	d.digits = t
	if d.digits == "" {
		return dec{}
	}
	return d
}

// order is the number of integer digits of |d| (10^(order-1) <= |d| < 10^order); zero has none.
func (d dec) order() int { return len(d.digits) + d.exp }

// isInt reports whether d is an integer.
func (d dec) isInt() bool { return d.digits == "" || d.exp >= 0 }

// cmp compares a and b (-1, 0, 1).
func (a dec) cmp(b dec) int {
	if a.neg != b.neg {
		if a.neg {
			return -1
		}
		return 1
	}
	c := 0
	switch {
	case a.digits == "" || b.digits == "":
		c = strings.Compare(a.digits, b.digits) // "" first
	case a.order() != b.order():
		c = 1
		if a.order() < b.order() {
			c = -1
		}
	default: // same leading position: digits compare as fractions
		c = strings.Compare(a.digits, b.digits)
	}
	if a.neg {
		c = -c
	}
	return c
}

// fixed writes |d| as digits at scale 10^scale (d must have no finer digit): |d| / 10^scale.
func (d dec) fixed(scale int) string {
	return d.digits + strings.Repeat("0", d.exp-scale)
}

// trunc cuts d toward zero to a multiple of 10^scale; cut reports whether a nonzero digit went.
func (d dec) trunc(scale int) (t dec, cut bool) {
	if d.exp >= scale {
		return d, false
	}
	keep := d.order() - scale
	if keep <= 0 {
		return dec{}, d.digits != ""
	}
	return dec{neg: d.neg, digits: d.digits[:keep], exp: scale}.norm(), true
}

// awayFromZero moves d (a multiple of 10^scale) one unit of 10^scale away from zero; from zero it
// goes to the negative unit when negZero is set.
func (d dec) awayFromZero(scale int, negZero bool) dec {
	if d.digits == "" {
		return dec{neg: negZero, digits: "1", exp: scale}
	}
	s := []byte(d.fixed(scale))
	i := len(s) - 1
	for ; i >= 0 && s[i] == '9'; i-- {
		s[i] = '0'
	}
	if i < 0 {
		s = append([]byte{'1'}, s...)
	} else {
		s[i]++
	}
	return dec{neg: d.neg, digits: string(s), exp: scale}.norm()
}

// towardZero moves a nonzero multiple of 10^scale one unit toward zero.
func (d dec) towardZero(scale int) dec {
	s := []byte(d.fixed(scale))
	i := len(s) - 1
	for ; s[i] == '0'; i-- {
		s[i] = '9'
	}
	s[i]--
	return dec{neg: d.neg, digits: string(s), exp: scale}.norm()
}

// step moves d (a multiple of 10^scale) by one unit of 10^scale, up (toward +∞) or down.
func (d dec) step(scale int, up bool) dec {
	if d.digits == "" || d.neg != up {
		return d.awayFromZero(scale, !up)
	}
	return d.towardZero(scale)
}

// roundTo moves d to a multiple of 10^scale, up (toward +∞) or down; moved reports a change.
func (d dec) roundTo(scale int, up bool) (r dec, moved bool) {
	t, cut := d.trunc(scale)
	if cut && up != d.neg { // truncation went down for a positive d, up for a negative one
		t = t.step(scale, up)
	}
	return t, cut
}

// intFrac writes |d| as integer digits (no leading zeros; "0") and fraction digits (no trailing zeros).
func (d dec) intFrac() (ip, fp string) {
	if d.exp >= 0 {
		if d.digits == "" {
			return "0", ""
		}
		return d.fixed(0), ""
	}
	n := d.order()
	if n > 0 {
		return d.digits[:n], d.digits[n:]
	}
	return "0", strings.Repeat("0", -n) + d.digits
}
