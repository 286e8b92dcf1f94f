package constraint

// Literal values (enum, const) and the canonical texts the matcher writes them in.

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// literals compiles enum/const, keeping only values of the listed types.
func literals(s map[string]any, used, types []string, path string) (*value, error) {
	for _, k := range used {
		if k != "enum" && k != "const" && k != "type" {
			return nil, fmt.Errorf("%s: enum/const combined with %q is not supported", path, k)
		}
	}
	var vals []any
	if e, ok := s["enum"]; ok {
		list, ok := e.([]any)
		if !ok {
			return nil, fmt.Errorf("%s/enum: must be an array", path)
		}
		vals = list
	}
	if cv, ok := s["const"]; ok {
		if _, both := s["enum"]; both {
			return nil, fmt.Errorf("%s: enum together with const is not supported", path)
		}
		vals = []any{cv}
	}
	set := map[string]bool{}
	for _, x := range vals {
		if contains(types, jsonType(x)) || jsonType(x) == "integer" && contains(types, "number") {
			set[canonical(x)] = true
		}
	}
	if len(set) == 0 {
		return &value{}, nil
	}
	n := &tnode{kind: kLiteral}
	for t := range set {
		n.lits = append(n.lits, t)
	}
	sort.Strings(n.lits)
	return &value{alts: []*tnode{n}}, nil
}

// jsonType names the type of a decoded value; integral numbers are "integer".
func jsonType(x any) string {
	switch x := x.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	case json.Number:
		if f, err := strconv.ParseFloat(string(x), 64); err == nil && f == math.Trunc(f) {
			return "integer"
		}
	}
	return "number"
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
