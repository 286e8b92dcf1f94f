package constraint

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp/syntax"
	"sort"
	"strconv"
	"strings"
)

// JSONSchema returns a Matcher for the JSON texts valid against schema (an empty or missing schema, {}
// and true mean any JSON value). The output is one JSON value and nothing else.
//
// Supported keywords: type (a name or a list), properties, required, additionalProperties, items,
// minItems, maxItems, enum, const, anyOf, oneOf, minLength, maxLength, pattern. Annotations (title,
// description, $schema, $id, $comment, default, examples, format, deprecated, readOnly, writeOnly,
// contentMediaType, contentEncoding, $defs, definitions) are ignored. Any other keyword ($ref,
// patternProperties, allOf, not, minimum, ...) is an error naming it.
//
// What the Matcher generates is a subset of what the schema allows, chosen so that every output is valid
// and decoding never loops or stalls:
//   - whitespace: none, except at most one space after ':' and after ',';
//   - "properties" without "additionalProperties" allows only the listed properties (the spec's
//     default is true); listed properties appear at most once, in any order; "required" names that are
//     not listed use the additionalProperties schema; at most 64 listed properties per object;
//   - object keys are written in one canonical form: raw UTF-8 except \" \\ \b \f \n \r \t, which must be
//     escaped; other control characters cannot appear in keys;
//   - strings may use every JSON escape except \u escapes of surrogates (write the character raw); with a
//     "pattern" no \u escape at all (so control characters other than \b \f \n \r \t cannot appear);
//   - "pattern" is RE2 syntax (Go regexp/syntax), unanchored as the spec says, on the decoded string;
//     with a pattern, minLength and maxLength may be at most 1000;
//   - "integer" is written without fraction or exponent; numbers follow the RFC 8259 grammar;
//   - enum and const values are written compactly, object keys sorted, strings escaped as above with
//     \u00xx for other control characters, numbers exactly as in the schema; enum and const may only be
//     combined with type (which filters them);
//   - oneOf is treated as anyOf, and anyOf/oneOf may not be combined with other assertion keywords.
//
// A schema no JSON text satisfies (false, an empty enum, a required property that cannot be written,
// minLength > maxLength, ...) returns ErrEmpty.
func JSONSchema(schema []byte) (Matcher, error) {
	c := &compiler{}
	var v *value
	if len(bytes.TrimSpace(schema)) == 0 {
		v = c.anyValue()
	} else {
		dec := json.NewDecoder(bytes.NewReader(schema))
		dec.UseNumber()
		var doc any
		if err := dec.Decode(&doc); err != nil {
			return nil, fmt.Errorf("constraint: json schema: %w", err)
		}
		if dec.More() {
			return nil, fmt.Errorf("constraint: json schema: trailing data after the schema")
		}
		var err error
		if v, err = c.schema(doc, "#", 0); err != nil {
			return nil, fmt.Errorf("constraint: json schema: %w", err)
		}
	}
	if len(v.alts) == 0 {
		return nil, fmt.Errorf("json schema: %w", ErrEmpty)
	}
	return newJSONMatcher(v), nil
}

// kind is the kind of a typed schema node (and of a matcher frame).
type kind uint8

const (
	kRoot kind = iota
	kObject
	kArray
	kString
	kNumber
	kInteger
	kLiteral
)

// value is a compiled schema: a union of typed nodes. An empty union matches nothing.
type value struct{ alts []*tnode }

// tnode is a compiled schema for values of one kind.
type tnode struct {
	kind kind
	id   int32 // index in the matcher's node table

	// kObject
	keys  *keyTrie
	props []*value // by property index
	req   uint64   // required properties
	allow uint64   // properties that may appear (listed, satisfiable, writable)
	addl  *value   // schema of other properties; nil: none allowed

	// kArray (and kRoot: the value)
	items              *value
	minItems, maxItems int // maxItems < 0: no bound

	// kString
	minLen, maxLen int // maxLen < 0: no bound
	pat            *dfa

	// kLiteral: canonical texts, sorted, distinct
	lits []string
}

const maxSchemaDepth = 128

var annotations = map[string]bool{
	"title": true, "description": true, "$schema": true, "$id": true, "$comment": true, "default": true,
	"examples": true, "format": true, "deprecated": true, "readOnly": true, "writeOnly": true,
	"contentMediaType": true, "contentEncoding": true, "$defs": true, "definitions": true,
}

var keywords = map[string]bool{
	"type": true, "properties": true, "required": true, "additionalProperties": true, "items": true,
	"minItems": true, "maxItems": true, "enum": true, "const": true, "anyOf": true, "oneOf": true,
	"minLength": true, "maxLength": true, "pattern": true,
}

// compiler turns decoded schemas into values.
type compiler struct{ any *value }

