package constraint

import "sync"

// Requests with one grammar share its compiled program: GBNF keeps the grammars it compiled last, by
// source text, so a request whose grammar an earlier one sent gets the same program, with the same id,
// and so the Trie's cached masks of that grammar's states (maskcache.go) serve it too: a state any
// earlier request of the grammar reached is not walked again. A program never changes once compiled,
// so sharing it is safe.

// Bounds on the cached programs: how many, and their bytes together (about); a program larger than the
// second is not kept.
const (
	maxCachedGrammars     = 16
	maxCachedGrammarBytes = 4 << 20
)

// gbnfCache holds compiled grammars by source, oldest first in order.
var gbnfCache struct {
	sync.Mutex
	bySrc map[string]*gbnf
	order []string
	bytes int
}

// compiledGBNF returns the program of src, compiled now or by an earlier call.
func compiledGBNF(src string) (*gbnf, error) {
	c := &gbnfCache
	c.Lock()
	g, ok := c.bySrc[src]
	c.Unlock()
	if ok {
		return g, nil
	}
	g, err := compileGBNF(src)
	if err != nil {
		return nil, err
	}
	size := g.size() + len(src)
	if size > maxCachedGrammarBytes {
		return g, nil
	}
	c.Lock()
	defer c.Unlock()
	if _, ok := c.bySrc[src]; ok {
		return c.bySrc[src], nil
	}
	for len(c.order) > 0 && (len(c.order) >= maxCachedGrammars || c.bytes+size > maxCachedGrammarBytes) {
		old := c.order[0]
		c.bytes -= c.bySrc[old].size() + len(old)
		delete(c.bySrc, old)
		c.order = c.order[1:]
	}
	if c.bySrc == nil {
		c.bySrc = map[string]*gbnf{}
	}
	c.bySrc[src] = g
	c.order = append(c.order, src)
	c.bytes += size
	return g, nil
}

// size is about how many bytes the program holds.
func (g *gbnf) size() int {
	n := 8*len(g.elems) + 12*len(g.cl) + 12*len(g.entries) + 4*len(g.chains) + 4*len(g.rootAlts)
	for _, c := range g.classes {
		n += 64 + 8*len(c.ranges) + len(c.mb)
	}
	return n
}
