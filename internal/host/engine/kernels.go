package engine

import (
	"context"
	"math"
	"time"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/internal/host/model"
	"github.com/wasmoe/wasmoe/internal/host/wasm"
	"github.com/wasmoe/wasmoe/internal/kernels"
)

// maxSeqHandles bounds the sequence handles one request may take (freed ones are not reused, so that a
// stale handle fails with ErrHandle instead of reaching another sequence).
const maxSeqHandles = 1 << 16

// A kernel call computes its tokens in pieces and checks the guest's deadline and the request's context
// between them. The first piece is one token; each next one is sized from the time per token so far to
// take about pieceTime, and at most maxPiece tokens. The results do not depend on the pieces: matmul, moe
// and moe_route compute each token on its own, and a forward pass in pieces is the one in one go.
const (
	pieceTime = 10 * time.Millisecond
	maxPiece  = 64
)

// kernelHost is one request's wasm.Kernels: the weights of the request's model and the sequences its
// policy opened, by handle. Models are by handle too: 0 is the request's model, then the engine's extra
// models in the order the guest asks for them. It computes on its own pool, on the request's goroutine
// (the guest is stopped while it computes), so that a guest's kernels never hold the engine's pool, which
// serializes its operations, while the engine's forward pass waits. release frees what the guest left
// open.
type kernelHost struct {
	ctx    context.Context
	pool   *kernels.Pool
	named  map[string]*model.Model // extra models by name (Config.Models)
	limits wasm.Limits

	models  []*model.Model // by handle; [0] is the request's model
	modelID map[string]int32
	tensors []kernels.Matrix // by handle
	tensor  map[string]int32
	seqs    []*kernelSeq // by handle; nil once freed
	live    int          // sequences not freed
	moe     model.MoEScratch
}

// kernelSeq is a sequence a guest opened with seq_new.
type kernelSeq struct {
	m *model.Model
	s *model.State
}

// newKernelHost returns the host kernels of one request on e, under the policy runtime's limits (MaxSeqs
// and MaxSeqTokens). They compute on a pool of their own with one thread, the request's goroutine: a
// guest's kernels cost its request, not the engine's other requests.
func newKernelHost(e *Engine, ctx context.Context, l wasm.Limits) *kernelHost {
	return newKernels(ctx, kernels.NewPool(1), e.model, e.models, l)
}

// newKernels returns host kernels on p, which they own (release closes it), over m (the request's model)
// and the named extra models. Zero limits take wasm.DefaultLimits.
func newKernels(ctx context.Context, p *kernels.Pool, m *model.Model, named map[string]*model.Model, l wasm.Limits) *kernelHost {
	if l.MaxSeqs <= 0 {
		l.MaxSeqs = wasm.DefaultLimits.MaxSeqs
	}
	if l.MaxSeqTokens <= 0 {
		l.MaxSeqTokens = wasm.DefaultLimits.MaxSeqTokens
	}
	return &kernelHost{ctx: ctx, pool: p, named: named, limits: l, models: []*model.Model{m},
		modelID: map[string]int32{"": 0}, tensor: map[string]int32{}}
}

// release frees every sequence and handle and closes the pool; calls after it fail with ErrHandle or
// ErrNotFound.
func (k *kernelHost) release() {
	k.pool.Close()
	k.seqs, k.live, k.tensors, k.tensor = nil, 0, nil, map[string]int32{}
	k.models, k.modelID = nil, map[string]int32{}
	k.moe = model.MoEScratch{}
}

var _ wasm.Kernels = (*kernelHost)(nil)

// inPieces runs f on tokens [lo, hi) of n, in pieces (see pieceTime). Before each piece it checks that the
// request goes on and deadline (zero: none) has not passed, and returns ErrLimit, having stopped, if not.
func (k *kernelHost) inPieces(n int, deadline time.Time, f func(lo, hi int) int32) int32 {
	size := 1
	for lo := 0; lo < n; {
		if k.ctx.Err() != nil || !deadline.IsZero() && !time.Now().Before(deadline) {
			return abi.ErrLimit
		}
		hi := min(lo+size, n)
		start := time.Now()
		if st := f(lo, hi); st != abi.OK {
			return st
		}
		perToken := max(time.Since(start)/time.Duration(hi-lo), 1)
		size = int(min(pieceTime/perToken, maxPiece))
		size = max(size, 1)
		lo = hi
	}
	return abi.OK
}

// Tensor implements wasm.Kernels: a handle to a weight of the request's model (model.Model.Tensor names).
func (k *kernelHost) Tensor(name string) int32 {
	if h, ok := k.tensor[name]; ok {
		return h
	}
	if len(k.models) == 0 {
		return abi.ErrHandle
	}
	w, ok := k.models[0].Tensor(name)
	if !ok {
		return abi.ErrNotFound
	}
	h := int32(len(k.tensors))
	k.tensors = append(k.tensors, w)
	k.tensor[name] = h
	return h
}

