package modelgen

import (
	"fmt"
	"math"

	"github.com/wasmoe/wasmoe/internal/kernels"
)

// DeepSeekOptions are the deepseek2 hyper-parameters (spec §1, §7.4), written as llama.cpp's converter
// writes them.
type DeepSeekOptions struct {
	QLoRA        int     `json:",omitempty"` // q_lora_rank; 0 writes a single attn_q (V2-Lite style)
	KVLoRA       int     // kv_lora_rank
	NopeDim      int     // qk_nope_head_dim
	RopeDim      int     // qk_rope_head_dim
	ValueDim     int     // v_head_dim
	DenseLead    int     // leading blocks with a dense FFN
	Experts      int     // routed experts
	ExpertsUsed  int     // experts per token
	Shared       int     // shared experts
	ExpertFFN    int     // width of each expert
	Sigmoid      bool    `json:",omitempty"` // sigmoid gating with an exp_probs_b selection bias (V3); softmax otherwise
	Groups       int     `json:",omitempty"` // expert groups (0: none written)
	GroupsUsed   int     `json:",omitempty"` // groups kept per token
	WeightsNorm  bool    `json:",omitempty"` // normalize the chosen experts' weights
	WeightsScale float32 `json:",omitempty"` // routed_scaling_factor; 0: not written
	YaRN         float32 `json:",omitempty"` // YaRN factor (original context 4096, β 32/1); 0: no rope scaling
	MScaleAllDim float32 `json:",omitempty"` // YaRN mscale_all_dim: yarn_log_multiplier = 0.1·this
	LegacyKVB    bool    `json:",omitempty"` // write a legacy file: attn_kv_b, no *_mla keys
	FusedGateUp  bool    `json:",omitempty"` // write ffn_gate_up_exps instead of ffn_gate_exps and ffn_up_exps
	MTP          int     `json:",omitempty"` // multi-token-prediction blocks after the Layers main ones
}

// DeepSeekTiny returns a tiny deepseek2 model in one of two styles:
//
//   - "v3": DeepSeek-V3 / R1 — q_lora, sigmoid gating with a selection bias, 4 groups of 4 experts with
//     2 kept, top-4, normalized weights scaled by 2.5, one shared expert, YaRN with mscale_all_dim 1, one
//     leading dense block, attn_k_b / attn_v_b; 3 blocks.
//   - "v2-lite": DeepSeek-V2-Lite — a single attn_q, softmax gating, no groups, top-2 of 8, two shared
//     experts, YaRN with mscale_all_dim 0.707, one dense block; 27 blocks, because llama.cpp recognises
//     lite models by their block count.
func DeepSeekTiny(style string, t kernels.DType) (Options, error) {
	o := Options{Arch: "deepseek2", Type: t, Dim: 64, FFN: 128, Heads: 4, KVHeads: 1, Context: 512,
		RopeBase: 10000, Seed: 1}
	d := DeepSeekOptions{KVLoRA: 64, NopeDim: 32, RopeDim: 16, ValueDim: 32, DenseLead: 1, ExpertFFN: 32, YaRN: 40}
	switch style {
	case "v3":
		o.Layers = 3
		d.QLoRA, d.Experts, d.ExpertsUsed, d.Shared = 32, 16, 4, 1
		d.Sigmoid, d.Groups, d.GroupsUsed, d.WeightsNorm, d.WeightsScale, d.MScaleAllDim = true, 4, 2, true, 2.5, 1
	case "v2-lite":
		o.Layers = 27
		d.Experts, d.ExpertsUsed, d.Shared, d.WeightsScale, d.MScaleAllDim = 8, 2, 2, 1, 0.707
	default:
		return Options{}, fmt.Errorf("modelgen: unknown deepseek2 style %q (v3, v2-lite)", style)
	}
	o.DeepSeek = &d
	return o, nil
}

// mtp is the number of multi-token-prediction blocks written after the main ones.
func (o *Options) mtp() int {
	if o.DeepSeek == nil {
		return 0
	}
	return o.DeepSeek.MTP
}

