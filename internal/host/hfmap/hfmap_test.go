package hfmap

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// v3Config is DeepSeek-V3's config.json (spec §1.1).
const v3Config = `{"architectures":["DeepseekV3ForCausalLM"],"model_type":"deepseek_v3","vocab_size":129280,
"hidden_size":7168,"intermediate_size":18432,"moe_intermediate_size":2048,"num_hidden_layers":61,
"first_k_dense_replace":3,"moe_layer_freq":1,"num_attention_heads":128,"num_key_value_heads":128,
"q_lora_rank":1536,"kv_lora_rank":512,"qk_nope_head_dim":128,"qk_rope_head_dim":64,"v_head_dim":128,
"n_routed_experts":256,"n_shared_experts":1,"num_experts_per_tok":8,"n_group":8,"topk_group":4,
"topk_method":"noaux_tc","scoring_func":"sigmoid","norm_topk_prob":true,"routed_scaling_factor":2.5,
"rms_norm_eps":1e-6,"rope_theta":10000,"max_position_embeddings":163840,"rope_scaling":{"beta_fast":32,
"beta_slow":1,"factor":40,"mscale":1.0,"mscale_all_dim":1.0,"original_max_position_embeddings":4096,
"type":"yarn"},"num_nextn_predict_layers":1,"tie_word_embeddings":false,"bos_token_id":0,"eos_token_id":1}`

// TestV3Metadata checks the converted keys against spec §7.4's V3 column (block_count counts the MTP block,
// which nextn_predict_layers then names, as llama.cpp reads it).
func TestV3Metadata(t *testing.T) {
	c, err := ParseConfig([]byte(v3Config), "config.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"block_count": uint32(62), "nextn_predict_layers": uint32(1), "embedding_length": uint32(7168),
		"feed_forward_length": uint32(18432), "attention.head_count": uint32(128), "attention.head_count_kv": uint32(1),
		"rope.dimension_count": uint32(64), "leading_dense_block_count": uint32(3), "attention.q_lora_rank": uint32(1536),
		"attention.kv_lora_rank": uint32(512), "attention.key_length": uint32(576), "attention.value_length": uint32(512),
		"attention.key_length_mla": uint32(192), "attention.value_length_mla": uint32(128),
		"expert_feed_forward_length": uint32(2048), "expert_count": uint32(256), "expert_used_count": uint32(8),
		"expert_shared_count": uint32(1), "expert_weights_scale": float32(2.5), "expert_weights_norm": true,
		"expert_gating_func": uint32(2), "expert_group_count": uint32(8), "expert_group_used_count": uint32(4),
		"rope.scaling.type": "yarn", "rope.scaling.factor": float32(40), "rope.scaling.original_context_length": uint32(4096),
		"vocab_size": uint32(129280), "context_length": uint32(163840),
	}
	for k, v := range want {
		if got := m["deepseek2."+k]; got != v {
			t.Errorf("%s = %v (%T), want %v", k, got, got, v)
		}
	}
	if v := m["deepseek2.rope.scaling.yarn_log_multiplier"].(float32); math.Abs(float64(v)-0.1) > 1e-7 {
		t.Errorf("yarn_log_multiplier %v", v)
	}
}

// TestNames checks the name table both ways on spec §7.5's pairs.
func TestNames(t *testing.T) {
	for g, h := range map[string]string{
		"token_embd.weight":           "model.embed_tokens.weight",
		"output.weight":               "lm_head.weight",
		"blk.3.attn_kv_a_mqa.weight":  "model.layers.3.self_attn.kv_a_proj_with_mqa.weight",
		"blk.0.attn_q.bias":           "model.layers.0.self_attn.q_proj.bias",
		"blk.60.exp_probs_b.bias":     "model.layers.60.mlp.gate.e_score_correction_bias",
		"blk.4.ffn_down_shexp.weight": "model.layers.4.mlp.shared_experts.down_proj.weight",
		"blk.61.nextn.eh_proj.weight": "model.layers.61.eh_proj.weight",
	} {
		if got, ok := Name(g); !ok || got != h {
			t.Errorf("Name(%s) = %q", g, got)
		}
		if back, e, ok := GGUFName(h); !ok || back != g || e != -1 {
			t.Errorf("GGUFName(%s) = %q %d", h, back, e)
		}
	}
	fn, ok := Experts("blk.5.ffn_up_exps.weight")
	if !ok || fn(17) != "model.layers.5.mlp.experts.17.up_proj.weight" {
		t.Fatalf("Experts: %v", ok)
	}
	if g, e, ok := GGUFName("model.layers.5.mlp.experts.17.up_proj.weight"); !ok || g != "blk.5.ffn_up_exps.weight" || e != 17 {
		t.Errorf("GGUFName of an expert: %q %d", g, e)
	}
	for _, bad := range []string{"blk.x.attn_q.weight", "blk.1.unknown.weight", "model.layers.1.attn_q.weight", "blk.-1.attn_q.weight"} {
		if _, ok := Name(bad); ok {
			t.Errorf("Name(%q) accepted", bad)
		}
		if _, _, ok := GGUFName(bad); ok {
			t.Errorf("GGUFName(%q) accepted", bad)
		}
	}
}

