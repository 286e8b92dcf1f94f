// Package hfmap translates between Hugging Face checkpoints and GGUF's conventions, as llama.cpp's
// convert_hf_to_gguf.py does, so that one model loader serves both formats: tensor names (and the split of
// stacked expert tensors), and config.json fields to GGUF metadata keys.
package hfmap

import (
	"fmt"
	"strconv"
	"strings"
)

// blockNames maps the per-block GGUF tensor names (after "blk.N.") to Hugging Face's (after
// "model.layers.N."), for every architecture wasmoe serves (spec §6.3, §7.5).
var blockNames = map[string]string{
	"attn_norm.weight":              "input_layernorm.weight",
	"attn_q.weight":                 "self_attn.q_proj.weight",
	"attn_q.bias":                   "self_attn.q_proj.bias",
	"attn_k.weight":                 "self_attn.k_proj.weight",
	"attn_k.bias":                   "self_attn.k_proj.bias",
	"attn_v.weight":                 "self_attn.v_proj.weight",
	"attn_v.bias":                   "self_attn.v_proj.bias",
	"attn_q_a.weight":               "self_attn.q_a_proj.weight",
	"attn_q_a_norm.weight":          "self_attn.q_a_layernorm.weight",
	"attn_q_b.weight":               "self_attn.q_b_proj.weight",
	"attn_kv_a_mqa.weight":          "self_attn.kv_a_proj_with_mqa.weight",
	"attn_kv_a_norm.weight":         "self_attn.kv_a_layernorm.weight",
	"attn_kv_b.weight":              "self_attn.kv_b_proj.weight",
	"attn_output.weight":            "self_attn.o_proj.weight",
	"ffn_norm.weight":               "post_attention_layernorm.weight",
	"ffn_gate.weight":               "mlp.gate_proj.weight",
	"ffn_up.weight":                 "mlp.up_proj.weight",
	"ffn_down.weight":               "mlp.down_proj.weight",
	"ffn_gate_inp.weight":           "mlp.gate.weight",
	"exp_probs_b.bias":              "mlp.gate.e_score_correction_bias",
	"ffn_gate_shexp.weight":         "mlp.shared_experts.gate_proj.weight",
	"ffn_up_shexp.weight":           "mlp.shared_experts.up_proj.weight",
	"ffn_down_shexp.weight":         "mlp.shared_experts.down_proj.weight",
	"nextn.eh_proj.weight":          "eh_proj.weight",
	"nextn.enorm.weight":            "enorm.weight",
	"nextn.hnorm.weight":            "hnorm.weight",
	"nextn.embed_tokens.weight":     "embed_tokens.weight",
	"nextn.shared_head_norm.weight": "shared_head.norm.weight",
	"nextn.shared_head_head.weight": "shared_head.head.weight",
}

// globalNames maps the GGUF tensors outside blocks.
var globalNames = map[string]string{
	"token_embd.weight":  "model.embed_tokens.weight",
	"output_norm.weight": "model.norm.weight",
	"output.weight":      "lm_head.weight",
}

// expertKinds maps GGUF's stacked expert tensors to the projection name of each HF expert.
var expertKinds = map[string]string{
	"ffn_gate_exps.weight": "gate_proj", "ffn_up_exps.weight": "up_proj", "ffn_down_exps.weight": "down_proj",
}

// Name returns the Hugging Face name of the GGUF tensor name, or false if it has none or is a stacked
// expert tensor (see Experts).
func Name(gguf string) (string, bool) {
	if n, ok := globalNames[gguf]; ok {
		return n, true
	}
	layer, rest, ok := block(gguf)
	if !ok {
		return "", false
	}
	n, ok := blockNames[rest]
	if !ok {
		return "", false
	}
	return "model.layers." + strconv.Itoa(layer) + "." + n, true
}

// Experts reports whether the GGUF name is a stacked expert tensor (ffn_gate_exps, ffn_up_exps,
// ffn_down_exps), and if so returns the Hugging Face name of expert e's matrix for every e.
func Experts(gguf string) (func(e int) string, bool) {
	layer, rest, ok := block(gguf)
	if !ok {
		return nil, false
	}
	kind, ok := expertKinds[rest]
	if !ok {
		return nil, false
	}
	prefix := fmt.Sprintf("model.layers.%d.mlp.experts.", layer)
	return func(e int) string { return prefix + strconv.Itoa(e) + "." + kind + ".weight" }, true
}

// GGUFName is the inverse of Name (and of Experts, for which it returns the stacked tensor's name and the
// expert number; e is -1 for every other tensor).
func GGUFName(hf string) (name string, e int, ok bool) {
	for g, h := range globalNames {
		if h == hf {
			return g, -1, true
		}
	}
	rest, ok := strings.CutPrefix(hf, "model.layers.")
	if !ok {
		return "", -1, false
	}
	num, rest, _ := strings.Cut(rest, ".")
	layer, err := strconv.Atoi(num)
	if err != nil || layer < 0 {
		return "", -1, false
	}
	prefix := "blk." + num + "."
	if ex, ok := strings.CutPrefix(rest, "mlp.experts."); ok {
		id, kind, _ := strings.Cut(ex, ".")
		n, err := strconv.Atoi(id)
		if err != nil || n < 0 {
			return "", -1, false
		}
		for g, k := range expertKinds {
			if kind == k+".weight" {
				return prefix + g, n, true
			}
		}
		return "", -1, false
	}
	for g, h := range blockNames {
		if h == rest {
			return prefix + g, -1, true
		}
	}
	return "", -1, false
}

// block splits "blk.N.rest".
func block(name string) (int, string, bool) {
	rest, ok := strings.CutPrefix(name, "blk.")
	if !ok {
		return 0, "", false
	}
	num, rest, ok := strings.Cut(rest, ".")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n < 0 {
		return 0, "", false
	}
	return n, rest, true
}
