package model

import (
	"github.com/wasmoe/wasmoe/internal/host/sysmem"
	"github.com/wasmoe/wasmoe/internal/kernels"
)

// interleave gives the weights an interleaved copy (kernels.Interleave: the types with such a layout,
// and only where the CPU has its kernels; faster, with identical results), within half the memory the
// machine has available: first the matrices MatMul reads (the blocks' projections, the shared experts,
// the output head; not the embedding, which is read by rows — a tied output head gets its own copy),
// if all of them fit, then as many of the routed experts as fit, in layer order. A model larger than
// memory thus keeps running from its mapped file. The rows copied are dropped from memory where they are
// mapped from the file (gguf.File.Release), so the model is not resident twice.
func (m *Model) interleave() { m.interleaveWithin(sysmem.Available() / 2) }

// interleaveWithin is interleave with budget bytes for the copies.
func (m *Model) interleaveWithin(budget int64) {
	dense := m.denseMatrices()
	var need int64
	for _, w := range dense {
		need += int64(kernels.InterleavedBytes(*w))
	}
	if need > budget {
		return
	}
	budget -= need
	for _, w := range dense {
		m.interleaveOne(w)
	}
	for _, w := range m.expertMatrices() {
		n := int64(kernels.InterleavedBytes(*w))
		if n > budget {
			return
		}
		budget -= n
		m.interleaveOne(w)
	}
}

// interleaveOne gives w its interleaved copy, if its type has one, and releases the mapped rows copied.
func (m *Model) interleaveOne(w *kernels.Matrix) {
	*w = kernels.Interleave(*w)
	if w.Interleaved != nil && m.File != nil {
		rb, _ := w.Type.RowBytes(w.Cols)
		m.File.Release(w.Data[:w.Rows&^7*rb])
	}
}

// denseMatrices returns the weights MatMul reads: the blocks' projections (MLA's per-head KB and VB
// included), the shared experts and the output heads.
func (m *Model) denseMatrices() []*kernels.Matrix {
	ws := []*kernels.Matrix{&m.Output}
	for i := range m.Layers {
		L := &m.Layers[i]
		ws = append(ws, &L.Wq, &L.Wk, &L.Wv, &L.Wo, &L.Wgate, &L.Wup, &L.Wdown)
	}
	mla := func(L *MLALayer) {
		ws = append(ws, &L.Wq, &L.Wqa, &L.Wqb, &L.Wkva, &L.Wo, &L.Wgate, &L.Wup, &L.Wdown)
		for h := range L.KB {
			ws = append(ws, &L.KB[h], &L.VB[h])
		}
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
	return ws
}

// expertMatrices returns the routed experts' matrices, which the MoE dispatch reads.
func (m *Model) expertMatrices() []*kernels.Matrix {
	var ws []*kernels.Matrix
	add := func(L *MLALayer) {
		if M := L.MoE; M != nil {
			for _, s := range [][]kernels.Matrix{M.Experts.Gate, M.Experts.Up, M.Experts.Down} {
				for i := range s {
					ws = append(ws, &s[i])
				}
			}
		}
	}
	for i := range m.MLALayers {
		add(&m.MLALayers[i])
	}
	for i := range m.MTP {
		add(&m.MTP[i].MLALayer)
	}
	return ws
}
