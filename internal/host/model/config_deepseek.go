package model

import (
	"fmt"
	"math"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/kernels"
)

// archDeepSeek2 is the GGUF architecture of DeepSeek V2, V2-Lite, V3 and R1.
const archDeepSeek2 = "deepseek2"

// metaReader reads one architecture's keys; the first error sticks and names the file and the key.
type metaReader struct {
	f    *gguf.File
	arch string
	err  error
}

func (r *metaReader) fail(key, format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("model: %s: metadata %s.%s %s", r.f.Path, r.arch, key, fmt.Sprintf(format, args...))
	}
}

// count reads a non-negative integer; a missing key gives def, or an error when required.
func (r *metaReader) count(key string, required bool, def int) int {
	v, ok := r.f.Value(r.arch + "." + key)
	if !ok {
		if required {
			r.fail(key, "missing")
		}
		return def
	}
	n, ok := r.f.Uint(r.arch + "." + key)
	if !ok || n > math.MaxInt32 {
		r.fail(key, "= %v is not a non-negative integer", v.V)
		return def
	}
	return int(n)
}

// positive reads a required integer that must be above zero.
func (r *metaReader) positive(key string) int {
	n := r.count(key, true, 0)
	if n == 0 && r.err == nil {
		r.fail(key, "is 0")
	}
	return n
}

// float reads an optional number.
func (r *metaReader) float(key string, def float32) float32 {
	v, ok := r.f.Value(r.arch + "." + key)
	if !ok {
		return def
	}
	x, ok := r.f.Float(r.arch + "." + key)
	if !ok || math.IsNaN(x) || math.IsInf(x, 0) {
		r.fail(key, "= %v is not a finite number", v.V)
		return def
	}
	return float32(x)
}

func (r *metaReader) has(key string) bool {
	_, ok := r.f.Value(r.arch + "." + key)
	return ok
}

// readDeepSeekConfig reads the deepseek2 keys of spec §7.4 with llama.cpp's defaults.
func readDeepSeekConfig(f *gguf.File) (Config, error) {
	r := &metaReader{f: f, arch: archDeepSeek2}
	c := Config{Arch: archDeepSeek2, KVHeads: 1}
	c.Name, _ = f.String("general.name")
	all := r.positive("block_count")
	c.NextN = r.count("nextn_predict_layers", false, 0)
	c.Context = r.positive("context_length")
	c.Dim = r.positive("embedding_length")
	c.Heads = r.positive("attention.head_count")
	c.RopeDim = r.positive("rope.dimension_count")
	c.MLA.QLoRA = r.count("attention.q_lora_rank", false, 0)
	c.MLA.KVLoRA = r.positive("attention.kv_lora_rank")
	// An MLA file has both *_mla keys and caches rkv+dr wide keys; a legacy one gives the head sizes in
	// key_length / value_length.
	if r.has("attention.key_length_mla") || r.has("attention.value_length_mla") {
		c.HeadDim = r.positive("attention.key_length_mla")
		c.MLA.ValueDim = r.positive("attention.value_length_mla")
	} else {
		c.HeadDim = r.positive("attention.key_length")
		c.MLA.ValueDim = r.positive("attention.value_length")
	}
	c.Eps = r.float("attention.layer_norm_rms_epsilon", 0)
	if !r.has("attention.layer_norm_rms_epsilon") {
		r.fail("attention.layer_norm_rms_epsilon", "missing")
	}
	c.RopeBase = r.float("rope.freq_base", 10000)
	m := &c.MoE
	m.DenseLead = r.count("leading_dense_block_count", false, 0)
	if r.err != nil {
		return c, r.err
	}
	if c.NextN >= all {
		r.fail("nextn_predict_layers", "= %d leaves no main block of %d", c.NextN, all)
	}
	c.Blocks = all - c.NextN
	if m.DenseLead > 0 {
		c.FFN = r.positive("feed_forward_length")
	}
	if m.DenseLead < all { // some blocks, main or MTP, are MoE
		m.Experts = r.positive("expert_count")
		m.Used = r.positive("expert_used_count")
		m.FFN = r.positive("expert_feed_forward_length")
		m.Shared = r.count("expert_shared_count", true, 0)
		switch g := r.count("expert_gating_func", false, 0); g {
		case 0, 1: // absent or 0 means softmax for DeepSeek V2 files
		case 2:
			m.Sigmoid = true
		default:
			r.fail("expert_gating_func", "= %d is not supported (1 softmax, 2 sigmoid)", g)
		}
		m.Groups = r.count("expert_group_count", false, 0)
		m.GroupsUsed = r.count("expert_group_used_count", false, 0)
		m.Norm, _ = f.Bool(archDeepSeek2 + ".expert_weights_norm")
		m.Scale = r.float("expert_weights_scale", 0)
		if r.err == nil {
			router := kernels.Router{Experts: m.Experts, K: m.Used, Groups: m.Groups, GroupsUsed: m.GroupsUsed}
			if err := router.Validate(); err != nil {
				r.fail("expert_*", "describe an impossible routing: %v", err)
			}
		}
	}
	c.Rope = RopeScaling{Type: "none", OrigContext: c.Context, AttnFactor: r.float("rope.scaling.attn_factor", 1)}
	switch st, ok := f.String(archDeepSeek2 + ".rope.scaling.type"); {
	case !ok || st == "linear": // llama.cpp: absent means linear, with factor 0 meaning none
		if factor := r.float("rope.scaling.factor", 0); factor != 0 {
			c.Rope.Type, c.Rope.Factor = "linear", factor
		}
	case st == "none":
	case st == "yarn":
		c.Rope.Type = "yarn"
		c.Rope.Factor = r.float("rope.scaling.factor", 0)
		c.Rope.OrigContext = r.count("rope.scaling.original_context_length", false, c.Context)
		c.Rope.LogMul = r.float("rope.scaling.yarn_log_multiplier", 0)
	default:
		r.fail("rope.scaling.type", "= %q is not supported (none, linear, yarn)", st)
	}
	if r.err != nil {
		return c, r.err
	}
	c.MLA.NopeDim = c.HeadDim - c.RopeDim
	switch {
	case c.RopeDim%2 != 0 || c.MLA.NopeDim < 1:
		return c, fmt.Errorf("model: %s: rope dimension_count %d must be even and below the key head size %d", f.Path, c.RopeDim, c.HeadDim)
	case c.Rope.Factor < 0 || (c.Rope.Type == "yarn" && c.Rope.Factor == 0) || c.Rope.OrigContext == 0:
		return c, fmt.Errorf("model: %s: rope.scaling factor %v / original context %d are invalid for %s scaling", f.Path, c.Rope.Factor, c.Rope.OrigContext, c.Rope.Type)
	}
	return c, nil
}

