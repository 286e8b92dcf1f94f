package kernels

import (
	"math"
	"testing"
)

var dotSizes = []int{0, 1, 2, 7, 8, 15, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 1000, 1536}

func TestDotF32MatchesReference(t *testing.T) {
	r := newRand(1)
	eachISA(t, func(t *testing.T) {
		k := active.Load()
		for _, n := range dotSizes {
			for range 5 {
				a, b := randVec(r, n, 1), randVec(r, n+3, 1)
				if got, want := k.dotF32(a, b), dotF32Ref(a, b); !sameBits(got, want) {
					t.Fatalf("n=%d: got %v, reference %v", n, got, want)
				}
			}
		}
	})
}

func TestDotHalfMatchesReference(t *testing.T) {
	r := newRand(2)
	eachISA(t, func(t *testing.T) {
		k := active.Load()
		for _, n := range dotSizes {
			for range 5 {
				w, wb := make([]uint16, n), make([]uint16, n)
				x, xb := make([]float32, n+1), make([]float32, n+1)
				for i := range w {
					w[i], wb[i] = F32ToF16(float32(r.NormFloat64())), F32ToBF16(float32(r.NormFloat64()))
				}
				for i := range x {
					x[i] = F16ToF32(F32ToF16(float32(r.NormFloat64() * 10)))
					xb[i] = BF16ToF32(F32ToBF16(float32(r.NormFloat64() * 10)))
				}
				if got, want := k.dotF16(w, x), dotF16Ref(w, x); !sameBits(got, want) {
					t.Fatalf("F16 n=%d: got %v, reference %v", n, got, want)
				}
				if got, want := k.dotBF16(wb, xb), dotBF16Ref(wb, xb); !sameBits(got, want) {
					t.Fatalf("BF16 n=%d: got %v, reference %v", n, got, want)
				}
			}
		}
	})
}

// randQ8 returns nb random Q8_0 weight blocks (quants over the full int8 range, -128 included) and an
// activation quantized as MatMul does.
func randQ8(r interface {
	IntN(int) int
	NormFloat64() float64
}, nb int) (w []byte, xq []int8, xd []float32) {
	w = make([]byte, nb*q8BlockSize)
	for b := 0; b < nb; b++ {
		h := F32ToF16(float32(r.NormFloat64() * 0.01))
		w[b*q8BlockSize], w[b*q8BlockSize+1] = byte(h), byte(h>>8)
		for j := 2; j < q8BlockSize; j++ {
			w[b*q8BlockSize+j] = byte(r.IntN(256))
		}
	}
	x := make([]float32, nb*qk8)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	if nb > 0 {
		x[0] = -x[1] * 3 // a block whose extreme is negative gives a quant of exactly -127
	}
	xq, xd = make([]int8, nb*qk8), make([]float32, nb)
	quantizeActQ8_0Ref(xq, xd, x)
	return w, xq, xd
}

func TestDotQ8MatchesReference(t *testing.T) {
	r := newRand(3)
	eachISA(t, func(t *testing.T) {
		k := active.Load()
		for _, nb := range []int{0, 1, 2, 7, 8, 9, 15, 16, 17, 24, 48, 49, 280} {
			for range 5 {
				w, xq, xd := randQ8(r, nb)
				if got, want := k.dotQ8(w, xq, xd), dotQ8Ref(w, xq, xd); !sameBits(got, want) {
					t.Fatalf("nb=%d: got %v, reference %v", nb, got, want)
				}
			}
		}
	})
}

func TestDotQ8x2MatchesOneAtATime(t *testing.T) {
	r := newRand(12)
	eachISA(t, func(t *testing.T) {
		k := active.Load()
		for _, nb := range []int{0, 1, 7, 8, 9, 17, 48} {
			w0, xq, xd := randQ8(r, nb)
			w1, _, _ := randQ8(r, nb)
			for _, gap := range []int{0, 5} {
				w := append(append(append([]byte(nil), w0...), make([]byte, gap)...), w1...)
				a, b := k.dotQ8x2(w, len(w0)+gap, xq, xd)
				if wa, wb := dotQ8Ref(w0, xq, xd), dotQ8Ref(w1, xq, xd); !sameBits(a, wa) || !sameBits(b, wb) {
					t.Fatalf("nb=%d gap=%d: got %v %v, want %v %v", nb, gap, a, b, wa, wb)
				}
			}
		}
	})
}

func TestDotQ8ExtremeQuants(t *testing.T) {
	// Weights of -128 against activations of ±127: the largest pair sums VPMADDUBSW sees.
	for _, wq := range []int8{-128, 127, -127} {
		for _, xv := range []int8{-127, 127} {
			w, xq, xd := make([]byte, 9*q8BlockSize), make([]int8, 9*qk8), make([]float32, 9)
			for b := range 9 {
				w[b*q8BlockSize+1] = 0x3c // d = 1.0
				for j := range qk8 {
					w[b*q8BlockSize+2+j] = byte(wq)
					xq[b*qk8+j] = xv
				}
				xd[b] = 1
			}
			want := float32(9 * 32 * int(wq) * int(xv))
			eachISA(t, func(t *testing.T) {
				if got := active.Load().dotQ8(w, xq, xd); got != want {
					t.Fatalf("w=%d x=%d: got %v, want %v", wq, xv, got, want)
				}
			})
		}
	}
}

