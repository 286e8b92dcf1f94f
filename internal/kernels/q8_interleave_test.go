package kernels

import (
	"fmt"
	"testing"
)

// interleavedSet is the scalar set with the reference interleaved kernel, so the interleaved path of
// MatMul runs on every CPU.
var interleavedSet = func() *kernelSet {
	k := *scalarSet
	k.name, k.dotQ8I8 = "scalar+interleaved", dotQ8I8Ref
	return &k
}()

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
	dotQ8I8Ref(got, rows, interleaveQ8(w.Data, rb, rows), xq, xd, xs, nb, n)
	for j := range n {
		for r := range rows {
			want := dotQ8Ref(w.Data[r*rb:(r+1)*rb], xq[j*cols:(j+1)*cols], xd[j*nb:(j+1)*nb])
			if !sameBits(got[j*rows+r], want) {
				t.Fatalf("vector %d row %d: %v, row reference %v", j, r, got[j*rows+r], want)
			}
		}
	}
}

// MatMul over an interleaved copy must equal MatMul over the rows, bit for bit, for every batch size,
// row count (whole groups of 8 or not), thread count and kernel set that has the interleaved kernel.
func TestMatMulInterleaved(t *testing.T) {
	sets := []*kernelSet{interleavedSet}
	if best := available(); best[len(best)-1].dotQ8I8 != nil {
		sets = append(sets, best[len(best)-1])
	}
	shapes := []struct{ rows, cols int }{{8, 32}, {37, 64}, {64, 160}, {129, 256}, {16, 1536}}
	pools := map[int]*Pool{}
	for _, th := range []int{1, 2, 3} {
		pools[th] = NewPool(th)
		defer pools[th].Close()
	}
	for si, s := range shapes {
		w := randMatrix(uint64(200+si), Q8_0, s.rows, s.cols)
		rb, _ := Q8_0.RowBytes(s.cols)
		wi := w
		wi.Interleaved = interleaveQ8(w.Data, rb, s.rows&^7)
		for _, n := range []int{1, 2, 3, 4, 5, 8, 9, 17} {
			x := randVec(newRand(uint64(n)), n*s.cols, 1)
			want := refMatMul(w, x, n)
			for _, k := range sets {
				withSet(t, k, func() {
					for th, p := range pools {
						got := make([]float32, n*s.rows)
						p.MatMul(got, wi, x, n)
						for i := range want {
							if !sameBits(got[i], want[i]) {
								t.Fatalf("%s %dx%d n=%d threads=%d: out[%d] = %v, reference %v",
									k.name, s.rows, s.cols, n, th, i, got[i], want[i])
							}
						}
					}
				})
			}
		}
	}
}

// Interleave copies only Q8_0 matrices of 8 rows or more, and only where a kernel reads the copy; a
// copy of the wrong size is refused by Validate.
func TestInterleave(t *testing.T) {
	w := randMatrix(3, Q8_0, 16, 64)
	got := Interleave(w)
	if interleavedKernels() != (got.Interleaved != nil) {
		t.Fatalf("Interleave: copy %v, CPU has the kernels %v", got.Interleaved != nil, interleavedKernels())
	}
	if small := Interleave(randMatrix(4, Q8_0, 7, 64)); small.Interleaved != nil {
		t.Fatal("Interleave copied a matrix of 7 rows")
	}
	if f := Interleave(randMatrix(5, F32, 16, 64)); f.Interleaved != nil {
		t.Fatal("Interleave copied an F32 matrix")
	}
	bad := w
	bad.Interleaved = make([]byte, 10)
	if err := bad.Validate(); err == nil {
		t.Fatal("Validate accepted an interleaved copy of the wrong size")
	}
}

// BenchmarkMatMulInterleaved compares the row layout and the interleaved copy on an FFN-shaped Q8_0
// matrix (8960×1536), for decode (1 vector) and prefill (64 vectors), on one thread.
func BenchmarkMatMulInterleaved(b *testing.B) {
	w := randMatrix(9, Q8_0, 8960, 1536)
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
