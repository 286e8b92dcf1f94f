package kernels

import (
	"math"
	"testing"
)

// TestQ4_0VecDotGolden checks dotQ4_0VecRef bit for bit against ggml-cpu's ggml_vec_dot_q4_0_q8_0 on the
// golden rows (legacyTypes[0] is Q4_0; the file's build ran the x86 AVX2 code).
func TestQ4_0VecDotGolden(t *testing.T) {
	finite := 0
	for i, r := range goldenRows(t) {
		want := r.dot[0]
		if math.IsNaN(float64(want)) || math.IsInf(float64(want), 0) {
			continue
		}
		finite++
		if got := dotQ4_0VecRef(r.q[0], r.dotX[0], len(r.x)); !sameBits(got, want) {
			t.Errorf("row %d: got %g, ggml %g", i, got, want)
		}
	}
	if finite == 0 {
		t.Fatal("no finite golden dots")
	}
}

// TestMatMulVecDot checks that MatMul adds a Q4_0 matrix marked VecDot in vec_dot's order and an unmarked
// one in the reference's, on every kernel set, bit for bit per row.
func TestMatMulVecDot(t *testing.T) {
	const rows, cols, n = 24, 512, 5
	w := randMatrix(31, Q4_0, rows, cols)
	x := randVec(newRand(32), n*cols, 1)
	rb, _ := Q4_0.RowBytes(cols)
	p := NewPool(2)
	defer p.Close()
	want := map[bool][]float32{}
	xb := make([]byte, cols/qk8*q8BlockSize)
	for _, vec := range []bool{false, true} {
		dot := dotQ4_0Ref
		if vec {
			dot = dotQ4_0VecRef
		}
		want[vec] = make([]float32, n*rows)
		for i := range n {
			quantizeActQ8_0(xb, x[i*cols:(i+1)*cols])
			for r := range rows {
				want[vec][i*rows+r] = dot(w.Data[r*rb:(r+1)*rb], xb, cols)
			}
		}
	}
	differ := 0
	for i := range want[false] {
		if !sameBits(want[false][i], want[true][i]) {
			differ++
		}
	}
	if differ == 0 {
		t.Fatal("the two orders agree on every output: the test tells nothing")
	}
	for _, vec := range []bool{false, true} {
		w.VecDot = vec
		for _, k := range available() {
			withSet(t, k, func() {
				got := make([]float32, n*rows)
				p.MatMul(got, w, x, n)
				for i, v := range want[vec] {
					if !sameBits(got[i], v) {
						t.Fatalf("VecDot %v on %s: out[%d] = %v, want %v", vec, k.name, i, got[i], v)
					}
				}
			})
		}
	}
}
