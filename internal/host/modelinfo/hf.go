package modelinfo

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/wasmoe/wasmoe/internal/host/safetensors"
)

// hfConfig is the part of a Hugging Face config.json the summary reads.
type hfConfig struct {
	ModelType        string `json:"model_type"`
	Hidden           int    `json:"hidden_size"`
	Layers           int    `json:"num_hidden_layers"`
	Heads            int    `json:"num_attention_heads"`
	KVHeads          int    `json:"num_key_value_heads"`
	HeadDim          int    `json:"head_dim"`
	Vocab            int    `json:"vocab_size"`
	Context          int    `json:"max_position_embeddings"`
	KVLora           int    `json:"kv_lora_rank"`
	RopeDim          int    `json:"qk_rope_head_dim"`
	NopeDim          int    `json:"qk_nope_head_dim"`
	VDim             int    `json:"v_head_dim"`
	Experts          int    `json:"n_routed_experts"`
	ExpertsUsed      int    `json:"num_experts_per_tok"`
	NextN            int    `json:"num_nextn_predict_layers"`
	NameOrPath       string `json:"_name_or_path"`
	TieWordEmbedding bool   `json:"tie_word_embeddings"`
}

// hfArch maps HF model types to the GGUF architecture names used throughout.
var hfArch = map[string]string{"deepseek_v3": "deepseek2", "deepseek_v2": "deepseek2", "qwen2": "qwen2", "llama": "llama"}

// FromHF summarises a Hugging Face model directory from config.json and the safetensors headers.
func FromHF(dir string) (*Info, error) {
	cfgPath := filepath.Join(dir, "config.json")
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, fmt.Errorf("modelinfo: %w", err)
	}
	var c hfConfig
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("modelinfo: %s: %v", cfgPath, err)
	}
	arch, ok := hfArch[c.ModelType]
	if !ok {
		return nil, fmt.Errorf("modelinfo: %s: model_type %q is not supported (deepseek_v3, deepseek_v2, qwen2, llama)", cfgPath, c.ModelType)
	}
	if c.Layers <= 0 || c.Heads <= 0 || c.Hidden <= 0 {
		return nil, fmt.Errorf("modelinfo: %s: num_hidden_layers, num_attention_heads and hidden_size must be positive", cfgPath)
	}
	in := &Info{Format: "hf", Path: dir, Arch: arch, Name: c.NameOrPath, Layers: c.Layers, MTP: c.NextN,
		Context: c.Context, Vocab: c.Vocab, Experts: c.Experts, ExpertsUsed: c.ExpertsUsed}
	if arch == "deepseek2" {
		in.mla(c.Heads, c.KVLora, c.RopeDim, c.NopeDim+c.RopeDim, c.VDim)
	} else {
		kv, hd := c.KVHeads, c.HeadDim
		if kv == 0 {
			kv = c.Heads
		}
		if hd == 0 {
			hd = c.Hidden / c.Heads
		}
		in.NaiveValues = c.Layers * kv * 2 * hd
	}
	set, err := safetensors.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	defer set.Close()
	var ts []tensor
	for _, name := range set.Names() {
		if strings.HasSuffix(name, "_scale_inv") { // FP8 block scales: quantization data, not parameters
			continue
		}
		t, _ := set.Tensor(name)
		n := uint64(1)
		for _, d := range t.Shape {
			n *= uint64(d)
		}
		ts = append(ts, tensor{name, t.DType.String(), n})
	}
	routed := func(name string) bool { return strings.Contains(name, ".mlp.experts.") }
	mtp := func(name string) bool { return in.MTP > 0 && hfLayer(name) >= in.Layers }
	in.params(ts, routed, mtp, "model.embed_tokens.weight")
	return in, nil
}

// hfLayer is the layer number of an HF tensor name "model.layers.N.…", or -1.
func hfLayer(name string) int {
	rest, ok := strings.CutPrefix(name, "model.layers.")
	if !ok {
		return -1
	}
	num, _, _ := strings.Cut(rest, ".")
	n, err := strconv.Atoi(num)
	if err != nil {
		return -1
	}
	return n
}
