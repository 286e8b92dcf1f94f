package constraint

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"
)

// This file is an independent validator for the JSON Schema subset, written from the specification
// (draft 2020-12 semantics: additionalProperties defaults to true, integer means an integral value,
// oneOf means exactly one). Tests hold the matcher's outputs against it.

// decodeJSON parses exactly one JSON value, keeping numbers exact.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data")
	}
	if _, err := dec.Token(); err == nil {
		return nil, fmt.Errorf("trailing token")
	}
	return v, nil
}

// decimal is a JSON number exactly, in a normal form that any exponent fits: the value is
// (-1 if neg) · digits · 10^exp, digits has no leading or trailing zeros, and zero is digits "".
// (big.Rat refuses exponents like 395e921252958276, which are valid JSON.)
type decimal struct {
	neg    bool
	digits string
	exp    *big.Int
}

// parseDecimal reads a JSON number (encoding/json has checked its grammar).
func parseDecimal(n json.Number) decimal {
	s := string(n)
	d := decimal{exp: new(big.Int)}
	if strings.HasPrefix(s, "-") {
		d.neg, s = true, s[1:]
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		if _, ok := d.exp.SetString(strings.TrimPrefix(s[i+1:], "+"), 10); !ok {
			panic("bad number " + n)
		}
		s = s[:i]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	d.exp.Sub(d.exp, big.NewInt(int64(len(frac))))
	digits := strings.TrimLeft(intPart+frac, "0")
	trimmed := strings.TrimRight(digits, "0")
	d.exp.Add(d.exp, big.NewInt(int64(len(digits)-len(trimmed))))
	d.digits = trimmed
	if d.digits == "" {
		return decimal{exp: new(big.Int)}
	}
	return d
}

// equal is numeric equality.
func (d decimal) equal(e decimal) bool {
	return d.neg == e.neg && d.digits == e.digits && d.exp.Cmp(e.exp) == 0
}

// isInt reports whether the value is integral.
func (d decimal) isInt() bool { return d.digits == "" || d.exp.Sign() >= 0 }

// trunc is the value truncated to an integer, clamped to the int range.
func (d decimal) trunc() int {
	if d.digits == "" {
		return 0
	}
	if d.exp.Cmp(big.NewInt(18)) > 0 {
		if d.neg {
			return math.MinInt
		}
		return math.MaxInt
	}
	digits := d.digits
	if e := int(d.exp.Int64()); e >= 0 {
		digits += strings.Repeat("0", e)
	} else if len(digits)+e > 0 {
		digits = digits[:len(digits)+e]
	} else {
		digits = "0"
	}
	v, ok := new(big.Int).SetString(digits, 10)
	if !ok || !v.IsInt64() {
		if d.neg {
			return math.MinInt
		}
		return math.MaxInt
	}
	if d.neg {
		v.Neg(v)
	}
	return int(v.Int64())
}

// jsonEqual is JSON value equality: numbers by value, objects regardless of key order.
func jsonEqual(a, b any) bool {
	switch a := a.(type) {
	case json.Number:
		bn, ok := b.(json.Number)
		return ok && parseDecimal(a).equal(parseDecimal(bn))
	case []any:
		bl, ok := b.([]any)
		if !ok || len(a) != len(bl) {
			return false
		}
		for i := range a {
			if !jsonEqual(a[i], bl[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok || len(a) != len(bm) {
			return false
		}
		for k, v := range a {
			w, ok := bm[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	}
	return a == b
}

func hasType(v any, t string) bool {
	switch t {
	case "null":
		return v == nil
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "number":
		_, ok := v.(json.Number)
		return ok
	case "integer":
		n, ok := v.(json.Number)
		return ok && parseDecimal(n).isInt()
	}
	panic("unknown type " + t)
}

func intKw(s map[string]any, k string) (int, bool) {
	x, ok := s[k]
	if !ok {
		return 0, false
	}
	return parseDecimal(x.(json.Number)).trunc(), true
}

// validate reports why v does not satisfy schema s (nil: it does).
func validate(s any, v any) error {
	switch s := s.(type) {
	case bool:
		if !s {
			return fmt.Errorf("false schema")
		}
		return nil
	case nil:
		return nil
	}
	sm := s.(map[string]any)
	if t, ok := sm["type"]; ok {
		var list []any
		if ts, ok := t.(string); ok {
			list = []any{ts}
		} else {
			list = t.([]any)
		}
		found := false
		for _, x := range list {
			found = found || hasType(v, x.(string))
		}
		if !found {
			return fmt.Errorf("type %v: %v", t, v)
		}
	}
	if e, ok := sm["enum"]; ok {
		found := false
		for _, x := range e.([]any) {
			found = found || jsonEqual(x, v)
		}
		if !found {
			return fmt.Errorf("not in enum: %v", v)
		}
	}
	if c, ok := sm["const"]; ok && !jsonEqual(c, v) {
		return fmt.Errorf("not const: %v", v)
	}
	if a, ok := sm["anyOf"]; ok {
		n := 0
		for _, sub := range a.([]any) {
			if validate(sub, v) == nil {
				n++
			}
		}
		if n == 0 {
			return fmt.Errorf("anyOf: none matches %v", v)
		}
	}
	if a, ok := sm["oneOf"]; ok {
		n := 0
		for _, sub := range a.([]any) {
			if validate(sub, v) == nil {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("oneOf: %d match %v", n, v)
		}
	}
	switch v := v.(type) {
	case string:
		n := utf8.RuneCountInString(v)
		if min, ok := intKw(sm, "minLength"); ok && n < min {
			return fmt.Errorf("minLength: %q", v)
		}
		if max, ok := intKw(sm, "maxLength"); ok && n > max {
			return fmt.Errorf("maxLength: %q", v)
		}
		if p, ok := sm["pattern"]; ok && !regexp.MustCompile(p.(string)).MatchString(v) {
			return fmt.Errorf("pattern %q: %q", p, v)
		}
	case []any:
		if min, ok := intKw(sm, "minItems"); ok && len(v) < min {
			return fmt.Errorf("minItems: %v", v)
		}
		if max, ok := intKw(sm, "maxItems"); ok && len(v) > max {
			return fmt.Errorf("maxItems: %v", v)
		}
		if it, ok := sm["items"]; ok {
			for i, x := range v {
				if err := validate(it, x); err != nil {
					return fmt.Errorf("item %d: %w", i, err)
				}
			}
		}
	case map[string]any:
		props, _ := sm["properties"].(map[string]any)
		if r, ok := sm["required"]; ok {
			for _, name := range r.([]any) {
				if _, ok := v[name.(string)]; !ok {
					return fmt.Errorf("required %q missing", name)
				}
			}
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			sub, listed := props[k]
			if !listed {
				var ok bool
				if sub, ok = sm["additionalProperties"]; !ok {
					continue
				}
			}
			if err := validate(sub, v[k]); err != nil {
				return fmt.Errorf("property %q: %w", k, err)
			}
		}
	}
	return nil
}

// The reference validator's numbers: equal by value, integral by value, whatever their exponent.
func TestDecimal(t *testing.T) {
	for _, c := range []struct {
		a, b  json.Number
		equal bool
	}{{"1.0", "1", true}, {"10e-1", "1", true}, {"-0.0", "0", true}, {"1.5", "15e-1", true}, {"2", "2.0001", false},
		{"-1", "1", false}, {"395e921252958276", "3950e921252958275", true}} {
		if got := parseDecimal(c.a).equal(parseDecimal(c.b)); got != c.equal {
			t.Errorf("%s == %s: %v", c.a, c.b, got)
		}
	}
	for n, want := range map[json.Number]bool{"395e921252958276": true, "1e-400": false, "12.50e1": true, "0.5": false, "0e-99": true} {
		if got := parseDecimal(n).isInt(); got != want {
			t.Errorf("%s is an integer: %v", n, got)
		}
	}
	for n, want := range map[json.Number]int{"0": 0, "0.0e5": 0, "3.9": 3, "1e2": 100, "-2.5": -2, "1e-400": 0, "7e30": math.MaxInt} {
		if got := parseDecimal(n).trunc(); got != want {
			t.Errorf("trunc(%s) = %d, want %d", n, got, want)
		}
	}
}
