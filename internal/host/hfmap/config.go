package hfmap

import (
	"encoding/json"
	"fmt"
	"math"
)

// Config is the part of a Hugging Face config.json that wasmoe's architectures use.
type Config struct {
	ModelType   string       `json:"model_type"`
	Hidden      int          `json:"hidden_size"`
	FFN         int          `json:"intermediate_size"`
	Layers      int          `json:"num_hidden_layers"`
	Heads       int          `json:"num_attention_heads"`
	KVHeads     int          `json:"num_key_value_heads"`
	HeadDim     int          `json:"head_dim"`
	Vocab       int          `json:"vocab_size"`
	Context     int          `json:"max_position_embeddings"`
	Eps         float64      `json:"rms_norm_eps"`
	RopeTheta   float64      `json:"rope_theta"`
	TiedOutput  bool         `json:"tie_word_embeddings"`
	RopeScaling *RopeScaling `json:"rope_scaling,omitempty"`

	// DeepSeek V2/V3 (MLA and MoE).
	QLoRA      int      `json:"q_lora_rank"`
	KVLoRA     int      `json:"kv_lora_rank"`
	RopeDim    int      `json:"qk_rope_head_dim"`
	NopeDim    int      `json:"qk_nope_head_dim"`
	VDim       int      `json:"v_head_dim"`
	ExpertFFN  int      `json:"moe_intermediate_size"`
	Experts    int      `json:"n_routed_experts"`
	Shared     int      `json:"n_shared_experts"`
	Used       int      `json:"num_experts_per_tok"`
	Groups     int      `json:"n_group"`
	GroupsUsed int      `json:"topk_group"`
	Scoring    string   `json:"scoring_func"`
	NormTopK   bool     `json:"norm_topk_prob"`
	Scale      float64  `json:"routed_scaling_factor"`
	DenseLead  int      `json:"first_k_dense_replace"`
	NextN      int      `json:"num_nextn_predict_layers"`
	BOS        *int     `json:"bos_token_id"`
	EOS        any      `json:"eos_token_id"` // an id or a list of ids
	TorchDType string   `json:"torch_dtype,omitempty"`
	Archs      []string `json:"architectures,omitempty"`
}

// RopeScaling is config.json's rope_scaling: YaRN (DeepSeek), linear, or llama3 (Llama 3.1).
type RopeScaling struct {
	Type          string  `json:"type,omitempty"`
	RopeType      string  `json:"rope_type,omitempty"`
	Factor        float64 `json:"factor"`
	OrigContext   int     `json:"original_max_position_embeddings,omitempty"`
	BetaFast      float64 `json:"beta_fast,omitempty"`
	BetaSlow      float64 `json:"beta_slow,omitempty"`
	MScale        float64 `json:"mscale,omitempty"`
	MScaleAllDim  float64 `json:"mscale_all_dim,omitempty"`
	LowFreqFactor float64 `json:"low_freq_factor,omitempty"`
	HighFreqFact  float64 `json:"high_freq_factor,omitempty"`
}

// Arch is the GGUF architecture of a config's model_type.
func (c *Config) Arch() (string, error) {
	switch c.ModelType {
	case "deepseek_v3", "deepseek_v2":
		return "deepseek2", nil
	case "qwen2", "llama":
		return c.ModelType, nil
	}
	return "", fmt.Errorf("model_type %q is not supported (deepseek_v3, deepseek_v2, qwen2, llama)", c.ModelType)
}

// ParseConfig reads config.json; errors name path and the field.
func ParseConfig(b []byte, path string) (*Config, error) {
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if _, err := c.Arch(); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"hidden_size", c.Hidden}, {"num_hidden_layers", c.Layers}, {"num_attention_heads", c.Heads},
		{"vocab_size", c.Vocab}, {"max_position_embeddings", c.Context}} {
		if f.v <= 0 {
			return nil, fmt.Errorf("%s: %s must be a positive integer", path, f.name)
		}
	}
	if c.Layers > 1<<16 || c.Hidden > 1<<20 || c.Heads > 1<<12 || c.NextN < 0 || c.NextN > 16 {
		return nil, fmt.Errorf("%s: num_hidden_layers, hidden_size, num_attention_heads or num_nextn_predict_layers out of range", path)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"intermediate_size", c.FFN}, {"num_key_value_heads", c.KVHeads}, {"head_dim", c.HeadDim},
		{"q_lora_rank", c.QLoRA}, {"kv_lora_rank", c.KVLoRA}, {"qk_rope_head_dim", c.RopeDim},
		{"qk_nope_head_dim", c.NopeDim}, {"v_head_dim", c.VDim}, {"moe_intermediate_size", c.ExpertFFN},
		{"n_routed_experts", c.Experts}, {"n_shared_experts", c.Shared}, {"num_experts_per_tok", c.Used},
		{"n_group", c.Groups}, {"topk_group", c.GroupsUsed}, {"first_k_dense_replace", c.DenseLead}} {
		if f.v < 0 || f.v > 1<<24 {
			return nil, fmt.Errorf("%s: %s = %d is out of range", path, f.name, f.v)
		}
	}
	if c.Eps <= 0 {
		c.Eps = 1e-6
	}
	if c.RopeTheta <= 0 {
		c.RopeTheta = 10000
	}
	return &c, nil
}

