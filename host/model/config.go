// Package model loads dense transformer models from GGUF (architectures qwen2 and llama, which cover the
// DeepSeek-R1-Distill family) and runs their forward pass on the kernels package.
package model

import (
	"fmt"
	"math"

	"github.com/wasmoe/wasmoe/host/gguf"
)

// Config holds the hyper-parameters of a dense model, read from GGUF metadata (spec §7.6).
type Config struct {
	Arch      string
	Name      string
	Blocks    int // transformer blocks (GGUF block_count)
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
	spec, ok := archs[arch]
	if !ok {
		return Config{}, fmt.Errorf("model: %s: architecture %q is not supported (supported: qwen2, llama)", f.Path, arch)
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