// anyValue is the value matching every JSON value; it refers to itself.
func (c *compiler) anyValue() *value {
	if c.any == nil {
		v := &value{}
		c.any = v
		v.alts = []*tnode{
			{kind: kObject, keys: newKeyTrie(nil), addl: v},
			{kind: kArray, items: v, maxItems: -1},
			{kind: kString, maxLen: -1},
			{kind: kNumber},
			{kind: kLiteral, lits: []string{"false", "null", "true"}},
		}
	}
	return c.any
}

func (c *compiler) schema(doc any, path string, depth int) (*value, error) {
	if depth > maxSchemaDepth {
		return nil, fmt.Errorf("%s: schema nested too deeply", path)
	}
	switch s := doc.(type) {
	case bool:
		if s {
			return c.anyValue(), nil
		}
		return &value{}, nil
	case map[string]any:
		return c.object(s, path, depth)
	}
	return nil, fmt.Errorf("%s: a schema must be an object or a boolean", path)
}

func (c *compiler) object(s map[string]any, path string, depth int) (*value, error) {
	var used []string
	for k := range s {
		if annotations[k] {
			continue
		}
		if !keywords[k] {
			return nil, fmt.Errorf("%s: unsupported keyword %q", path, k)
		}
		used = append(used, k)
	}
	sort.Strings(used)
	if len(used) == 0 {
		return c.anyValue(), nil
	}
	_, any1 := s["anyOf"]
	_, one1 := s["oneOf"]
	if any1 || one1 {
		if len(used) > 1 {
			return nil, fmt.Errorf("%s: anyOf/oneOf combined with %q is not supported", path, strings.Join(used, ", "))
		}
		key := "anyOf"
		if one1 {
			key = "oneOf"
		}
		list, ok := s[key].([]any)
		if !ok || len(list) == 0 {
			return nil, fmt.Errorf("%s/%s: must be a non-empty array", path, key)
		}
		u := &value{}
		for i, sub := range list {
			v, err := c.schema(sub, fmt.Sprintf("%s/%s/%d", path, key, i), depth+1)
			if err != nil {
				return nil, err
			}
			u.alts = append(u.alts, v.alts...)
		}
		return u, nil
	}
	types, err := typeList(s["type"], path)
	if err != nil {
		return nil, err
	}
	_, hasEnum := s["enum"]
	_, hasConst := s["const"]
	if hasEnum || hasConst {
		return literals(s, used, types, path)
	}
	v := &value{}
	for _, t := range types {
		var n *tnode
		switch t {
		case "object":
			n, err = c.objectNode(s, path, depth)
		case "array":
			n, err = c.arrayNode(s, path, depth)
		case "string":
			n, err = stringNode(s, path)
		case "number":
			n = &tnode{kind: kNumber}
		case "integer":
			if !contains(types, "number") {
				n = &tnode{kind: kInteger}
			}
		case "boolean":
			n = &tnode{kind: kLiteral, lits: []string{"false", "true"}}
		case "null":
			n = &tnode{kind: kLiteral, lits: []string{"null"}}
		}
		if err != nil {
			return nil, err
		}
		if n != nil {
			v.alts = append(v.alts, n)
		}
	}
	return v, nil
}

var allTypes = []string{"object", "array", "string", "number", "integer", "boolean", "null"}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// typeList returns the types "type" allows (all when absent).
func typeList(t any, path string) ([]string, error) {
	var list []string
	switch t := t.(type) {
	case nil:
		return allTypes, nil
	case string:
		list = []string{t}
	case []any:
		for _, x := range t {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("%s/type: must be a string or an array of strings", path)
			}
			list = append(list, s)
		}
	default:
		return nil, fmt.Errorf("%s/type: must be a string or an array of strings", path)
	}
	for _, s := range list {
		if !contains(allTypes, s) {
			return nil, fmt.Errorf("%s/type: unknown type %q", path, s)
		}
	}
	return list, nil
}

// count reads a non-negative integer keyword; def when absent.
func count(s map[string]any, key, path string, def int) (int, error) {
	x, ok := s[key]
	if !ok {
		return def, nil
	}
	if n, ok := x.(json.Number); ok {
		f, err := strconv.ParseFloat(string(n), 64)
		if err == nil && f >= 0 && f == math.Trunc(f) {
			return int(math.Min(f, 1<<30)), nil
		}
	}
	return 0, fmt.Errorf("%s/%s: must be a non-negative integer", path, key)
}

