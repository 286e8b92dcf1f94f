package model

import (
	"fmt"
	"unsafe"

	"github.com/wasmoe/wasmoe/internal/kernels"
)

// MLALayer holds one deepseek2 block: Multi-head Latent Attention (spec §3.4) and a dense or
// Mixture-of-Experts feed-forward (§3.2, §3.3). Matrices are views into the mapped file unless noted.
type MLALayer struct {
	AttnNorm []float32      // [D]
	Wqa      kernels.Matrix // [rq, D] query down-projection (V3 style); zero when Wq is used
	QANorm   []float32      // [rq]
	Wqb      kernels.Matrix // [H·dq, rq]
	Wq       kernels.Matrix // [H·dq, D] single query projection (V2-Lite style); zero when Wqa is used
	Wkva     kernels.Matrix // [rkv+dr, D] latent and rope-key projection (attn_kv_a_mqa)
	KVANorm  []float32      // [rkv]
	// Per head h: KB[h] [rkv, dn] turns q_nope into q_abs (W_UKᵀ, attn_k_b), VB[h] [dv, rkv] turns the
	// attended latent into the head's output (W_UV, attn_v_b), UK[h] [dn, rkv] decompresses cached
	// latents into keys for the naive form (W_UK, an F32 copy). Legacy files' attn_kv_b is split into
	// these at load.
	KB, VB, UK        []kernels.Matrix
	Wo                kernels.Matrix // [D, H·dv]
	FFNNorm           []float32      // [D]
	Wgate, Wup, Wdown kernels.Matrix // dense FFN of the blocks below MoE.DenseLead; zero in MoE blocks
	MoE               *MoELayer      // nil in dense blocks
}

// MoELayer is the DeepSeekMoE feed-forward of one block.
type MoELayer struct {
	Router               kernels.Router  // routing settings and selection bias (exp_probs_b)
	Gate                 kernels.Matrix  // [E, D] router weights (ffn_gate_inp)
	Experts              kernels.Experts // routed experts: views into the stacked tensors
	SharedGate, SharedUp kernels.Matrix  // [Shared·Ie, D]; zero without shared experts
	SharedDown           kernels.Matrix  // [D, Shared·Ie]
}

// MTPLayer is a multi-token-prediction block (DeepSeek-V3's MTP module, spec §4): a deepseek2 block plus
// the projection that joins the next token's embedding with the main model's hidden state. ForwardMTP
// runs it; Forward does not.
type MTPLayer struct {
	MLALayer
	EHProj   kernels.Matrix // [D, 2D] eh_proj over [RMSNorm(embedding) ; RMSNorm(hidden)]
	ENorm    []float32      // [D]
	HNorm    []float32      // [D]
	Embed    kernels.Matrix // [V, D] own embedding; zero: the model's
	Head     kernels.Matrix // [V, D] own output head; zero: the model's
	HeadNorm []float32      // [D] own output norm; nil: the model's
}

// naiveFrom is the smallest batch that runs MLA in the naive form. BenchmarkMLAPrefill on V2-Lite's
// attention shape (16 heads, rkv 512, Q8_0, 2 threads) finds the two forms level up to 256 tokens from an
// empty cache and the naive one 12% faster at 512, 23% at 2048.
const naiveFrom = 512

// loadDeepSeek loads a deepseek2 model's tensors (spec §7.5).
func (m *Model) loadDeepSeek(l *loader) error {
	c := &m.Config
	m.Embed = l.matrix("token_embd.weight", c.Dim, -1)
	m.Vocab = m.Embed.Rows
	m.OutNorm = l.vector("output_norm.weight", c.Dim)
	m.Output = m.Embed
	if l.has("output.weight") {
		m.Output = l.matrix("output.weight", c.Dim, m.Vocab)
	}
	m.MLALayers = make([]MLALayer, c.Blocks)
	for i := range m.MLALayers {
		m.MLALayers[i] = l.mlaLayer(c, i)
	}
	for i := c.Blocks; i < c.Blocks+c.NextN; i++ {
		p := fmt.Sprintf("blk.%d.nextn.", i)
		t := MTPLayer{MLALayer: l.mlaLayer(c, i),
			EHProj:   l.matrix(p+"eh_proj.weight", 2*c.Dim, c.Dim),
			ENorm:    l.vector(p+"enorm.weight", c.Dim),
			HNorm:    l.vector(p+"hnorm.weight", c.Dim),
			HeadNorm: l.optVector(p+"shared_head_norm.weight", c.Dim),
		}
		if l.has(p + "embed_tokens.weight") {
			t.Embed = l.matrix(p+"embed_tokens.weight", c.Dim, m.Vocab)
		}
		if l.has(p + "shared_head_head.weight") {
			t.Head = l.matrix(p+"shared_head_head.weight", c.Dim, m.Vocab)
		}
		m.MTP = append(m.MTP, t)
	}
	m.MLARope, m.AttnScale = deepseekRope(c)
	m.NaiveFrom = naiveFrom
	return l.err
}

