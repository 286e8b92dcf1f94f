package kernels

import "fmt"

// Pages is a paged KV cache as the attention kernels read it: position t lives in page Data[t/PageLen] at
// index t%PageLen, its keys at KeyOff + (t%PageLen)·stride and its values at ValOff + (t%PageLen)·stride,
// where stride is nKVHead·headDim. Keys and values may share a page (MLA's latent rows are both).
type Pages struct {
	Data           [][]float32
	PageLen        int
	KeyOff, ValOff int
}

// PagedAttention computes scaled dot-product attention for one query position over the first nPos
// positions of the paged cache kv. q and out are [nHead][headDim]; each position holds nKVHead keys and
// values of headDim; head h reads kv head h/(nHead/nKVHead) (grouped-query attention). For each head,
// scores s[t] = dot(q_h, k_t)·scale (the F32 dot of dot.go), then Softmax (ggml's soft_max arithmetic over
// the positions padded to a multiple of 16), then out_h = Σ_t p[t]·v_t in the F32 dot's order over the
// positions (see weigh): llama.cpp's attention without flash attention, bit for bit, as its AVX-512 build
// computes it.
// scratch needs nHead·nPos values; head h's attention weights are left in scratch[h·nPos:(h+1)·nPos].
// It panics on inconsistent sizes. The heads are split across the pool's threads; the result does not
// depend on their number.
func (p *Pool) PagedAttention(out, q []float32, kv Pages, nPos, nHead, nKVHead, headDim int, scale float32, scratch []float32) {
	p.lock()
	defer p.mu.Unlock()
	p.attnRows = grow(p.attnRows, min(p.threads, nHead)*(lanes*headDim+16))
	p.attn = attnJob{k: active.Load(), out: out, q: q, pages: kv, nPos: nPos, nHead: nHead,
		nKVHead: nKVHead, headDim: headDim, scale: scale, scratch: scratch, threads: p.threads, rows: p.attnRows}
	p.attn.check()
	p.parallel(nHead, &p.attn)
	p.attn = attnJob{}
}

// attnJob is one PagedAttention call.
type attnJob struct {
	k                             *kernelSet
	out, q, scratch               []float32
	pages                         Pages
	nPos, nHead, nKVHead, headDim int
	scale                         float32
	threads                       int       // the pool's
	rows                          []float32 // per chunk of heads: weigh's lanes rows of headDim, then softmax's stage of 16
}

// check panics unless the sizes are consistent and the pages hold nPos positions.
func (a *attnJob) check() {
	ok := a.nPos > 0 && a.nHead > 0 && a.nKVHead > 0 && a.headDim > 0 && a.nHead%a.nKVHead == 0 &&
		len(a.q) >= a.nHead*a.headDim && len(a.out) >= a.nHead*a.headDim && len(a.scratch) >= a.nHead*a.nPos
	if !ok || !a.pagesFit() {
		panic(fmt.Sprintf("kernels: PagedAttention with nPos=%d nHead=%d nKVHead=%d headDim=%d and lengths q=%d out=%d pages=%d×%d scratch=%d",
			a.nPos, a.nHead, a.nKVHead, a.headDim, len(a.q), len(a.out), len(a.pages.Data), a.pages.PageLen, len(a.scratch)))
	}
}

// pagesFit reports whether the pages hold nPos positions.
func (a *attnJob) pagesFit() bool {
	pg := &a.pages
	if pg.PageLen <= 0 || pg.KeyOff < 0 || pg.ValOff < 0 || len(pg.Data)*pg.PageLen < a.nPos {
		return false
	}
	need := max(pg.KeyOff, pg.ValOff) + pg.PageLen*a.nKVHead*a.headDim
	for _, d := range pg.Data[:(a.nPos+pg.PageLen-1)/pg.PageLen] {
		if len(d) < need {
			return false
		}
	}
	return true
}

// at returns the keys and values of position t (all kv heads).
func (a *attnJob) at(t int) (k, v []float32) {
	stride := a.nKVHead * a.headDim
	pg := &a.pages
	d, i := pg.Data[t/pg.PageLen], t%pg.PageLen*stride
	return d[pg.KeyOff+i : pg.KeyOff+i+stride], d[pg.ValOff+i : pg.ValOff+i+stride]
}

// run computes heads [lo, hi).
func (a *attnJob) run(lo, hi int) {
	hd, group := a.headDim, a.nHead/a.nKVHead
	parts := min(a.threads, a.nHead)
	slot := (lo*parts + a.nHead - 1) / a.nHead // this chunk's index (Pool.parallel starts chunk i at nHead·i/parts)
	for h := lo; h < hi; h++ {
		off := h / group * hd
		qh := a.q[h*hd : (h+1)*hd]
		s := a.scratch[h*a.nPos : (h+1)*a.nPos]
		for t := range s {
			k, _ := a.at(t)
			s[t] = a.k.dotF32(qh, k[off:off+hd]) * a.scale
		}
		rows := a.rows[slot*(lanes*hd+16) : (slot+1)*(lanes*hd+16)]
		softmax(s, (len(s)+15)&^15, rows[lanes*hd:])
		a.weigh(a.out[h*hd:(h+1)*hd], s, off, rows[:lanes*hd])
	}
}

// lanes is the number of float32 lanes of ggml_vec_dot_f32 on AVX-512 (4 registers of 16).
const lanes = 64

// weigh sets dst = Σ_t p[t]·v_t[off:off+len(dst)] as llama.cpp computes attention's weighted sum, one
// ggml_vec_dot_f32 over the positions per element of dst: position t goes by a fused multiply-add into
// lane t%64 (row t%64 of acc, which holds lanes·len(dst) values), then the lanes fold as foldLanes does.
// Lanes that no position reaches stay zero, as the zero weights of llama.cpp's padded positions leave them.
func (a *attnJob) weigh(dst, p []float32, off int, acc []float32) {
	hd, used := len(dst), min(len(p), lanes)
	acc = acc[:used*hd]
	clear(acc)
	for b := 0; b < len(p); b += 4 * lanes { // four positions of each lane per pass over its row
		for l := 0; l < lanes && b+l < len(p); l++ {
			row, t := acc[l*hd:(l+1)*hd], b+l
			if t+3*lanes < len(p) {
				_, v0 := a.at(t)
				_, v1 := a.at(t + lanes)
				_, v2 := a.at(t + 2*lanes)
				_, v3 := a.at(t + 3*lanes)
				a.k.axpyFMA4(row, p[t], p[t+lanes], p[t+2*lanes], p[t+3*lanes], v0[off:], v1[off:], v2[off:], v3[off:])
				continue
			}
			for ; t < len(p); t += lanes {
				_, v := a.at(t)
				a.k.axpyFMA(row, p[t], v[off:off+hd])
			}
		}
	}
	for w := lanes / 2; w >= 1; w /= 2 {
		for k := 0; k < w && k+w < used; k++ {
			a.k.add(acc[k*hd:(k+1)*hd], acc[(k+w)*hd:(k+w+1)*hd])
		}
	}
	copy(dst, acc[:hd])
}