// Metadata returns the GGUF metadata llama.cpp's converter writes for the config (spec §7.4, §7.6),
// as key → value with GGUF's Go types (uint32, float32, bool, string).
func (c *Config) Metadata() (map[string]any, error) {
	arch, err := c.Arch()
	if err != nil {
		return nil, err
	}
	m := map[string]any{"general.architecture": arch}
	set := func(k string, v any) { m[arch+"."+k] = v }
	u := func(v int) uint32 { return uint32(v) }
	set("block_count", u(c.Layers+c.NextN))
	set("context_length", u(c.Context))
	set("embedding_length", u(c.Hidden))
	set("attention.head_count", u(c.Heads))
	set("attention.layer_norm_rms_epsilon", float32(c.Eps))
	set("rope.freq_base", float32(c.RopeTheta))
	set("vocab_size", u(c.Vocab))
	if c.FFN > 0 {
		set("feed_forward_length", u(c.FFN))
	}
	if arch != "deepseek2" {
		kv := c.KVHeads
		if kv == 0 {
			kv = c.Heads
		}
		set("attention.head_count_kv", u(kv))
		if c.HeadDim > 0 {
			set("attention.key_length", u(c.HeadDim))
			set("attention.value_length", u(c.HeadDim))
			set("rope.dimension_count", u(c.HeadDim))
		}
		return m, nil
	}
	set("attention.head_count_kv", uint32(1))
	set("rope.dimension_count", u(c.RopeDim))
	set("leading_dense_block_count", u(c.DenseLead))
	if c.QLoRA > 0 {
		set("attention.q_lora_rank", u(c.QLoRA))
	}
	set("attention.kv_lora_rank", u(c.KVLoRA))
	set("attention.key_length", u(c.KVLoRA+c.RopeDim))
	set("attention.value_length", u(c.KVLoRA))
	set("attention.key_length_mla", u(c.NopeDim+c.RopeDim))
	set("attention.value_length_mla", u(c.VDim))
	set("expert_feed_forward_length", u(c.ExpertFFN))
	set("expert_count", u(c.Experts))
	set("expert_used_count", u(c.Used))
	set("expert_shared_count", u(c.Shared))
	if c.Scale != 0 {
		set("expert_weights_scale", float32(c.Scale))
	}
	if c.NormTopK {
		set("expert_weights_norm", true)
	}
	switch c.Scoring {
	case "sigmoid":
		set("expert_gating_func", uint32(2))
	case "", "softmax":
		set("expert_gating_func", uint32(1))
	default:
		return nil, fmt.Errorf("scoring_func %q is not supported (softmax, sigmoid)", c.Scoring)
	}
	if c.Groups > 1 {
		set("expert_group_count", u(c.Groups))
		set("expert_group_used_count", u(c.GroupsUsed))
	}
	if c.NextN > 0 {
		set("nextn_predict_layers", u(c.NextN))
	}
	if rs := c.RopeScaling; rs != nil {
		t := rs.Type
		if t == "" {
			t = rs.RopeType
		}
		switch t {
		case "yarn":
			set("rope.scaling.type", "yarn")
			set("rope.scaling.factor", float32(rs.Factor))
			set("rope.scaling.original_context_length", u(rs.OrigContext))
			set("rope.scaling.yarn_log_multiplier", float32(0.1*rs.MScaleAllDim))
		case "linear":
			set("rope.scaling.type", "linear")
			set("rope.scaling.factor", float32(rs.Factor))
		case "", "default":
		default:
			return nil, fmt.Errorf("rope_scaling type %q is not supported for %s (yarn, linear)", t, c.ModelType)
		}
	}
	return m, nil
}

// RopeFreqs returns the per-pair divisors of Llama-3.1 RoPE scaling that llama.cpp's converter stores as
// rope_freqs.weight, or nil when the config has no llama3 scaling.
func (c *Config) RopeFreqs() []float32 {
	rs := c.RopeScaling
	if rs == nil || (rs.RopeType != "llama3" && rs.Type != "llama3") {
		return nil
	}
	hd := c.HeadDim
	if hd == 0 {
		hd = c.Hidden / c.Heads
	}
	return Llama3Divisors(hd, float32(c.RopeTheta), rs.Factor, rs.LowFreqFactor, rs.HighFreqFact, float64(rs.OrigContext))
}

// Llama3Divisors returns the per-pair divisors f_p of Llama-3.1 RoPE scaling (spec §2.5): ω'_p = ω_p / f_p.
func Llama3Divisors(headDim int, base float32, factor, lowFreq, highFreq, origCtx float64) []float32 {
	out := make([]float32, headDim/2)
	lowWavelen, highWavelen := origCtx/lowFreq, origCtx/highFreq
	for p := range out {
		freq := 1 / math.Pow(float64(base), float64(2*p)/float64(headDim))
		wavelen := 2 * math.Pi / freq
		switch {
		case wavelen < highWavelen:
			out[p] = 1
		case wavelen > lowWavelen:
			out[p] = float32(factor)
		default:
			smooth := (origCtx/wavelen - lowFreq) / (highFreq - lowFreq)
			out[p] = float32(1 / ((1-smooth)/factor + smooth))
		}
	}
	return out
}
