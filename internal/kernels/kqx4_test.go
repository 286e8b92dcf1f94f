//go:build amd64

package kernels

import (
	"math/rand/v2"
	"testing"

	"github.com/wasmoe/wasmoe/internal/kernels/internal/amd64"
)

// kqx4Kernel is one four-row K-quant kernel under test, with the single-row kernel it must equal.
type kqx4Kernel struct {
	name string
	ok   bool
	x4   func(out []float32, stride int, w, x []byte, xStride, n int)
	one  func(w, x []byte, n int) float32
}

// q4Kx4Kernels and q6Kx4Kernels list the four-row kernels of each type.
var (
	q4Kx4Kernels = []kqx4Kernel{
		{"avx2", hasAVX2, amd64.DotQ4_Kx4, amd64.DotQ4_K},
		{"vnni", hasVNNI, amd64.DotQ4_Kx4VNNI, amd64.DotQ4_KVNNI},
	}
	q6Kx4Kernels = []kqx4Kernel{
		{"avx2", hasAVX2, amd64.DotQ6_Kx4, amd64.DotQ6_K},
		{"vnni", hasVNNI, amd64.DotQ6_Kx4VNNI, amd64.DotQ6_KVNNI},
	}
)

// Every four-row kernel writes, for each of the four activation rows, bit for bit what the single-row
// kernel and the scalar reference return, on random blocks of 1..16 superblocks, with padded activation
// rows and a strided output (the other output elements untouched).
func TestDotKQuantX4MatchesSingle(t *testing.T) {
	r := newRand(47)
	for _, tc := range []struct {
		typ     string
		gen     func(*rand.Rand, int) []byte
		ref     func(w, x []byte, n int) float32
		kernels []kqx4Kernel
	}{
		{"q4_K", randQ4K, dotQ4_KRef, q4Kx4Kernels},
		{"q6_K", randQ6K, dotQ6_KRef, q6Kx4Kernels},
	} {
		for _, k := range tc.kernels {
			t.Run(tc.typ+"/"+k.name, func(t *testing.T) {
				if !k.ok {
					t.Skip("CPU lacks the feature")
				}
				for nb := 0; nb <= 16; nb++ {
					for rep := range 6 {
						n := nb * kqSuper
						xStride := nb*kqQ8Bytes + rep*kqQ8Bytes/2
						w, x := tc.gen(r, nb), make([]byte, 3*xStride+nb*kqQ8Bytes)
						for j := range 4 {
							copy(x[j*xStride:], randQ8K(r, nb))
						}
						stride := 1 + rep
						out := make([]float32, 3*stride+1)
						for i := range out {
							out[i] = -1
						}
						k.x4(out, stride, w, x, xStride, n)
						for j := range 4 {
							xj := x[j*xStride:]
							want := k.one(w, xj, n)
							if ref := tc.ref(w, xj, n); !sameBits(want, ref) {
								t.Fatalf("nb=%d: single-row kernel %v, reference %v", nb, want, ref)
							}
							if !sameBits(out[j*stride], want) {
								t.Fatalf("nb=%d row %d: got %v, single-row kernel %v", nb, j, out[j*stride], want)
							}
						}
						for i, v := range out {
							if i%stride != 0 && v != -1 {
								t.Fatalf("nb=%d: out[%d] overwritten", nb, i)
							}
						}
					}
				}
			})
		}
	}
}

// BenchmarkDotKQuantX4 times one weight row of n = 4096 against four activation rows, with the four-row
// kernel and with four single-row calls (ns/op is per row of four vectors).
func BenchmarkDotKQuantX4(b *testing.B) {
	const n = 4096
	nb := n / kqSuper
	r := newRand(53)
	x := make([]byte, 4*nb*kqQ8Bytes)
	for j := range 4 {
		copy(x[j*nb*kqQ8Bytes:], randQ8K(r, nb))
	}
	xs := nb * kqQ8Bytes
	for _, tc := range []struct {
		typ     string
		gen     func(*rand.Rand, int) []byte
		kernels []kqx4Kernel
	}{
		{"q4_K", randQ4K, q4Kx4Kernels},
		{"q6_K", randQ6K, q6Kx4Kernels},
	} {
		w := tc.gen(r, nb)
		out := make([]float32, 4)
		for _, k := range tc.kernels {
			if !k.ok {
				continue
			}
			b.Run(tc.typ+"/"+k.name+"/x4", func(b *testing.B) {
				for b.Loop() {
					k.x4(out, 1, w, x, xs, n)
				}
			})
			b.Run(tc.typ+"/"+k.name+"/4x1", func(b *testing.B) {
				for b.Loop() {
					for j := range 4 {
						out[j] = k.one(w, x[j*xs:], n)
					}
				}
			})
		}
	}
}
