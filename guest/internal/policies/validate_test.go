package policies

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"unicode/utf8"
)

// validate checks a decoded JSON value (encoding/json with UseNumber) against a JSON Schema: a small
// validator of its own, independent of guest/constraint, for the keywords the tests use (type, enum, const,
// properties, required, additionalProperties, items, minItems, maxItems, minLength, maxLength, pattern,
// anyOf, oneOf).
func validate(v any, schema any) error {
	s, ok := schema.(map[string]any)
	if !ok {
		if b, isBool := schema.(bool); isBool && !b {
			return fmt.Errorf("schema false")
		}
		return nil
	}
	if t, ok := s["type"]; ok {
		var types []any
		switch t := t.(type) {
		case string:
			types = []any{t}
		case []any:
			types = t
		}
		okType := false
		for _, t := range types {
			okType = okType || hasType(v, t.(string))
		}
		if !okType {
			return fmt.Errorf("%v is not of type %v", v, t)
		}
	}
	if e, ok := s["enum"].([]any); ok {
		found := false
		for _, x := range e {
			found = found || equalJSON(v, x)
		}
		if !found {
			return fmt.Errorf("%v not in enum %v", v, e)
		}
	}
	if c, ok := s["const"]; ok && !equalJSON(v, c) {
		return fmt.Errorf("%v is not const %v", v, c)
	}
	for _, key := range []string{"anyOf", "oneOf"} {
		if alts, ok := s[key].([]any); ok {
			n := 0
			for _, alt := range alts {
				if validate(v, alt) == nil {
					n++
				}
			}
			if n == 0 || key == "oneOf" && n > 1 {
				return fmt.Errorf("%v matches %d of %s", v, n, key)
			}
		}
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for k, x := range v {
			if ps, ok := props[k]; ok {
				if err := validate(x, ps); err != nil {
					return fmt.Errorf("%s: %w", k, err)
				}
			} else if ap, ok := s["additionalProperties"]; ok {
				if err := validate(x, ap); err != nil {
					return fmt.Errorf("additional property %s: %w", k, err)
				}
			}
		}
		req, _ := s["required"].([]any)
		for _, k := range req {
			if _, ok := v[k.(string)]; !ok {
				return fmt.Errorf("missing required %s", k)
			}
		}
	case []any:
		if it, ok := s["items"]; ok {
			for i, x := range v {
				if err := validate(x, it); err != nil {
					return fmt.Errorf("[%d]: %w", i, err)
				}
			}
		}
		if n, ok := s["minItems"].(json.Number); ok && float64(len(v)) < num(n) {
			return fmt.Errorf("%d items < minItems %v", len(v), n)
		}
		if n, ok := s["maxItems"].(json.Number); ok && float64(len(v)) > num(n) {
			return fmt.Errorf("%d items > maxItems %v", len(v), n)
		}
	case string:
		runes := float64(utf8.RuneCountInString(v))
		if n, ok := s["minLength"].(json.Number); ok && runes < num(n) {
			return fmt.Errorf("%q shorter than %v", v, n)
		}
		if n, ok := s["maxLength"].(json.Number); ok && runes > num(n) {
			return fmt.Errorf("%q longer than %v", v, n)
		}
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(v) {
			return fmt.Errorf("%q does not match %q", v, p)
		}
	}
	return nil
}

func num(n json.Number) float64 {
	f, err := n.Float64()
	if err != nil {
		return math.NaN()
	}
	return f
}

// hasType reports whether a decoded value is of a JSON Schema type.
func hasType(v any, t string) bool {
	switch v := v.(type) {
	case nil:
		return t == "null"
	case bool:
		return t == "boolean"
	case string:
		return t == "string"
	case []any:
		return t == "array"
	case map[string]any:
		return t == "object"
	case json.Number:
		if t == "number" {
			return true
		}
		f, err := v.Float64()
		return t == "integer" && err == nil && f == math.Trunc(f)
	}
	return false
}

// equalJSON compares decoded values, numbers by value.
func equalJSON(a, b any) bool {
	if x, ok := a.(json.Number); ok {
		y, ok := b.(json.Number)
		return ok && num(x) == num(y)
	}
	return reflect.DeepEqual(a, b)
}

// decodeJSON decodes exactly one JSON value with numbers kept as json.Number.
func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if rest := bytes.TrimSpace(b[d.InputOffset():]); len(rest) > 0 {
		return nil, fmt.Errorf("%q after the value", rest)
	}
	return v, nil
}
