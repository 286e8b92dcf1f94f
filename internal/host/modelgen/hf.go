package modelgen

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/host/hfmap"
	"github.com/wasmoe/wasmoe/internal/host/safetensors"
	"github.com/wasmoe/wasmoe/internal/kernels"
)

// WriteHF writes the model of a GGUF file as a Hugging Face directory holding the same weights, as the
// inverse of llama.cpp's converter: config.json from the metadata, tensors under their HF names (stacked
// experts split, MLA's attn_k_b/attn_v_b joined back into kv_b_proj, Llama's q/k rows back in half-split
// order), split into two shards with an index, and tokenizer.json/tokenizer_config.json copied from
// tokenizerDir. Weight matrices are stored as dtype: "bf16", or "fp8" (FP8 E4M3 with 128×128 block scales
// for the linear layers DeepSeek-V3 quantizes; embeddings, output head, norms and router stay BF16/F32).
func WriteHF(src *gguf.File, dir, dtype, tokenizerDir string) error {
	if dtype != "bf16" && dtype != "fp8" {
		return fmt.Errorf("modelgen: HF dtype %q not supported (bf16, fp8)", dtype)
	}
	cfg, err := hfConfig(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	raw, _ := json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o644); err != nil {
		return err
	}
	for _, name := range []string{"tokenizer.json", "tokenizer_config.json"} {
		b, err := os.ReadFile(filepath.Join(tokenizerDir, name))
		if err != nil {
			return fmt.Errorf("modelgen: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	var tensors []safetensors.WriteTensor
	add := func(name string, rows, cols int, v []float32) {
		tensors = append(tensors, encodeHF(name, rows, cols, v, dtype)...)
	}
	dn, dv := cfg.NopeDim, cfg.VDim
	kb := map[string][]float32{} // layer number → attn_k_b values, joined with attn_v_b
	for i := range src.Tensors {
		t := &src.Tensors[i]
		v, err := dequantize(t)
		if err != nil {
			return err
		}
		cols, rows := t.Dim(0), int(t.Elements())/t.Dim(0)
		if fn, ok := hfmap.Experts(t.Name); ok {
			n, per := t.Dim(2), t.Dim(1)*cols
			for e := range n {
				add(fn(e), t.Dim(1), cols, v[e*per:(e+1)*per])
			}
			continue
		}
		layer, part, _ := strings.Cut(strings.TrimPrefix(t.Name, "blk."), ".")
		switch part {
		case "attn_k_b.weight":
			kb[layer] = v
			continue
		case "attn_v_b.weight": // ne [rkv, dv, H]; k_b (same layer, earlier in the file) is ne [dn, rkv, H]
			rkv, H := t.Dim(0), t.Dim(2)
			k := kb[layer]
			if k == nil {
				return fmt.Errorf("modelgen: %s: attn_v_b without attn_k_b", t.Name)
			}
			kvb := make([]float32, H*(dn+dv)*rkv)
			for h := range H {
				for c := range rkv {
					for d := range dn {
						kvb[(h*(dn+dv)+d)*rkv+c] = k[(h*rkv+c)*dn+d]
					}
					for d := range dv {
						kvb[(h*(dn+dv)+dn+d)*rkv+c] = v[(h*dv+d)*rkv+c]
					}
				}
			}
			add(fmt.Sprintf("model.layers.%s.self_attn.kv_b_proj.weight", layer), H*(dn+dv), rkv, kvb)
			continue
		case "attn_q.weight", "attn_k.weight":
			if cfg.ModelType == "llama" {
				v = unpermute(v, rows, cols, cfg.Hidden/cfg.Heads)
			}
		}
		hf, ok := hfmap.Name(t.Name)
		if !ok {
			if t.Name == "rope_freqs.weight" {
				continue // config.json's rope_scaling describes it
			}
			return fmt.Errorf("modelgen: %s has no Hugging Face name", t.Name)
		}
		if len(t.Dims) == 1 {
			rows, cols = 1, len(v)
		}
		add(hf, rows, cols, v)
	}
	return writeShards(dir, tensors)
}

// The Llama-3.1 RoPE scaling the generator writes (rope_freqs.weight), and WriteHF as rope_scaling.
const (
	llama3Factor = 8
	llama3Low    = 1
	llama3High   = 4
	llama3Orig   = 8192
)

// unpermute puts the rows of each head of a Llama q/k matrix back in HF's half-split order: GGUF row 2j+t
// is HF row t·(hd/2)+j (spec §2.3).
func unpermute(v []float32, rows, cols, hd int) []float32 {
	out := make([]float32, len(v))
	for r := range rows {
		head, i := r/hd, r%hd
		j, t := i/2, i%2
		copy(out[(head*hd+t*(hd/2)+j)*cols:][:cols], v[r*cols:(r+1)*cols])
	}
	return out
}

// encodeHF encodes one [rows, cols] tensor: 1-D tensors as BF16 (the router bias as F32), matrices in
// dtype, FP8 ones with their weight_scale_inv.
func encodeHF(name string, rows, cols int, v []float32, dtype string) []safetensors.WriteTensor {
	shape := []int{rows, cols}
	if rows == 1 && !strings.Contains(name, "embed") {
		shape = []int{cols}
	}
	if strings.HasSuffix(name, "e_score_correction_bias") {
		return []safetensors.WriteTensor{{Name: name, DType: safetensors.F32, Shape: shape, Data: f32Bytes(v)}}
	}
	if dtype == "fp8" && len(shape) == 2 && (strings.HasSuffix(name, "_proj.weight") || strings.HasSuffix(name, "_proj_with_mqa.weight")) {
		m := kernels.QuantizeF8(v, rows, cols)
		return []safetensors.WriteTensor{
			{Name: name, DType: safetensors.F8_E4M3, Shape: shape, Data: m.Data},
			{Name: name + "_scale_inv", DType: safetensors.F32, Shape: []int{(rows + 127) / 128, (cols + 127) / 128}, Data: f32Bytes(m.Scale)},
		}
	}
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], kernels.F32ToBF16(x))
	}
	return []safetensors.WriteTensor{{Name: name, DType: safetensors.BF16, Shape: shape, Data: b}}
}