func (c *compiler) objectNode(s map[string]any, path string, depth int) (*tnode, error) {
	props := map[string]any{}
	if p, ok := s["properties"]; ok {
		if props, ok = p.(map[string]any); !ok {
			return nil, fmt.Errorf("%s/properties: must be an object", path)
		}
	}
	var addl *value
	switch a := s["additionalProperties"].(type) {
	case nil:
		if _, listed := s["properties"]; !listed {
			addl = c.anyValue()
		}
	case bool:
		if a {
			addl = c.anyValue()
		}
	default:
		v, err := c.schema(a, path+"/additionalProperties", depth+1)
		if err != nil {
			return nil, err
		}
		if len(v.alts) > 0 {
			addl = v
		}
	}
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	var required []string
	if r, ok := s["required"]; ok {
		list, ok := r.([]any)
		if !ok {
			return nil, fmt.Errorf("%s/required: must be an array of strings", path)
		}
		for _, x := range list {
			name, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("%s/required: must be an array of strings", path)
			}
			required = append(required, name)
			if _, listed := props[name]; !listed && !contains(names, name) {
				names = append(names, name)
			}
		}
	}
	sort.Strings(names)
	if len(names) > 64 {
		return nil, fmt.Errorf("%s/properties: more than 64 properties", path)
	}
	n := &tnode{kind: kObject, addl: addl, props: make([]*value, len(names))}
	enc := make([]string, len(names))
	for i, name := range names {
		if sub, listed := props[name]; listed {
			v, err := c.schema(sub, path+"/properties/"+name, depth+1)
			if err != nil {
				return nil, err
			}
			n.props[i] = v
		} else if addl != nil {
			n.props[i] = addl
		} else {
			n.props[i] = &value{}
		}
		var ok bool
		enc[i], ok = keyText(name)
		if ok && len(n.props[i].alts) > 0 {
			n.allow |= 1 << i
		}
		if contains(required, name) {
			n.req |= 1 << i
		}
	}
	if n.req&^n.allow != 0 {
		return nil, nil // a required property cannot be written: no object fits
	}
	n.keys = newKeyTrie(enc)
	return n, nil
}

func (c *compiler) arrayNode(s map[string]any, path string, depth int) (*tnode, error) {
	n := &tnode{kind: kArray, items: c.anyValue()}
	if it, ok := s["items"]; ok {
		if _, tuple := it.([]any); tuple {
			return nil, fmt.Errorf("%s/items: an array of schemas (tuple form) is not supported", path)
		}
		v, err := c.schema(it, path+"/items", depth+1)
		if err != nil {
			return nil, err
		}
		n.items = v
	}
	var err error
	if n.minItems, err = count(s, "minItems", path, 0); err != nil {
		return nil, err
	}
	if n.maxItems, err = count(s, "maxItems", path, -1); err != nil {
		return nil, err
	}
	if len(n.items.alts) == 0 {
		n.maxItems = 0
	}
	if n.maxItems >= 0 && n.minItems > n.maxItems {
		return nil, nil
	}
	return n, nil
}

// patternBytes are the decoded bytes a string with a pattern can hold: no \u escapes, so of the
// control characters only those with short escapes.
var patternBytes = func() (a [256]bool) {
	for b := range a {
		a[b] = b >= 0x20 || b == '\b' || b == '\f' || b == '\n' || b == '\r' || b == '\t'
	}
	return
}()

func stringNode(s map[string]any, path string) (*tnode, error) {
	n := &tnode{kind: kString}
	var err error
	if n.minLen, err = count(s, "minLength", path, 0); err != nil {
		return nil, err
	}
	if n.maxLen, err = count(s, "maxLength", path, -1); err != nil {
		return nil, err
	}
	if n.maxLen >= 0 && n.minLen > n.maxLen {
		return nil, nil
	}
	p, ok := s["pattern"]
	if !ok {
		return n, nil
	}
	ps, ok := p.(string)
	if !ok {
		return nil, fmt.Errorf("%s/pattern: must be a string", path)
	}
	re, err := parseRegexp(ps)
	if err != nil {
		return nil, fmt.Errorf("%s/pattern: %w", path, err)
	}
	dotStar := &syntax.Regexp{Op: syntax.OpStar, Sub: []*syntax.Regexp{{Op: syntax.OpAnyChar}}}
	nf := &nfa{}
	if err := nf.addRegexp(&syntax.Regexp{Op: syntax.OpConcat, Sub: []*syntax.Regexp{dotStar, re, dotStar}}); err != nil {
		return nil, fmt.Errorf("%s/pattern: %w", path, err)
	}
	if n.minLen > 0 || n.maxLen >= 0 {
		if n.minLen > 1000 || n.maxLen > 1000 {
			return nil, fmt.Errorf("%s: minLength/maxLength above 1000 together with pattern is not supported", path)
		}
		length := &syntax.Regexp{Op: syntax.OpRepeat, Min: n.minLen, Max: n.maxLen, Sub: []*syntax.Regexp{{Op: syntax.OpAnyChar}}}
		if err := nf.addRegexp(length); err != nil {
			return nil, fmt.Errorf("%s: minLength/maxLength: %w", path, err)
		}
	}
	n.pat = newDFA(nf, &patternBytes)
	if !n.pat.isLive(n.pat.start) {
		return nil, nil
	}
	return n, nil
}
