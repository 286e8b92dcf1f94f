package modelinfo

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/safetensors"
)

// TestFromHF summarises a hand-built DeepSeek-V3-style directory: FP8 block scales are not parameters, the
// MTP layer is counted apart, and routed experts are active K of E.
func TestFromHF(t *testing.T) {
	dir := t.TempDir()
	cfg := `{"model_type":"deepseek_v3","hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,
	  "vocab_size":10,"max_position_embeddings":64,"kv_lora_rank":4,"qk_rope_head_dim":2,"qk_nope_head_dim":4,
	  "v_head_dim":4,"n_routed_experts":4,"num_experts_per_tok":1,"num_nextn_predict_layers":1}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	var ts []safetensors.WriteTensor
	add := func(name string, dt safetensors.DType, shape ...int) {
		n := dt.Size()
		for _, d := range shape {
			n *= d
		}
		ts = append(ts, safetensors.WriteTensor{Name: name, DType: dt, Shape: shape, Data: make([]byte, n)})
	}
	add("model.embed_tokens.weight", safetensors.BF16, 10, 8)                      // 80, not active
	add("lm_head.weight", safetensors.BF16, 10, 8)                                 // 80
	add("model.layers.0.self_attn.o_proj.weight", safetensors.F8_E4M3, 8, 8)       // 64
	add("model.layers.0.self_attn.o_proj.weight_scale_inv", safetensors.F32, 1, 1) // not a parameter
	for e := range 4 {
		add("model.layers.0.mlp.experts."+string(rune('0'+e))+".up_proj.weight", safetensors.BF16, 2, 8) // 16 each
	}
	add("model.layers.1.eh_proj.weight", safetensors.BF16, 8, 16) // MTP: 128
	if err := safetensors.Write(filepath.Join(dir, "model.safetensors"), ts, nil); err != nil {
		t.Fatal(err)
	}
	in, err := FromHF(dir)
	if err != nil {
		t.Fatal(err)
	}
	if in.Arch != "deepseek2" || in.Layers != 1 || in.MTP != 1 || in.TotalParams != 80+80+64+64+128 ||
		in.MTPParams != 128 || in.ExpertParams != 64 || in.ActiveParams != 80+64+16 {
		t.Errorf("got %+v", in)
	}
	if in.LatentValues != 6 || in.NaiveValues != 2*(6+4) || in.Types["F32"] != 0 || in.Types["F8_E4M3"] != 1 {
		t.Errorf("cache %d/%d, types %v", in.LatentValues, in.NaiveValues, in.Types)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type":"mamba"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := FromHF(dir); err == nil {
		t.Error("an unsupported model_type must fail")
	}
}
