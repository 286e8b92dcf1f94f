package constraint

// Numeric bounds (minimum, maximum and their exclusive forms) compile to a DFA over the number's text:
// each bound is a regular language of decimal texts built digit by digit (shorter or longer integer
// parts, then the first digit that differs), and the DFA takes the intersection of both.

import (
	"encoding/json"
	"strconv"
	"strings"
)

// maxDigits is how many integer and fraction digits a bound keeps: bounds beyond ±10^40 or with finer
// fractions are moved inward to the nearest value that fits (never outward, so outputs stay valid).
const maxDigits = 40

// numericBounds reads minimum, maximum, exclusiveMinimum and exclusiveMaximum (numbers, or draft 4's
// booleans that make minimum/maximum exclusive).
func numericBounds(m map[string]any, path string) (lo, hi *bound, err error) {
	exclMin, _ := m["exclusiveMinimum"].(bool)
	exclMax, _ := m["exclusiveMaximum"].(bool)
	for _, k := range [...]struct {
		key          string
		excl, lower  bool
		draft4Strict bool
	}{{"minimum", false, true, exclMin}, {"exclusiveMinimum", true, true, false},
		{"maximum", false, false, exclMax}, {"exclusiveMaximum", true, false, false}} {
		x, ok := m[k.key]
		if _, isBool := x.(bool); !ok || isBool && k.excl {
			continue
		}
		b, err := parseBound(x, k.excl || k.draft4Strict, k.lower, path+"/"+k.key)
		if err != nil {
			return nil, nil, err
		}
		if k.lower {
			lo = tighter(lo, b, 1)
		} else {
			hi = tighter(hi, b, -1)
		}
	}
	return lo, hi, nil
}

// parseBound reads a bound and moves it inward to maxDigits digits either side of the point.
func parseBound(x any, excl, lower bool, path string) (*bound, error) {
	n, _ := x.(json.Number)
	d, ok := parseDec(string(n))
	if !ok {
		return nil, &SchemaError{path, "must be a number"}
	}
	b := &bound{v: d, excl: excl}
	// Past ±10^40: the bound on the far side of zero moves in to ±(10^40-1); on the near side the
	// schema asks for numbers we do not write.
	if d.order() > maxDigits {
		if lower != d.neg {
			return nil, &SchemaError{path, "bounds beyond ±1e40 are not supported"}
		}
		b.v, b.excl = dec{neg: d.neg, digits: strings.Repeat("9", maxDigits)}, false
	}
	if r, moved := b.v.roundTo(-maxDigits, lower); moved {
		b.v, b.excl = r, false
	}
	return b, nil
}

// integerBounds turns bounds into inclusive integer ones: ceil/floor, one further in when exclusive.
func integerBounds(lo, hi *bound) (*bound, *bound) {
	round := func(b *bound, lower bool) *bound {
		if b == nil {
			return nil
		}
		v, _ := b.v.roundTo(0, lower)
		if b.excl && v.cmp(b.v) == 0 {
			v = v.step(0, lower)
		}
		return &bound{v: v}
	}
	return round(lo, true), round(hi, false)
}

// numberDFA is the DFA of the number texts (integer texts when integer) within lo and hi, written
// without exponent; nil when no number fits.
func numberDFA(lo, hi *bound, integer bool) *dfa {
	if integer {
		lo, hi = integerBounds(lo, hi)
	}
	nf := &nfa{}
	for _, alts := range [][]string{lowerAlts(lo, integer), upperAlts(hi, integer)} {
		if alts == nil {
			continue
		}
		if len(alts) == 0 {
			return nil
		}
		re, err := parseRegexp(strings.Join(alts, "|"))
		if err != nil {
			panic("constraint: bad bound regexp: " + err.Error())
		}
		if nf.addRegexp(re) != nil {
			return nil
		}
	}
	d := newDFA(nf, nil)
	if !d.isLive(d.start) {
		return nil
	}
	return d
}

// Magnitudes: all (zero included) and positive, with an optional fraction unless integer.
const (
	fracOpt  = `(?:\.[0-9]+)?`
	natAll   = `(?:0|[1-9][0-9]*)`
	posInt   = `[1-9][0-9]*`
	posFloat = `(?:[1-9][0-9]*(?:\.[0-9]+)?|0\.[0-9]*[1-9][0-9]*)`
)

// lowerAlts are the alternatives of the texts >= lo (> lo when exclusive); nil when lo is nil.
func lowerAlts(lo *bound, integer bool) []string {
	if lo == nil {
		return nil
	}
	ip, fp := lo.v.intFrac()
	if !lo.v.neg {
		return geAlts(ip, fp, lo.excl, integer)
	}
	all := natAll
	if !integer {
		all += fracOpt
	}
	return append([]string{all}, negated(leAlts(ip, fp, lo.excl, integer))...)
}

