package kernels

import "fmt"

// Attention computes scaled dot-product attention for one query position over nPos cached positions.
// q and out are [nHead][headDim]; keys and values are [nPos][nKVHead][headDim] (row stride
// nKVHead·headDim); head h reads kv head h/(nHead/nKVHead) (grouped-query attention). For each head,
// scores s[t] = dot(q_h, k_t)·scale (the F32 dot of dot.go), then Softmax (ggml's soft_max arithmetic),
// then out_h = Σ_t p[t]·v_t accumulated in position order with a multiply then an add per element.
// scratch needs nHead·nPos values; head h's attention weights are left in scratch[h·nPos:(h+1)·nPos].
// It panics on inconsistent sizes. This is the single-threaded form; Pool.Attention splits the heads
// across threads and gives identical results.
func Attention(out, q, keys, values []float32, nPos, nHead, nKVHead, headDim int, scale float32, scratch []float32) {
	a := attnJob{k: active.Load(), out: out, q: q, keys: keys, values: values, nPos: nPos, nHead: nHead,
		nKVHead: nKVHead, headDim: headDim, scale: scale, scratch: scratch}
	a.check()
	a.run(0, nHead)
}

// Attention is the package-level Attention with the heads split across the pool's threads.
func (p *Pool) Attention(out, q, keys, values []float32, nPos, nHead, nKVHead, headDim int, scale float32, scratch []float32) {
	p.lock()
	defer p.mu.Unlock()
	p.attn = attnJob{k: active.Load(), out: out, q: q, keys: keys, values: values, nPos: nPos, nHead: nHead,
		nKVHead: nKVHead, headDim: headDim, scale: scale, scratch: scratch}
	p.attn.check()
	p.parallel(nHead, &p.attn)
	p.attn = attnJob{}
}

// attnJob is one attention call; run computes heads [lo, hi).
type attnJob struct {
	k                             *kernelSet
	out, q, keys, values, scratch []float32
	nPos, nHead, nKVHead, headDim int
	scale                         float32
}

func (a *attnJob) check() {
	ok := a.nPos > 0 && a.nHead > 0 && a.nKVHead > 0 && a.headDim > 0 && a.nHead%a.nKVHead == 0 &&
		len(a.q) >= a.nHead*a.headDim && len(a.out) >= a.nHead*a.headDim &&
		len(a.keys) >= a.nPos*a.nKVHead*a.headDim && len(a.values) >= a.nPos*a.nKVHead*a.headDim &&
		len(a.scratch) >= a.nHead*a.nPos
	if !ok {
		panic(fmt.Sprintf("kernels: Attention with nPos=%d nHead=%d nKVHead=%d headDim=%d and lengths q=%d out=%d keys=%d values=%d scratch=%d",
			a.nPos, a.nHead, a.nKVHead, a.headDim, len(a.q), len(a.out), len(a.keys), len(a.values), len(a.scratch)))
	}
}

func (a *attnJob) run(lo, hi int) {
	hd, stride, group := a.headDim, a.nKVHead*a.headDim, a.nHead/a.nKVHead
	for h := lo; h < hi; h++ {
		off := h / group * hd
		qh := a.q[h*hd : (h+1)*hd]
		s := a.scratch[h*a.nPos : (h+1)*a.nPos]
		for t := range s {
			s[t] = a.k.dotF32(qh, a.keys[t*stride+off:t*stride+off+hd]) * a.scale
		}
		Softmax(s)
		o := a.out[h*hd : (h+1)*hd]
		clear(o)
		for t, pt := range s {
			a.k.axpy(o, pt, a.values[t*stride+off:t*stride+off+hd])
		}
	}
}