func TestDotQ8x8MatchesOneAtATime(t *testing.T) {
	r := newRand(4)
	eachISA(t, func(t *testing.T) {
		k := active.Load()
		for _, nb := range []int{0, 1, 3, 8, 13, 48} {
			w, _, _ := randQ8(r, nb)
			xq := make([]int8, 8*nb*qk8)
			xd := make([][]float32, 8)
			xdT := make([]float32, 8*nb)
			for j := range 8 {
				_, q, d := randQ8(r, nb)
				copy(xq[j*nb*qk8:], q)
				xd[j] = d
				for b := range d {
					xdT[b*8+j] = d[b]
				}
			}
			const stride = 3
			got, ref := make([]float32, 7*stride+1), make([]float32, 7*stride+1)
			k.dotQ8x8(got, stride, w, xq, xdT)
			dotQ8x8Ref(ref, stride, w, xq, xdT)
			for j := range 8 {
				want := dotQ8Ref(w, xq[j*nb*qk8:], xd[j])
				if !sameBits(got[j*stride], want) || !sameBits(ref[j*stride], want) {
					t.Fatalf("nb=%d vector %d: got %v, x8 reference %v, one-vector reference %v", nb, j, got[j*stride], ref[j*stride], want)
				}
			}
		}
	})
}

func TestAxpyMatchesReference(t *testing.T) {
	r := newRand(5)
	eachISA(t, func(t *testing.T) {
		k := active.Load()
		for _, c := range []struct {
			name      string
			got, want func(dst, x []float32)
		}{
			{"axpy", func(d, x []float32) { k.axpy(d, 0.37, x) }, func(d, x []float32) { axpyRef(d, 0.37, x) }},
			{"axpyFMA", func(d, x []float32) { k.axpyFMA(d, 0.37, x) }, func(d, x []float32) { axpyFMARef(d, 0.37, x) }},
			{"add", k.add, addRef},
			{"axpyFMA4", func(d, x []float32) { k.axpyFMA4(d, 0.37, -1.5, 2.25, 0.11, x, x[1:], x[2:], x) },
				func(d, x []float32) { axpyFMA4Ref(d, 0.37, -1.5, 2.25, 0.11, x, x[1:], x[2:], x) }},
		} {
			for _, n := range dotSizes {
				x, d := randVec(r, n+2, 1), randVec(r, n, 1)
				want := append([]float32(nil), d...)
				c.want(want, x)
				c.got(d, x)
				for i := range d {
					if !sameBits(d[i], want[i]) {
						t.Fatalf("%s n=%d: element %d is %v, reference %v", c.name, n, i, d[i], want[i])
					}
				}
			}
		}
	})
}

// The references themselves must compute dot products: compare them with float64 sums.
func TestDotReferencesAgainstFloat64(t *testing.T) {
	r := newRand(6)
	for _, n := range []int{1, 33, 1536} {
		a, b := randVec(r, n, 1), randVec(r, n, 1)
		var exact, mag float64
		for i := range a {
			exact += float64(a[i]) * float64(b[i])
			mag += math.Abs(float64(a[i]) * float64(b[i]))
		}
		if got := float64(dotF32Ref(a, b)); math.Abs(got-exact) > 1e-6*mag {
			t.Errorf("F32 n=%d: %v, float64 %v", n, got, exact)
		}
		ah, bh := make([]uint16, n), make([]float32, n)
		exact, mag = 0, 0
		for i := range a {
			ah[i], bh[i] = F32ToF16(a[i]), F16ToF32(F32ToF16(b[i]))
			p := float64(F16ToF32(ah[i])) * float64(bh[i])
			exact, mag = exact+p, mag+math.Abs(p)
		}
		if got := float64(dotF16Ref(ah, bh)); math.Abs(got-exact) > 1e-6*mag {
			t.Errorf("F16 n=%d: %v, float64 %v", n, got, exact)
		}
	}
	w, xq, xd := randQ8(r, 40)
	var exact, mag float64
	wf := make([]float32, 40*qk8)
	if err := DequantizeRow(Q8_0, wf, w); err != nil {
		t.Fatal(err)
	}
	for i, v := range wf {
		p := float64(v) * float64(xq[i]) * float64(xd[i/qk8])
		exact, mag = exact+p, mag+math.Abs(p)
	}
	if got := float64(dotQ8Ref(w, xq, xd)); math.Abs(got-exact) > 1e-6*mag {
		t.Errorf("Q8_0: %v, float64 %v", got, exact)
	}
}