// upperAlts are the alternatives of the texts <= hi (< hi when exclusive); nil when hi is nil.
func upperAlts(hi *bound, integer bool) []string {
	if hi == nil {
		return nil
	}
	ip, fp := hi.v.intFrac()
	if hi.v.neg {
		return append([]string{}, negated(geAlts(ip, fp, hi.excl, integer))...)
	}
	pos := posFloat
	if integer {
		pos = posInt
	}
	return append(leAlts(ip, fp, hi.excl, integer), "-"+pos)
}

// negated is the alternative "-" followed by one of alts (none when alts is empty).
func negated(alts []string) []string {
	if len(alts) == 0 {
		return nil
	}
	return []string{"-(?:" + strings.Join(alts, "|") + ")"}
}

// geAlts are the non-negative texts >= ip.fp (> when strict).
func geAlts(ip, fp string, strict, integer bool) []string {
	var alts []string
	for _, a := range natGreater(ip) {
		if !integer {
			a += fracOpt
		}
		alts = append(alts, a)
	}
	if !integer {
		fr := fracGreater(fp)
		if !strict {
			fr = append(fr, fracEqual(fp))
		}
		alts = append(alts, ip+`\.(?:`+strings.Join(fr, "|")+")")
	}
	if !strict && fp == "" {
		alts = append(alts, ip)
	}
	return alts
}

// leAlts are the non-negative texts <= ip.fp (< when strict).
func leAlts(ip, fp string, strict, integer bool) []string {
	var alts []string
	for _, a := range natLess(ip) {
		if !integer {
			a += fracOpt
		}
		alts = append(alts, a)
	}
	if !integer {
		fr := fracLess(fp)
		if !strict {
			fr = append(fr, fracEqual(fp))
		}
		if len(fr) > 0 {
			alts = append(alts, ip+`\.(?:`+strings.Join(fr, "|")+")")
		}
	}
	if !strict || fp != "" {
		alts = append(alts, ip)
	}
	return alts
}

// digitClass is the regexp class of the digits lo..hi.
func digitClass(lo, hi byte) string {
	if lo == hi {
		return string(lo)
	}
	return "[" + string(lo) + "-" + string(hi) + "]"
}

// anyDigits is exactly k digits.
func anyDigits(k int) string {
	if k == 0 {
		return ""
	}
	return "[0-9]{" + strconv.Itoa(k) + "}"
}

// natLess are the canonical naturals below n (canonical digits).
func natLess(n string) []string {
	k := len(n)
	var alts []string
	if k > 1 {
		alts = append(alts, "0", "[1-9]"+strings.TrimSuffix("[0-9]{0,"+strconv.Itoa(k-2)+"}", "[0-9]{0,0}"))
	}
	for i := 0; i < k; i++ {
		lo := byte('0')
		if i == 0 && k > 1 {
			lo = '1'
		}
		if n[i] > lo {
			alts = append(alts, n[:i]+digitClass(lo, n[i]-1)+anyDigits(k-i-1))
		}
	}
	return alts
}

// natGreater are the canonical naturals above n (canonical digits).
func natGreater(n string) []string {
	k := len(n)
	alts := []string{"[1-9][0-9]{" + strconv.Itoa(k) + ",}"}
	for i := 0; i < k; i++ {
		if n[i] < '9' {
			alts = append(alts, n[:i]+digitClass(n[i]+1, '9')+anyDigits(k-i-1))
		}
	}
	return alts
}

// Fractions: the digits F after a point compared with the fraction digits s (no trailing zeros) as
// the values 0.F and 0.s.

// fracEqual is 0.F = 0.s.
func fracEqual(s string) string {
	if s == "" {
		return "0+"
	}
	return s + "0*"
}

// fracGreater is 0.F > 0.s.
func fracGreater(s string) []string {
	alts := []string{s + "[0-9]*[1-9][0-9]*"}
	for i := 0; i < len(s); i++ {
		if s[i] < '9' {
			alts = append(alts, s[:i]+digitClass(s[i]+1, '9')+"[0-9]*")
		}
	}
	return alts
}

// fracLess is 0.F < 0.s.
func fracLess(s string) []string {
	var alts []string
	for i := 0; i < len(s); i++ {
		if s[i] > '0' {
			alts = append(alts, s[:i]+digitClass('0', s[i]-1)+"[0-9]*")
		}
		if i > 0 {
			alts = append(alts, s[:i])
		}
	}
	return alts
}
