// Package kvcache is the paged KV cache: one pool of fixed-size blocks per model, from which every
// sequence takes the blocks it writes (its block table), forks share blocks copy-on-write, and full prompt
// blocks outlive their request in a prefix cache keyed by a verified chain of token blocks.
//
// A block holds BlockTokens positions of every layer: what the model stores per position (dense models:
// keys and values; MLA: one latent row) is opaque here, BlockFloats values a block. Block memory is
// allocated on first use, up to the pool's size, and then reused.
//
// A Pool and its Seqs belong to one goroutine (the engine's scheduler, or a private sequence's owner).
package kvcache

import "errors"

// ErrFull means every block is in use by a sequence: nothing free and nothing evictable.
var ErrFull = errors.New("kvcache: no free block")

// Pool is a fixed number of blocks of BlockTokens positions each.
type Pool struct {
	blockTokens int
	blockFloats int
	data        [][]float32 // by block id; nil until first used
	refs        []int32     // sequences (and the prefix cache) holding each block
	free        []int32     // block ids with no holder, as a stack
	prefix      prefixIndex
}

// NewPool returns a pool of blocks blocks, each blockTokens positions of blockFloats values in all.
func NewPool(blocks, blockTokens, blockFloats int) *Pool {
	p := &Pool{blockTokens: blockTokens, blockFloats: blockFloats, data: make([][]float32, blocks),
		refs: make([]int32, blocks), free: make([]int32, blocks)}
	for i := range p.free {
		p.free[i] = int32(blocks - 1 - i) // block 0 is handed out first
	}
	p.prefix.init(blocks)
	return p
}

// BlockTokens is the number of positions a block holds.
func (p *Pool) BlockTokens() int { return p.blockTokens }

// Blocks is the pool's size in blocks.
func (p *Pool) Blocks() int { return len(p.data) }

// Used is the number of blocks some sequence holds. Blocks only the prefix cache holds are not counted:
// they are evicted when needed.
func (p *Pool) Used() int { return len(p.data) - len(p.free) - p.prefix.idle }

// Cached is the number of blocks the prefix cache holds, whether a sequence uses them too or not.
func (p *Pool) Cached() int { return len(p.prefix.byHash) }

// Available is the number of blocks an allocation can get now: free ones and those only the prefix cache
// holds.
func (p *Pool) Available() int { return len(p.free) + p.prefix.idle }

// alloc takes a block for one holder, evicting the least recently used idle prefix block when none is
// free.
func (p *Pool) alloc() (int32, error) {
	if len(p.free) == 0 && !p.prefix.evict(p) {
		return -1, ErrFull
	}
	id := p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	if p.data[id] == nil {
		p.data[id] = make([]float32, p.blockFloats)
	}
	p.refs[id] = 1
	p.prefix.taken(id)
	return id, nil
}

// ref adds a holder to block id.
func (p *Pool) ref(id int32) {
	if p.refs[id] == 1 && p.prefix.holds(id) {
		p.prefix.idle-- // a sequence takes an idle cached block
	}
	p.refs[id]++
}

// unref drops a holder of block id; a block nobody holds is free again.
func (p *Pool) unref(id int32) {
	p.refs[id]--
	switch {
	case p.refs[id] == 0:
		p.free = append(p.free, id)
	case p.refs[id] == 1 && p.prefix.holds(id):
		p.prefix.idle++ // only the prefix cache holds it now
	}
}

// Data is block id's values.
func (p *Pool) Data(id int32) []float32 { return p.data[id] }
