package constraint

// Literal values (enum, const) and the canonical texts the matcher writes them in.

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// literalNodes compiles an enum/const: its values of f's types, written canonically. Where f has other
// keywords too, the values are checked against them once everything is compiled (filterLiterals).
func (c *compiler) literalNodes(f *flat) ([]*tnode, error) {
	set := map[string]bool{}
	for _, x := range f.enum {
		if f.types&typeBit(x) != 0 {
			set[canonical(x)] = true
		}
	}
	if len(set) == 0 {
		return nil, nil
	}
	n := &tnode{kind: kLiteral}
	for t := range set {
		n.lits = append(n.lits, t)
	}
	sort.Strings(n.lits)
	if f.constrained() {
		rest := *f
		rest.hasEnum = false
		nodes, err := c.nodes(&rest)
		if err != nil {
			return nil, err
		}
		c.filters = append(c.filters, litFilter{n, &value{nodes}})
	}
	return []*tnode{n}, nil
}

// filterLiterals keeps of each filtered literal node the texts its sibling keywords' matcher accepts.
// It runs once every value is compiled (filled in), before pruning: a text the matcher accepts only
// goes through nodes that can finish.
func (c *compiler) filterLiterals() {
	for _, lf := range c.filters {
		m := newJSONMatcher(lf.rest)
		kept := lf.n.lits[:0]
		for _, t := range lf.n.lits {
			mc := m.Clone()
			ok := true
			for i := 0; i < len(t) && ok; i++ {
				ok = mc.Advance(t[i])
			}
			if ok && mc.Accepting() {
				kept = append(kept, t)
			}
		}
		lf.n.lits = kept
	}
}

// typeBit is the type bit of a decoded value; integral numbers are integers.
func typeBit(x any) uint8 {
	switch x := x.(type) {
	case nil:
		return tNull
	case bool:
		return tBoolean
	case string:
		return tString
	case []any:
		return tArray
	case map[string]any:
		return tObject
	case json.Number:
		if d, ok := parseDec(string(x)); ok && d.isInt() {
			return tInteger
		}
	}
	return tNumber
}

// sameJSON reports whether two decoded values are equal as JSON Schema compares them (numbers by value,
// objects regardless of key order).
func sameJSON(a, b any) bool {
	switch a := a.(type) {
	case json.Number:
		b, ok := b.(json.Number)
		if !ok {
			return false
		}
		da, okA := parseDec(string(a))
		db, okB := parseDec(string(b))
		if !okA || !okB {
			return a == b
		}
		return da.cmp(db) == 0
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !sameJSON(a[i], b[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, x := range a {
			if y, ok := b[k]; !ok || !sameJSON(x, y) {
				return false
			}
		}
		return true
	}
	return a == b
}

// canonical writes a decoded value compactly, with sorted keys.
func canonical(x any) string {
	var sb strings.Builder
	writeCanonical(&sb, x)
	return sb.String()
}

func writeCanonical(sb *strings.Builder, x any) {
	switch x := x.(type) {
	case nil:
		sb.WriteString("null")
	case bool:
		sb.WriteString(strconv.FormatBool(x))
	case json.Number:
		sb.WriteString(string(x))
	case string:
		writeString(sb, x)
	case []any:
		sb.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				sb.WriteByte(',')
			}
			writeCanonical(sb, e)
		}
		sb.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		sb.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				sb.WriteByte(',')
			}
			writeString(sb, k)
			sb.WriteByte(':')
			writeCanonical(sb, x[k])
		}
		sb.WriteByte('}')
	}
}

// shortEscapes are the characters with two-byte escapes, and their escape letters.
var shortEscapes = map[byte]byte{'"': '"', '\\': '\\', '\b': 'b', '\f': 'f', '\n': 'n', '\r': 'r', '\t': 't'}

func writeString(sb *strings.Builder, s string) {
	sb.WriteByte('"')
	for i := 0; i < len(s); i++ {
		b := s[i]
		if e, ok := shortEscapes[b]; ok {
			sb.WriteByte('\\')
			sb.WriteByte(e)
		} else if b < 0x20 {
			fmt.Fprintf(sb, `\u%04x`, b)
		} else {
			sb.WriteByte(b)
		}
	}
	sb.WriteByte('"')
}

// keyText is the canonical text of an object key between its quotes; false if it has a control
// character without a short escape.
func keyText(name string) (string, bool) {
	var sb strings.Builder
	for i := 0; i < len(name); i++ {
		b := name[i]
		if e, ok := shortEscapes[b]; ok {
			sb.WriteByte('\\')
			sb.WriteByte(e)
		} else if b < 0x20 {
			return "", false
		} else {
			sb.WriteByte(b)
		}
	}
	return sb.String(), true
}