// matrix is the tensor behind handle h.
func (k *kernelHost) matrix(h int32) (kernels.Matrix, bool) {
	if h < 0 || int(h) >= len(k.tensors) {
		return kernels.Matrix{}, false
	}
	return k.tensors[h], true
}

// TensorInfo implements wasm.Kernels.
func (k *kernelHost) TensorInfo(h int32) (dtype, rows, cols int32, status int32) {
	w, ok := k.matrix(h)
	if !ok {
		return 0, 0, 0, abi.ErrHandle
	}
	return int32(w.Type), int32(w.Rows), int32(w.Cols), abi.OK
}

// MatMul implements wasm.Kernels: y[n][rows] = x[n][cols] · Wᵀ. ErrLimit, with y partly written, once the
// deadline passes or the request is cancelled.
func (k *kernelHost) MatMul(h int32, x []float32, n int, y []float32, deadline time.Time) int32 {
	w, ok := k.matrix(h)
	if !ok {
		return abi.ErrHandle
	}
	if n <= 0 || len(x) < n*w.Cols || len(y) < n*w.Rows {
		return abi.ErrBadInput
	}
	return k.inPieces(n, deadline, func(lo, hi int) int32 {
		k.pool.MatMul(y[lo*w.Rows:hi*w.Rows], w, x[lo*w.Cols:hi*w.Cols], hi-lo)
		return abi.OK
	})
}

// moeLayer is block layer's MoE feed-forward in the request's model, nil if it has none.
func (k *kernelHost) moeLayer(layer int32) *model.MoELayer {
	if len(k.models) == 0 {
		return nil
	}
	return k.models[0].MoEBlock(int(layer))
}

// MoEShape implements wasm.Kernels: ErrNotFound for dense blocks, blocks out of range and models without
// MoE.
func (k *kernelHost) MoEShape(layer int32) (dim, experts, kk int32, status int32) {
	M := k.moeLayer(layer)
	if M == nil {
		return 0, 0, 0, abi.ErrNotFound
	}
	return int32(M.Gate.Cols), int32(M.Router.Experts), int32(M.Router.K), abi.OK
}

// MoE implements wasm.Kernels: the layer's routed experts with the guest's routing plus its shared
// experts, exactly as the model's forward pass runs them (model.MoELayer.Run). x is the normed input of
// the feed-forward. y may be x. ErrLimit, with y partly written, once the deadline passes or the request
// is cancelled.
func (k *kernelHost) MoE(layer int32, x []float32, n int, ids []int32, weights []float32, kk int, y []float32, deadline time.Time) int32 {
	M := k.moeLayer(layer)
	if M == nil {
		return abi.ErrNotFound
	}
	D, E := M.Gate.Cols, M.Router.Experts
	if n <= 0 || kk <= 0 || kk > E || len(x) < n*D || len(y) < n*D || len(ids) < n*kk || len(weights) < n*kk {
		return abi.ErrBadInput
	}
	for _, id := range ids[:n*kk] {
		if id < 0 || int(id) >= E {
			return abi.ErrBadInput
		}
	}
	for _, w := range weights[:n*kk] {
		if math.IsNaN(float64(w)) || math.IsInf(float64(w), 0) {
			return abi.ErrBadInput
		}
	}
	return k.inPieces(n, deadline, func(lo, hi int) int32 {
		M.Run(k.pool, y[lo*D:hi*D], x[lo*D:hi*D], hi-lo, ids[lo*kk:hi*kk], weights[lo*kk:hi*kk], kk, &k.moe)
		return abi.OK
	})
}

// Route implements wasm.Kernels: the layer's own router on n normed inputs x, K = the model's experts
// per token. ErrLimit, with the routing partly written, once the deadline passes or the request is
// cancelled.
func (k *kernelHost) Route(layer int32, x []float32, n int, ids []int32, weights []float32, deadline time.Time) int32 {
	M := k.moeLayer(layer)
	if M == nil {
		return abi.ErrNotFound
	}
	K, D := M.Router.K, M.Gate.Cols
	if n <= 0 || len(x) < n*D || len(ids) < n*K || len(weights) < n*K {
		return abi.ErrBadInput
	}
	return k.inPieces(n, deadline, func(lo, hi int) int32 {
		M.Route(k.pool, ids[lo*K:hi*K], weights[lo*K:hi*K], x[lo*D:hi*D], hi-lo, &k.moe)
		return abi.OK
	})
}

// Model implements wasm.Kernels: "" is the request's model, other names the engine's extra models.
func (k *kernelHost) Model(name string) int32 {
	if h, ok := k.modelID[name]; ok {
		return h
	}
	if len(k.models) == 0 {
		return abi.ErrHandle
	}
	m := k.named[name]
	if m == nil {
		return abi.ErrNotFound
	}
	h := int32(len(k.models))
	k.models = append(k.models, m)
	k.modelID[name] = h
	return h
}

