package constraint

import (
	"fmt"
	"strconv"
	"sync/atomic"
)

// Limits on a compiled GBNF grammar's expansions (see GBNF).
const (
	maxPosStacks     = 1 << 12 // parse stacks one position may expand to before a character
	maxClosureInts   = 1 << 21 // positions in all the expansions together
	maxClosureStacks = 1 << 21 // stacks in all the expansions together
)

// Element kinds of a compiled grammar's program.
const (
	eEnd  = iota // end of an alternative
	eTerm        // a character class
	eRef         // a rule reference
)

// gelem is one element of the program: a terminal (arg: class), a reference (arg: rule), or an end.
type gelem struct {
	kind uint8
	arg  int32
}

// gclass is a character class: sorted disjoint ranges of code points, the ASCII ones as bits, the bytes
// that start its characters, and its multibyte characters.
type gclass struct {
	ranges []crange
	ascii  [2]uint64
	first  byteSet
	mb     mbRanges
}

// closure is what a position expands to before the next character: the parse stacks (entries[lo:hi],
// each a terminal with the positions pushed under it) and whether it can also finish its alternative
// without a character (pops), returning to the position under it.
type closure struct {
	lo, hi int32
	pops   bool
}

// centry is one stack of a closure: the terminal's position on top of chain (chains[off:off+n], bottom
// first).
type centry struct {
	term, off, n int32
}

// gbnf is a compiled grammar, shared by its matchers and never changed.
type gbnf struct {
	elems    []gelem
	classes  []gclass
	cl       []closure // by position
	entries  []centry
	chains   []int32
	rootAlts []int32 // where root's alternatives start
	id       uint64  // tells grammars apart in mask cache keys (maskcache.go)
}

// gbnfIDs numbers compiled grammars.
var gbnfIDs atomic.Uint64

// GBNF returns a Matcher for a grammar in llama.cpp's GBNF (grammars/README.md there): rules
// `name ::= …` with root as the start, alternatives |, sequences, groups ( ), * + ? {m} {m,} {m,n},
// string literals and character classes [...] [^...] with the escapes \n \t \r \\ \" \[ \] \- \xHH
// \uHHHH \UHHHHHHHH, . (any character) and # comments. Like llama.cpp it works on code points, so the
// Matcher accepts only valid UTF-8 (one code point's bytes at a time), and it parses as llama.cpp does:
// the same repetition rewrites and limits (a count over 2000 is an error, an upper bound over 2000 means
// none), left-recursive rules refused. Differences: token references (<[id]>, <token>) are refused, a
// rule defined twice is an error, and left recursion is judged with true nullability, so a rule that
// reaches itself at its start through a nullable rule (root ::= n root "a" | "b", n ::= m, m ::= "" | "c")
// is refused where llama.cpp expands it forever, while a rule that reaches itself only in tail position
// after something nullable, as the repetition of ("" | "a")*, is accepted where llama.cpp refuses it.
//
// Errors are *GrammarError with the line and column, or wrap ErrEmpty when no text matches root.
// The state is a set of parse stacks: each position's expansion is computed once, and one is capped
// at 4096 stacks (a grammar over it is an error, "too ambiguous"); a Matcher keeps at most 1024 stacks,
// dropping the rest, which only narrows the language of hugely ambiguous grammars. Matchers of one
// source text share its compiled program and cached masks (gbnfcache.go).
func GBNF(src string) (Matcher, error) {
	g, err := compiledGBNF(src)
	if err != nil {
		return nil, err
	}
	return newGBNFMatcher(g), nil
}

// compileGBNF parses and checks src and builds its program.
func compileGBNF(src string) (*gbnf, error) {
	p, err := parseGBNF(src)
	if err != nil {
		return nil, err
	}
	root, ok := p.ids["root"]
	if !ok {
		return nil, &GrammarError{Msg: "the grammar has no root rule (root ::= …), where text starts"}
	}
	undefined := -1
	for i, r := range p.rules {
		if !r.defined && (undefined < 0 || r.ref < p.rules[undefined].ref) {
			undefined = i
		}
	}
	if undefined >= 0 {
		r := p.rules[undefined]
		return nil, p.errAt(r.ref, "undefined rule %q", r.name)
	}
	if err := p.checkLeftRecursion(); err != nil {
		return nil, err
	}
	if !p.prune(root) {
		return nil, fmt.Errorf("grammar: %w: rule root matches no text", ErrEmpty)
	}
	return p.program(root)
}

// nullable returns which rules derive the empty string.
func (p *gbnfParser) nullable() []bool {
	null := make([]bool, len(p.rules))
	for changed := true; changed; {
		changed = false
		for i, r := range p.rules {
			if null[i] {
				continue
			}
			for _, alt := range r.alts {
				all := true
				for _, s := range alt {
					if s.rule < 0 || !null[s.rule] {
						all = false
						break
					}
				}
				if all {
					null[i], changed = true, true
					break
				}
			}
		}
	}
	return null
}

