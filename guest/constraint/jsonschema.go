package constraint

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp/syntax"
	"sort"
	"strings"
)

// JSONSchema returns a Matcher for the JSON texts valid against schema (an empty or missing schema, {}
// and true mean any JSON value). The output is one JSON value and nothing else.
//
// Supported keywords: type (a name or a list; "null" included), properties, required,
// additionalProperties (true, false or a schema), items (one schema), minItems, maxItems, enum and
// const (values of any type), minLength, maxLength, pattern, format (date-time, date, time, duration,
// email, uuid, uri, ipv4, ipv6, hostname; other formats are annotations), minimum, maximum,
// exclusiveMinimum, exclusiveMaximum (numbers, or draft 4's booleans), uniqueItems: false, $ref to a
// JSON pointer inside the schema (#, #/$defs/..., #/definitions/..., with ~0 ~1 and %-escapes; cycles
// allowed, so recursive schemas work), allOf, anyOf and oneOf (alone or with sibling keywords).
// Annotations (title, description, $schema, $id, $anchor, $comment, default, examples, deprecated,
// readOnly, writeOnly, contentMediaType, contentEncoding, contentSchema, $defs, definitions,
// discriminator) are ignored. Any other keyword (not, if/then/else, patternProperties,
// dependentRequired, uniqueItems: true, contains, prefixItems, multipleOf, a $ref to another document,
// ...) is an error: a *SchemaError naming it and its location as a JSON pointer.
//
// What the Matcher generates is a subset of what the schema allows, chosen so that every output is valid
// and decoding never loops or stalls:
//   - whitespace: none before or after the whole value; between the tokens inside an object or array
//     (after '{', '[', a key, ':', a value or ','), either nothing, one space, or a newline followed by
//     at most 32 spaces and tabs, as pretty-printed JSON has it: at most 33 bytes in a row;
//   - objects and arrays nest at most 32 deep; an alternative that cannot be finished within that depth
//     is never started (a recursive schema whose every finite value is deeper is empty);
//   - "properties" without "additionalProperties" allows only the listed properties (the spec's
//     default is true); listed properties appear at most once, in any order; an object closes only
//     once every required property is present; "required" names that are not listed use the
//     additionalProperties schema; at most 64 listed properties per object;
//   - object keys are written in one canonical form: raw UTF-8 except \" \\ \b \f \n \r \t, which must be
//     escaped; other control characters cannot appear in keys;
//   - strings may use every JSON escape except \u escapes of surrogates (write the character raw); with a
//     "pattern" or an enforced format no \u escape at all (so control characters other than \b \f \n \r
//     \t cannot appear);
//   - "pattern" is RE2 syntax (Go regexp/syntax), unanchored as the spec says, on the decoded string;
//     with a pattern or format, minLength and maxLength may be at most 1000;
//   - "integer" is written without fraction or exponent; numbers follow the RFC 8259 grammar, except
//     that a number with a bound is written without exponent; bounds are exact to 40 digits either
//     side of the point, and bounds beyond are moved inward;
//   - enum and const values are written compactly, object keys sorted, strings escaped as above with
//     \u00xx for other control characters, numbers exactly as in the schema; where other keywords than
//     type apply too, a value is kept only if its text passes them under these rules;
//   - allOf merges its subschemas (and $ref its target, and sibling keywords) into one: the union of
//     properties and required, the intersection of types, the tighter bounds; anyOf and oneOf
//     distribute over the siblings, and oneOf is treated as anyOf (an output may match several
//     branches); at most 64 alternatives per subschema.
//
// A schema no JSON text satisfies (false, an empty enum, a required property that cannot be written,
// minLength > maxLength, ...) returns ErrEmpty.
func JSONSchema(schema []byte) (Matcher, error) {
	c := &compiler{memo: map[string]*value{}, dfas: map[string]*dfa{}}
	var v *value
	if len(bytes.TrimSpace(schema)) == 0 {
		v = c.anyValue()
	} else {
		dec := json.NewDecoder(bytes.NewReader(schema))
		dec.UseNumber()
		if err := dec.Decode(&c.root); err != nil {
			return nil, fmt.Errorf("constraint: json schema: %w", err)
		}
		if dec.More() {
			return nil, fmt.Errorf("constraint: json schema: trailing data after the schema")
		}
		var err error
		if v, err = c.value([]sub{{c.root, "#"}}); err != nil {
			return nil, fmt.Errorf("constraint: json schema: %w", err)
		}
	}
	c.filterLiterals()
	if !prune(v) {
		return nil, fmt.Errorf("json schema: %w", ErrEmpty)
	}
	return newJSONMatcher(v), nil
}

// SchemaError is a schema JSONSchema cannot compile: what is wrong (an unsupported keyword, a malformed
// value) and where, as a JSON pointer in URI-fragment form ("#/properties/a/not").
type SchemaError struct {
	Pointer string
	Reason  string
}

