package kernels

import (
	"fmt"
	"testing"
)

// BenchmarkMatVecColdKQ cycles through about 600 MB of copies of qwen2-1.5B's FFN matrices (8960×1536 and
// 1536×8960) in F32 (the bandwidth yardstick), Q4_K, Q6_K and Q8_0, so each MatVec streams its weights from
// memory as decode does; short rows (1536) expose per-row costs and prefetch distance.
func BenchmarkMatVecColdKQ(b *testing.B) {
	for _, t := range []DType{F32, Q4_K, Q6_K, Q8_0} {
		for _, s := range []struct{ rows, cols int }{{8960, 1536}, {1536, 8960}} {
			one, _ := t.RowBytes(s.cols)
			ws := make([]Matrix, (600<<20)/(s.rows*one)+1)
			for i := range ws {
				ws[i] = benchMatrix(t, s.rows, s.cols)
			}
			x := randVec(newRand(1), s.cols, 1)
			out := make([]float32, s.rows)
			b.Run(fmt.Sprintf("%v/%dx%d", t, s.rows, s.cols), func(b *testing.B) {
				for _, th := range []int{1, 2} {
					p := NewPool(th)
					b.Run(fmt.Sprintf("threads=%d", th), func(b *testing.B) {
						b.SetBytes(int64(len(ws[0].Data)))
						p.MatVec(out, ws[0], x)
						i := 1
						for b.Loop() {
							p.MatVec(out, ws[i%len(ws)], x)
							i++
						}
					})
					p.Close()
				}
			})
		}
	}
}
