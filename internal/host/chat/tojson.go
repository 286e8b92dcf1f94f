package chat

import (
	"errors"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ardanlabs/jinja"
)

// tojsonName is the global function each "| tojson" filter of a template becomes (rewriteTojson).
const tojsonName = "__wasmoe_tojson"

// tojsonFilter is transformers' tojson, json.dumps(x, ensure_ascii=False, indent=None, separators=None,
// sort_keys=False), with the same keyword arguments. The template library's own filter sorts keys and
// escapes HTML characters when given indent (Llama 3.x prints its tools with indent=4), and it offers no
// way to replace a filter, so Compile rewrites each use of the filter into a call of this function.
func tojsonFilter(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.NewString(""), nil
	}
	d := pyDumper{itemSep: ", ", keySep: ": "}
	if v, ok := kwargs["indent"]; ok && v.IsInt() { // a negative indent is none, with newlines
		d.indented, d.indent, d.itemSep = true, max(int(v.AsInt()), 0), ","
	}
	if v, ok := kwargs["separators"]; ok && v.IsList() {
		items := v.AsList().Items
		if len(items) != 2 || !items[0].IsString() || !items[1].IsString() {
			return jinja.Undefined(), errors.New("tojson: separators must be two strings")
		}
		d.itemSep, d.keySep = items[0].AsString(), items[1].AsString()
	}
	if v, ok := kwargs["sort_keys"]; ok {
		d.sortKeys = v.IsTruthy()
	}
	if v, ok := kwargs["ensure_ascii"]; ok {
		d.ascii = v.IsTruthy()
	}
	var sb strings.Builder
	if err := d.dump(&sb, args[0], 0); err != nil {
		return jinja.Undefined(), err
	}
	return jinja.NewString(sb.String()), nil
}

// pyDumper writes values as Python's json.dumps does.
type pyDumper struct {
	itemSep, keySep string
	indented        bool // a newline before each item, indent spaces a level
	indent          int
	sortKeys, ascii bool
}

func (d *pyDumper) newline(sb *strings.Builder, level int) {
	if d.indented {
		sb.WriteByte('\n')
		sb.WriteString(strings.Repeat(" ", d.indent*level))
	}
}

func (d *pyDumper) dump(sb *strings.Builder, v jinja.Value, level int) error {
	switch {
	case v.IsNone(), v.IsUndefined():
		sb.WriteString("null")
	case v.IsBool():
		sb.WriteString(strconv.FormatBool(v.AsBool()))
	case v.IsInt():
		sb.WriteString(strconv.FormatInt(v.AsInt(), 10))
	case v.IsFloat():
		sb.WriteString(pyFloat(v.AsFloat()))
	case v.IsString():
		d.str(sb, v.AsString())
	case v.IsList():
		items := v.AsList().Items
		if len(items) == 0 {
			sb.WriteString("[]")
			return nil
		}
		sb.WriteByte('[')
		for i, it := range items {
			if i > 0 {
				sb.WriteString(d.itemSep)
			}
			d.newline(sb, level+1)
			if err := d.dump(sb, it, level+1); err != nil {
				return err
			}
		}
		d.newline(sb, level)
		sb.WriteByte(']')
	case v.IsDict():
		dict := v.AsDict()
		keys := slices.Clone(dict.Keys)
		if len(keys) == 0 {
			sb.WriteString("{}")
			return nil
		}
		if d.sortKeys {
			slices.Sort(keys)
		}
		sb.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				sb.WriteString(d.itemSep)
			}
			d.newline(sb, level+1)
			d.str(sb, k)
			sb.WriteString(d.keySep)
			val, _ := dict.Get(k)
			if err := d.dump(sb, val, level+1); err != nil {
				return err
			}
		}
		d.newline(sb, level)
		sb.WriteByte('}')
	default:
		return errors.New("tojson: a value JSON cannot hold")
	}
	return nil
}

// str writes a JSON string as json.dumps does: the two-character escapes, \u00XX for other control
// characters and, with ensure_ascii, \uXXXX (surrogate pairs past the BMP) for every non-ASCII one.
func (d *pyDumper) str(sb *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	u := func(r rune) {
		sb.WriteString(`\u`)
		for shift := 12; shift >= 0; shift -= 4 {
			sb.WriteByte(hex[r>>shift&15])
		}
	}
	sb.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			sb.WriteString(`\"`)
		case r == '\\':
			sb.WriteString(`\\`)
		case r == '\n':
			sb.WriteString(`\n`)
		case r == '\r':
			sb.WriteString(`\r`)
		case r == '\t':
			sb.WriteString(`\t`)
		case r == '\b':
			sb.WriteString(`\b`)
		case r == '\f':
			sb.WriteString(`\f`)
		case r < 0x20 || r == 0x7f && d.ascii:
			u(r)
		case r >= 0x80 && d.ascii:
			if r > 0xffff {
				r -= 0x10000
				u(0xd800 + r>>10)
				u(0xdc00 + r&0x3ff)
			} else {
				u(r)
			}
		case r == utf8.RuneError:
			sb.WriteString("\uFFFD")
		default:
			sb.WriteRune(r)
		}
	}
	sb.WriteByte('"')
}

