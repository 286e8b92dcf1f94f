package model

import "github.com/wasmoe/wasmoe/internal/kernels"

// interleave gives the weights that MatMul reads an interleaved copy (kernels.Interleave: Q8_0 only, and
// only where the CPU has the kernels; faster, with identical results): the blocks' projections, the shared experts and the output head. Not
// the embedding, which is read by rows (a tied output head gets its own copy), nor the routed experts,
// which run through the MoE dispatch. The rows copied are dropped from memory where they are mapped from
// the file (gguf.File.Release), so a model is not resident twice.
func (m *Model) interleave() {
	ws := []*kernels.Matrix{&m.Output}
	for i := range m.Layers {
		L := &m.Layers[i]
		ws = append(ws, &L.Wq, &L.Wk, &L.Wv, &L.Wo, &L.Wgate, &L.Wup, &L.Wdown)
	}
	mla := func(L *MLALayer) {
		ws = append(ws, &L.Wq, &L.Wqa, &L.Wqb, &L.Wkva, &L.Wo, &L.Wgate, &L.Wup, &L.Wdown)
		if M := L.MoE; M != nil {
			ws = append(ws, &M.SharedGate, &M.SharedUp, &M.SharedDown)
		}
	}
	for i := range m.MLALayers {
		mla(&m.MLALayers[i])
	}
	for i := range m.MTP {
		t := &m.MTP[i]
		mla(&t.MLALayer)
		ws = append(ws, &t.EHProj, &t.Head)
	}
	for _, w := range ws {
		*w = kernels.Interleave(*w)
		if w.Interleaved != nil && m.File != nil {
			rb, _ := w.Type.RowBytes(w.Cols)
			m.File.Release(w.Data[:w.Rows&^7*rb])
		}
	}
}
