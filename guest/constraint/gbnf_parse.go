package constraint

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits on a GBNF grammar. maxRepetition is llama.cpp's MAX_REPETITION_THRESHOLD (src/llama-grammar.cpp),
// with its meaning there: a count above it is an error, an upper bound above it means no bound, and a
// repetition whose generated rules, times those of the repetitions nested in it, reach it is an error.
const (
	maxRepetition  = 2000
	maxGroupDepth  = 256     // parentheses nested deeper are an error
	maxGrammarSyms = 1 << 18 // symbols in all rules, repetitions expanded
)

// GrammarError is a GBNF grammar that does not parse or compile: where (1-based line and column, in
// characters; 0 when the error has no one place) and what.
type GrammarError struct {
	Line, Col int
	Msg       string
}

// Error formats the error as "grammar: line L, column C: what".
func (e *GrammarError) Error() string {
	if e.Line == 0 {
		return "grammar: " + e.Msg
	}
	return fmt.Sprintf("grammar: line %d, column %d: %s", e.Line, e.Col, e.Msg)
}

// gsym is one symbol of a sequence: a reference to a rule (rule >= 0) or a terminal, a character class
// (rule < 0, cls its index).
type gsym struct {
	rule int32
	cls  int32
}

// grule is a rule: its alternatives, each a sequence of symbols, and where it comes from.
type grule struct {
	name    string
	alts    [][]gsym
	defined bool
	at      int    // byte offset of the definition (generated rules: of the group or repetition)
	ref     int    // byte offset of the first reference
	owner   string // the named rule a generated rule belongs to
}

// crange is an inclusive range of code points.
type crange struct{ lo, hi rune }

// gbnfParser parses GBNF as llama.cpp's llama_grammar_parser does (src/llama-grammar.cpp): the same
// syntax, the same generated rules for groups and repetitions, and the same limits. Token references
// (<[id]>, <token>, !<…>) are refused: a Matcher here works on text.
type gbnfParser struct {
	src     string
	rules   []*grule
	ids     map[string]int32
	classes [][]crange
	clsIDs  map[string]int32
	nsyms   int
	depth   int
}

