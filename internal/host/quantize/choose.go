package quantize

import (
	"fmt"
	"strings"

	"github.com/wasmoe/wasmoe/internal/kernels"
)

// This file is a port of the no-imatrix path of llama.cpp's per-tensor type choice (src/llama-quant.cpp:
// tensor_get_category, tensor_allows_quantization, tensor_type_fallback, llama_tensor_get_type and
// llama_tensor_get_type_impl), with llama-quantize's default parameters (no --pure, no overrides, the
// output tensor quantized). Names and branches follow the C++ so that the two can be read side by side.

// category is llama.cpp's tensor_category.
type category int

const (
	catTokenEmbd category = iota
	catAttnQ
	catAttnV
	catAttnK
	catAttnQKV
	catAttnKVB
	catAttnOutput
	catFFNUp
	catFFNGate
	catFFNDown
	catOutput
	catOther
)

// tensorCategory is tensor_get_category: broad roles by name, tested in llama.cpp's order.
func tensorCategory(name string) category {
	switch {
	case name == "output.weight":
		return catOutput
	case name == "token_embd.weight" || name == "per_layer_token_embd.weight":
		return catTokenEmbd
	case strings.Contains(name, "attn_qkv.weight"):
		return catAttnQKV
	case strings.Contains(name, "attn_kv_b.weight"):
		return catAttnKVB
	case strings.Contains(name, "attn_v.weight"):
		return catAttnV
	case strings.Contains(name, "attn_k.weight"):
		return catAttnK
	case strings.Contains(name, "attn_q.weight"):
		return catAttnQ
	case strings.Contains(name, "attn_output.weight"):
		return catAttnOutput
	case strings.Contains(name, "ffn_up"):
		return catFFNUp
	case strings.Contains(name, "ffn_gate"):
		return catFFNGate
	case strings.Contains(name, "ffn_down"):
		return catFFNDown
	}
	return catOther
}

// isAttnV is category_is_attn_v: the tensors more sensitive to quantization.
func (c category) isAttnV() bool { return c == catAttnV || c == catAttnQKV || c == catAttnKVB }

// nDims is ggml_n_dims: the rank without trailing dimensions of 1 (at least 1).
func nDims(dims []uint64) int {
	n := len(dims)
	for n > 1 && dims[n-1] == 1 {
		n--
	}
	return max(n, 1)
}

// noQuantize lists the name fragments tensor_allows_quantization keeps as they are.
var noQuantize = []string{
	"_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel", "per_layer_model_proj",
	"ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight", "indexer.q_proj.weight",
	"time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight",
	"time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight", "time_mix_a0.weight",
	"time_mix_a1.weight", "time_mix_a2.weight", "time_mix_g1.weight", "time_mix_g2.weight",
	"time_mix_decay_w1.weight", "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight", "attn_rel_b.weight",
	".position_embd", "sam.pos_embd", "sam.neck.", "sam.net_", ".rel_pos", ".patch_embd", ".patch_merger",
	"a.rvq.codebook", "mm.a.code_embd",
}

// allowsQuantization is tensor_allows_quantization: only 2-D and 3-D weights, and not norms, MoE routers,
// positional embeddings and the other small or sensitive tensors llama.cpp lists.
func allowsQuantization(name string, dims []uint64) bool {
	if nDims(dims) < 2 || !strings.HasSuffix(name, "weight") {
		return false
	}
	if name == "position_embd.weight" || name == "token_types.weight" {
		return false
	}
	for _, s := range noQuantize {
		if strings.Contains(name, s) {
			return false
		}
	}
	return true
}

