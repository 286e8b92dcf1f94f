//go:build amd64

package kernels

import (
	"testing"

	"github.com/wasmoe/wasmoe/internal/kernels/internal/amd64"
)

// TestQ4_0VecDotSIMD checks the AVX2 and VNNI vec_dot-order Q4_0 kernels bit for bit against
// dotQ4_0VecRef, on random rows of every length up to a few groups and on ggml's golden rows.
func TestQ4_0VecDotSIMD(t *testing.T) {
	lt := legacyTypes[0]
	r := newRand(12)
	for v, f := range []func(w, x []byte, n int) float32{amd64.DotQ4_0Vec, amd64.DotQ4_0VecVNNI} {
		if !legacyISAs[v].ok() {
			t.Logf("%s: CPU lacks the features, skipped", legacyISAs[v].name)
			continue
		}
		for _, nb := range []int{0, 1, 2, 3, 7, 8, 9, 17, 64, 133} {
			for rep := range 3 {
				w, x := randLegacyRow(r, lt, nb)
				if want, got := dotQ4_0VecRef(w, x, 32*nb), f(w, x, 32*nb); !sameBits(got, want) {
					t.Fatalf("%s, %d blocks (rep %d): got %g, reference %g", legacyISAs[v].name, nb, rep, got, want)
				}
			}
		}
		for i, row := range goldenRows(t) {
			n := len(row.x)
			if want, got := dotQ4_0VecRef(row.q[0], row.dotX[0], n), f(row.q[0], row.dotX[0], n); !sameFloats(got, want) {
				t.Errorf("%s golden row %d: got %g, reference %g", legacyISAs[v].name, i, got, want)
			}
		}
	}
}
