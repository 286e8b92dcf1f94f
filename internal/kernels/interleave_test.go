package kernels

import (
	"fmt"
	"testing"
)

// withSet runs f with k as the active kernel set.
func withSet(t *testing.T, k *kernelSet, f func()) {
	t.Helper()
	prev := active.Load()
	active.Store(k)
	defer active.Store(prev)
	f()
}

// The interleaved reference must give dotQ8Ref's result on the original rows, bit for bit.
func TestDotQ8I8RefIsRowReference(t *testing.T) {
	const rows, cols, n = 8, 256, 3
	w := randMatrix(1, Q8_0, rows, cols)
	rb, _ := Q8_0.RowBytes(cols)
	nb := cols / qk8
	x := randVec(newRand(2), n*cols, 1)
	xq, xd, xs := make([]int8, n*cols), make([]float32, n*nb), make([]int32, n*nb)
	for j := range n {
		quantizeActQ8_0Ref(xq[j*cols:(j+1)*cols], xd[j*nb:(j+1)*nb], x[j*cols:(j+1)*cols])
		blockSums(xs[j*nb:(j+1)*nb], xq[j*cols:(j+1)*cols])
	}
	// Include the extreme quants: -128 weights (valid in a file) and ±127 activations.
	w.Data[2], w.Data[3], w.Data[rb+5] = 0x80, 0x7f, 0x81
	got := make([]float32, n*rows)
	wi := make([]byte, nb*q8GroupBlockBytes)
	interleaveQ8(wi, w.Data, rb)
	dotQ8I8Ref(got, rows, wi, xq, xd, xs, nb, n)
	for j := range n {
		for r := range rows {
			want := dotQ8Ref(w.Data[r*rb:(r+1)*rb], xq[j*cols:(j+1)*cols], xd[j*nb:(j+1)*nb])
			if !sameBits(got[j*rows+r], want) {
				t.Fatalf("vector %d row %d: %v, row reference %v", j, r, got[j*rows+r], want)
			}
		}
	}
}

// interleaved returns w with its interleaved copy built whatever the CPU (Interleave builds one only
// where a SIMD kernel reads it).
func interleaved(w Matrix) Matrix {
	tr := typeTable[w.Type]
	rb, _ := w.Type.RowBytes(w.Cols)
	gb := rb / tr.size * tr.ilSize
	w.Interleaved = make([]byte, w.Rows/8*gb)
	for g := range w.Rows / 8 {
		tr.interleave(w.Interleaved[g*gb:(g+1)*gb], w.Data[g*8*rb:(g+1)*8*rb], rb)
	}
	return w
}

// MatMul over an interleaved copy must equal the scalar reference on the rows, bit for bit, for every
// type with an interleaved layout, batch size, row count (whole groups of 8 or not), thread count and
// kernel set (the scalar set runs the interleaved references; a SIMD set without an interleaved kernel,
// the rows).
func TestMatMulInterleaved(t *testing.T) {
	shapes := []struct{ rows, cols int }{{8, 256}, {37, 512}, {64, 256}, {129, 256}, {16, 1536}}
	pools := map[int]*Pool{}
	for _, th := range []int{1, 2, 3} {
		pools[th] = NewPool(th)
		defer pools[th].Close()
	}
	for _, ty := range []DType{Q8_0, Q4_K, Q5_0} {
		sets := available()
		for si, s := range shapes {
			w := interleaved(randMatrix(uint64(200+si), ty, s.rows, s.cols))
			for _, n := range []int{1, 2, 3, 4, 5, 8, 9, 17} {
				x := randVec(newRand(uint64(n)), n*s.cols, 1)
				want := refMatMul(w, x, n)
				for _, k := range sets {
					withSet(t, k, func() {
						for th, p := range pools {
							got := make([]float32, n*s.rows)
							p.MatMul(got, w, x, n)
							for i := range want {
								if !sameBits(got[i], want[i]) {
									t.Fatalf("%v on %s %dx%d n=%d threads=%d: out[%d] = %v, reference %v",
										ty, k.name, s.rows, s.cols, n, th, i, got[i], want[i])
								}
							}
						}
					})
				}
			}
		}
	}
}

