package constraint

// The normal form of schemas: a subschema with $ref, allOf, anyOf and oneOf at its top level becomes a
// union of flat conjunctions (flat), keywords merged; the subschemas under it (properties, items, ...)
// stay raw and are compiled on first use, which is what lets recursive schemas compile.

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// sub is a raw subschema (decoded JSON) and its location: a JSON pointer in URI-fragment form ("#/...").
type sub struct {
	doc  any
	path string
}

// Type bits of a flat schema. "number" is tInteger|tNumber: tNumber stands for the non-integral numbers.
const (
	tObject uint8 = 1 << iota
	tArray
	tString
	tInteger
	tNumber
	tBoolean
	tNull
	tAll = tObject | tArray | tString | tInteger | tNumber | tBoolean | tNull
)

// typeNames maps "type" names to their bits.
var typeNames = map[string]uint8{
	"object": tObject, "array": tArray, "string": tString, "integer": tInteger, "number": tInteger | tNumber,
	"boolean": tBoolean, "null": tNull,
}

// objPart is one conjunct's object keywords.
type objPart struct {
	props  map[string]sub // nil: no "properties"
	addl   *sub           // explicit additionalProperties; nil: absent
	listed bool           // "properties" present
}

// bound is a numeric bound: its value and whether it is exclusive.
type bound struct {
	v    dec
	excl bool
}

// strPattern is a regular expression a string must match: a "pattern" (unanchored) or a format (whole).
type strPattern struct {
	re, path string
	whole    bool
}

// flat is a conjunction of schemas with no $ref, allOf, anyOf or oneOf left at its top level.
type flat struct {
	path               string // where the conjunction starts, for messages
	types              uint8
	objs               []objPart
	required           []string
	items              []sub
	minItems, maxItems int // maxItems < 0: no bound
	minLen, maxLen     int // maxLen < 0: no bound
	patterns           []strPattern
	lo, hi             *bound
	hasEnum            bool
	enum               []any // with hasEnum: the values allowed
}

// Limits of normalization: the nesting of $ref/allOf/anyOf/oneOf at one subschema's top level, the
// alternatives a subschema may expand to, and the total work of a compilation.
const (
	maxInline       = 64
	maxAlternatives = 64
	maxWork         = 20000
)

// anyFlat is the flat schema without constraints.
func anyFlat(path string) flat { return flat{path: path, types: tAll, maxItems: -1, maxLen: -1} }

// constrained reports whether f has assertions other than type, enum and const.
func (f *flat) constrained() bool {
	return len(f.objs) > 0 || len(f.required) > 0 || len(f.items) > 0 || f.minItems > 0 || f.maxItems >= 0 ||
		f.minLen > 0 || f.maxLen >= 0 || len(f.patterns) > 0 || f.lo != nil || f.hi != nil
}