// pyFloat formats f as Python's repr: the shortest digits, positional for exponents from -4 to 15 (with
// ".0" when integral), else d.ddde+XX; NaN and infinities as json.dumps writes them.
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, expS, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expS)
	if exp < -4 || exp >= 16 {
		sign := "+"
		if exp < 0 {
			sign, exp = "-", -exp
		}
		es := strconv.Itoa(exp)
		if len(es) < 2 {
			es = "0" + es
		}
		return mant + "e" + sign + es
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// tojsonUse finds the filter "| tojson" in a template.
var tojsonUse = regexp.MustCompile(`\|\s*tojson\b`)

// rewriteTojson turns each "OPERAND | tojson" or "OPERAND | tojson(ARGS)" of src into
// tojsonName(OPERAND) or tojsonName(OPERAND, ARGS). The operand is what the filter binds to: a postfix
// expression (names, attributes, subscripts, calls, parentheses, string literals) with the filters
// before it. A use whose operand it cannot delimit is left to the library's filter.
func rewriteTojson(src string) string {
	var out strings.Builder
	done := 0 // src[:done] is written
	for _, loc := range tojsonUse.FindAllStringIndex(src, -1) {
		if loc[0] < done {
			continue
		}
		start := operandStart(src, loc[0])
		if start < done || start == loc[0] {
			continue
		}
		end, args := loc[1], ""
		if end < len(src) && src[end] == '(' {
			close := matching(src, end)
			if close < 0 {
				continue
			}
			args, end = strings.TrimSpace(src[end+1:close]), close+1
		}
		out.WriteString(src[done:start])
		out.WriteString(tojsonName + "(" + strings.TrimSpace(src[start:loc[0]]))
		if args != "" {
			out.WriteString(", " + args)
		}
		out.WriteString(")")
		done = end
	}
	out.WriteString(src[done:])
	return out.String()
}

// operandStart scans back from the filter's bar at pipe to where its operand starts.
func operandStart(src string, pipe int) int {
	i := pipe
	for {
		j := i
		for j > 0 && src[j-1] == ' ' {
			j--
		}
		k := primaryStart(src, j)
		if k == j { // nothing there
			return i
		}
		i = k
		// A primary continues backwards through '.', and a filter chain through '|'.
		j = i
		for j > 0 && src[j-1] == ' ' {
			j--
		}
		if j > 0 && (src[j-1] == '.' || src[j-1] == '|') {
			i = j - 1
			continue
		}
		return i
	}
}

// primaryStart returns where the primary ending at end starts: a name, a string literal, or a
// bracketed group with what it follows (a call or subscript); end when there is none.
func primaryStart(src string, end int) int {
	i := end
	for i > 0 {
		c := src[i-1]
		switch {
		case c == ')' || c == ']':
			open := matchingBack(src, i-1)
			if open < 0 {
				return end
			}
			i = open
		case c == '\'' || c == '"':
			q := strings.LastIndexByte(src[:i-1], c)
			if q < 0 {
				return end
			}
			return q
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9':
			for i > 0 && (src[i-1] == '_' || src[i-1] >= 'a' && src[i-1] <= 'z' || src[i-1] >= 'A' && src[i-1] <= 'Z' || src[i-1] >= '0' && src[i-1] <= '9') {
				i--
			}
			return i
		default:
			return i
		}
	}
	return i
}

// matching returns the index of the bracket closing the one at open, -1 if none.
func matching(src string, open int) int {
	depth := 0
	for i := open; i < len(src); i++ {
		switch src[i] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			if depth--; depth == 0 {
				return i
			}
		}
	}
	return -1
}

// matchingBack returns the index of the bracket opening the one at close, -1 if none.
func matchingBack(src string, close int) int {
	depth := 0
	for i := close; i >= 0; i-- {
		switch src[i] {
		case ')', ']', '}':
			depth++
		case '(', '[', '{':
			if depth--; depth == 0 {
				return i
			}
		}
	}
	return -1
}
