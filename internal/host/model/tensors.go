package model

import (
	"strconv"
	"strings"

	"github.com/wasmoe/wasmoe/internal/kernels"
)

// Tensor returns a loaded 2-D weight by its GGUF name: "token_embd.weight", "output.weight" (the output
// head, which is the embedding when the file ties them) and, for block N, "blk.N.<name>.weight" with name
// one of attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down (qwen2, llama) or attn_q,
// attn_q_a, attn_q_b, attn_kv_a_mqa, attn_output, ffn_gate, ffn_up, ffn_down, ffn_gate_inp,
// ffn_gate_shexp, ffn_up_shexp, ffn_down_shexp and, in multi-token-prediction blocks, nextn.eh_proj,
// nextn.embed_tokens, nextn.shared_head_head (deepseek2). Vectors (norms, biases) and stacked 3-D tensors
// (routed experts, attn_k_b, attn_v_b) are not matrices and are not found; MoELayer runs the experts.
func (m *Model) Tensor(name string) (kernels.Matrix, bool) {
	var w kernels.Matrix
	switch name {
	case "token_embd.weight":
		w = m.Embed
	case "output.weight":
		w = m.Output
	default:
		w = m.blockTensor(name)
	}
	return w, w.Rows > 0
}

// blockTensor is Tensor for a "blk.N." name; the zero Matrix when there is none.
func (m *Model) blockTensor(name string) kernels.Matrix {
	rest, ok := strings.CutPrefix(name, "blk.")
	if !ok {
		return kernels.Matrix{}
	}
	num, field, ok := strings.Cut(rest, ".")
	if !ok || num == "" || (len(num) > 1 && num[0] == '0') {
		return kernels.Matrix{}
	}
	i, err := strconv.Atoi(num)
	field, ok2 := strings.CutSuffix(field, ".weight")
	if err != nil || i < 0 || !ok2 {
		return kernels.Matrix{}
	}
	if i < len(m.Layers) {
		L := &m.Layers[i]
		return map[string]kernels.Matrix{"attn_q": L.Wq, "attn_k": L.Wk, "attn_v": L.Wv,
			"attn_output": L.Wo, "ffn_gate": L.Wgate, "ffn_up": L.Wup, "ffn_down": L.Wdown}[field]
	}
	var L *MLALayer
	var t *MTPLayer
	switch {
	case i < len(m.MLALayers):
		L = &m.MLALayers[i]
	case i >= m.Blocks && i-m.Blocks < len(m.MTP):
		t = &m.MTP[i-m.Blocks]
		L = &t.MLALayer
	default:
		return kernels.Matrix{}
	}
	ws := map[string]kernels.Matrix{"attn_q": L.Wq, "attn_q_a": L.Wqa, "attn_q_b": L.Wqb,
		"attn_kv_a_mqa": L.Wkva, "attn_output": L.Wo, "ffn_gate": L.Wgate, "ffn_up": L.Wup, "ffn_down": L.Wdown}
	if M := L.MoE; M != nil {
		ws["ffn_gate_inp"], ws["ffn_gate_shexp"], ws["ffn_up_shexp"], ws["ffn_down_shexp"] =
			M.Gate, M.SharedGate, M.SharedUp, M.SharedDown
	}
	if t != nil {
		ws["nextn.eh_proj"], ws["nextn.embed_tokens"], ws["nextn.shared_head_head"] = t.EHProj, t.Embed, t.Head
	}
	return ws[field]
}

// MoEBlock returns the Mixture-of-Experts feed-forward of block layer (a main block, or a
// multi-token-prediction block numbered after them, as in the GGUF names); nil for dense blocks, blocks
// out of range and models without MoE.
func (m *Model) MoEBlock(layer int) *MoELayer {
	switch {
	case layer < 0:
		return nil
	case layer < len(m.MLALayers):
		return m.MLALayers[layer].MoE
	case layer >= m.Blocks && layer-m.Blocks < len(m.MTP):
		return m.MTP[layer-m.Blocks].MoE
	}
	return nil
}

// MoEScratch is the working memory of MoELayer.Route and MoELayer.Run; the zero value is ready and grows
// to the largest batch seen.
type MoEScratch struct {
	router, routed, gate, up []float32
	route                    kernels.RouteScratch
	experts                  kernels.MoEScratch
}

// Route is the layer's own routing of n vectors x ([n][D], the normed inputs of the feed-forward), as
// Forward routes them: router logits Gate·x, then Router.Route per token into ids and weights ([n][K]).
func (M *MoELayer) Route(p *kernels.Pool, ids []int32, weights, x []float32, n int, s *MoEScratch) {
	E := M.Gate.Rows
	s.router = growTo(s.router, n*E)
	p.MatMul(s.router, M.Gate, x[:n*M.Gate.Cols], n)
	M.Router.RouteBatch(ids, weights, s.router, n, &s.route)
}

// Run is the layer's feed-forward after routing, exactly as Forward computes it: out ([n][D]) = the
// routed experts' weighted sum (k per token, ids and weights [n][k]) plus the shared experts, added in
// llama.cpp's order. out may be x. It panics on an expert id out of range or a short slice.
func (M *MoELayer) Run(p *kernels.Pool, out, x []float32, n int, ids []int32, weights []float32, k int, s *MoEScratch) {
	D := M.Gate.Cols
	routed := growTo(s.routed, n*D)
	s.routed = routed
	p.MoE(routed, x, n, &M.Experts, ids, weights, k, &s.experts)
	if M.SharedDown.Rows == 0 {
		copy(out[:n*D], routed)
		return
	}
	w := M.SharedGate.Rows
	s.gate, s.up = growTo(s.gate, n*w), growTo(s.up, n*w)
	swiglu(p, out, M.SharedGate, M.SharedUp, M.SharedDown, x[:n*D], s.gate, s.up, n)
	kernels.Add(out[:n*D], routed)
}
