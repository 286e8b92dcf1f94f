//go:build amd64

package kernels

import (
	"testing"

	"github.com/wasmoe/wasmoe/internal/kernels/internal/amd64"
)

// TestQ4_KVecDotSIMD checks the AVX2 vec_dot-order Q4_K kernel bit for bit against dotQ4_KVecRef, on
// random rows of 1 to 33 superblocks and on ggml's golden rows.
func TestQ4_KVecDotSIMD(t *testing.T) {
	if !hasAVX2 {
		t.Skip("CPU lacks AVX2, FMA or F16C")
	}
	r := newRand(63)
	for _, nb := range []int{1, 2, 3, 7, 8, 33} {
		for rep := range 3 {
			w, x := randQ4K(r, nb), randQ8K(r, nb)
			if want, got := dotQ4_KVecRef(w, x, nb*kqSuper), amd64.DotQ4_KVec(w, x, nb*kqSuper); !sameBits(got, want) {
				t.Fatalf("%d superblocks (rep %d): got %v, reference %v", nb, rep, got, want)
			}
		}
	}
	for i, row := range loadKQGoldens(t) {
		g := row.types[Q4_K]
		if want, got := dotQ4_KVecRef(g.q, row.act, row.n), amd64.DotQ4_KVec(g.q, row.act, row.n); !sameFloats(got, want) {
			t.Errorf("golden row %d: got %v, reference %v", i, got, want)
		}
	}
}

// BenchmarkDotQ4_KVec times the vec_dot-order Q4_K kernel next to the gemv-order one (DotQ4_K) on a
// 4096-wide row in cache.
func BenchmarkDotQ4_KVec(b *testing.B) {
	if !hasAVX2 {
		b.Skip("CPU lacks AVX2, FMA or F16C")
	}
	const n = 4096
	r := newRand(64)
	w, x := randQ4K(r, n/kqSuper), randQ8K(r, n/kqSuper)
	var sink float32
	kqBench(b, "gemv-avx2", len(w), func() { sink += amd64.DotQ4_K(w, x, n) })
	kqBench(b, "vec-avx2", len(w), func() { sink += amd64.DotQ4_KVec(w, x, n) })
	_ = sink
}
