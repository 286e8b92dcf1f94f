package kernels

import (
	"math"
	"testing"
)

// attention64 is attention by its definition, in float64.
func attention64(q, keys, values []float32, nPos, nHead, nKV, hd int, scale float64) []float64 {
	out := make([]float64, nHead*hd)
	for h := range nHead {
		kv := h / (nHead / nKV)
		s := make([]float64, nPos)
		m := math.Inf(-1)
		for t := range nPos {
			for d := range hd {
				s[t] += float64(q[h*hd+d]) * float64(keys[(t*nKV+kv)*hd+d])
			}
			s[t] *= scale
			m = math.Max(m, s[t])
		}
		var sum float64
		for t := range s {
			s[t] = math.Exp(s[t] - m)
			sum += s[t]
		}
		for t := range s {
			for d := range hd {
				out[h*hd+d] += s[t] / sum * float64(values[(t*nKV+kv)*hd+d])
			}
		}
	}
	return out
}

// contiguous lays keys and values ([nPos][nKVHead][headDim] each) out as one page of nPos positions.
func contiguous(keys, values []float32, nPos int) Pages {
	return Pages{Data: [][]float32{append(append([]float32(nil), keys...), values...)}, PageLen: nPos, ValOff: len(keys)}
}

// attentionSerial is PagedAttention over contiguous keys and values on the calling goroutine, all heads in
// one piece: the reference the threaded and paged forms must match bit for bit.
func attentionSerial(out, q, keys, values []float32, nPos, nHead, nKVHead, headDim int, scale float32, scratch []float32) {
	a := attnJob{k: active.Load(), out: out, q: q, pages: contiguous(keys, values, nPos), nPos: nPos, nHead: nHead,
		nKVHead: nKVHead, headDim: headDim, scale: scale, scratch: scratch, threads: 1, rows: make([]float32, lanes*headDim+16)}
	a.check()
	a.run(0, nHead)
}

func TestAttention(t *testing.T) {
	r := newRand(50)
	for _, c := range []struct{ nPos, nHead, nKV, hd int }{{1, 4, 4, 32}, {7, 4, 2, 64}, {100, 12, 2, 128}, {33, 6, 1, 40}, {300, 3, 1, 72}} {
		q := randVec(r, c.nHead*c.hd, 1)
		keys := randVec(r, c.nPos*c.nKV*c.hd, 1)
		values := randVec(r, c.nPos*c.nKV*c.hd, 1)
		scale := float32(1 / math.Sqrt(float64(c.hd)))
		want := attention64(q, keys, values, c.nPos, c.nHead, c.nKV, c.hd, float64(scale))
		eachISA(t, func(t *testing.T) {
			out, scratch := make([]float32, c.nHead*c.hd), make([]float32, c.nHead*c.nPos)
			attentionSerial(out, q, keys, values, c.nPos, c.nHead, c.nKV, c.hd, scale, scratch)
			for i := range out {
				if math.Abs(float64(out[i])-want[i]) > 2e-6 {
					t.Fatalf("%+v: out[%d] = %v, float64 %v", c, i, out[i], want[i])
				}
			}
			for h := range c.nHead {
				var sum float64
				for _, p := range scratch[h*c.nPos : (h+1)*c.nPos] {
					sum += float64(p)
				}
				if math.Abs(sum-1) > 1e-5 {
					t.Fatalf("%+v: head %d weights sum to %v", c, h, sum)
				}
			}
			for _, th := range []int{1, 2, 3, 5} {
				p := NewPool(th)
				got := make([]float32, len(out))
				p.PagedAttention(got, q, contiguous(keys, values, c.nPos), c.nPos, c.nHead, c.nKV, c.hd, scale, make([]float32, len(scratch)))
				p.Close()
				for i := range got {
					if !sameBits(got[i], out[i]) {
						t.Fatalf("%+v threads=%d: out[%d] = %v, single-threaded %v", c, th, i, got[i], out[i])
					}
				}
			}
		})
	}
}

// The scalar kernels define the result: every kernel set gives the same bits.
func TestAttentionSameOnEveryISA(t *testing.T) {
	r := newRand(51)
	q, kv := randVec(r, 8*64, 1), randVec(r, 300*2*64, 1)
	want := make([]float32, 8*64)
	prev := ISA()
	if err := SetISA("scalar"); err != nil {
		t.Fatal(err)
	}
	attentionSerial(want, q, kv, kv, 300, 8, 2, 64, 0.125, make([]float32, 8*300))
	if err := SetISA(prev); err != nil {
		t.Fatal(err)
	}
	eachISA(t, func(t *testing.T) {
		got := make([]float32, 8*64)
		attentionSerial(got, q, kv, kv, 300, 8, 2, 64, 0.125, make([]float32, 8*300))
		for i := range got {
			if !sameBits(got[i], want[i]) {
				t.Fatalf("out[%d] = %v, scalar %v", i, got[i], want[i])
			}
		}
	})
}

func TestAttentionPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("short scratch did not panic")
		}
	}()
	attentionSerial(make([]float32, 64), make([]float32, 64), make([]float32, 640), make([]float32, 640), 10, 2, 2, 32, 1, make([]float32, 19))
}

// PagedAttention reads the positions from shuffled pages, with keys and values at offsets inside each
// page, and must give Attention's bits over the same positions laid out contiguously.
func TestPagedAttentionSameAsContiguous(t *testing.T) {
	r := newRand(52)
	for _, c := range []struct{ nPos, nHead, nKV, hd, pageLen int }{{1, 4, 4, 32, 16}, {37, 8, 2, 64, 16}, {64, 6, 1, 40, 8}, {100, 12, 2, 128, 7}} {
		stride := c.nKV * c.hd
		keys, values := randVec(r, c.nPos*stride, 1), randVec(r, c.nPos*stride, 1)
		q := randVec(r, c.nHead*c.hd, 1)
		pages := (c.nPos + c.pageLen - 1) / c.pageLen
		keyOff, valOff := 5, 5+c.pageLen*stride
		kv := Pages{Data: make([][]float32, pages), PageLen: c.pageLen, KeyOff: keyOff, ValOff: valOff}
		for _, pg := range r.Perm(pages) { // pages allocated in a shuffled order, as a block pool hands them out
			kv.Data[pg] = randVec(r, valOff+c.pageLen*stride, 1)
		}
		for tpos := range c.nPos {
			d, i := kv.Data[tpos/c.pageLen], tpos%c.pageLen*stride
			copy(d[keyOff+i:], keys[tpos*stride:(tpos+1)*stride])
			copy(d[valOff+i:], values[tpos*stride:(tpos+1)*stride])
		}
		scale := float32(1 / math.Sqrt(float64(c.hd)))
		want := make([]float32, c.nHead*c.hd)
		attentionSerial(want, q, keys, values, c.nPos, c.nHead, c.nKV, c.hd, scale, make([]float32, c.nHead*c.nPos))
		for _, th := range []int{1, 2, 3} {
			p := NewPool(th)
			got := make([]float32, len(want))
			p.PagedAttention(got, q, kv, c.nPos, c.nHead, c.nKV, c.hd, scale, make([]float32, c.nHead*c.nPos))
			p.Close()
			for i := range got {
				if !sameBits(got[i], want[i]) {
					t.Fatalf("%+v threads=%d: out[%d] = %v, contiguous %v", c, th, i, got[i], want[i])
				}
			}
		}
	}
}

// BenchmarkAttention times one query position of PagedAttention on 2 threads: MLA's absorbed shape
// (DeepSeek-V2-Lite: 16 heads over one 576-wide latent head) and a dense grouped-query shape (Qwen2-1.5B:
// 12 heads, 2 kv heads of 128), at 512 and 4096 cached positions.
func BenchmarkAttention(b *testing.B) {
	p := NewPool(2)
	defer p.Close()
	r := newRand(52)
	for _, c := range []struct {
		name               string
		nHead, nKV, hd, nP int
	}{{"mla-512", 16, 1, 576, 512}, {"mla-4096", 16, 1, 576, 4096}, {"gqa-512", 12, 2, 128, 512}, {"gqa-4096", 12, 2, 128, 4096}} {
		kv := contiguous(randVec(r, c.nP*c.nKV*c.hd, 1), randVec(r, c.nP*c.nKV*c.hd, 1), c.nP)
		q, out, scratch := randVec(r, c.nHead*c.hd, 1), make([]float32, c.nHead*c.hd), make([]float32, c.nHead*c.nP)
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				p.PagedAttention(out, q, kv, c.nP, c.nHead, c.nKV, c.hd, 0.1, scratch)
			}
		})
	}
}

// Each output is llama.cpp's weighted sum: ggml_vec_dot_f32 (dotF32Ref) of the attention weights, padded
// with zeros to whole 64s as llama.cpp's cache rows are, with that element of the values.
func TestAttentionWeighsAsVecDot(t *testing.T) {
	r := newRand(53)
	for _, nPos := range []int{5, 70, 300} {
		const hd = 24
		q, keys, values := randVec(r, hd, 1), randVec(r, nPos*hd, 1), randVec(r, nPos*hd, 1)
		out, scratch := make([]float32, hd), make([]float32, nPos)
		attentionSerial(out, q, keys, values, nPos, 1, 1, hd, 0.3, scratch)
		pad := (nPos + 63) &^ 63
		p, col := make([]float32, pad), make([]float32, pad)
		copy(p, scratch)
		for d := range hd {
			for t := range nPos {
				col[t] = values[t*hd+d]
			}
			if want := dotF32Ref(p, col); !sameBits(out[d], want) {
				t.Fatalf("nPos=%d: out[%d] = %v, vec_dot of the weights %v", nPos, d, out[d], want)
			}
		}
	}
}