// Interleave copies only matrices of a type with an interleaved layout and of 8 rows or more, and only
// where a SIMD kernel reads the copy; a copy of the wrong size is refused by Validate.
func TestInterleave(t *testing.T) {
	w := randMatrix(3, Q8_0, 16, 64)
	got := Interleave(w)
	if has := interleavedKernel(typeTable[Q8_0]); has != (got.Interleaved != nil) {
		t.Fatalf("Interleave: copy %v, CPU has the kernels %v", got.Interleaved != nil, has)
	}
	if small := Interleave(randMatrix(4, Q8_0, 7, 64)); small.Interleaved != nil {
		t.Fatal("Interleave copied a matrix of 7 rows")
	}
	if f := Interleave(randMatrix(5, F32, 16, 64)); f.Interleaved != nil {
		t.Fatal("Interleave copied an F32 matrix")
	}
	if q := Interleave(randMatrix(6, Q4_K, 16, 256)); (q.Interleaved != nil) != interleavedKernel(typeTable[Q4_K]) {
		t.Fatalf("Interleave of Q4_K: copy %v, CPU has the kernels %v", q.Interleaved != nil, interleavedKernel(typeTable[Q4_K]))
	}
	bad := w
	bad.Interleaved = make([]byte, 10)
	if err := bad.Validate(); err == nil {
		t.Fatal("Validate accepted an interleaved copy of the wrong size")
	}
}

// BenchmarkMatMulInterleaved compares the row layout and the interleaved copy on an FFN-shaped
// matrix (8960×1536), for decode (1 vector) and prefill (64 vectors), on one thread.
func BenchmarkMatMulInterleaved(b *testing.B) {
	for _, ty := range []DType{Q8_0, Q4_K, Q5_0} {
		b.Run(ty.String(), func(b *testing.B) { benchInterleaved(b, ty) })
	}
}

// benchInterleaved is BenchmarkMatMulInterleaved for one type.
func benchInterleaved(b *testing.B, ty DType) {
	w := randMatrix(9, ty, 8960, 1536)
	wi := Interleave(w)
	if wi.Interleaved == nil {
		b.Skip("no interleaved kernel on this CPU")
	}
	p := NewPool(1)
	defer p.Close()
	for _, n := range []int{1, 64} {
		x := randVec(newRand(1), n*w.Cols, 1)
		out := make([]float32, n*w.Rows)
		for _, c := range []struct {
			name string
			w    Matrix
		}{{"rows", w}, {"interleaved", wi}} {
			b.Run(fmt.Sprintf("%s/n=%d", c.name, n), func(b *testing.B) {
				b.SetBytes(int64(len(w.Data)))
				for b.Loop() {
					p.MatMul(out, c.w, x, n)
				}
			})
		}
	}
}

// MoE over experts with interleaved copies must equal the naive per-token loop over the rows, bit for
// bit, on every kernel set and thread count (Q8_0 and Q5_0 need the activation block sums in MoE's scratch
// too), also with Q4_K_M's mix of Q4_K gate and up and a Q5_0 down (DeepSeek-V2-Lite's 1408-wide experts).
func TestMoEInterleaved(t *testing.T) {
	pools := []*Pool{NewPool(1), NewPool(2), NewPool(3)}
	for _, p := range pools {
		defer p.Close()
	}
	for _, ts := range [][3]DType{{Q8_0, Q8_0, Q8_0}, {Q4_K, Q4_K, Q4_K}, {Q5_0, Q5_0, Q5_0},
		{Q4_K, Q4_K, Q5_0}} {
		ty := ts[0]
		D, I := moeDims(ty)
		const E, k = 8, 2
		e := randExperts(E, E, D, I, ts[0], ts[1], ts[2])
		ei := Experts{}
		for i := range E {
			ei.Gate = append(ei.Gate, interleaved(e.Gate[i]))
			ei.Up = append(ei.Up, interleaved(e.Up[i]))
			ei.Down = append(ei.Down, interleaved(e.Down[i]))
		}
		for _, n := range []int{1, 3, 9, 33} {
			r := newRand(uint64(n))
			x := randVec(r, n*D, 1)
			ids, w := randRouting(r, n, E, k, true)
			want := make([]float32, n*D)
			naiveMoE(pools[0], want, x, n, e, ids, w, k)
			for _, ks := range available() {
				withSet(t, ks, func() {
					for _, p := range pools {
						var s MoEScratch
						got := make([]float32, n*D)
						p.MoE(got, x, n, &ei, ids, w, k, &s)
						checkSame(t, fmt.Sprintf("%v n=%d on %s threads=%d", ts, n, ks.name, p.Threads()), got, want)
					}
				})
			}
		}
	}
}