// mlaLayer loads block i.
func (l *loader) mlaLayer(c *Config, i int) MLALayer {
	p := fmt.Sprintf("blk.%d.", i)
	D, H, E := c.Dim, c.Heads, c.MoE.Experts
	dq, dn, dr, dv, rq, rkv := c.HeadDim, c.MLA.NopeDim, c.RopeDim, c.MLA.ValueDim, c.MLA.QLoRA, c.MLA.KVLoRA
	L := MLALayer{AttnNorm: l.vector(p+"attn_norm.weight", D)}
	switch {
	case l.has(p + "attn_q.weight"): // the query form goes by tensor presence (spec §7.4)
		L.Wq = l.matrix(p+"attn_q.weight", D, H*dq)
	case rq == 0:
		l.fail("tensor %sattn_q.weight missing, and metadata %s.attention.q_lora_rank for attn_q_a too", p, archDeepSeek2)
	default:
		L.Wqa = l.matrix(p+"attn_q_a.weight", D, rq)
		L.QANorm = l.vector(p+"attn_q_a_norm.weight", rq)
		L.Wqb = l.matrix(p+"attn_q_b.weight", rq, H*dq)
	}
	L.Wkva = l.matrix(p+"attn_kv_a_mqa.weight", D, rkv+dr)
	L.KVANorm = l.vector(p+"attn_kv_a_norm.weight", rkv)
	if l.has(p + "attn_kv_b.weight") { // legacy file: kv_b_proj as is, [H][dn+dv][rkv]
		if t, ok := l.get(p+"attn_kv_b.weight", rkv, H*(dn+dv)); ok {
			for _, w := range split(t.Type, t.Data, rkv, dn+dv, H) {
				rb := len(w.Data) / w.Rows
				uk := kernels.Matrix{Type: w.Type, Rows: dn, Cols: rkv, Data: w.Data[:dn*rb]}
				L.UK = append(L.UK, uk)
				L.VB = append(L.VB, kernels.Matrix{Type: w.Type, Rows: dv, Cols: rkv, Data: w.Data[dn*rb:]})
				L.KB = append(L.KB, l.transpose(p+"attn_kv_b.weight", uk))
			}
		}
	} else {
		L.KB = l.stack(p+"attn_k_b.weight", dn, rkv, H)
		L.VB = l.stack(p+"attn_v_b.weight", rkv, dv, H)
		for _, kb := range L.KB {
			L.UK = append(L.UK, l.transpose(p+"attn_k_b.weight", kb))
		}
		for h := range L.KB { // llama.cpp multiplies these 3D weights with vec_dot, never a repacked gemv
			L.KB[h].VecDot = true
		}
		for h := range L.VB {
			L.VB[h].VecDot = true
		}
	}
	L.Wo = l.matrix(p+"attn_output.weight", H*dv, D)
	L.FFNNorm = l.vector(p+"ffn_norm.weight", D)
	if i < c.MoE.DenseLead {
		L.Wgate = l.matrix(p+"ffn_gate.weight", D, c.FFN)
		L.Wup = l.matrix(p+"ffn_up.weight", D, c.FFN)
		L.Wdown = l.matrix(p+"ffn_down.weight", c.FFN, D)
		return L
	}
	mc, Ie := &c.MoE, c.MoE.FFN
	mo := &MoELayer{Router: kernels.Router{Experts: E, K: mc.Used, Sigmoid: mc.Sigmoid,
		Bias: l.optVector(p+"exp_probs_b.bias", E), Groups: mc.Groups, GroupsUsed: mc.GroupsUsed,
		Norm: mc.Norm, Scale: mc.Scale}}
	mo.Gate = l.matrix(p+"ffn_gate_inp.weight", D, E)
	if l.has(p + "ffn_gate_up_exps.weight") { // fused: each expert's gate rows, then its up rows
		for _, gu := range l.stack(p+"ffn_gate_up_exps.weight", D, 2*Ie, E) {
			half := len(gu.Data) / 2
			mo.Experts.Gate = append(mo.Experts.Gate, kernels.Matrix{Type: gu.Type, Rows: Ie, Cols: D, Data: gu.Data[:half]})
			mo.Experts.Up = append(mo.Experts.Up, kernels.Matrix{Type: gu.Type, Rows: Ie, Cols: D, Data: gu.Data[half:]})
		}
	} else {
		mo.Experts.Gate = l.stack(p+"ffn_gate_exps.weight", D, Ie, E)
		mo.Experts.Up = l.stack(p+"ffn_up_exps.weight", D, Ie, E)
	}
	mo.Experts.Down = l.stack(p+"ffn_down_exps.weight", Ie, D, E)
	if mc.Shared > 0 {
		mo.SharedGate = l.matrix(p+"ffn_gate_shexp.weight", D, Ie*mc.Shared)
		mo.SharedUp = l.matrix(p+"ffn_up_shexp.weight", D, Ie*mc.Shared)
		mo.SharedDown = l.matrix(p+"ffn_down_shexp.weight", Ie*mc.Shared, D)
	}
	if l.err == nil {
		if err := mo.Experts.Check(); err != nil {
			l.fail("block %d: %v", i, err)
		}
	}
	L.MoE = mo
	return L
}

// transpose returns wᵀ dequantized into an F32 matrix.
func (l *loader) transpose(name string, w kernels.Matrix) kernels.Matrix {
	src := make([]float32, w.Cols)
	dst := make([]float32, w.Rows*w.Cols)
	rb := len(w.Data) / w.Rows
	for r := range w.Rows {
		if err := kernels.DequantizeRow(w.Type, src, w.Data[r*rb:(r+1)*rb]); err != nil {
			l.fail("tensor %s: %v", name, err)
			return kernels.Matrix{}
		}
		for c, v := range src {
			dst[c*w.Rows+r] = v
		}
	}
	return f32Matrix(dst, w.Cols, w.Rows)
}

// f32Matrix views rows×cols float32 values (row-major) as an F32 matrix sharing their memory.
func f32Matrix(v []float32, rows, cols int) kernels.Matrix {
	v = v[:rows*cols]
	var b []byte
	if len(v) > 0 {
		b = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v))
	}
	return kernels.Matrix{Type: kernels.F32, Rows: rows, Cols: cols, Data: b}
}