// fallback is tensor_type_fallback: a type whose block does not divide the row length ne[0] is replaced
// by a 32-block type, and that by F16 if 32 does not divide it either.
func fallback(ncols int, target kernels.DType) (kernels.DType, error) {
	qk := target.BlockSize()
	if ncols%qk == 0 {
		return target, nil
	}
	t := target
	switch target {
	case kernels.IQ1_S, kernels.IQ1_M, kernels.IQ2_XXS, kernels.IQ2_XS, kernels.IQ2_S, kernels.IQ3_XXS,
		kernels.IQ3_S, kernels.IQ4_XS:
		t = kernels.IQ4_NL
	case kernels.Q2_K, kernels.Q3_K, kernels.TQ1_0, kernels.TQ2_0:
		t = kernels.Q4_0
	case kernels.Q4_K:
		t = kernels.Q5_0
	case kernels.Q5_K:
		t = kernels.Q5_1
	case kernels.Q6_K:
		t = kernels.Q8_0
	default:
		if qk > 32 {
			return 0, fmt.Errorf("no tensor type fallback is defined for type %s", target)
		}
	}
	if ncols%t.BlockSize() != 0 {
		t = kernels.F16
	}
	return t, nil
}

// chooser is quantize_state_impl: the model's hyper-parameters and the counters the layer rules read.
// Tensors must be passed to typeFor in llama-quantize's order (see Order), since the attn_v rules count.
type chooser struct {
	hp     HParams
	ftype  FileType
	def    kernels.DType
	tied   bool // no output.weight: token_embd gets the output rules
	nAttnV int
	iAttnV int
	nFFN   int // n_ffn_down = n_ffn_gate = n_ffn_up = n_layer_all
	iDown  int
	iGate  int
	iUp    int
}

// newChooser is init_quantize_state_counters over the names of every tensor of the model.
func newChooser(p Preset, hp HParams, names []string) *chooser {
	c := &chooser{hp: hp, ftype: p.FileType, def: p.Default, tied: true, nFFN: hp.NLayerAll}
	for _, n := range names {
		cat := tensorCategory(n)
		if cat.isAttnV() {
			c.nAttnV++
		}
		if cat == catOutput {
			c.tied = false
		}
	}
	return c
}

// typeFor is llama_tensor_get_type: the type of tensor name (shape dims, stored as cur).
func (c *chooser) typeFor(name string, dims []uint64, cur kernels.DType) (kernels.DType, error) {
	if !allowsQuantization(name, dims) {
		return cur, nil
	}
	t := c.def
	if !isQuantized(t) {
		return t, nil
	}
	t, err := c.impl(t, name, int(dims[0]), dim(dims, 2), tensorCategory(name))
	if err != nil {
		return 0, err
	}
	return fallback(int(dims[0]), t)
}

// dim is ne[i], 1 past the rank.
func dim(dims []uint64, i int) int {
	if i < len(dims) {
		return int(dims[i])
	}
	return 1
}

// useMoreBits is the use_more_bits rule: the first and last eighth of the layers and every third between.
func useMoreBits(i, n int) bool { return i < n/8 || i >= 7*n/8 || (i-n/8)%3 == 2 }

// layerInfo is layer_info: with experts, the layer comes from the name (experts of a layer need not be
// consecutive); otherwise it is the count of such tensors seen so far.
func (c *chooser) layerInfo(i, n int, name string) (int, int, error) {
	if c.hp.NExpert > 1 {
		var l int
		if _, err := fmt.Sscanf(name, "blk.%d.", &l); err != nil {
			return 0, 0, fmt.Errorf("failed to determine layer for tensor %s", name)
		}
		if l < 0 || l >= n {
			return 0, 0, fmt.Errorf("bad layer %d for tensor %s, must be in [0, %d)", l, name, n)
		}
		i = l
	}
	return i, n, nil
}

