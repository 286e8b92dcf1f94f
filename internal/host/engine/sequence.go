package engine

import (
	"context"
	"sync/atomic"

	"github.com/wasmoe/wasmoe/internal/host/kvcache"
)

// sequence is one line of generation within a request: the first, or one a policy (or Request.N) forked.
//
// A sequence is in one of two hands at a time. The scheduler has it while its tokens are computed; then it
// hands the sequence, with its next-token logits, to its request's worker, which samples, steers and
// streams, appends tokens (or ends it) and hands it back. The handover goes through channels, so each side
// reads the other's writes. The fields under "scheduler" are the scheduler's alone, at any time: it may
// preempt a sequence while the worker has it.
type sequence struct {
	req       *request
	index     int32
	tokens    []int32     // prompt and generated tokens
	prompt    int         // how many of tokens are the prompt
	valid     int         // the fewest tokens the sequence held since the scheduler last had it
	forkOf    *sequence   // a fork not yet seen by the scheduler: it starts on its parent's cache blocks
	logits    []float32   // next-token logits
	fresh     bool        // logits are those after the last token: the worker may act on them
	reported  []int32     // tokens the policy has not been told about yet
	held      []int32     // generated tokens held back from the stream (abi.FlagHold)
	pending   []byte      // bytes of a UTF-8 character split across tokens
	text      []byte      // what has been streamed
	generated int         // completion tokens, hidden ones included
	finish    string      // "" while live
	resync    bool        // the sampler's history must be rebuilt before the next sample (backtrack)
	logprobs  []*Logprobs // with Request.Logprobs: by generated token (tokens[prompt+i]); nil for a spliced one

	// speculation (spec.go): set by the scheduler with the logits, verified by the worker (spec_verify.go)
	draft []int32   // tokens drafted to follow tokens, whose rows the step also ran
	rows  []float32 // the logits after the last token, then after each drafted one: [1+len(draft)][V]
	row   int       // the row logits is: drafted tokens the worker has accepted so far

	// scheduler
	err       error        // the step failed: the worker ends the request with it
	step      uint64       // the step that last handed it to the worker
	kv        *kvcache.Seq // cache blocks; nil while waiting
	cached    int          // tokens whose cache rows kv holds
	age       uint64       // admission order: the newest running sequence is preempted first
	running   bool         // admitted (holds or may take cache blocks); false while it waits
	busy      bool         // its request's worker has it
	published bool         // its prompt's full blocks are in the prefix cache
	charged   int          // positions whose tokens its tenant has been charged for (vtc.go)
	promptRow int          // with Request.PromptLogprobs: prompt positions whose logits went to the worker
	spec      specState    // how it drafts (spec.go)
}

// request is one Generate call as the scheduler and its worker share it.
type request struct {
	ctx      context.Context
	req      Request
	ready    chan *sequence  // sequences whose logits are ready, from the scheduler to the worker
	prompt   chan promptRows // with Request.PromptLogprobs: the prompt's logits, chunk by chunk, to the worker
	out      *outbox
	seqs     []*sequence  // every sequence the scheduler knows of (scheduler; the first is set before submit)
	admitted bool         // the first sequence has left the queue (scheduler)
	tenant   *tenant      // who it is billed to, set on submit (scheduler)
	hit      atomic.Int32 // prompt tokens the first admission found in the prefix cache
	ended    bool         // the worker is gone: its sequences are freed (scheduler)
}

// promptRows are the logits of prompt positions from, from+1, …: each row predicts the next prompt token.
type promptRows struct {
	from   int
	logits []float32
}

// message is what a request's worker tells the scheduler.
type message struct {
	r    *request
	kind messageKind
	seqs []*sequence // handBack: sequences to compute next, fork children and ended ones included
}

type messageKind int

const (
	submit   messageKind = iota // a new request: queue its first sequence
	handBack                    // the worker is done with seqs for now
	resume                      // the request's reader drained its output: it may be scheduled again
	finished                    // the worker ended: free every sequence of the request
)