func (o *Options) validateDeepSeek() error {
	d := o.DeepSeek
	if d == nil {
		return fmt.Errorf("modelgen: deepseek2 needs DeepSeek options")
	}
	if !kernels.Writable(o.Type) || !kernels.Supported(o.Type) {
		return fmt.Errorf("modelgen: weight type %s not supported (%v)", o.Type, writableTypes())
	}
	moe := d.DenseLead < o.Layers+d.MTP
	switch {
	case o.Layers <= 0 || o.Dim <= 0 || o.Heads <= 0 || o.Context <= 0 || d.KVLoRA <= 0 || d.NopeDim <= 0 ||
		d.ValueDim <= 0 || d.RopeDim <= 0 || d.RopeDim%2 != 0 || d.QLoRA < 0 || d.DenseLead < 0 || d.MTP < 0:
		return fmt.Errorf("modelgen: deepseek2 layers, dim, heads, context, kv_lora, head dims must be positive and rope dims even")
	case d.DenseLead > 0 && o.FFN <= 0:
		return fmt.Errorf("modelgen: deepseek2 dense blocks need a positive ffn")
	case moe && (d.Experts <= 0 || d.ExpertsUsed <= 0 || d.ExpertsUsed > d.Experts || d.ExpertFFN <= 0 || d.Shared < 0):
		return fmt.Errorf("modelgen: deepseek2 MoE needs experts, experts used <= experts and an expert width")
	case moe && d.Groups > 1 && (d.Experts%d.Groups != 0 || d.GroupsUsed <= 0 || d.GroupsUsed >= d.Groups ||
		d.GroupsUsed*(d.Experts/d.Groups) < d.ExpertsUsed):
		return fmt.Errorf("modelgen: %d experts in %d groups keeping %d cannot give %d", d.Experts, d.Groups, d.GroupsUsed, d.ExpertsUsed)
	case d.MTP > 0 && !moe:
		return fmt.Errorf("modelgen: deepseek2 MTP blocks are MoE blocks")
	}
	bs := o.Type.BlockSize()
	for _, n := range []int{o.Dim, o.FFN, d.QLoRA, d.KVLoRA, d.NopeDim, d.ExpertFFN, o.Heads * d.ValueDim} {
		if n%bs != 0 {
			return fmt.Errorf("modelgen: dim, ffn, q_lora, kv_lora, nope dims, expert ffn and heads·value dims must be multiples of the %s block size %d", o.Type, bs)
		}
	}
	return nil
}