// impl is llama_tensor_get_type_impl without an importance matrix (has_imatrix false) for the presets
// wasmoe offers; the branches for the imatrix-only presets are kept so that the port stays complete.
func (c *chooser) impl(t kernels.DType, name string, nx, ne2 int, cat category) (kernels.DType, error) {
	ft, hp := c.ftype, c.hp
	falcon := hp.Arch == "falcon"
	gqa := hp.NGQA()
	lowIQ := ft == FtypeIQ2_XXS || ft == FtypeIQ2_XS || ft == FtypeIQ1_S || ft == FtypeIQ2_S || ft == FtypeIQ2_M || ft == FtypeIQ1_M
	switch {
	case cat == catOutput || (c.tied && cat == catTokenEmbd):
		switch {
		case ft == FtypeMXFP4MoE:
			t = kernels.Q8_0
		case falcon || nx%t.BlockSize() != 0:
			t = kernels.Q8_0
		case ft == FtypeIQ2_XXS || ft == FtypeIQ2_XS || ft == FtypeIQ3_XXS || ft == FtypeIQ1_S ||
			ft == FtypeIQ2_S || ft == FtypeIQ2_M || ft == FtypeIQ1_M:
			t = kernels.Q5_K
		case t != kernels.Q8_0:
			t = kernels.Q6_K
		}
	case ft == FtypeMXFP4MoE:
		if ne2 > 1 {
			t = kernels.MXFP4
		} else {
			t = kernels.Q8_0
		}
	case cat == catTokenEmbd:
		switch ft {
		case FtypeIQ2_XXS, FtypeIQ2_XS, FtypeIQ1_S, FtypeIQ1_M:
			t = kernels.Q2_K
		case FtypeIQ2_S, FtypeIQ2_M, FtypeIQ3_XXS:
			t = kernels.IQ3_S
		}
	case lowIQ:
		iq3s := ft == FtypeIQ2_S || ft == FtypeIQ2_M
		switch {
		case cat.isAttnV():
			if gqa >= 4 || hp.NExpert >= 4 {
				t = kernels.Q4_K
			} else if iq3s {
				t = kernels.IQ3_S
			} else {
				t = kernels.Q2_K
			}
			c.iAttnV++
		case hp.NExpert == 8 && cat == catAttnK:
			t = kernels.Q4_K
		case cat == catFFNDown:
			if c.iDown < c.nFFN/8 {
				if iq3s {
					t = kernels.IQ3_S
				} else {
					t = kernels.Q2_K
				}
			}
			c.iDown++
		case cat == catAttnOutput:
			if hp.NExpert == 8 {
				t = kernels.Q5_K
			} else if ft == FtypeIQ1_S || ft == FtypeIQ1_M {
				t = kernels.IQ2_XXS
			} else if iq3s {
				t = kernels.IQ3_S
			}
		}
	case cat.isAttnV():
		switch {
		case ft == FtypeQ2_K:
			t = pick(gqa >= 4, kernels.Q4_K, kernels.Q3_K)
		case ft == FtypeQ2_K_S && gqa >= 4:
			t = kernels.Q4_K
		case ft == FtypeIQ3_XXS:
			t = pick(gqa >= 4, kernels.Q4_K, kernels.IQ3_S) // no imatrix
		case (ft == FtypeIQ3_XS || ft == FtypeIQ3_S) && gqa >= 4:
			t = kernels.Q4_K
		case ft == FtypeIQ3_M:
			t = kernels.Q4_K
		case ft == FtypeQ3_K_M:
			t = pick(c.iAttnV < 2, kernels.Q5_K, kernels.Q4_K)
		case ft == FtypeQ3_K_L:
			t = kernels.Q5_K
		case (ft == FtypeIQ4_NL || ft == FtypeIQ4_XS) && gqa >= 4:
			t = kernels.Q5_K
		case (ft == FtypeQ4_K_M || ft == FtypeQ5_K_M) && useMoreBits(c.iAttnV, c.nAttnV):
			t = kernels.Q6_K
		case ft == FtypeQ4_K_S && c.iAttnV < 4:
			t = kernels.Q5_K
		}
		if hp.Is70B && (t == kernels.Q3_K || t == kernels.Q4_K) {
			t = kernels.Q5_K
		}
		if hp.NExpert == 8 {
			t = kernels.Q8_0
		}
		c.iAttnV++
	case cat == catAttnK:
		switch {
		case hp.NExpert == 8:
			t = kernels.Q8_0
		case ft == FtypeIQ3_XS:
			t = kernels.IQ3_XXS
		case ft == FtypeIQ3_XXS:
			t = kernels.IQ2_S
		}
	case cat == catAttnQ:
		switch ft {
		case FtypeIQ3_XS:
			t = kernels.IQ3_XXS
		case FtypeIQ3_XXS:
			t = kernels.IQ2_S
		}
	case cat == catFFNDown:
		i, n, err := c.layerInfo(c.iDown, c.nFFN, name)
		if err != nil {
			return 0, err
		}
		switch {
		case ft == FtypeQ2_K:
			t = kernels.Q3_K
		case ft == FtypeQ2_K_S:
			if i < n/8 {
				t = kernels.Q4_K
			}
		case ft == FtypeIQ3_XXS:
			t = pick(i < n/8, kernels.Q4_K, kernels.Q3_K)
		case ft == FtypeQ3_K_M:
			switch {
			case i < n/16:
				t = kernels.Q5_K
			case !falcon || useMoreBits(i, n):
				t = kernels.Q4_K
			default:
				t = kernels.Q3_K
			}
		case ft == FtypeIQ3_M && (i < n/8 || (hp.NExpert == 8 && useMoreBits(i, n))):
			t = kernels.Q4_K
		case ft == FtypeQ3_K_L:
			t = pick(falcon, kernels.Q4_K, kernels.Q5_K)
		case ft == FtypeQ4_K_M:
			if falcon {
				switch {
				case i < n/16:
					t = kernels.Q6_K
				case useMoreBits(i, n):
					t = kernels.Q5_K
				default:
					t = kernels.Q4_K
				}
			} else if useMoreBits(i, n) {
				t = kernels.Q6_K
			}
		case i < n/8 && (ft == FtypeIQ4_NL || ft == FtypeIQ4_XS):
			t = kernels.Q5_K
		case ft == FtypeQ5_K_M && useMoreBits(i, n):
			t = kernels.Q6_K
		case ft == FtypeQ4_K_S && !falcon && i < n/8:
			t = kernels.Q5_K
		}
		c.iDown++
	case cat == catAttnOutput:
		if !falcon {
			if hp.NExpert == 8 {
				switch ft {
				case FtypeQ2_K, FtypeIQ3_XS, FtypeIQ3_XXS, FtypeQ3_K_S, FtypeQ3_K_M, FtypeIQ4_NL, FtypeQ4_K_S,
					FtypeQ4_K_M, FtypeIQ3_S, FtypeIQ3_M, FtypeIQ4_XS:
					t = kernels.Q5_K
				}
			} else {
				switch ft {
				case FtypeQ2_K:
					t = kernels.Q3_K
				case FtypeIQ3_XXS:
					t = kernels.IQ3_S
				case FtypeQ3_K_M, FtypeIQ3_M:
					t = kernels.Q4_K
				case FtypeQ3_K_L:
					t = kernels.Q5_K
				}
			}
		} else if ft == FtypeQ3_K_L {
			t = kernels.Q4_K
		}
	case cat == catAttnQKV:
		switch ft {
		case FtypeQ3_K_M, FtypeQ3_K_L, FtypeIQ3_M:
			t = kernels.Q4_K
		case FtypeQ4_K_M:
			t = kernels.Q5_K
		case FtypeQ5_K_M:
			t = kernels.Q6_K
		}
	case cat == catFFNGate:
		i, n, err := c.layerInfo(c.iGate, c.nFFN, name)
		if err != nil {
			return 0, err
		}
		if ft == FtypeIQ3_XS && i >= n/8 && i < 7*n/8 {
			t = kernels.IQ3_XXS
		}
		c.iGate++
	case cat == catFFNUp:
		i, n, err := c.layerInfo(c.iUp, c.nFFN, name)
		if err != nil {
			return 0, err
		}
		if ft == FtypeIQ3_XS && i >= n/8 && i < 7*n/8 {
			t = kernels.IQ3_XXS
		}
		c.iUp++
	}
	return t, nil
}

// pick is C's cond ? a : b.
func pick(cond bool, a, b kernels.DType) kernels.DType {
	if cond {
		return a
	}
	return b
}