// Error is "pointer: reason".
func (e *SchemaError) Error() string { return e.Pointer + ": " + e.Reason }

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
	h    int   // nesting of the shallowest finite value (objects and arrays count 1); > maxNesting: none

	// kObject
	keys    *keyTrie
	props   []*value // by property index
	req     uint64   // required properties
	allow   uint64   // properties that may appear (listed, satisfiable, writable)
	addl    *value   // schema of other properties; nil: none allowed
	unfit   []uint64 // by the depth of the members: allowed optional properties too deep to finish there
	addlMax int      // the deepest members may be for additional properties to appear

	// kArray (and kRoot: the value)
	items              *value
	minItems, maxItems int // maxItems < 0: no bound

	// kString
	minLen, maxLen int // maxLen < 0: no bound
	pat            *dfa

	// kNumber, kInteger: the texts within bounds; nil: none
	num *dfa

	// kLiteral: canonical texts, sorted, distinct
	lits []string
}

// compiler turns decoded schemas into values.
type compiler struct {
	root    any               // the schema document, for $ref
	any     *value            // the value matching everything
	memo    map[string]*value // compiled conjunctions of subschemas, by their locations
	work    int               // subschemas expanded so far
	filters []litFilter       // enum/const values still to check against their sibling keywords
	dfas    map[string]*dfa   // string and number DFAs by what they were built from (nil: none fits)
}

// litFilter is a literal node whose texts must also match a compiled schema.
type litFilter struct {
	n    *tnode
	rest *value
}

// anyValue is the value matching every JSON value; it refers to itself.
func (c *compiler) anyValue() *value {
	if c.any == nil {
		v := &value{}
		c.any = v
		v.alts = []*tnode{
			{kind: kObject, keys: newKeyTrie(nil), addl: v, addlMax: maxNesting},
			{kind: kArray, items: v, maxItems: -1},
			{kind: kString, maxLen: -1},
			{kind: kNumber},
			{kind: kLiteral, lits: []string{"false", "null", "true"}},
		}
	}
	return c.any
}

// value compiles the conjunction of subs (no subs: any value). Each conjunction is compiled once: a
// reference back to one being compiled gets its value before it is filled in, which is how recursion
// compiles.
func (c *compiler) value(subs []sub) (*value, error) {
	var paths []string
	for _, s := range subs {
		if s.doc != true {
			paths = append(paths, s.path)
		}
	}
	if len(paths) == 0 {
		return c.anyValue(), nil
	}
	sort.Strings(paths)
	paths = compactStrings(paths)
	key := strings.Join(paths, "\x00")
	if v, ok := c.memo[key]; ok {
		return v, nil
	}
	v := &value{}
	c.memo[key] = v
	flats := []flat{anyFlat(subs[0].path)}
	for _, s := range subs {
		fl, err := c.normalize(s, 0)
		if err != nil {
			return nil, err
		}
		if flats, err = product(flats, fl, s.path); err != nil {
			return nil, err
		}
	}
	for i := range flats {
		nodes, err := c.nodes(&flats[i])
		if err != nil {
			return nil, err
		}
		v.alts = append(v.alts, nodes...)
	}
	return v, nil
}