func f32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// dequantize reads a GGUF tensor as float32s.
func dequantize(t *gguf.Tensor) ([]float32, error) {
	cols := t.Dim(0)
	rows := int(t.Elements()) / cols
	rb, err := t.Type.RowBytes(cols)
	if err != nil {
		return nil, err
	}
	out := make([]float32, rows*cols)
	for r := range rows {
		if err := kernels.DequantizeRow(t.Type, out[r*cols:(r+1)*cols], t.Data[r*rb:(r+1)*rb]); err != nil {
			return nil, fmt.Errorf("modelgen: %s: %w", t.Name, err)
		}
	}
	return out, nil
}

// writeShards writes the tensors as two safetensors shards (by sorted name) and their index.
func writeShards(dir string, ts []safetensors.WriteTensor) error {
	slices.SortFunc(ts, func(a, b safetensors.WriteTensor) int { return strings.Compare(a.Name, b.Name) })
	half := len(ts) / 2
	index := map[string]string{}
	for i, part := range [][]safetensors.WriteTensor{ts[:half], ts[half:]} {
		file := fmt.Sprintf("model-%05d-of-00002.safetensors", i+1)
		for _, t := range part {
			index[t.Name] = file
		}
		if err := safetensors.Write(filepath.Join(dir, file), part, map[string]string{"format": "pt"}); err != nil {
			return err
		}
	}
	return safetensors.WriteIndex(dir, index)
}

// hfConfig is config.json for a GGUF model: the inverse of hfmap.Config.Metadata.
func hfConfig(f *gguf.File) (*hfmap.Config, error) {
	arch, _ := f.String("general.architecture")
	u := func(k string) int { n, _ := f.Uint(arch + "." + k); return int(n) }
	fl := func(k string) float64 { v, _ := f.Float(arch + "." + k); return v }
	c := &hfmap.Config{ModelType: arch, Hidden: u("embedding_length"), FFN: u("feed_forward_length"),
		Heads: u("attention.head_count"), KVHeads: u("attention.head_count_kv"), Context: u("context_length"),
		Eps: fl("attention.layer_norm_rms_epsilon"), RopeTheta: fl("rope.freq_base"), NextN: u("nextn_predict_layers")}
	c.Layers = u("block_count") - c.NextN
	emb, ok := f.Tensor("token_embd.weight")
	if !ok {
		return nil, fmt.Errorf("modelgen: %s: token_embd.weight missing", f.Path)
	}
	c.Vocab = emb.Dim(1)
	_, hasOutput := f.Tensor("output.weight")
	c.TiedOutput = !hasOutput
	switch arch {
	case "qwen2":
		c.Archs = []string{"Qwen2ForCausalLM"}
	case "llama":
		c.Archs = []string{"LlamaForCausalLM"}
		if _, ok := f.Tensor("rope_freqs.weight"); ok {
			c.RopeScaling = &hfmap.RopeScaling{RopeType: "llama3", Factor: llama3Factor, LowFreqFactor: llama3Low,
				HighFreqFact: llama3High, OrigContext: llama3Orig}
		}
	case "deepseek2":
		c.ModelType, c.Archs = "deepseek_v2", []string{"DeepseekV2ForCausalLM"}
		if u("expert_gating_func") == 2 {
			c.ModelType, c.Archs, c.Scoring = "deepseek_v3", []string{"DeepseekV3ForCausalLM"}, "sigmoid"
		}
		c.KVHeads = c.Heads
		c.QLoRA, c.KVLoRA, c.RopeDim = u("attention.q_lora_rank"), u("attention.kv_lora_rank"), u("rope.dimension_count")
		c.NopeDim, c.VDim = u("attention.key_length_mla")-c.RopeDim, u("attention.value_length_mla")
		c.ExpertFFN, c.Experts, c.Shared, c.Used = u("expert_feed_forward_length"), u("expert_count"), u("expert_shared_count"), u("expert_used_count")
		c.Groups, c.GroupsUsed, c.DenseLead = u("expert_group_count"), u("expert_group_used_count"), u("leading_dense_block_count")
		c.NormTopK, _ = f.Bool(arch + ".expert_weights_norm")
		c.Scale = fl("expert_weights_scale")
		if st, _ := f.String(arch + ".rope.scaling.type"); st == "yarn" {
			m := fl("rope.scaling.yarn_log_multiplier") / 0.1
			c.RopeScaling = &hfmap.RopeScaling{Type: "yarn", Factor: fl("rope.scaling.factor"), BetaFast: 32, BetaSlow: 1,
				OrigContext: u("rope.scaling.original_context_length"), MScale: m, MScaleAllDim: m}
		}
	default:
		return nil, fmt.Errorf("modelgen: %s: architecture %q has no Hugging Face form here", f.Path, arch)
	}
	return c, nil
}