// deepseek writes the deepseek2 metadata and blocks (spec §7.4, §7.5). Weights are U(±√3·s) with s =
// 1/√fan-in, except: the projections that write into the residual stream (attn_output and every down
// projection) are scaled by residual(), so a rounding difference grows little from block to block; the
// router has 2/√D, so expert choices are well separated; the output head (Generate) makes next-token
// distributions peaked. With the earlier 1/√fan-in everywhere and queries at 2/√fan-in, the 27-block
// Q8_0 V2-Lite-style models differed from llama.cpp by 3e-2 to 1.3e-1 (six seeds): a flipped Q8_0
// activation rounding (float32 summation order differs from llama.cpp's) grew over the blocks and flipped
// expert choices; with these scales, by 5e-3 to 1.4e-2.
func (g *gen) deepseek(nVocab int) {
	o, d, w := g.o, g.o.DeepSeek, g.w
	a := o.Arch + "."
	D, H, rkv, dn, dr, dv := o.Dim, o.Heads, d.KVLoRA, d.NopeDim, d.RopeDim, d.ValueDim
	dq := dn + dr
	w.Set(a+"vocab_size", uint32(nVocab))
	w.Set(a+"rope.dimension_count", uint32(dr))
	w.Set(a+"leading_dense_block_count", uint32(d.DenseLead))
	if d.QLoRA > 0 {
		w.Set(a+"attention.q_lora_rank", uint32(d.QLoRA))
	}
	w.Set(a+"attention.kv_lora_rank", uint32(rkv))
	if d.LegacyKVB { // per-head keys and values, as llama.cpp's converter wrote them before MLA GGUFs
		w.Set(a+"attention.head_count_kv", uint32(H))
		w.Set(a+"attention.key_length", uint32(dq))
		w.Set(a+"attention.value_length", uint32(dv))
	} else {
		w.Set(a+"attention.key_length", uint32(rkv+dr))
		w.Set(a+"attention.value_length", uint32(rkv))
		w.Set(a+"attention.key_length_mla", uint32(dq))
		w.Set(a+"attention.value_length_mla", uint32(dv))
	}
	if d.DenseLead < o.Layers+d.MTP {
		w.Set(a+"expert_feed_forward_length", uint32(d.ExpertFFN))
		w.Set(a+"expert_count", uint32(d.Experts))
		w.Set(a+"expert_used_count", uint32(d.ExpertsUsed))
		w.Set(a+"expert_shared_count", uint32(d.Shared))
		if d.WeightsScale != 0 {
			w.Set(a+"expert_weights_scale", d.WeightsScale)
		}
		if d.WeightsNorm {
			w.Set(a+"expert_weights_norm", true)
		}
		w.Set(a+"expert_gating_func", uint32(map[bool]int{false: 1, true: 2}[d.Sigmoid]))
		if d.Groups > 0 {
			w.Set(a+"expert_group_count", uint32(d.Groups))
			w.Set(a+"expert_group_used_count", uint32(d.GroupsUsed))
		}
	}
	if d.YaRN > 0 {
		w.Set(a+"rope.scaling.type", "yarn")
		w.Set(a+"rope.scaling.factor", d.YaRN)
		w.Set(a+"rope.scaling.original_context_length", uint32(4096))
		w.Set(a+"rope.scaling.yarn_log_multiplier", float32(0.1*float64(d.MScaleAllDim)))
		w.Set(a+"rope.scaling.yarn_beta_fast", float32(32))
		w.Set(a+"rope.scaling.yarn_beta_slow", float32(1))
	}
	if d.MTP > 0 {
		w.Set(a+"nextn_predict_layers", uint32(d.MTP))
	}
	fan := func(n int) float64 { return 1 / math.Sqrt(float64(n)) }
	res := g.residual()
	for l := 0; l < o.Layers+d.MTP; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		g.norm(p+"attn_norm.weight", D)
		if d.QLoRA > 0 {
			g.matrix(p+"attn_q_a.weight", D, d.QLoRA, fan(D))
			g.norm(p+"attn_q_a_norm.weight", d.QLoRA)
			g.matrix(p+"attn_q_b.weight", d.QLoRA, H*dq, fan(d.QLoRA))
		} else {
			g.matrix(p+"attn_q.weight", D, H*dq, fan(D))
		}
		g.matrix(p+"attn_kv_a_mqa.weight", D, rkv+dr, fan(D))
		g.norm(p+"attn_kv_a_norm.weight", rkv)
		g.kvb(p, H, rkv, dn, dv, fan(rkv))
		g.matrix(p+"attn_output.weight", H*dv, D, res*fan(H*dv))
		g.norm(p+"ffn_norm.weight", D)
		if l < d.DenseLead {
			g.matrix(p+"ffn_gate.weight", D, o.FFN, fan(D))
			g.matrix(p+"ffn_up.weight", D, o.FFN, fan(D))
			g.matrix(p+"ffn_down.weight", o.FFN, D, res*fan(o.FFN))
		} else {
			g.moe(p, D, fan)
		}
		if l >= o.Layers { // DeepSeek-V3's MTP module: its own embedding, head norm and head, as its HF files
			g.matrix(p+"nextn.eh_proj.weight", 2*D, D, fan(2*D))
			g.norm(p+"nextn.enorm.weight", D)
			g.norm(p+"nextn.hnorm.weight", D)
			g.matrix(p+"nextn.embed_tokens.weight", D, nVocab, 1)
			g.norm(p+"nextn.shared_head_norm.weight", D)
			g.matrix(p+"nextn.shared_head_head.weight", D, nVocab, 4/math.Sqrt(float64(D)))
		}
	}
}