// TestParseConfigErrors rejects configs that cannot describe a model.
func TestParseConfigErrors(t *testing.T) {
	for _, bad := range []string{`{`, `{"model_type":"gpt2"}`, `{"model_type":"qwen2","hidden_size":0}`,
		`{"model_type":"llama","hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,"vocab_size":4}`} {
		if _, err := ParseConfig([]byte(bad), "c.json"); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// TestRopeFreqs checks Llama-3.1 scaling against spec §2.5: 29 ones, six blended divisors, 29 eights.
func TestRopeFreqs(t *testing.T) {
	c, err := ParseConfig([]byte(`{"model_type":"llama","hidden_size":4096,"num_hidden_layers":1,"num_attention_heads":32,
	  "vocab_size":8,"max_position_embeddings":8,"rope_theta":500000,"rope_scaling":{"rope_type":"llama3","factor":8,
	  "low_freq_factor":1,"high_freq_factor":4,"original_max_position_embeddings":8192}}`), "c.json")
	if err != nil {
		t.Fatal(err)
	}
	d := c.RopeFreqs()
	mid := []float64{1.2075, 1.5534, 2.0263, 2.6945, 3.6843, 5.2573}
	if len(d) != 64 || d[28] != 1 || d[35] != 8 || d[63] != 8 {
		t.Fatalf("divisors %v", d)
	}
	for i, w := range mid {
		if math.Abs(float64(d[29+i])-w) > 1e-4 {
			t.Errorf("divisor %d = %v, want %v", 29+i, d[29+i], w)
		}
	}
}

// FuzzConfig feeds arbitrary config.json bytes: parsing and conversion fail cleanly or give metadata
// whose block count covers the MTP blocks.
func FuzzConfig(f *testing.F) {
	f.Add([]byte(v3Config))
	f.Add([]byte(`{"model_type":"llama","hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,"vocab_size":4,"max_position_embeddings":8,"head_dim":-6,"rope_scaling":{"rope_type":"llama3"}}`))
	f.Add([]byte(`{"model_type":"qwen2","hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,"vocab_size":4,"max_position_embeddings":8,"rope_scaling":{"rope_type":"llama3"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b, "config.json")
		if err != nil {
			return
		}
		c.RopeFreqs()
		m, err := c.Metadata()
		if err != nil {
			return
		}
		arch, _ := c.Arch()
		if m[arch+".block_count"] != uint32(c.Layers+c.NextN) {
			t.Fatalf("block_count %v for %d+%d layers", m[arch+".block_count"], c.Layers, c.NextN)
		}
	})
}

// Open pads DeepSeek-V3's tokenizer (128,815 tokens) to config.json's vocab_size as llama.cpp's converter
// does: the token list and types equal those of ggml-vocab-deepseek-v3.gguf, which the converter wrote.
// A tokenizer larger than vocab_size is refused.
func TestOpenPadsVocab(t *testing.T) {
	tokPath := testutil.HFTokenizer(t, "deepseek-v3")
	dir := filepath.Dir(tokPath)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(v3Config), 0o644); err != nil {
		t.Fatal(err)
	}
	_, got, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	want, err := gguf.Open(testutil.Vocab(t, "ggml-vocab-deepseek-v3.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()
	gt, _ := got.Strings("tokenizer.ggml.tokens")
	wt, _ := want.Strings("tokenizer.ggml.tokens")
	gy, _ := got.Ints("tokenizer.ggml.token_type")
	wy, _ := want.Ints("tokenizer.ggml.token_type")
	if len(wt) != 129280 || !slices.Equal(gt, wt) || !slices.Equal(gy, wy) {
		t.Fatalf("%d tokens, %d types; llama.cpp's conversion has %d and %d, or they differ", len(gt), len(gy), len(wt), len(wy))
	}
	small := strings.Replace(v3Config, `"vocab_size":129280`, `"vocab_size":128000`, 1)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(small), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "vocab_size 128000 is smaller") {
		t.Fatalf("tokenizer larger than vocab_size: %v", err)
	}
}
