package constraint

import (
	"fmt"
	"strconv"
	"strings"
)

// resolve finds the subschema a $ref names: a JSON pointer into the schema document ("#",
// "#/$defs/Name", "#/definitions/Name", ...), in URI-fragment form (percent-encoding, then ~1 for /
// and ~0 for ~). at is where the $ref is.
func (c *compiler) resolve(ref any, at string) (sub, error) {
	s, ok := ref.(string)
	if !ok {
		return sub{}, &SchemaError{at, "$ref must be a string"}
	}
	if !strings.HasPrefix(s, "#") {
		return sub{}, &SchemaError{at, fmt.Sprintf("$ref %q: only references into this schema (#...) are supported", s)}
	}
	frag, ok := percentDecode(s[1:])
	if !ok || frag != "" && frag[0] != '/' {
		return sub{}, &SchemaError{at, fmt.Sprintf("$ref %q: only JSON pointers (#/...) are supported, not anchors", s)}
	}
	doc, path := c.root, "#"
	if frag == "" {
		return sub{doc, path}, nil
	}
	for _, tok := range strings.Split(frag[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch d := doc.(type) {
		case map[string]any:
			doc, ok = d[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			ok = err == nil && i >= 0 && i < len(d) && strconv.Itoa(i) == tok
			if ok {
				doc = d[i]
			}
		default:
			ok = false
		}
		if !ok {
			return sub{}, &SchemaError{at, fmt.Sprintf("$ref %q: no such location in the schema", s)}
		}
		path += "/" + pointerToken(tok)
	}
	return sub{doc, path}, nil
}

// percentDecode undoes URI percent-encoding (%XX); false on a malformed escape.
func percentDecode(s string) (string, bool) {
	if !strings.Contains(s, "%") {
		return s, true
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			sb.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return "", false
		}
		b, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
		sb.WriteByte(byte(b))
		i += 2
	}
	return sb.String(), true
}