// residual is the extra scale of the projections that write into the residual stream: 1/√(2·blocks), as
// GPT-2 initializes them, so the stream's variance stays O(1) over the depth.
func (g *gen) residual() float64 { return 1 / math.Sqrt(float64(2*g.o.Layers)) }

// moe writes one block's router, routed experts (stacked) and shared experts.
func (g *gen) moe(p string, D int, fan func(int) float64) {
	d := g.o.DeepSeek
	E, Ie := d.Experts, d.ExpertFFN
	g.uniformRows(p+"ffn_gate_inp.weight", kernels.F32, []uint64{uint64(D), uint64(E)}, 2*fan(D)) // routers stay F32
	if d.Sigmoid {
		g.vector(p+"exp_probs_b.bias", E, 0.1)
	}
	stack := []uint64{uint64(D), uint64(Ie), uint64(E)}
	if d.FusedGateUp { // each expert's gate rows, then its up rows: the same values as the separate tensors
		gate, up := p+"ffn_gate_exps.weight", p+"ffn_up_exps.weight"
		a := fan(D) * math.Sqrt(3)
		g.rows(p+"ffn_gate_up_exps.weight", g.o.Type, []uint64{uint64(D), uint64(2 * Ie), uint64(E)}, func() func([]float32) {
			rg, ru, r := g.rng(gate), g.rng(up), 0
			return func(v []float32) {
				src := rg
				if r%(2*Ie) >= Ie {
					src = ru
				}
				for i := range v {
					v[i] = float32((2*src.Float64() - 1) * a)
				}
				r++
			}
		})
	} else {
		g.uniformRows(p+"ffn_gate_exps.weight", g.o.Type, stack, fan(D))
		g.uniformRows(p+"ffn_up_exps.weight", g.o.Type, stack, fan(D))
	}
	g.uniformRows(p+"ffn_down_exps.weight", g.o.Type, []uint64{uint64(Ie), uint64(D), uint64(E)}, g.residual()*fan(Ie))
	if S := d.Shared * Ie; S > 0 {
		g.matrix(p+"ffn_gate_shexp.weight", D, S, fan(D))
		g.matrix(p+"ffn_up_shexp.weight", D, S, fan(D))
		g.matrix(p+"ffn_down_shexp.weight", S, D, g.residual()*fan(S))
	}
}

// kvb writes a block's kv_b_proj W [H·(dn+dv), rkv] (the tensor stream of attn_kv_b), either as is
// (legacy) or split as the converter does: attn_k_b ne [dn, rkv, H] with element (h, c, j) =
// W[h(dn+dv)+j][c], and attn_v_b ne [rkv, dv, H] with row (h, j) = W[h(dn+dv)+dn+j].
func (g *gen) kvb(p string, H, rkv, dn, dv int, s float64) {
	name := p + "attn_kv_b.weight"
	if g.o.DeepSeek.LegacyKVB {
		g.matrix(name, rkv, H*(dn+dv), s)
		return
	}
	full := func() []float32 { return uniform(g.rng(name), H*(dn+dv)*rkv, s) }
	rowsOf := func(pick func(W []float32, r int, v []float32)) func() func([]float32) {
		return func() func([]float32) {
			W, r := full(), 0
			return func(v []float32) { pick(W, r, v); r++ }
		}
	}
	g.rows(p+"attn_k_b.weight", g.o.Type, []uint64{uint64(dn), uint64(rkv), uint64(H)}, rowsOf(func(W []float32, r int, v []float32) {
		h, c := r/rkv, r%rkv
		for j := range v {
			v[j] = W[(h*(dn+dv)+j)*rkv+c]
		}
	}))
	g.rows(p+"attn_v_b.weight", g.o.Type, []uint64{uint64(rkv), uint64(dv), uint64(H)}, rowsOf(func(W []float32, r int, v []float32) {
		h, j := r/dv, r%dv
		copy(v, W[(h*(dn+dv)+dn+j)*rkv:])
	}))
}
