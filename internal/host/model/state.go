package model

import (
	"github.com/wasmoe/wasmoe/internal/host/kvcache"
	"github.com/wasmoe/wasmoe/internal/kernels"
)

// BlockTokens is the number of positions one block of the paged KV cache holds.
const BlockTokens = 16

// NewCache returns a paged KV cache for m that holds tokens positions over all its sequences (rounded up
// to whole blocks). Block memory is allocated on first use.
func (m *Model) NewCache(tokens int) *kvcache.Pool {
	return kvcache.NewPool((tokens+BlockTokens-1)/BlockTokens, BlockTokens, m.cacheLayers()*BlockTokens*m.positionFloats())
}

// CacheBytesPerToken is what one position of one sequence takes in the KV cache.
func (m *Model) CacheBytesPerToken() int { return 4 * m.cacheLayers() * m.positionFloats() }

// cacheLayers is the number of layers a position caches: the main blocks, then deepseek2's
// multi-token-prediction blocks (ForwardMTP), numbered after them as in the file.
func (m *Model) cacheLayers() int { return m.Blocks + len(m.MTP) }

// positionFloats is what one position caches per block: qwen2 / llama, its keys and values
// (2·H_kv·hd); deepseek2, its latent row [c_kv ; rotated k_pe] (rkv+dr), which serves as both.
func (m *Model) positionFloats() int {
	if m.Arch == archDeepSeek2 {
		return m.cacheWidth()
	}
	return 2 * m.cacheWidth()
}

// cacheWidth is the number of values a block caches per position as keys (and as values for dense models).
func (m *Model) cacheWidth() int {
	if m.Arch == archDeepSeek2 {
		return m.MLA.KVLoRA + m.RopeDim
	}
	return m.KVHeads * m.HeadDim
}

// pages is block l's part of a sequence's cache as the attention kernels read it. Within a cache block,
// block l's positions come after those of blocks 0 … l-1: its keys, then (dense models) its values.
func (m *Model) pages(s *kvcache.Seq, l int) kernels.Pages {
	w := m.cacheWidth()
	off := l * BlockTokens * m.positionFloats()
	val := off
	if m.Arch != archDeepSeek2 {
		val += BlockTokens * w
	}
	return kernels.Pages{Data: s.Pages(), PageLen: BlockTokens, KeyOff: off, ValOff: val}
}

// cacheRows returns where block l caches position pos of s: its key row and its value row (the same
// row for deepseek2).
func (m *Model) cacheRows(s *kvcache.Seq, l, pos int) (k, v []float32) {
	pg := m.pages(s, l)
	w := m.cacheWidth()
	d, i := pg.Data[pos/BlockTokens], pos%BlockTokens*w
	return d[pg.KeyOff+i : pg.KeyOff+i+w], d[pg.ValOff+i : pg.ValOff+i+w]
}

// State is one sequence on a private cache, with its own scratch: what a tool or a plugin's host kernel
// needs to run a model over one stream of tokens. The engine's scheduler uses Cache, Seq and Batch
// instead. A State is used by one goroutine at a time.
type State struct {
	Pos    int // tokens already in the cache
	maxPos int
	seq    *kvcache.Seq
	batch  Batch
}

// NewState returns an empty sequence for m, limited to maxPos tokens (0 or more than the model's context
// means the model's context length).
func (m *Model) NewState(maxPos int) *State {
	if maxPos <= 0 || maxPos > m.Context {
		maxPos = m.Context
	}
	return &State{maxPos: maxPos, seq: m.NewCache(maxPos).NewSeq()}
}

// MaxPos is the number of tokens the sequence can hold.
func (s *State) MaxPos() int { return s.maxPos }

// Reset empties the sequence but keeps its memory.
func (s *State) Reset() { s.Truncate(0) }

// Truncate drops every token at position n and after (n <= Pos).
func (s *State) Truncate(n int) {
	s.seq.Truncate(n)
	s.Pos = s.seq.Len
}

// Fork returns a new sequence holding a copy of s's cached tokens: the two then go their own ways.
func (m *Model) Fork(s *State) *State {
	c := m.NewState(s.maxPos)
	if err := c.seq.Reserve(s.Pos); err != nil {
		panic("model: a new sequence cannot hold its parent's tokens: " + err.Error())
	}
	for i, d := range c.seq.Pages() {
		copy(d, s.seq.Pages()[i])
	}
	c.seq.Len, c.Pos = s.Pos, s.Pos
	return c
}