// pointerToken escapes a JSON pointer token (~ as ~0, / as ~1).
func pointerToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// normalize expands s into the union of flat conjunctions it stands for; inline counts the $ref and
// applicator levels above s at the top level being expanded.
func (c *compiler) normalize(s sub, inline int) ([]flat, error) {
	if c.work++; c.work > maxWork {
		return nil, &SchemaError{s.path, "the schema is too complex (too many subschemas to expand)"}
	}
	if inline > maxInline {
		return nil, &SchemaError{s.path, "$ref/allOf/anyOf/oneOf nested too deeply (a $ref cycle that never reaches a subschema?)"}
	}
	var m map[string]any
	switch d := s.doc.(type) {
	case bool:
		if d {
			return []flat{anyFlat(s.path)}, nil
		}
		return nil, nil
	case map[string]any:
		m = d
	default:
		return nil, &SchemaError{s.path, "a schema must be an object or a boolean"}
	}
	base, err := keywords(m, s.path)
	if err != nil {
		return nil, err
	}
	out := []flat{base}
	if r, ok := m["$ref"]; ok {
		target, err := c.resolve(r, s.path+"/$ref")
		if err != nil {
			return nil, err
		}
		fl, err := c.normalize(target, inline+1)
		if err != nil {
			return nil, err
		}
		if out, err = product(out, fl, s.path); err != nil {
			return nil, err
		}
	}
	for _, key := range [...]string{"allOf", "anyOf", "oneOf"} {
		x, ok := m[key]
		if !ok {
			continue
		}
		list, ok := x.([]any)
		if !ok || len(list) == 0 {
			return nil, &SchemaError{s.path + "/" + key, key + " must be a non-empty array of schemas"}
		}
		var alts []flat
		for i, item := range list {
			fl, err := c.normalize(sub{item, fmt.Sprintf("%s/%s/%d", s.path, key, i)}, inline+1)
			if err != nil {
				return nil, err
			}
			if key == "allOf" {
				if out, err = product(out, fl, s.path); err != nil {
					return nil, err
				}
				continue
			}
			alts = append(alts, fl...)
		}
		if key != "allOf" {
			if out, err = product(out, alts, s.path); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// product is the union of the conjunctions of an alternative of a with one of b.
func product(a, b []flat, path string) ([]flat, error) {
	if len(a)*len(b) > maxAlternatives {
		return nil, &SchemaError{path, fmt.Sprintf("anyOf/oneOf expand to more than %d alternatives", maxAlternatives)}
	}
	out := make([]flat, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			out = append(out, merge(x, y))
		}
	}
	return out, nil
}

// merge is the conjunction of a and b.
func merge(a, b flat) flat {
	f := a
	f.types &= b.types
	f.objs = append(append([]objPart(nil), a.objs...), b.objs...)
	f.required = append(append([]string(nil), a.required...), b.required...)
	f.items = append(append([]sub(nil), a.items...), b.items...)
	f.patterns = append(append([]strPattern(nil), a.patterns...), b.patterns...)
	f.minItems, f.maxItems = max(a.minItems, b.minItems), minBound(a.maxItems, b.maxItems)
	f.minLen, f.maxLen = max(a.minLen, b.minLen), minBound(a.maxLen, b.maxLen)
	f.lo, f.hi = tighter(a.lo, b.lo, 1), tighter(a.hi, b.hi, -1)
	switch {
	case a.hasEnum && b.hasEnum:
		f.enum = nil
		for _, x := range a.enum {
			for _, y := range b.enum {
				if sameJSON(x, y) {
					f.enum = append(f.enum, x)
					break
				}
			}
		}
	case b.hasEnum:
		f.hasEnum, f.enum = true, b.enum
	}
	return f
}

// minBound is the smaller of two upper bounds where a negative one means none.
func minBound(a, b int) int {
	if a < 0 || b >= 0 && b < a {
		return b
	}
	return a
}

// tighter picks the tighter of two bounds: the larger for a lower bound (dir 1), the smaller for an
// upper one (dir -1); at equal values the exclusive one.
func tighter(a, b *bound, dir int) *bound {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	switch c := a.v.cmp(b.v) * dir; {
	case c > 0:
		return a
	case c < 0:
		return b
	}
	if b.excl {
		return b
	}
	return a
}

// annotations are the keywords that assert nothing (discriminator is OpenAPI's, which Pydantic emits).
var annotations = map[string]bool{
	"title": true, "description": true, "$schema": true, "$id": true, "$comment": true, "default": true,
	"examples": true, "deprecated": true, "readOnly": true, "writeOnly": true, "contentMediaType": true,
	"contentEncoding": true, "contentSchema": true, "$defs": true, "definitions": true, "$anchor": true,
	"discriminator": true,
}

// keywords reads the assertions of a schema object other than $ref and the applicators.
func keywords(m map[string]any, path string) (flat, error) {
	f := anyFlat(path)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var obj objPart
	var err error
	for _, k := range keys {
		v, kp := m[k], path+"/"+pointerToken(k)
		switch k {
		case "$ref", "allOf", "anyOf", "oneOf", "exclusiveMinimum", "exclusiveMaximum", "minimum", "maximum":
		case "type":
			f.types, err = typeBits(v, kp)
		case "properties":
			props, ok := v.(map[string]any)
			if !ok {
				return f, &SchemaError{kp, "properties must be an object"}
			}
			obj.listed, obj.props = true, map[string]sub{}
			for name, p := range props {
				obj.props[name] = sub{p, kp + "/" + pointerToken(name)}
			}
		case "additionalProperties":
			obj.addl = &sub{v, kp}
		case "required":
			list, ok := v.([]any)
			for _, x := range list {
				name, isStr := x.(string)
				ok = ok && isStr
				f.required = append(f.required, name)
			}
			if !ok {
				return f, &SchemaError{kp, "required must be an array of strings"}
			}
		case "items":
			if _, tuple := v.([]any); tuple {
				return f, &SchemaError{kp, "items as an array of schemas (tuple form) is not supported"}
			}
			f.items = []sub{{v, kp}}
		case "minItems":
			f.minItems, err = count(v, kp)
		case "maxItems":
			f.maxItems, err = count(v, kp)
		case "minLength":
			f.minLen, err = count(v, kp)
		case "maxLength":
			f.maxLen, err = count(v, kp)
		case "pattern":
			p, ok := v.(string)
			if !ok {
				return f, &SchemaError{kp, "pattern must be a string"}
			}
			f.patterns = append(f.patterns, strPattern{re: p, path: kp})
		case "format":
			if re, ok := formats[fmt.Sprint(v)]; ok {
				f.patterns = append(f.patterns, strPattern{re: re, path: kp, whole: true})
			}
		case "enum":
			list, ok := v.([]any)
			if !ok {
				return f, &SchemaError{kp, "enum must be an array"}
			}
			f.hasEnum, f.enum = true, list
		case "const":
			if _, both := m["enum"]; !both {
				f.hasEnum, f.enum = true, []any{v}
			}
		case "uniqueItems":
			if v != false {
				return f, &SchemaError{kp, `unsupported keyword "uniqueItems" (only false is supported)`}
			}
		default:
			if !annotations[k] {
				return f, &SchemaError{kp, fmt.Sprintf("unsupported keyword %q", k)}
			}
		}
		if err != nil {
			return f, err
		}
	}
	if cv, ok := m["const"]; ok && m["enum"] != nil {
		f = merge(f, flat{types: tAll, maxItems: -1, maxLen: -1, hasEnum: true, enum: []any{cv}})
	}
	if obj.listed || obj.addl != nil {
		f.objs = []objPart{obj}
	}
	if f.lo, f.hi, err = numericBounds(m, path); err != nil {
		return f, err
	}
	return f, nil
}

// typeBits reads "type": a name or a list of names.
func typeBits(t any, path string) (uint8, error) {
	var list []any
	switch t := t.(type) {
	case string:
		list = []any{t}
	case []any:
		list = t
	default:
		return 0, &SchemaError{path, "type must be a string or an array of strings"}
	}
	var bits uint8
	for _, x := range list {
		s, _ := x.(string)
		b, ok := typeNames[s]
		if !ok {
			return 0, &SchemaError{path, fmt.Sprintf("unknown type %v", x)}
		}
		bits |= b
	}
	return bits, nil
}

// count reads a non-negative integer keyword (values past 2^30 count as 2^30).
func count(x any, path string) (int, error) {
	if n, ok := x.(json.Number); ok {
		f, err := strconv.ParseFloat(string(n), 64)
		if err == nil && f >= 0 && f == math.Trunc(f) {
			return int(math.Min(f, 1<<30)), nil
		}
	}
	return 0, &SchemaError{path, "must be a non-negative integer"}
}
