package constraint

// The JSON matcher's cursor for Mask's walk: while one configuration is alive it is stepped by value, so
// a trie node costs one step and no snapshot; where a byte splits it into several, they are stepped
// together until they merge or die. Its free runs: string and key characters, and digits.

// Results of advance1.
const (
	adv1None = iota
	adv1One
	adv1Many // m.tmp holds the configurations
)

// advance1 advances the single configuration c over b.
func (m *jsonMatcher) advance1(c *config, b byte) int {
	f := &c.top
	switch n := m.nodes[f.n]; {
	case n.kind == kString:
		ok, end := stringStep(f, n, b)
		if !ok {
			return adv1None
		}
		if end {
			m.pop(c)
		}
		return adv1One
	case n.kind == kObject && f.st == oKey:
		if !keyStep(f, n, b) {
			return adv1None
		}
		return adv1One
	}
	m.tmp = m.tmp[:0]
	m.step(*c, b)
	switch len(m.tmp) {
	case 0:
		return adv1None
	case 1:
		*c = m.tmp[0]
		return adv1One
	}
	return adv1Many
}

// jsonCursor is a stack of sets of configurations, back to back in cfgs; m.cur is left as it is.
type jsonCursor struct {
	m     *jsonMatcher
	cfgs  []config
	ends  []int // level i holds cfgs[ends[i-1]:ends[i]] (level 0 from 0)
	links []int // len(m.links) before each level's push: the links it made are dropped by pop
}

func (m *jsonMatcher) cursor() *jsonCursor {
	return &jsonCursor{m: m, cfgs: append([]config(nil), m.cur...), ends: []int{len(m.cur)}, links: []int{len(m.links)}}
}

// top is the current level's configurations.
func (c *jsonCursor) top() []config {
	lo := 0
	if n := len(c.ends); n > 1 {
		lo = c.ends[n-2]
	}
	return c.cfgs[lo:]
}

func (c *jsonCursor) push(b byte) bool {
	c.m.checkDeadline()
	m, cur := c.m, c.top()
	links := len(m.links)
	if len(cur) == 1 {
		cf := cur[0]
		switch m.advance1(&cf, b) {
		case adv1One:
			c.cfgs = append(c.cfgs, cf)
		case adv1Many:
			c.cfgs = append(c.cfgs, dedupe(m.tmp)...)
		default:
			m.links = m.links[:links]
			return false
		}
	} else {
		m.tmp = m.tmp[:0]
		for _, cf := range cur {
			m.step(cf, b)
		}
		if len(m.tmp) == 0 {
			m.links = m.links[:links]
			return false
		}
		c.cfgs = append(c.cfgs, dedupe(m.tmp)...)
	}
	c.ends = append(c.ends, len(c.cfgs))
	c.links = append(c.links, links)
	return true
}

func (c *jsonCursor) pop() {
	n := len(c.ends)
	c.cfgs = c.cfgs[:c.ends[n-2]]
	c.m.links = c.m.links[:c.links[n-1]]
	c.ends, c.links = c.ends[:n-1], c.links[:n-1]
}

func (c *jsonCursor) free(*Trie, int32) (freeRun, bool) {
	if cur := c.top(); len(cur) == 1 {
		return c.m.configFree(&cur[0])
	}
	return freeRun{}, false
}

func (c *jsonCursor) next() (byteSet, bool) {
	var set byteSet
	if cur := c.top(); len(cur) == 1 {
		return set, c.m.nextBytes(cur[0], &set)
	}
	return set, false
}

// free is the matcher's freeRun, for Mask's generic path: only a single configuration has one.
func (m *jsonMatcher) free() (freeRun, bool) {
	if len(m.cur) == 1 {
		return m.configFree(&m.cur[0])
	}
	return freeRun{}, false
}

// freeInside is free when no text of the run can complete the value: every run but the digits of a
// number that is the whole value (strings and keys lie inside their value, which their characters never
// close). A matcher holding this one (Grammar) may then use the run as its own.
func (m *jsonMatcher) freeInside() (freeRun, bool) {
	if len(m.cur) != 1 || m.Accepting() {
		return freeRun{}, false
	}
	c := &m.cur[0]
	if k := m.nodes[c.top.n].kind; (k == kNumber || k == kInteger) && m.nodes[m.links[c.rest].f.n].kind == kRoot {
		return freeRun{}, false
	}
	return m.configFree(c)
}

// Classes of free characters.
var (
	jsonText   charClass // what strings and keys hold unescaped: no '"', '\\' or control characters
	jsonString charClass // and escapes but \u
	jsonKey    charClass // and escapes but \u and \/
	digits     charClass // 0-9
	digits1to9 charClass
)

func init() {
	for b := byte(0x20); b < 0x80; b++ {
		if b != '"' && b != '\\' {
			jsonText.add(b)
		}
	}
	jsonText.multi = true
	jsonString, jsonKey = jsonText, jsonText
	for _, e := range []byte(`"\\/bfnrt`) {
		jsonString.esc[e>>6] |= 1 << (e & 63)
		if e != '/' {
			jsonKey.esc[e>>6] |= 1 << (e & 63)
		}
	}
	for b := byte('0'); b <= '9'; b++ {
		digits.add(b)
		if b > '0' {
			digits1to9.add(b)
		}
	}
}