// checkLeftRecursion refuses a rule that derives itself at its start (after nullable symbols only),
// unless every such derivation goes through references in tail position that follow something
// nullable: only those leave the parse stacks bounded (module doc of GBNF).
func (p *gbnfParser) checkLeftRecursion() error {
	null := p.nullable()
	type edge struct {
		to  int32
		bad bool
	}
	edges := make([][]edge, len(p.rules))
	for i, r := range p.rules {
		for _, alt := range r.alts {
			for j, s := range alt {
				if s.rule < 0 {
					break
				}
				edges[i] = append(edges[i], edge{s.rule, j == 0 || j != len(alt)-1})
				if !null[s.rule] {
					break
				}
			}
		}
	}
	// Tarjan's strongly connected components; a bad edge inside one closes a bad cycle.
	n := len(p.rules)
	index, low, comp := make([]int32, n), make([]int32, n), make([]int32, n)
	onStack := make([]bool, n)
	var stack []int32
	next, ncomp := int32(1), int32(0)
	var visit func(v int32)
	visit = func(v int32) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		for _, e := range edges[v] {
			if index[e.to] == 0 {
				visit(e.to)
				low[v] = min(low[v], low[e.to])
			} else if onStack[e.to] {
				low[v] = min(low[v], index[e.to])
			}
		}
		if low[v] == index[v] {
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				comp[w] = ncomp
				if w == v {
					break
				}
			}
			ncomp++
		}
	}
	for v := range n {
		if index[v] == 0 {
			visit(int32(v))
		}
	}
	for v, es := range edges {
		for _, e := range es {
			if e.bad && comp[e.to] == comp[v] {
				r := p.rules[v]
				what := fmt.Sprintf("rule %q", r.owner)
				if r.owner != r.name {
					what = fmt.Sprintf("a group or repetition of rule %q", r.owner)
				}
				return p.errAt(r.at, "%s is left-recursive: it can reach itself before matching any character "+
					"(rewrite it with repetition, e.g. expr ::= term (\"+\" term)*)", what)
			}
		}
	}
	return nil
}

// prune drops the alternatives that cannot derive any text (a rule that never ends, a character class
// that no character is in) and reports whether rule root still derives some.
func (p *gbnfParser) prune(root int32) bool {
	prod := make([]bool, len(p.rules))
	ok := func(s gsym) bool {
		if s.rule < 0 {
			return len(p.classes[s.cls]) > 0
		}
		return prod[s.rule]
	}
	for changed := true; changed; {
		changed = false
		for i, r := range p.rules {
			if prod[i] {
				continue
			}
			for _, alt := range r.alts {
				all := true
				for _, s := range alt {
					all = all && ok(s)
				}
				if all {
					prod[i], changed = true, true
					break
				}
			}
		}
	}
	for _, r := range p.rules {
		alts := r.alts[:0]
		for _, alt := range r.alts {
			all := true
			for _, s := range alt {
				all = all && ok(s)
			}
			if all {
				alts = append(alts, alt)
			}
		}
		r.alts = alts
	}
	return prod[root]
}

// program lays the rules out as one program and computes every position's closure.
func (p *gbnfParser) program(root int32) (*gbnf, error) {
	g := &gbnf{classes: make([]gclass, len(p.classes)), id: gbnfIDs.Add(1)}
	for i, rs := range p.classes {
		c := gclass{ranges: rs, first: firstBytes(rs)}
		for _, r := range rs {
			for ch := r.lo; ch <= min(r.hi, 127); ch++ {
				c.ascii[ch>>6] |= 1 << (ch & 63)
			}
		}
		c.mb = newMBRanges(rs)
		g.classes[i] = c
	}
	alts := make([][]int32, len(p.rules))
	var owner []int32 // the rule of each position
	for i, r := range p.rules {
		for _, alt := range r.alts {
			alts[i] = append(alts[i], int32(len(g.elems)))
			for _, s := range alt {
				if s.rule < 0 {
					g.elems = append(g.elems, gelem{eTerm, s.cls})
				} else {
					g.elems = append(g.elems, gelem{eRef, s.rule})
				}
				owner = append(owner, int32(i))
			}
			g.elems = append(g.elems, gelem{kind: eEnd})
			owner = append(owner, int32(i))
		}
	}
	g.rootAlts = alts[root]
	g.cl = make([]closure, len(g.elems))
	seen := map[string]bool{}
	var todo [][]int32
	var key []byte
	for pos, e := range g.elems {
		c := &g.cl[pos]
		c.lo = int32(len(g.entries))
		switch e.kind {
		case eEnd:
			c.pops = true
		case eTerm:
			g.entries = append(g.entries, centry{term: int32(pos), off: int32(len(g.chains))})
		case eRef:
			// llama.cpp's llama_grammar_advance_stack over the stacks pushed above the position.
			clear(seen)
			todo = append(todo[:0], []int32{int32(pos)})
			explored := 0
			for len(todo) > 0 {
				st := todo[len(todo)-1]
				todo = todo[:len(todo)-1]
				key = key[:0]
				for _, x := range st {
					key = strconv.AppendInt(key, int64(x), 36)
					key = append(key, ',')
				}
				if seen[string(key)] {
					continue
				}
				seen[string(key)] = true
				if explored++; explored > maxPosStacks {
					r := p.rules[owner[pos]]
					return nil, p.errAt(r.at, "rule %q is too ambiguous: one reference expands to more than %d parse stacks",
						r.owner, maxPosStacks)
				}
				if len(st) == 0 {
					c.pops = true
					continue
				}
				top := st[len(st)-1]
				te := g.elems[top]
				if te.kind == eTerm {
					g.entries = append(g.entries, centry{term: top, off: int32(len(g.chains)), n: int32(len(st) - 1)})
					g.chains = append(g.chains, st[:len(st)-1]...)
					if len(g.chains) > maxClosureInts || len(g.entries) > maxClosureStacks {
						return nil, &GrammarError{Msg: fmt.Sprintf("the grammar is too ambiguous: its expansions hold more than %d stacks or %d positions",
							maxClosureStacks, maxClosureInts)}
					}
					continue
				}
				for _, a := range alts[te.arg] {
					nst := append(make([]int32, 0, len(st)+1), st[:len(st)-1]...)
					if g.elems[top+1].kind != eEnd {
						nst = append(nst, top+1)
					}
					if g.elems[a].kind != eEnd {
						nst = append(nst, a)
					}
					todo = append(todo, nst)
				}
			}
		}
		c.hi = int32(len(g.entries))
	}
	return g, nil
}
