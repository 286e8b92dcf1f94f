package kernels

import "testing"

// TestMatMulQ8VecDot checks that MatMul adds a Q8_0 matrix marked VecDot in vec_dot's order
// (dotQ8VecRef) and an unmarked one in the reference's (dotQ8Ref), on every kernel set, with and without
// the interleaved copy, for 1 to 9 vectors (the 2-row, 8-vector and interleaved paths), bit for bit per row.
func TestMatMulQ8VecDot(t *testing.T) {
	const rows, cols, n = 24, 512, 9
	base := randMatrix(41, Q8_0, rows, cols)
	for i := 0; i < len(base.Data); i += 97 { // some −128 weights: the kernels must not assume ±127
		if i%q8BlockSize >= 2 {
			base.Data[i] = 0x80
		}
	}
	x := randVec(newRand(42), n*cols, 1)
	rb, _ := Q8_0.RowBytes(cols)
	nb := cols / qk8
	xq, xd := make([]int8, n*cols), make([]float32, n*nb)
	quantizeActQ8_0Ref(xq, xd, x)
	want := map[bool][]float32{}
	for _, vec := range []bool{false, true} {
		dot := dotQ8Ref
		if vec {
			dot = dotQ8VecRef
		}
		want[vec] = make([]float32, n*rows)
		for i := range n {
			for r := range rows {
				want[vec][i*rows+r] = dot(base.Data[r*rb:(r+1)*rb], xq[i*cols:(i+1)*cols], xd[i*nb:(i+1)*nb])
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
	p := NewPool(2)
	defer p.Close()
	for _, il := range []bool{false, true} {
		w := base
		if il {
			w = Interleave(base)
		}
		for _, vec := range []bool{false, true} {
			w.VecDot = vec
			for _, k := range available() {
				withSet(t, k, func() {
					for _, m := range []int{1, 3, 8, 9} {
						got := make([]float32, m*rows)
						p.MatMul(got, w, x, m)
						for i, v := range want[vec][:m*rows] {
							if !sameBits(got[i], v) {
								t.Fatalf("VecDot %v, interleaved %v, %d vectors on %s: out[%d] = %v, want %v",
									vec, il, m, k.name, i, got[i], v)
							}
						}
					}
				})
			}
		}
	}
}

// TestDotQ8VecSets checks every kernel set's dotQ8Vec bit for bit against dotQ8VecRef on random rows of
// 0 to 133 blocks, weights and activations over the whole int8 range.
func TestDotQ8VecSets(t *testing.T) {
	r := newRand(43)
	for _, k := range available() {
		for _, nb := range []int{0, 1, 2, 3, 7, 8, 9, 64, 133} {
			w := make([]byte, nb*q8BlockSize)
			xq, xd := make([]int8, nb*qk8), make([]float32, nb)
			for b := range nb {
				for j := range q8BlockSize {
					w[b*q8BlockSize+j] = byte(r.IntN(256))
				}
				w[b*q8BlockSize+1] = byte(0x20 + r.IntN(24)) // a finite fp16 scale
				xd[b] = r.Float32()*2 - 1
				for j := range qk8 {
					xq[b*qk8+j] = int8(r.IntN(256) - 128)
				}
			}
			if got, want := k.dotQ8Vec(w, xq, xd), dotQ8VecRef(w, xq, xd); !sameBits(got, want) {
				t.Fatalf("%s, %d blocks: got %g, reference %g", k.name, nb, got, want)
			}
		}
	}
}
