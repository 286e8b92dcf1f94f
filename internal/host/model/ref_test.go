package model

import (
	"math"
	"testing"

	"github.com/wasmoe/wasmoe/internal/kernels"
)

// refForward is a slow float64 forward pass written straight from the spec (§2, §5), sharing no code with
// Forward: it dequantizes every weight and does all arithmetic in float64. It returns the logits of every
// position.
func refForward(t *testing.T, m *Model, tokens []int32) [][]float64 {
	t.Helper()
	deq := func(w kernels.Matrix) [][]float64 {
		out := make([][]float64, w.Rows)
		tmp := make([]float32, w.Cols)
		for r := range out {
			if err := kernels.DequantizeRow(w.Type, tmp, row(w, r)); err != nil {
				t.Fatal(err)
			}
			out[r] = f64(tmp)
		}
		return out
	}
	matvec := func(w [][]float64, x []float64) []float64 {
		y := make([]float64, len(w))
		for r, wr := range w {
			for j, v := range wr {
				y[r] += v * x[j]
			}
		}
		return y
	}
	rmsnorm := func(x []float64, w []float32) []float64 {
		var ss float64
		for _, v := range x {
			ss += v * v
		}
		s := 1 / math.Sqrt(ss/float64(len(x))+float64(m.Eps))
		y := make([]float64, len(x))
		for i := range x {
			y[i] = x[i] * s * float64(w[i])
		}
		return y
	}
	addB := func(x []float64, b []float32) {
		for i := range b {
			x[i] += float64(b[i])
		}
	}
	divisors := make([]float64, m.RopeDim/2)
	for p := range divisors {
		divisors[p] = 1
		if tn, ok := m.File.Tensor("rope_freqs.weight"); ok {
			tmp := make([]float32, tn.Elements())
			kernels.DequantizeRow(tn.Type, tmp, tn.Data)
			divisors[p] = float64(tmp[p])
		}
	}
	rope := func(x []float64, heads, pos int) {
		hd, d := m.HeadDim, m.RopeDim
		for h := 0; h < heads; h++ {
			v := x[h*hd : (h+1)*hd]
			for p := 0; p < d/2; p++ {
				theta := float64(pos) * float64(m.RopeScale) * math.Pow(float64(m.RopeBase), -2*float64(p)/float64(d)) / divisors[p]
				c, s := math.Cos(theta), math.Sin(theta)
				i, j := 2*p, 2*p+1 // interleaved (NORM)
				if m.Neox {
					i, j = p, p+d/2
				}
				a, b := v[i], v[j]
				v[i], v[j] = a*c-b*s, a*s+b*c
			}
		}
	}
	type layerW struct{ q, k, v, o, gate, up, down [][]float64 }
	lw := make([]layerW, len(m.Layers))
	for l, L := range m.Layers {
		lw[l] = layerW{deq(L.Wq), deq(L.Wk), deq(L.Wv), deq(L.Wo), deq(L.Wgate), deq(L.Wup), deq(L.Wdown)}
	}
	emb, out := deq(m.Embed), deq(m.Output)
	hd := m.HeadDim
	keys := make([][][]float64, len(m.Layers)) // [layer][pos][kvDim]
	vals := make([][][]float64, len(m.Layers))
	var logits [][]float64
	for pos, tok := range tokens {
		x := append([]float64(nil), emb[tok]...)
		for l, L := range m.Layers {
			W := lw[l]
			a := rmsnorm(x, L.AttnNorm)
			q, k, v := matvec(W.q, a), matvec(W.k, a), matvec(W.v, a)
			addB(q, L.Bq)
			addB(k, L.Bk)
			addB(v, L.Bv)
			rope(q, m.Heads, pos)
			rope(k, m.KVHeads, pos)
			keys[l] = append(keys[l], k)
			vals[l] = append(vals[l], v)
			att := make([]float64, m.Heads*hd)
			for h := 0; h < m.Heads; h++ {
				g := h / (m.Heads / m.KVHeads)
				sc := make([]float64, pos+1)
				mx := math.Inf(-1)
				for t := 0; t <= pos; t++ {
					for i := 0; i < hd; i++ {
						sc[t] += q[h*hd+i] * keys[l][t][g*hd+i]
					}
					sc[t] /= math.Sqrt(float64(hd))
					mx = math.Max(mx, sc[t])
				}
				var sum float64
				for t := range sc {
					sc[t] = math.Exp(sc[t] - mx)
					sum += sc[t]
				}
				for t := range sc {
					for i := 0; i < hd; i++ {
						att[h*hd+i] += sc[t] / sum * vals[l][t][g*hd+i]
					}
				}
			}
			o := matvec(W.o, att)
			for i := range x {
				x[i] += o[i]
			}
			f := rmsnorm(x, L.FFNNorm)
			gt, up := matvec(W.gate, f), matvec(W.up, f)
			for i := range gt {
				gt[i] = gt[i] / (1 + math.Exp(-gt[i])) * up[i]
			}
			d := matvec(W.down, gt)
			for i := range x {
				x[i] += d[i]
			}
		}
		logits = append(logits, matvec(out, rmsnorm(x, m.OutNorm)))
	}
	return logits
}

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// softmax64 returns the probabilities of logits in float64.
func softmax64(logits []float64) []float64 {
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = math.Max(mx, v)
	}
	p := make([]float64, len(logits))
	var sum float64
	for i, v := range logits {
		p[i] = math.Exp(v - mx)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
	return p
}
