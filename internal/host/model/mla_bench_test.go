package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wasmoe/wasmoe/internal/kernels"
)

// v2LiteAttention is one MLA block with DeepSeek-V2-Lite's attention shape (16 heads, rkv 512, dn 128,
// dr 64, dv 128, D 2048) and random Q8_0 weights, built in memory.
func v2LiteAttention() *Model {
	c := Config{Arch: archDeepSeek2, Blocks: 1, Dim: 2048, Heads: 16, KVHeads: 1, HeadDim: 192, RopeDim: 64,
		Context: 4096, Eps: 1e-6, RopeBase: 10000, MLA: MLAConfig{KVLoRA: 512, NopeDim: 128, ValueDim: 128},
		Rope: RopeScaling{Type: "yarn", Factor: 40, OrigContext: 4096, LogMul: 0.0707, AttnFactor: 1}}
	r := rand.New(rand.NewPCG(1, 2))
	q8 := func(rows, cols int) kernels.Matrix {
		v := make([]float32, cols)
		data := make([]byte, rows*cols/32*34)
		for i := range rows {
			for j := range v {
				v[j] = float32(r.NormFloat64() / math.Sqrt(float64(cols)))
			}
			kernels.QuantizeRowQ8_0(data[i*cols/32*34:], v)
		}
		return kernels.Matrix{Type: kernels.Q8_0, Rows: rows, Cols: cols, Data: data}
	}
	ones := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = 1
		}
		return v
	}
	L := MLALayer{AttnNorm: ones(c.Dim), KVANorm: ones(512), Wq: q8(16*192, c.Dim), Wkva: q8(512+64, c.Dim)}
	l := loader{}
	for range c.Heads {
		L.KB = append(L.KB, q8(512, 128))
		L.VB = append(L.VB, q8(128, 512))
		L.UK = append(L.UK, l.transpose("attn_k_b", L.KB[len(L.KB)-1]))
	}
	m := &Model{Config: c, MLALayers: []MLALayer{L}}
	m.MLARope, m.AttnScale = deepseekRope(&m.Config)
	return m
}

// BenchmarkMLAPrefill times MLA over a prompt of n tokens from an empty cache in both forms; the
// crossover sets naiveFrom.
func BenchmarkMLAPrefill(b *testing.B) {
	m := v2LiteAttention()
	pool := kernels.NewPool(0)
	defer pool.Close()
	for _, n := range []int{8, 16, 32, 64, 128, 256, 512, 1024, 2048} {
		s := m.NewState(n)
		if err := s.seq.Reserve(n); err != nil {
			b.Fatal(err)
		}
		bt := &s.batch
		for i := range n {
			bt.Rows = append(bt.Rows, Row{Seq: s.seq, Pos: i})
		}
		sc := &bt.sc
		sc.reserve(m, n, n)
		r := rand.New(rand.NewPCG(3, 4))
		for i := range sc.xn[:n*m.Dim] {
			sc.xn[i] = float32(r.NormFloat64())
		}
		for i := range n {
			m.MLARope.CosSin(sc.mla.cos[i*32:(i+1)*32], sc.mla.sin[i*32:(i+1)*32], i)
		}
		for _, form := range []string{"absorbed", "naive"} {
			m.NaiveFrom = math.MaxInt
			if form == "naive" {
				m.NaiveFrom = 1
			}
			b.Run(fmt.Sprintf("n=%d/%s", n, form), func(b *testing.B) {
				for b.Loop() {
					m.attention(pool, bt, &m.MLALayers[0], 0, true)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/token")
			})
		}
	}
}
