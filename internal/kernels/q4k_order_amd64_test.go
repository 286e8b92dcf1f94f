//go:build amd64

package kernels

import (
	"testing"

	"github.com/wasmoe/wasmoe/internal/kernels/internal/amd64"
)

// TestQ4_KVecDotSIMD checks the AVX2 and VNNI vec_dot-order Q4_K kernels bit for bit against
// dotQ4_KVecRef, on random rows of 1 to 33 superblocks and on ggml's golden rows.
func TestQ4_KVecDotSIMD(t *testing.T) {
	for _, k := range []kqKernel{{"avx2", hasAVX2, amd64.DotQ4_KVec}, {"vnni", hasVNNI, amd64.DotQ4_KVecVNNI}} {
		if !k.ok {
			t.Logf("%s: CPU lacks the features, skipped", k.name)
			continue
		}
		r := newRand(63)
		for _, nb := range []int{1, 2, 3, 7, 8, 33} {
			for rep := range 3 {
				w, x := randQ4K(r, nb), randQ8K(r, nb)
				if want, got := dotQ4_KVecRef(w, x, nb*kqSuper), k.one(w, x, nb*kqSuper); !sameBits(got, want) {
					t.Fatalf("%s, %d superblocks (rep %d): got %v, reference %v", k.name, nb, rep, got, want)
				}
			}
		}
		for i, row := range loadKQGoldens(t) {
			g := row.types[Q4_K]
			if want, got := dotQ4_KVecRef(g.q, row.act, row.n), k.one(g.q, row.act, row.n); !sameFloats(got, want) {
				t.Errorf("%s golden row %d: got %v, reference %v", k.name, i, got, want)
			}
		}
	}
}

// BenchmarkDotQ4_KVec times the vec_dot-order Q4_K kernels next to the gemv-order ones (DotQ4_K,
// DotQ4_KVNNI) on a 4096-wide row in cache.
func BenchmarkDotQ4_KVec(b *testing.B) {
	const n = 4096
	r := newRand(64)
	w, x := randQ4K(r, n/kqSuper), randQ8K(r, n/kqSuper)
	var sink float32
	for _, k := range []kqKernel{{"gemv-avx2", hasAVX2, amd64.DotQ4_K}, {"vec-avx2", hasAVX2, amd64.DotQ4_KVec},
		{"gemv-vnni", hasVNNI, amd64.DotQ4_KVNNI}, {"vec-vnni", hasVNNI, amd64.DotQ4_KVecVNNI}} {
		if k.ok {
			kqBench(b, k.name, len(w), func() { sink += k.one(w, x, n) })
		}
	}
	_ = sink
}