// deepseekRope returns the rotation of q_pe and k_pe and the attention softmax scale, computed in
// float32 exactly as llama.cpp derives them for deepseek2 (llama-context.cpp, models/deepseek2.cpp; spec
// §2.4, §3.4.4). For a YaRN file with yarn_log_multiplier the net rope magnitude is 1 and the softmax scale
// is m²/√dq with m = 1 + yarn_log_multiplier·ln(factor); β_fast/β_slow are always 32/1.
func deepseekRope(c *Config) (kernels.YaRN, float32) {
	y := kernels.YaRN{Dims: c.RopeDim, Base: c.RopeBase, FreqScale: 1, AttnFactor: 1}
	if c.Rope.Type != "none" {
		y.FreqScale = 1 / c.Rope.Factor
	}
	logMul := float32(0)
	if c.Rope.LogMul != 0 {
		logMul = c.Rope.LogMul / 0.1 // the loader cancels the converter's 0.1
	}
	mscale := func(scale, m float32) float32 {
		if scale <= 1 {
			return 1
		}
		return 0.1*m*log32(scale) + 1
	}
	if c.Rope.Type == "yarn" {
		y.ExtFactor = 1
		factor := 1 / y.FreqScale
		if logMul != 0 {
			m := float32(1) // llama.cpp assumes mscale = mscale_all_dim for deepseek2
			if logMul != 1 {
				m = logMul
			}
			y.AttnFactor = mscale(factor, m) / mscale(factor, logMul)
		} else {
			y.AttnFactor = mscale(factor, 1)
		}
		y.AttnFactor *= 1 / (1 + 0.1*log32(factor)) // cancels the factor the rope kernel applies
		y.Low, y.High = kernels.YaRNCorrDims(c.RopeDim, c.Rope.OrigContext, c.RopeBase, 32, 1)
	}
	y.AttnFactor *= c.Rope.AttnFactor
	orig := y.AttnFactor * (1 + 0.1*log32(1/y.FreqScale))
	m := orig * (1 + 0.1*logMul*log32(1/y.FreqScale))
	return y, m * m / float32(math.Sqrt(float64(c.HeadDim)))
}

// log32 is C's logf: the natural logarithm rounded to float32.
func log32(v float32) float32 { return float32(math.Log(float64(v))) }
