// Package model loads transformer models from GGUF and runs their forward pass on the kernels package:
// the dense architectures qwen2 and llama (the DeepSeek-R1-Distill family) and deepseek2 (DeepSeek V2,
// V2-Lite, V3, R1: Multi-head Latent Attention with a latent KV cache, and DeepSeekMoE).
package model

import (
	"fmt"
	"math"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
)

// Config holds the hyper-parameters of a model, read from GGUF metadata (spec §7.4, §7.6).
type Config struct {
	Arch      string
	Name      string
	Blocks    int // transformer blocks run by Forward (GGUF block_count less nextn_predict_layers)
	Dim       int // hidden size D
	FFN       int // feed-forward size I
	Heads     int // query heads H
	KVHeads   int // key/value heads H_kv (GQA)
	HeadDim   int // per-head size, also the rotary width here
	RopeDim   int // rotated dims per head (= HeadDim for these archs)
	Vocab     int // logits width
	Context   int // trained context length
	Eps       float32
	RopeBase  float32
	RopeScale float32 // linear RoPE scaling: positions are multiplied by this (1/factor); 1 = none
	Neox      bool    // RoPE pair layout: true = half-split (qwen2), false = interleaved (llama in GGUF)

	// deepseek2 only; zero for the dense architectures. There HeadDim is the query/key head size
	// dn + dr (key_length_mla), RopeDim is dr, KVHeads is 1 and FFN is the dense blocks' width.
	MLA   MLAConfig
	MoE   MoEConfig
	Rope  RopeScaling
	NextN int // multi-token-prediction blocks stored after the Blocks main ones (nextn_predict_layers)
}

// MLAConfig is the shape of Multi-head Latent Attention (spec §3.4).
type MLAConfig struct {
	QLoRA    int // q_lora_rank rq; 0: the query is a single projection (attn_q, as in V2-Lite)
	KVLoRA   int // kv_lora_rank rkv: width of the cached latent c_kv
	NopeDim  int // dn: per-head query/key dimensions without rotation
	ValueDim int // dv: per-head value dimensions
}

// MoEConfig describes the feed-forward blocks of deepseek2 (spec §3.2, §3.3).
type MoEConfig struct {
	DenseLead  int     // leading blocks with a dense FFN (leading_dense_block_count)
	Experts    int     // routed experts E
	Used       int     // experts per token K
	Shared     int     // shared experts, fused into one FFN of Shared·FFN width
	FFN        int     // width Ie of each expert (expert_feed_forward_length)
	Sigmoid    bool    // gating: sigmoid (expert_gating_func 2); softmax otherwise
	Groups     int     // expert groups (expert_group_count); <= 1: no group limiting
	GroupsUsed int     // groups kept per token (expert_group_used_count)
	Norm       bool    // normalize the K weights (expert_weights_norm)
	Scale      float32 // multiply the weights (expert_weights_scale); 0 when absent
}

// RopeScaling is a deepseek2 file's rope.scaling.* metadata as stored; the rotation and the softmax scale
// are derived from it the way llama.cpp derives them (see deepseekRope).
type RopeScaling struct {
	Type        string  // "none", "linear" or "yarn"
	Factor      float32 // rope.scaling.factor; 0 when absent (no scaling)
	OrigContext int     // rope.scaling.original_context_length; the context length when absent
	LogMul      float32 // rope.scaling.yarn_log_multiplier (0.1·mscale_all_dim); 0 when absent
	AttnFactor  float32 // rope.scaling.attn_factor; 1 when absent
}

// archSpec is what differs between the supported dense architectures.
type archSpec struct {
	neox bool // pair layout of RoPE in GGUF files (spec §2.3)
}

var archs = map[string]archSpec{
	"qwen2": {neox: true},
	"llama": {neox: false},
}

// readConfig reads the hyper-parameters; errors name the file and the key.
func readConfig(f *gguf.File) (Config, error) {
	arch, ok := f.String("general.architecture")
	if !ok {
		return Config{}, fmt.Errorf("model: %s: metadata general.architecture missing", f.Path)
	}
	if arch == archDeepSeek2 {
		return readDeepSeekConfig(f)
	}
	spec, ok := archs[arch]
	if !ok {
		return Config{}, fmt.Errorf("model: %s: architecture %q is not supported (supported: qwen2, llama, deepseek2)", f.Path, arch)
	}
	c := Config{Arch: arch, Neox: spec.neox}
	c.Name, _ = f.String("general.name")
	var err error
	need := func(key string) int {
		if err != nil {
			return 0
		}
		n, ok := f.Uint(arch + "." + key)
		if !ok || n == 0 || n > math.MaxInt32 {
			err = fmt.Errorf("model: %s: metadata %s.%s missing or not a positive integer", f.Path, arch, key)
		}
		return int(n)
	}
	c.Blocks = need("block_count")
	c.Context = need("context_length")
	c.Dim = need("embedding_length")
	c.FFN = need("feed_forward_length")
	c.Heads = need("attention.head_count")
	if err != nil {
		return c, err
	}
	c.KVHeads = c.Heads
	if n, ok := f.Uint(arch + ".attention.head_count_kv"); ok {
		c.KVHeads = int(n)
	}
	c.HeadDim = c.Dim / c.Heads
	if n, ok := f.Uint(arch + ".attention.key_length"); ok {
		c.HeadDim = int(n)
	}
	c.RopeDim = c.HeadDim
	if n, ok := f.Uint(arch + ".rope.dimension_count"); ok {
		c.RopeDim = int(n)
	}
	c.RopeBase = 10000
	if v, ok := f.Float(arch + ".rope.freq_base"); ok {
		c.RopeBase = float32(v)
	}
	c.Eps = 1e-5
	if v, ok := f.Float(arch + ".attention.layer_norm_rms_epsilon"); ok {
		c.Eps = float32(v)
	}
	c.RopeScale = 1
	switch st, _ := f.String(arch + ".rope.scaling.type"); st {
	case "", "none":
	case "linear":
		factor, ok := f.Float(arch + ".rope.scaling.factor")
		if !ok || factor <= 0 {
			return c, fmt.Errorf("model: %s: metadata %s.rope.scaling.factor missing or not positive for linear scaling", f.Path, arch)
		}
		c.RopeScale = float32(1 / factor)
	default:
		return c, fmt.Errorf("model: %s: metadata %s.rope.scaling.type = %q is not supported for %s (none, linear)", f.Path, arch, st, arch)
	}
	switch {
	case c.KVHeads <= 0 || c.Heads%c.KVHeads != 0:
		return c, fmt.Errorf("model: %s: head_count %d is not a multiple of head_count_kv %d", f.Path, c.Heads, c.KVHeads)
	case c.HeadDim <= 0 || c.RopeDim%2 != 0 || c.RopeDim > c.HeadDim:
		return c, fmt.Errorf("model: %s: head dim %d / rope dims %d are invalid", f.Path, c.HeadDim, c.RopeDim)
	}
	return c, nil
}