// configFree is the freeRun of a configuration's top frame: characters of a string (with its pattern and
// length bounds), of a key no listed property starts with (where other properties are allowed), and
// digits of a number without bounds.
func (m *jsonMatcher) configFree(c *config) (freeRun, bool) {
	f := &c.top
	n := m.nodes[f.n]
	switch n.kind {
	case kString:
		if f.ls != lsNorm {
			return freeRun{}, false
		}
		run := freeRun{cls: jsonString, max: -1}
		if n.pat != nil { // the pattern's characters, unescaped
			p, ok := n.pat.free(f.a)
			if !ok {
				return freeRun{}, false
			}
			run = freeRun{cls: p.cls.and(jsonText), max: p.max, loop: p.loop}
		}
		if n.maxLen >= 0 {
			if left := n.maxLen - int(f.cnt); run.max < 0 || left < run.max {
				run.max = left
			}
		} else if run.max < 0 {
			run.loop = max(run.loop, n.minLen-int(f.cnt))
		}
		return run, run.max != 0 && !run.cls.empty()
	case kObject:
		if f.st != oKey || f.ls != lsNorm || f.cnt == 0 { // f.cnt != 0: other properties may appear
			break
		}
		if f.a < 0 {
			return freeRun{cls: jsonKey, max: -1}, true
		}
		if len(n.keys.nodes[f.a].edges) == 0 {
			return freeRun{cls: jsonKey, max: -1, loop: 1}, true
		}
	case kNumber, kInteger:
		if n.num != nil { // bounded: not every digit may follow (the bounds' DFA is in f.a)
			break
		}
		switch f.st {
		case nInt, nFrac, nExpD:
			return freeRun{cls: digits, max: -1}, true
		case nDot, nExp, nExpSg:
			return freeRun{cls: digits, max: -1, loop: 1}, true
		case nMinus:
			return freeRun{cls: digits1to9, max: -1, loop: 1}, true
		}
	}
	return freeRun{}, false
}

// Sets of bytes the frames take next.
var (
	setNumber byteSet             // digits, sign, point, exponent
	setLexer  [lsC3F4 + 1]byteSet // by string lexer state
)

func init() {
	setNumber.addAll("0123456789+-.eE")
	for ls := range setLexer {
		set := &setLexer[ls]
		switch ls {
		case lsNorm:
			for b := 0; b < 0x80; b++ {
				if jsonText.has(byte(b)) {
					set.add(byte(b))
				}
			}
			set.addAll(`"\`)
			set.addRange(0xC2, 0xF4)
		case lsEsc:
			set.addAll(`"\/bfnrtu`)
		case lsU1, lsU2, lsU3, lsU4:
			set.addAll("0123456789abcdefABCDEF")
		case lsU2D:
			set.addAll("01234567")
		default: // continuation bytes
			set.addRange(0x80, 0xBF)
		}
	}
}

// nextBytes adds to set every byte configuration c takes next (and maybe more); false if it cannot
// tell. A number or literal that may end adds what its parent takes after it.
func (m *jsonMatcher) nextBytes(c config, set *byteSet) bool {
	for {
		f := &c.top
		n := m.nodes[f.n]
		switch n.kind {
		case kRoot:
			return f.st != rValue || m.valueStarts(n.items, set)
		case kString:
			set.or(&setLexer[f.ls])
			return true
		case kObject:
			return m.objectBytes(f, n, set)
		case kArray:
			set.addAll(" \n\t") // whitespace between tokens (wsStep), wherever it may come
			if f.st == aAfter {
				set.addAll(",]")
				return true
			}
			if f.st == aOpen {
				set.add(']')
			}
			return m.valueStarts(n.items, set)
		case kNumber, kInteger:
			set.or(&setNumber)
		case kLiteral:
			for _, l := range n.lits[f.a:f.b] {
				if len(l) > int(f.cnt) {
					set.add(l[f.cnt])
				}
			}
		default:
			return false
		}
		if !m.complete(f) {
			return true
		}
		m.pop(&c)
	}
}

// objectBytes is nextBytes for an object's frame; outside keys it adds the whitespace bytes wherever
// whitespace may come (wsStep), which is more than the frame may take at times.
func (m *jsonMatcher) objectBytes(f *frame, n *tnode, set *byteSet) bool {
	if f.st != oKey {
		set.addAll(" \n\t")
	}
	switch f.st {
	case oOpen:
		set.addAll(`"}`)
	case oKey:
		if f.cnt != 0 || f.a < 0 {
			set.or(&setLexer[f.ls])
			break
		}
		for _, e := range n.keys.nodes[f.a].edges {
			set.add(e.b)
		}
		set.add('"')
	case oColon:
		set.add(':')
	case oValue:
		v := n.addl
		if f.b >= 0 {
			v = n.props[f.b]
		}
		return m.valueStarts(v, set)
	case oAfter:
		set.addAll(",}")
	case oComma:
		set.add('"')
	}
	return true
}

// valueStarts adds the first bytes of v's values; false if it cannot tell.
func (m *jsonMatcher) valueStarts(v *value, set *byteSet) bool {
	for _, n := range v.alts {
		switch n.kind {
		case kObject:
			set.add('{')
		case kArray:
			set.add('[')
		case kString:
			set.add('"')
		case kNumber, kInteger:
			set.addAll("-0123456789")
		case kLiteral:
			for _, l := range n.lits {
				set.add(l[0])
			}
		default:
			return false
		}
	}
	return true
}
