package engine

import (
	"hash/fnv"
	"sync/atomic"

	"github.com/wasmoe/wasmoe/internal/host/model"
	"github.com/wasmoe/wasmoe/internal/host/sysmem"
)

// Stats is a snapshot of the scheduler's state, for metrics and tests.
type Stats struct {
	Running       int   // sequences admitted (computing, sampling or paused)
	Waiting       int   // sequences queued: new requests, and preempted sequences waiting to recompute
	KVBlocksUsed  int   // cache blocks held by sequences
	KVBlocksTotal int   // cache blocks in the pool
	KVBlockTokens int   // positions per block
	CachedBlocks  int   // blocks the prefix cache keeps (some also used by sequences)
	Preemptions   int64 // sequences preempted since the engine started

	// Speculative decoding since the engine started: drafts verified, the tokens they proposed, and those
	// the target kept (vLLM's spec_decode_num_drafts, _num_draft_tokens, _num_accepted_tokens).
	SpecDrafts, SpecDraftTokens, SpecAcceptedTokens int64
	DraftKVBlocksUsed                               int // blocks of the draft model's cache held by sequences
}

// stats is where the scheduler publishes Stats after each step.
type stats struct {
	running, waiting, used, total, cached, draftUsed atomic.Int64
}

// Stats returns the scheduler's state as of its last step.
func (e *Engine) Stats() Stats {
	s := &e.stats
	return Stats{Running: int(s.running.Load()), Waiting: int(s.waiting.Load()), KVBlocksUsed: int(s.used.Load()),
		KVBlocksTotal: int(s.total.Load()), KVBlockTokens: model.BlockTokens, CachedBlocks: int(s.cached.Load()),
		Preemptions: e.preemptions.Load(), SpecDrafts: e.specDrafts.Load(), SpecDraftTokens: e.specDrafted.Load(),
		SpecAcceptedTokens: e.specAccepted.Load(), DraftKVBlocksUsed: int(s.draftUsed.Load())}
}

// defaultCacheTokens sizes the KV cache when Config.KVCacheTokens is 0: room for parallel full contexts,
// but no more than half the memory the system has available.
func defaultCacheTokens(m *model.Model, parallel, context int) int {
	want := parallel * context
	if avail := sysmem.Available(); avail > 0 {
		want = min(want, int(avail/2/int64(m.CacheBytesPerToken())))
	}
	return max(want, context+model.BlockTokens)
}

// namespace is the prefix-cache namespace of a model id.
func namespace(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}