// errAt returns the GrammarError at byte offset pos of the source.
func (p *gbnfParser) errAt(pos int, format string, args ...any) *GrammarError {
	pos = min(pos, len(p.src))
	line := 1 + strings.Count(p.src[:pos], "\n")
	col := 1 + utf8.RuneCountInString(p.src[strings.LastIndexByte(p.src[:pos], '\n')+1:pos])
	return &GrammarError{Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// gbnfPanic carries a GrammarError out of the recursive descent.
type gbnfPanic struct{ err *GrammarError }

// fail stops the parse with the error at byte offset pos.
func (p *gbnfParser) fail(pos int, format string, args ...any) {
	panic(gbnfPanic{p.errAt(pos, format, args...)})
}

// parseGBNF parses src into its rules; rule 0 is the first named in the source.
func parseGBNF(src string) (p *gbnfParser, err error) {
	p = &gbnfParser{src: src, ids: map[string]int32{}, clsIDs: map[string]int32{}}
	defer func() {
		if r := recover(); r != nil {
			gp, ok := r.(gbnfPanic)
			if !ok {
				panic(r)
			}
			p, err = nil, gp.err
		}
	}()
	if !utf8.ValidString(src) {
		i := 0
		for i < len(src) {
			r, n := utf8.DecodeRuneInString(src[i:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			i += n
		}
		p.fail(i, "invalid UTF-8")
	}
	pos := p.space(0, true)
	for pos < len(src) {
		pos = p.rule(pos)
	}
	return p, nil
}

// isWordChar reports a byte of a rule name: [a-zA-Z0-9-].
func isWordChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
}

// at returns the byte at i, or 0 past the end (the C parser's terminating NUL).
func (p *gbnfParser) at(i int) byte {
	if i < len(p.src) {
		return p.src[i]
	}
	return 0
}

// space skips blanks and comments, and newlines when newlineOK.
func (p *gbnfParser) space(pos int, newlineOK bool) int {
	for pos < len(p.src) {
		switch c := p.src[pos]; {
		case c == ' ' || c == '\t':
			pos++
		case c == '#':
			for pos < len(p.src) && p.src[pos] != '\r' && p.src[pos] != '\n' {
				pos++
			}
		case newlineOK && (c == '\r' || c == '\n'):
			pos++
		default:
			return pos
		}
	}
	return pos
}

// symbol returns the id of the rule called name, adding it on first use.
func (p *gbnfParser) symbol(name string, pos int) int32 {
	if id, ok := p.ids[name]; ok {
		return id
	}
	id := int32(len(p.rules))
	p.ids[name] = id
	p.rules = append(p.rules, &grule{name: name, ref: pos, owner: name})
	return id
}

// generated adds a rule named after base, as llama.cpp names them (base_N, N its id).
func (p *gbnfParser) generated(base string, pos int) int32 {
	id := int32(len(p.rules))
	name := base + "_" + strconv.Itoa(int(id))
	p.ids[name] = id
	p.rules = append(p.rules, &grule{name: name, defined: true, at: pos, ref: pos, owner: base})
	return id
}

// rule parses `name ::= alternates` and the newline after it.
func (p *gbnfParser) rule(pos int) int {
	start := pos
	for pos < len(p.src) && isWordChar(p.src[pos]) {
		pos++
	}
	if pos == start {
		p.fail(pos, "expecting a rule name")
	}
	name := p.src[start:pos]
	id := p.symbol(name, start)
	pos = p.space(pos, false)
	if !strings.HasPrefix(p.src[pos:], "::=") {
		p.fail(pos, "expecting ::= after rule name %q", name)
	}
	r := p.rules[id]
	if r.defined {
		p.fail(start, "rule %q is defined twice", name)
	}
	r.defined, r.at = true, start
	pos = p.alternates(p.space(pos+3, true), name, id, false)
	switch p.at(pos) {
	case '\r':
		pos++
		if p.at(pos) == '\n' {
			pos++
		}
	case '\n':
		pos++
	case 0:
	default:
		p.fail(pos, "expecting newline or end of grammar, found %q", p.runeAt(pos))
	}
	return p.space(pos, true)
}

// runeAt returns the character at pos, for messages.
func (p *gbnfParser) runeAt(pos int) rune {
	r, _ := utf8.DecodeRuneInString(p.src[pos:])
	return r
}

// alternates parses sequences separated by | into rule id.
func (p *gbnfParser) alternates(pos int, name string, id int32, nested bool) int {
	var alts [][]gsym
	var seq []gsym
	pos, seq = p.sequence(pos, name, nested)
	alts = append(alts, seq)
	for p.at(pos) == '|' {
		pos, seq = p.sequence(p.space(pos+1, true), name, nested)
		alts = append(alts, seq)
	}
	p.rules[id].alts = alts
	return pos
}

// addSyms counts n more symbols against maxGrammarSyms.
func (p *gbnfParser) addSyms(pos, n int) {
	if p.nsyms += n; p.nsyms > maxGrammarSyms {
		p.fail(pos, "the grammar is too large: more than %d symbols once repetitions are expanded", maxGrammarSyms)
	}
}

// sequence parses one alternative.
func (p *gbnfParser) sequence(pos int, name string, nested bool) (int, []gsym) {
	var seq []gsym
	last := 0      // where the last item's symbols start (== len(seq): none)
	prevRules := 1 // rules the last item stands for, as llama.cpp counts them
	for pos < len(p.src) {
		c := p.src[pos]
		switch {
		case c == '"':
			last, prevRules = len(seq), 1
			pos++
			for p.at(pos) != '"' {
				if pos >= len(p.src) {
					p.fail(pos, "unexpected end of grammar in a string literal")
				}
				var r rune
				r, pos = p.char(pos)
				seq = append(seq, gsym{rule: -1, cls: p.class([]crange{{r, r}})})
				p.addSyms(pos, 1)
			}
			pos = p.space(pos+1, nested)
		case c == '[':
			start := pos
			pos++
			neg := p.at(pos) == '^'
			if neg {
				pos++
			}
			last, prevRules = len(seq), 1
			var rs []crange
			items := 0
			for p.at(pos) != ']' {
				if pos >= len(p.src) {
					p.fail(pos, "unexpected end of grammar in a character class")
				}
				var lo rune
				lo, pos = p.char(pos)
				hi := lo
				if p.at(pos) == '-' && p.at(pos+1) != ']' {
					if pos+1 >= len(p.src) {
						p.fail(pos+1, "unexpected end of grammar in a character class")
					}
					hi, pos = p.char(pos + 1)
				}
				rs = append(rs, crange{lo, hi})
				items++
			}
			pos = p.space(pos+1, nested)
			if items > 0 { // llama.cpp's [] and [^] match nothing and take no place
				if neg {
					rs = negate(rs)
				}
				seq = append(seq, gsym{rule: -1, cls: p.class(rs)})
				p.addSyms(start, 1)
			}
		case c == '<' || c == '!':
			p.fail(pos, "token references (<[id]>, <token>, !<…>) are not supported: the grammar constrains text")
		case isWordChar(c):
			start := pos
			for pos < len(p.src) && isWordChar(p.src[pos]) {
				pos++
			}
			id := p.symbol(p.src[start:pos], start)
			pos = p.space(pos, nested)
			last, prevRules = len(seq), 1
			seq = append(seq, gsym{rule: id})
			p.addSyms(start, 1)
		case c == '(':
			start := pos
			if p.depth++; p.depth > maxGroupDepth {
				p.fail(pos, "groups nested more than %d deep", maxGroupDepth)
			}
			pos = p.space(pos+1, true)
			before := len(p.rules)
			sub := p.generated(name, start)
			pos = p.alternates(pos, name, sub, true)
			p.depth--
			prevRules = max(1, len(p.rules)-before)
			last = len(seq)
			seq = append(seq, gsym{rule: sub})
			p.addSyms(start, 1)
			if p.at(pos) != ')' {
				p.fail(pos, "expecting ')' to close the group opened at %s", p.where(start))
			}
			pos = p.space(pos+1, nested)
		case c == '.':
			last, prevRules = len(seq), 1
			seq = append(seq, gsym{rule: -1, cls: p.class([]crange{{0, utf8.MaxRune}})})
			p.addSyms(pos, 1)
			pos = p.space(pos+1, nested)
		case c == '*' || c == '+' || c == '?':
			at := pos
			pos = p.space(pos+1, nested)
			lo, hi := 0, -1
			switch c {
			case '+':
				lo = 1
			case '?':
				hi = 1
			}
			seq, prevRules = p.repeat(at, name, seq, last, prevRules, lo, hi)
		case c == '{':
			at := pos
			pos = p.space(pos+1, nested)
			var lo, hi int
			lo, pos = p.count(pos)
			pos = p.space(pos, nested)
			switch p.at(pos) {
			case '}':
				hi = lo
			case ',':
				pos = p.space(pos+1, nested)
				hi = -1
				if b := p.at(pos); b >= '0' && b <= '9' {
					hi, pos = p.count(pos)
					pos = p.space(pos, nested)
				}
				if p.at(pos) != '}' {
					p.fail(pos, "expecting '}' to close the repetition")
				}
			default:
				p.fail(pos, "expecting ',' or '}' in the repetition")
			}
			pos = p.space(pos+1, nested)
			if lo > maxRepetition {
				p.fail(at, "a repetition of %d exceeds the limit of %d", lo, maxRepetition)
			}
			if hi >= 0 && hi < lo { // llama.cpp would generate rules without end
				p.fail(at, "a repetition {%d,%d} has its upper bound below its lower one", lo, hi)
			}
			if hi > maxRepetition { // llama.cpp: no upper bound past the limit
				hi = -1
			}
			seq, prevRules = p.repeat(at, name, seq, last, prevRules, lo, hi)
		default:
			return pos, seq
		}
	}
	return pos, seq
}

// count parses a decimal repetition count.
func (p *gbnfParser) count(pos int) (int, int) {
	start := pos
	for b := p.at(pos); b >= '0' && b <= '9'; b = p.at(pos) {
		pos++
	}
	if pos == start {
		p.fail(pos, "expecting an integer in the repetition")
	}
	n, err := strconv.Atoi(p.src[start:pos])
	if err != nil || n > 1<<30 {
		n = 1 << 30 // past every limit
	}
	return n, pos
}

// where formats a byte offset as "line L, column C".
func (p *gbnfParser) where(pos int) string {
	e := p.errAt(pos, "")
	return fmt.Sprintf("line %d, column %d", e.Line, e.Col)
}

// repeat rewrites the last item of seq (seq[last:]) for the repetition {lo,hi} (hi < 0: no bound) as
// llama.cpp's handle_repetitions does: S{m,n} → S…S (m times) S'(n-m), S'(x) ::= S S'(x-1) | ε, and
// S{m,} → S…S S', S' ::= S S' | ε.
func (p *gbnfParser) repeat(at int, name string, seq []gsym, last, prevRules, lo, hi int) ([]gsym, int) {
	if last == len(seq) {
		p.fail(at, "expecting an item before the repetition operator")
	}
	total := 1
	if hi > 0 {
		total = hi
	} else if lo > 0 {
		total = lo
	}
	if prevRules*total >= maxRepetition {
		p.fail(at, "the repetition would generate %d rules, more than the limit of %d: reduce the counts or the nesting",
			prevRules*total, maxRepetition)
	}
	item := append([]gsym(nil), seq[last:]...)
	if lo == 0 {
		seq = seq[:last]
	}
	for i := 1; i < lo; i++ {
		seq = append(seq, item...)
	}
	p.addSyms(at, max(lo-1, 0)*len(item))
	opt := 1
	if hi >= 0 {
		opt = hi - lo
	}
	var prev int32
	for i := 0; i < opt; i++ {
		id := p.generated(name, at)
		alt := append([]gsym(nil), item...)
		if hi < 0 {
			alt = append(alt, gsym{rule: id})
		} else if i > 0 {
			alt = append(alt, gsym{rule: prev})
		}
		p.rules[id].alts = [][]gsym{alt, nil}
		p.addSyms(at, len(alt))
		prev = id
	}
	if opt > 0 {
		seq = append(seq, gsym{rule: prev})
	}
	return seq, prevRules * total
}

// char parses one character of a literal or class: an escape or a UTF-8 character.
func (p *gbnfParser) char(pos int) (rune, int) {
	if p.at(pos) != '\\' {
		r, n := utf8.DecodeRuneInString(p.src[pos:])
		return r, pos + n
	}
	switch e := p.at(pos + 1); e {
	case 'x':
		return p.hex(pos, 2)
	case 'u':
		return p.hex(pos, 4)
	case 'U':
		return p.hex(pos, 8)
	case 't':
		return '\t', pos + 2
	case 'r':
		return '\r', pos + 2
	case 'n':
		return '\n', pos + 2
	case '\\', '"', '[', ']', '-':
		return rune(e), pos + 2
	case 0:
		p.fail(pos, "unexpected end of grammar after '\\'")
	}
	p.fail(pos, "unknown escape \\%c", p.runeAt(pos+1))
	return 0, 0
}

// hex parses the n hex digits of an escape that starts at pos.
func (p *gbnfParser) hex(pos, n int) (rune, int) {
	start := pos + 2
	if start+n > len(p.src) {
		p.fail(pos, "expecting %d hex digits after \\%c", n, p.src[pos+1])
	}
	v, err := strconv.ParseUint(p.src[start:start+n], 16, 32)
	if err != nil {
		p.fail(pos, "expecting %d hex digits after \\%c", n, p.src[pos+1])
	}
	if v > utf8.MaxRune {
		v = utf8.MaxRune + 1 // no character: matches nothing
	}
	return rune(v), start + n
}

// negate returns the code points outside rs.
func negate(rs []crange) []crange {
	rs = normalize(rs)
	var out []crange
	next := rune(0)
	for _, r := range rs {
		if r.lo > next {
			out = append(out, crange{next, r.lo - 1})
		}
		next = r.hi + 1
	}
	if next <= utf8.MaxRune {
		out = append(out, crange{next, utf8.MaxRune})
	}
	return out
}

// normalize sorts and merges ranges, leaving out empty ones and code points that are no characters
// (past U+10FFFF, surrogates), since valid UTF-8 never encodes them.
func normalize(rs []crange) []crange {
	var out []crange
	add := func(lo, hi rune) {
		if lo <= hi {
			out = append(out, crange{lo, hi})
		}
	}
	for _, r := range rs {
		lo, hi := r.lo, min(r.hi, utf8.MaxRune)
		if lo <= 0xDFFF && hi >= 0xD800 {
			add(lo, 0xD7FF)
			add(0xE000, hi)
		} else {
			add(lo, hi)
		}
	}
	slices.SortFunc(out, func(a, b crange) int { return int(a.lo - b.lo) })
	merged := out[:0]
	for _, r := range out {
		if n := len(merged); n > 0 && r.lo <= merged[n-1].hi+1 {
			merged[n-1].hi = max(merged[n-1].hi, r.hi)
			continue
		}
		merged = append(merged, r)
	}
	return merged
}

// class returns the index of the character class rs, shared between equal classes.
func (p *gbnfParser) class(rs []crange) int32 {
	rs = normalize(rs)
	key := make([]byte, 0, 16*len(rs))
	for _, r := range rs {
		key = strconv.AppendInt(append(strconv.AppendInt(key, int64(r.lo), 16), '-'), int64(r.hi), 16)
		key = append(key, ',')
	}
	if id, ok := p.clsIDs[string(key)]; ok {
		return id
	}
	id := int32(len(p.classes))
	p.clsIDs[string(key)] = id
	p.classes = append(p.classes, rs)
	return id
}
