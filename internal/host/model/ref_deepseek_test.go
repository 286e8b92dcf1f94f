package model

import (
	"fmt"
	"math"
	"sort"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/kernels"
)

// refDeepSeek is a slow float64 forward pass of a deepseek2 file written straight from the spec (§2.4, §3,
// §7.4, §7.5), sharing no code with Forward or the loader: it reads the metadata and the tensors from the
// file by name, dequantizes every weight, and runs MLA in the naive form (per-head keys and values
// decompressed from W_kvb), the router and the experts as plain loops, and YaRN from the spec's formulas.
// It returns the logits of every position.
func refDeepSeek(t *testing.T, f *gguf.File, tokens []int32) [][]float64 {
	t.Helper()
	logits, _ := refDeepSeekMTP(t, f, tokens)
	return logits
}

// refDeepSeekMTP is refDeepSeek that also runs the file's first multi-token-prediction block, as the
// DeepSeek-V3 report (§2.2) and llama.cpp's MTP graph define it, at every position i but the last: from
// the main model's final hidden state h_i (after the output norm) and the token t_{i+1}, h' =
// eh_proj·[RMSNorm_enorm(E'[t_{i+1}]) ; RMSNorm_hnorm(h_i)], the block at position i with its own latent
// cache, and logits = head'·RMSNorm_head(h'), with the block's own embedding E', head norm and head. It
// returns the main logits and the MTP logits ([len(tokens)-1][V]; nil without an MTP block).
func refDeepSeekMTP(t *testing.T, f *gguf.File, tokens []int32) ([][]float64, [][]float64) {
	t.Helper()
	key := func(k string) float64 {
		v, ok := f.Float("deepseek2." + k)
		if !ok {
			t.Fatalf("metadata deepseek2.%s missing", k)
		}
		return v
	}
	keyOr := func(k string, def float64) float64 {
		if v, ok := f.Float("deepseek2." + k); ok {
			return v
		}
		return def
	}
	// tensor returns a weight as rows of ne[0] values (every further dimension adds rows).
	tensor := func(name string) [][]float64 {
		tn, ok := f.Tensor(name)
		if !ok {
			t.Fatalf("tensor %s missing", name)
		}
		cols := tn.Dim(0)
		rows := int(tn.Elements()) / cols
		rb, _ := tn.Type.RowBytes(cols)
		out := make([][]float64, rows)
		tmp := make([]float32, cols)
		for r := range out {
			if err := kernels.DequantizeRow(tn.Type, tmp, tn.Data[r*rb:]); err != nil {
				t.Fatal(err)
			}
			out[r] = f64(tmp)
		}
		return out
	}
	has := func(name string) bool { _, ok := f.Tensor(name); return ok }
	vec := func(name string) []float64 { return tensor(name)[0] }

	nLayers := int(key("block_count") - keyOr("nextn_predict_layers", 0))
	D, H := int(key("embedding_length")), int(key("attention.head_count"))
	dr := int(key("rope.dimension_count"))
	rkv := int(key("attention.kv_lora_rank"))
	dq, dv := int(keyOr("attention.key_length_mla", 0)), int(keyOr("attention.value_length_mla", 0))
	if dq == 0 { // legacy file
		dq, dv = int(key("attention.key_length")), int(key("attention.value_length"))
	}
	dn := dq - dr
	eps := key("attention.layer_norm_rms_epsilon")
	dense := int(keyOr("leading_dense_block_count", 0))
	E, K := int(keyOr("expert_count", 0)), int(keyOr("expert_used_count", 0))
	sigmoid := keyOr("expert_gating_func", 1) == 2
	groups, groupsUsed := int(keyOr("expert_group_count", 1)), int(keyOr("expert_group_used_count", 1))
	norm, _ := f.Bool("deepseek2.expert_weights_norm")
	wscale := keyOr("expert_weights_scale", 1)

	// YaRN (spec §2.4): blended frequencies, rope magnitude 1, m² in the softmax scale.
	base := keyOr("rope.freq_base", 10000)
	omega := make([]float64, dr/2)
	scale := 1 / math.Sqrt(float64(dq))
	for p := range omega {
		omega[p] = math.Pow(base, -2*float64(p)/float64(dr))
	}
	if st, _ := f.String("deepseek2.rope.scaling.type"); st == "yarn" {
		s, L0 := key("rope.scaling.factor"), key("rope.scaling.original_context_length")
		corr := func(r float64) float64 { return float64(dr) * math.Log(L0/(2*math.Pi*r)) / (2 * math.Log(base)) }
		low := math.Max(0, math.Floor(corr(32)))
		high := math.Min(float64(dr-1), math.Ceil(corr(1)))
		for p := range omega {
			r := math.Min(1, math.Max(0, (float64(p)-low)/math.Max(high-low, 0.001)))
			e := 1 - r
			omega[p] = omega[p]*e + omega[p]/s*(1-e)
		}
		m := 1 + 0.1*(key("rope.scaling.yarn_log_multiplier")/0.1)*math.Log(s)
		scale *= m * m
	}
	rope := func(x []float64, pos int) { // interleaved pairs
		for p, w := range omega {
			c, s := math.Cos(float64(pos)*w), math.Sin(float64(pos)*w)
			a, b := x[2*p], x[2*p+1]
			x[2*p], x[2*p+1] = a*c-b*s, a*s+b*c
		}
	}
	rmsnorm := func(x, w []float64) []float64 {
		var ss float64
		for _, v := range x {
			ss += v * v
		}
		s := 1 / math.Sqrt(ss/float64(len(x))+eps)
		y := make([]float64, len(x))
		for i := range x {
			y[i] = x[i] * s * w[i]
		}
		return y
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
	ffn := func(gate, up, down [][]float64, x []float64) []float64 {
		g, u := matvec(gate, x), matvec(up, x)
		for i := range g {
			g[i] = g[i] / (1 + math.Exp(-g[i])) * u[i]
		}
		return matvec(down, g)
	}

	type block struct {
		attnNorm, qaNorm, kvaNorm, ffnNorm, bias []float64
		q, qa, qb, kva, o, router                [][]float64
		uk, uv                                   [][][]float64 // per head W_UK [dn][rkv], W_UV [dv][rkv]
		gate, up, down                           [][]float64   // dense FFN, or the shared experts
		eGate, eUp, eDown                        [][][]float64 // routed experts
	}
	nextn := int(keyOr("nextn_predict_layers", 0))
	blocks := make([]block, nLayers+min(nextn, 1))
	for l := range blocks {
		p := fmt.Sprintf("blk.%d.", l)
		b := &blocks[l]
		b.attnNorm, b.kvaNorm, b.ffnNorm = vec(p+"attn_norm.weight"), vec(p+"attn_kv_a_norm.weight"), vec(p+"ffn_norm.weight")
		if has(p + "attn_q.weight") {
			b.q = tensor(p + "attn_q.weight")
		} else {
			b.qa, b.qaNorm, b.qb = tensor(p+"attn_q_a.weight"), vec(p+"attn_q_a_norm.weight"), tensor(p+"attn_q_b.weight")
		}
		b.kva, b.o = tensor(p+"attn_kv_a_mqa.weight"), tensor(p+"attn_output.weight")
		b.uk, b.uv = make([][][]float64, H), make([][][]float64, H)
		if has(p + "attn_kv_b.weight") { // kv_b_proj [H·(dn+dv)][rkv]
			kvb := tensor(p + "attn_kv_b.weight")
			for h := range H {
				b.uk[h], b.uv[h] = kvb[h*(dn+dv):h*(dn+dv)+dn], kvb[h*(dn+dv)+dn:(h+1)*(dn+dv)]
			}
		} else { // attn_k_b rows (h, c) hold W_UK[h][·][c]; attn_v_b rows (h, d) are W_UV[h][d]
			kb, vb := tensor(p+"attn_k_b.weight"), tensor(p+"attn_v_b.weight")
			for h := range H {
				b.uk[h] = make([][]float64, dn)
				for d := range dn {
					b.uk[h][d] = make([]float64, rkv)
					for c := range rkv {
						b.uk[h][d][c] = kb[h*rkv+c][d]
					}
				}
				b.uv[h] = vb[h*dv : (h+1)*dv]
			}
		}
		if l < dense {
			b.gate, b.up, b.down = tensor(p+"ffn_gate.weight"), tensor(p+"ffn_up.weight"), tensor(p+"ffn_down.weight")
			continue
		}
		b.router = tensor(p + "ffn_gate_inp.weight")
		if has(p + "exp_probs_b.bias") {
			b.bias = vec(p + "exp_probs_b.bias")
		}
		var g, u [][]float64
		if has(p + "ffn_gate_up_exps.weight") {
			gu := tensor(p + "ffn_gate_up_exps.weight")
			ie := len(gu) / E / 2
			for e := range E {
				g = append(g, gu[2*e*ie:(2*e+1)*ie]...)
				u = append(u, gu[(2*e+1)*ie:(2*e+2)*ie]...)
			}
		} else {
			g, u = tensor(p+"ffn_gate_exps.weight"), tensor(p+"ffn_up_exps.weight")
		}
		d := tensor(p + "ffn_down_exps.weight")
		ie := len(g) / E
		for e := range E {
			b.eGate = append(b.eGate, g[e*ie:(e+1)*ie])
			b.eUp = append(b.eUp, u[e*ie:(e+1)*ie])
			b.eDown = append(b.eDown, d[e*D:(e+1)*D])
		}
		if has(p + "ffn_gate_shexp.weight") {
			b.gate, b.up, b.down = tensor(p+"ffn_gate_shexp.weight"), tensor(p+"ffn_up_shexp.weight"), tensor(p+"ffn_down_shexp.weight")
		}
	}
	emb, outNorm := tensor("token_embd.weight"), vec("output_norm.weight")
	out := emb
	if has("output.weight") {
		out = tensor("output.weight")
	}

	moe := func(b *block, x []float64) []float64 {
		z := matvec(b.router, x)
		s := make([]float64, E)
		if sigmoid {
			for i, v := range z {
				s[i] = 1 / (1 + math.Exp(-v))
			}
		} else {
			mx := math.Inf(-1)
			for _, v := range z {
				mx = math.Max(mx, v)
			}
			var sum float64
			for i, v := range z {
				s[i] = math.Exp(v - mx)
				sum += s[i]
			}
			for i := range s {
				s[i] /= sum
			}
		}
		c := append([]float64(nil), s...)
		for i := range b.bias {
			c[i] += b.bias[i]
		}
		if groups > 1 {
			per := E / groups
			gs := make([]float64, groups)
			for g := range gs {
				v := append([]float64(nil), c[g*per:(g+1)*per]...)
				sort.Sort(sort.Reverse(sort.Float64Slice(v)))
				if b.bias != nil {
					gs[g] = v[0] + v[1]
				} else {
					gs[g] = v[0]
				}
			}
			order := make([]int, groups)
			for g := range order {
				order[g] = g
			}
			sort.SliceStable(order, func(i, j int) bool { return gs[order[i]] > gs[order[j]] })
			for _, g := range order[groupsUsed:] {
				for i := g * per; i < (g+1)*per; i++ {
					c[i] = math.Inf(-1)
				}
			}
		}
		ids := make([]int, E)
		for i := range ids {
			ids[i] = i
		}
		sort.SliceStable(ids, func(i, j int) bool { return c[ids[i]] > c[ids[j]] })
		ids = ids[:K]
		w := make([]float64, K)
		var sum float64
		for k, id := range ids {
			w[k] = s[id]
			sum += w[k]
		}
		y := make([]float64, D)
		for k, id := range ids {
			if norm {
				w[k] /= sum + 1e-20
			}
			w[k] *= wscale
			o := ffn(b.eGate[id], b.eUp[id], b.eDown[id], x)
			for i := range y {
				y[i] += w[k] * o[i]
			}
		}
		if b.gate != nil {
			o := ffn(b.gate, b.up, b.down, x)
			for i := range y {
				y[i] += o[i]
			}
		}
		return y
	}

	ckv := make([][][]float64, len(blocks)) // [layer][pos] normalized latent
	kpe := make([][][]float64, len(blocks)) // [layer][pos] rotated rope key
	run := func(l, pos int, x []float64) {  // block l at position pos; its cache holds 0 … pos-1
		b := &blocks[l]
		a := rmsnorm(x, b.attnNorm)
		var q []float64
		if b.q != nil {
			q = matvec(b.q, a)
		} else {
			q = matvec(b.qb, rmsnorm(matvec(b.qa, a), b.qaNorm))
		}
		kv := matvec(b.kva, a)
		ckv[l] = append(ckv[l], rmsnorm(kv[:rkv], b.kvaNorm))
		kp := append([]float64(nil), kv[rkv:]...)
		rope(kp, pos)
		kpe[l] = append(kpe[l], kp)
		att := make([]float64, 0, H*dv)
		for h := range H {
			qh := q[h*dq : (h+1)*dq]
			rope(qh[dn:], pos)
			sc := make([]float64, pos+1)
			mx := math.Inf(-1)
			for t := range sc {
				k := append(matvec(b.uk[h], ckv[l][t]), kpe[l][t]...)
				for i := range dq {
					sc[t] += qh[i] * k[i]
				}
				sc[t] *= scale
				mx = math.Max(mx, sc[t])
			}
			var sum float64
			for t := range sc {
				sc[t] = math.Exp(sc[t] - mx)
				sum += sc[t]
			}
			o := make([]float64, dv)
			for t := range sc {
				v := matvec(b.uv[h], ckv[l][t])
				for i := range o {
					o[i] += sc[t] / sum * v[i]
				}
			}
			att = append(att, o...)
		}
		for i, v := range matvec(b.o, att) {
			x[i] += v
		}
		fn := rmsnorm(x, b.ffnNorm)
		var y []float64
		if l < dense {
			y = ffn(b.gate, b.up, b.down, fn)
		} else {
			y = moe(b, fn)
		}
		for i := range x {
			x[i] += y[i]
		}
	}

	var logits, hidden, mtp [][]float64
	for pos, tok := range tokens {
		x := append([]float64(nil), emb[tok]...)
		for l := range nLayers {
			run(l, pos, x)
		}
		hidden = append(hidden, rmsnorm(x, outNorm))
		logits = append(logits, matvec(out, hidden[pos]))
	}
	if nextn == 0 {
		return logits, nil
	}
	p := fmt.Sprintf("blk.%d.nextn.", nLayers)
	eh, enorm, hnorm := tensor(p+"eh_proj.weight"), vec(p+"enorm.weight"), vec(p+"hnorm.weight")
	memb, headNorm, head := tensor(p+"embed_tokens.weight"), vec(p+"shared_head_norm.weight"), tensor(p+"shared_head_head.weight")
	for pos := range len(tokens) - 1 {
		x := matvec(eh, append(rmsnorm(memb[tokens[pos+1]], enorm), rmsnorm(hidden[pos], hnorm)...))
		run(nLayers, pos, x)
		mtp = append(mtp, matvec(head, rmsnorm(x, headNorm)))
	}
	return logits, mtp
}
