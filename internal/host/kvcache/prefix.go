package kvcache

import "slices"

// prefixIndex is the prefix cache: full blocks of prompt tokens kept after their sequence lets go, found
// again by a hash chain (each block's key hashes the namespace, the previous block's key and the block's
// tokens). A hit is verified, not trusted: the block's own tokens must equal the prompt's, and its
// recorded parent must be the very block (same id, same allocation) the walk came from. Blocks only the
// cache holds are idle and evicted least recently used first when the pool runs out.
type prefixIndex struct {
	byHash map[uint64]int32
	meta   []blockMeta // by block id
	idle   int         // cached blocks no sequence holds
	clock  uint64
}

// blockMeta is what the prefix cache knows of one block.
type blockMeta struct {
	cached    bool
	gen       uint32 // bumped at every allocation: tells a block's contents apart over time
	hash      uint64
	ns        uint64
	parent    int32 // the previous block of the chain, -1 for the first
	parentGen uint32
	tokens    []int32
	used      uint64 // last hit or publication, for LRU eviction
}

func (x *prefixIndex) init(blocks int) {
	x.byHash = map[uint64]int32{}
	x.meta = make([]blockMeta, blocks)
}

// holds reports whether block id is in the prefix cache.
func (x *prefixIndex) holds(id int32) bool { return x.meta[id].cached }

// taken marks block id as newly allocated: its contents are new.
func (x *prefixIndex) taken(id int32) { x.meta[id].gen++ }

// evict frees the least recently used idle cached block; false when there is none.
func (x *prefixIndex) evict(p *Pool) bool {
	if x.idle == 0 {
		return false
	}
	victim := int32(-1)
	for id := range x.meta {
		m := &x.meta[id]
		if m.cached && p.refs[id] == 1 && (victim < 0 || m.used < x.meta[victim].used) {
			victim = int32(id)
		}
	}
	x.drop(victim)
	p.unref(victim)
	return true
}

// drop takes block id out of the index; the caller gives back the cache's reference.
func (x *prefixIndex) drop(id int32) {
	m := &x.meta[id]
	delete(x.byHash, m.hash)
	m.cached, m.tokens = false, m.tokens[:0]
	x.idle--
}

// chainHash is the key of a block of tokens that follows the block keyed prev.
func chainHash(ns, prev uint64, tokens []int32) uint64 {
	h := mix(ns ^ mix(prev))
	for _, t := range tokens {
		h = mix(h ^ uint64(uint32(t)))
	}
	return h
}

// mix is splitmix64's finalizer.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// Lookup finds the longest run of full blocks at the start of tokens that the prefix cache holds for
// namespace ns, and starts s (which must be empty) on them. It returns the positions s now holds, a
// multiple of BlockTokens, at most limit.
func (p *Pool) Lookup(s *Seq, ns uint64, tokens []int32, limit int) int {
	x, bt := &p.prefix, p.blockTokens
	var found []int32
	prev, parent := uint64(0), int32(-1)
	for end := bt; end <= min(len(tokens), limit); end += bt {
		block := tokens[end-bt : end]
		h := chainHash(ns, prev, block)
		id, ok := x.byHash[h]
		if !ok {
			break
		}
		m := &x.meta[id]
		if m.ns != ns || m.parent != parent || (parent >= 0 && m.parentGen != x.meta[parent].gen) ||
			!slices.Equal(m.tokens, block) {
			break
		}
		found = append(found, id)
		prev, parent = h, id
	}
	x.clock++
	for i := len(found) - 1; i >= 0; i-- { // a chain's first blocks stay the most recent: evicted last
		x.meta[found[i]].used = x.clock
		x.clock++
	}
	s.adopt(found, len(found)*bt)
	return len(found) * bt
}

// Publish puts the full blocks of s that hold tokens (the sequence's first len(tokens) positions, or as
// many as it holds) into the prefix cache under namespace ns. Blocks whose chain key is there already
// stay as they are.
func (p *Pool) Publish(s *Seq, ns uint64, tokens []int32) {
	x, bt := &p.prefix, p.blockTokens
	prev, parent := uint64(0), int32(-1)
	for b := 0; (b+1)*bt <= min(len(tokens), s.Len); b++ {
		block := tokens[b*bt : (b+1)*bt]
		h := chainHash(ns, prev, block)
		id, ok := x.byHash[h]
		if !ok {
			id = s.blocks[b]
			m := &x.meta[id]
			if m.cached { // the block is cached under another key: it cannot be both
				return
			}
			pg := uint32(0)
			if parent >= 0 {
				pg = x.meta[parent].gen
			}
			*m = blockMeta{cached: true, gen: m.gen, hash: h, ns: ns, parent: parent, parentGen: pg,
				tokens: append(m.tokens[:0], block...)}
			x.byHash[h] = id
			p.refs[id]++ // the cache's own reference; a sequence holds it too, so it is not idle
		}
		x.clock++
		x.meta[id].used = x.clock
		prev, parent = h, id
	}
}