// SeqNew implements wasm.Kernels: ErrLimit past MaxSeqs open sequences. A sequence holds up to
// MaxSeqTokens tokens (fewer when its model's context is shorter).
func (k *kernelHost) SeqNew(mh int32) int32 {
	if mh < 0 || int(mh) >= len(k.models) {
		return abi.ErrHandle
	}
	if k.live >= k.limits.MaxSeqs || len(k.seqs) >= maxSeqHandles {
		return abi.ErrLimit
	}
	m := k.models[mh]
	h := int32(len(k.seqs))
	k.seqs = append(k.seqs, &kernelSeq{m: m, s: m.NewState(k.limits.MaxSeqTokens)})
	k.live++
	return h
}

// seq is the open sequence behind handle h.
func (k *kernelHost) seq(h int32) *kernelSeq {
	if h < 0 || int(h) >= len(k.seqs) {
		return nil
	}
	return k.seqs[h]
}

// SeqForward implements wasm.Kernels: model.Forward over ids, in pieces, the logits of the last.
// ErrBadInput for a token outside the model's vocabulary, ErrLimit past the sequence's capacity, once the
// deadline passes or once the request is cancelled. All or nothing: on an error the sequence is truncated
// back to its length before the call.
func (k *kernelHost) SeqForward(h int32, ids []int32, deadline time.Time) ([]float32, int32) {
	q, st := k.forwardable(h, ids)
	if st != abi.OK {
		return nil, st
	}
	pos := q.s.Pos
	var logits []float32
	st = k.inPieces(len(ids), deadline, func(lo, hi int) int32 {
		var err error
		if logits, err = q.m.Forward(k.pool, q.s, ids[lo:hi], false); err != nil {
			return abi.ErrInternal
		}
		return abi.OK
	})
	if st != abi.OK {
		q.s.Truncate(pos)
		return nil, st
	}
	return logits, abi.OK
}

// forwardable is the open sequence behind handle h if it can take ids: ErrHandle, ErrBadInput for no
// tokens or a token outside the model's vocabulary, ErrLimit past the sequence's capacity.
func (k *kernelHost) forwardable(h int32, ids []int32) (*kernelSeq, int32) {
	q := k.seq(h)
	if q == nil {
		return nil, abi.ErrHandle
	}
	if len(ids) == 0 {
		return nil, abi.ErrBadInput
	}
	for _, t := range ids {
		if t < 0 || int(t) >= q.m.Vocab {
			return nil, abi.ErrBadInput
		}
	}
	if len(ids) > q.s.MaxPos()-q.s.Pos {
		return nil, abi.ErrLimit
	}
	return q, abi.OK
}

// SeqForwardAll implements wasm.Kernels: model.Forward over ids with the logits after every one, in
// pieces, each piece's rows copied into out as it is done, so that a guest verifying k drafted tokens
// pays about one decode step and the host holds one piece's logits. The errors are SeqForward's, and
// the sequence is truncated back on them; when out is shorter than len(ids)·vocab nothing runs.
func (k *kernelHost) SeqForwardAll(h int32, ids []int32, out []float32, deadline time.Time) int32 {
	q, st := k.forwardable(h, ids)
	if st != abi.OK {
		return st
	}
	V := q.m.Vocab
	need := len(ids) * V
	if need > math.MaxInt32 {
		return abi.ErrLimit
	}
	if need > len(out) {
		return int32(need)
	}
	pos := q.s.Pos
	st = k.inPieces(len(ids), deadline, func(lo, hi int) int32 {
		logits, err := q.m.Forward(k.pool, q.s, ids[lo:hi], true)
		if err != nil {
			return abi.ErrInternal
		}
		copy(out[lo*V:hi*V], logits)
		return abi.OK
	})
	if st != abi.OK {
		q.s.Truncate(pos)
		return st
	}
	return int32(need)
}

// SeqTrim implements wasm.Kernels: keep at or past the length changes nothing.
func (k *kernelHost) SeqTrim(h int32, keep int) int32 {
	q := k.seq(h)
	if q == nil {
		return abi.ErrHandle
	}
	if keep < 0 {
		return abi.ErrBadInput
	}
	q.s.Truncate(keep)
	return abi.OK
}

// SeqLen implements wasm.Kernels.
func (k *kernelHost) SeqLen(h int32) int32 {
	q := k.seq(h)
	if q == nil {
		return abi.ErrHandle
	}
	return int32(q.s.Pos)
}

// SeqFree implements wasm.Kernels.
func (k *kernelHost) SeqFree(h int32) int32 {
	if k.seq(h) == nil {
		return abi.ErrHandle
	}
	k.seqs[h] = nil
	k.live--
	return abi.OK
}