// compactStrings drops repeats from a sorted list.
func compactStrings(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// nodes compiles a flat conjunction into typed nodes (none when nothing satisfies it).
func (c *compiler) nodes(f *flat) ([]*tnode, error) {
	if f.hasEnum {
		return c.literalNodes(f)
	}
	var out []*tnode
	add := func(n *tnode, err error) error {
		if n != nil {
			out = append(out, n)
		}
		return err
	}
	var err error
	for _, t := range [...]uint8{tObject, tArray, tString, tNumber, tInteger, tBoolean, tNull} {
		if f.types&t == 0 {
			continue
		}
		switch t {
		case tObject:
			err = add(c.objectNode(f))
		case tArray:
			err = add(c.arrayNode(f))
		case tString:
			err = add(c.stringNode(f))
		case tNumber:
			err = add(c.numberNode(f, kNumber), nil)
		case tInteger:
			if f.types&tNumber == 0 {
				err = add(c.numberNode(f, kInteger), nil)
			}
		case tBoolean:
			out = append(out, &tnode{kind: kLiteral, lits: []string{"false", "true"}})
		case tNull:
			out = append(out, &tnode{kind: kLiteral, lits: []string{"null"}})
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// objectNode compiles the object keywords of f. A listed property's schema is the conjunction of the
// parts that list it and the additionalProperties of those that do not; other properties follow the
// conjunction of the explicit additionalProperties, or anything when no part lists properties.
func (c *compiler) objectNode(f *flat) (*tnode, error) {
	var names, required []string
	var explicit []sub
	listed := false
	for _, p := range f.objs {
		for name := range p.props {
			names = append(names, name)
		}
		if p.addl != nil {
			explicit = append(explicit, *p.addl)
		}
		listed = listed || p.listed
	}
	required = append(required, f.required...)
	names = append(names, required...)
	sort.Strings(names)
	names = compactStrings(names)
	if len(names) > 64 {
		return nil, &SchemaError{f.path + "/properties", "more than 64 properties in one object"}
	}
	var addl *value
	var err error
	switch {
	case len(explicit) > 0:
		addl, err = c.value(explicit)
	case !listed:
		addl = c.anyValue()
	}
	if err != nil {
		return nil, err
	}
	n := &tnode{kind: kObject, addl: addl, addlMax: maxNesting, props: make([]*value, len(names))}
	enc := make([]string, len(names))
	for i, name := range names {
		var subs []sub
		inPart := false
		for _, p := range f.objs {
			if s, ok := p.props[name]; ok {
				subs, inPart = append(subs, s), true
			} else if p.addl != nil {
				subs = append(subs, *p.addl)
			}
		}
		switch {
		case inPart:
			if n.props[i], err = c.value(subs); err != nil {
				return nil, err
			}
		case addl != nil:
			n.props[i] = addl
		default:
			n.props[i] = &value{}
		}
		var ok bool
		if enc[i], ok = keyText(name); ok {
			n.allow |= 1 << i
		}
		for _, r := range required {
			if r == name {
				n.req |= 1 << i
			}
		}
	}
	n.keys = newKeyTrie(enc)
	return n, nil
}

// arrayNode compiles the array keywords of f (nil when minItems > maxItems).
func (c *compiler) arrayNode(f *flat) (*tnode, error) {
	items, err := c.value(f.items)
	if err != nil {
		return nil, err
	}
	if f.maxItems >= 0 && f.minItems > f.maxItems {
		return nil, nil
	}
	return &tnode{kind: kArray, items: items, minItems: f.minItems, maxItems: f.maxItems}, nil
}

// patternBytes are the decoded bytes a string with a pattern can hold: no \u escapes, so of the
// control characters only those with short escapes.
var patternBytes = func() (a [256]bool) {
	for b := range a {
		a[b] = b >= 0x20 || b == '\b' || b == '\f' || b == '\n' || b == '\r' || b == '\t'
	}
	return
}()

// stringNode compiles the string keywords of f: lengths, and patterns and formats intersected in one
// DFA over the decoded bytes (nil when no string fits). Equal keywords share their DFA.
func (c *compiler) stringNode(f *flat) (*tnode, error) {
	n := &tnode{kind: kString, minLen: f.minLen, maxLen: f.maxLen}
	if n.maxLen >= 0 && n.minLen > n.maxLen {
		return nil, nil
	}
	if len(f.patterns) == 0 {
		return n, nil
	}
	key := fmt.Sprintf("s%d,%d", n.minLen, n.maxLen)
	for _, p := range f.patterns {
		key += fmt.Sprintf(",%v%q", p.whole, p.re)
	}
	if d, ok := c.dfas[key]; ok {
		if n.pat = d; d == nil {
			return nil, nil
		}
		return n, nil
	}
	var err error
	if n.pat, err = patternDFA(f, n.minLen, n.maxLen); err != nil {
		return nil, err
	}
	c.dfas[key] = n.pat
	if n.pat == nil {
		return nil, nil
	}
	return n, nil
}

// patternDFA is the DFA of the decoded strings matching f's patterns and formats within the lengths.
func patternDFA(f *flat, minLen, maxLen int) (*dfa, error) {
	dotStar := &syntax.Regexp{Op: syntax.OpStar, Sub: []*syntax.Regexp{{Op: syntax.OpAnyChar}}}
	nf := &nfa{}
	for _, p := range f.patterns {
		re, err := parseRegexp(p.re)
		if err != nil {
			return nil, &SchemaError{p.path, err.Error()}
		}
		if !p.whole {
			re = &syntax.Regexp{Op: syntax.OpConcat, Sub: []*syntax.Regexp{dotStar, re, dotStar}}
		}
		if err := nf.addRegexp(re); err != nil {
			return nil, &SchemaError{p.path, err.Error()}
		}
	}
	if minLen > 0 || maxLen >= 0 {
		if minLen > 1000 || maxLen > 1000 {
			return nil, &SchemaError{f.path, "minLength/maxLength above 1000 together with pattern or format is not supported"}
		}
		length := &syntax.Regexp{Op: syntax.OpRepeat, Min: minLen, Max: maxLen, Sub: []*syntax.Regexp{{Op: syntax.OpAnyChar}}}
		if err := nf.addRegexp(length); err != nil {
			return nil, &SchemaError{f.path, "minLength/maxLength: " + err.Error()}
		}
	}
	d := newDFA(nf, &patternBytes)
	if !d.isLive(d.start) {
		return nil, nil
	}
	return d, nil
}

// numberNode compiles a number or integer with f's bounds (nil when none fits). Equal bounds share
// their DFA.
func (c *compiler) numberNode(f *flat, k kind) *tnode {
	n := &tnode{kind: k}
	if f.lo == nil && f.hi == nil {
		return n
	}
	key := fmt.Sprintf("n%v%v%v", k, f.lo, f.hi)
	d, ok := c.dfas[key]
	if !ok {
		d = numberDFA(f.lo, f.hi, k == kInteger)
		c.dfas[key] = d
	}
	if n.num = d; d == nil {
		return nil
	}
	return n
}
