package model

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/wasmoe/wasmoe/internal/host/hfmap"
	"github.com/wasmoe/wasmoe/internal/host/safetensors"
	"github.com/wasmoe/wasmoe/internal/kernels"
)

// LoadHF opens a Hugging Face model directory: config.json, model.safetensors or a sharded
// model.safetensors.index.json, tokenizer.json and (optionally) tokenizer_config.json. Like llama.cpp's
// converter, it translates config.json and the tokenizer into GGUF metadata (Model.File holds it, with no
// tensors) and reads the weights in place from the mapped safetensors files: F32, F16 and BF16 as they
// are, FP8 E4M3 with its 128×128 block scales (weight_scale_inv). The caller closes the model.
func LoadHF(dir string) (*Model, error) {
	cfg, f, err := hfmap.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	set, err := safetensors.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	if err := checkDTypes(set); err != nil {
		set.Close()
		return nil, err
	}
	m, err := fromSource(f, &hfSource{set: set, cfg: cfg})
	if err != nil {
		set.Close()
		return nil, err
	}
	m.closer = set
	if m.Arch == "llama" {
		m.Neox = true // HF keeps Llama's q/k rows in half-split order; llama.cpp's converter permutes them
	}
	return m, nil
}

// checkDTypes reports a tensor whose dtype has no kernel, or an FP8 weight without its block scales.
func checkDTypes(set *safetensors.Set) error {
	for _, name := range set.Names() {
		t, _ := set.Tensor(name)
		switch t.DType {
		case safetensors.F32, safetensors.F16, safetensors.BF16:
		case safetensors.F8_E4M3:
			if s, ok := set.Tensor(name + "_scale_inv"); !ok || s.DType != safetensors.F32 {
				return fmt.Errorf("model: %s: FP8 tensor %s has no F32 %s_scale_inv", t.Path, name, name)
			}
		default:
			return fmt.Errorf("model: %s: tensor %s has dtype %s (supported: F32, F16, BF16, F8_E4M3 with block scales)", t.Path, name, t.DType)
		}
	}
	return nil
}

// hfSource serves the tensors of a safetensors set under their GGUF names (spec §6.3, §7.5).
type hfSource struct {
	set *safetensors.Set
	cfg *hfmap.Config
}

func (h *hfSource) path() string { return h.set.Dir }

func (h *hfSource) tensor(name string) (tensorData, bool) {
	if name == "rope_freqs.weight" { // the converter computes this from rope_scaling
		div := h.cfg.RopeFreqs()
		if div == nil {
			return tensorData{}, false
		}
		data := make([]byte, 4*len(div))
		for i, v := range div {
			binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
		}
		return tensorData{Type: kernels.F32, Dims: []int{len(div)}, Data: data}, true
	}
	hf, ok := hfmap.Name(name)
	if !ok {
		return tensorData{}, false
	}
	t, ok := h.get(hf)
	if ok && t.Type == kernels.F8_E4M3 && strings.HasSuffix(name, "attn_kv_b.weight") {
		// Split per head at load (spec §6.2): block scales do not follow that split, so widen it once.
		t = widen(t)
	}
	return t, ok
}

// widen dequantizes an FP8 matrix to F32.
func widen(t tensorData) tensorData {
	cols, rows := t.Dims[0], t.elements()/t.Dims[0]
	w := kernels.Matrix{Type: t.Type, Rows: rows, Cols: cols, Data: t.Data, Scale: t.Scale}
	if w.Validate() != nil {
		return t // the loader reports it
	}
	out := make([]byte, 4*rows*cols)
	row := make([]float32, cols)
	for r := range rows {
		w.DequantizeRow(row, r)
		for i, v := range row {
			binary.LittleEndian.PutUint32(out[4*(r*cols+i):], math.Float32bits(v))
		}
	}
	return tensorData{Type: kernels.F32, Dims: t.Dims, Data: out}
}

// experts returns the n per-expert tensors of a stacked GGUF expert tensor.
func (h *hfSource) experts(name string, n int) ([]tensorData, bool) {
	hf, ok := hfmap.Experts(name)
	if !ok {
		return nil, false
	}
	out := make([]tensorData, n)
	for e := range out {
		if out[e], ok = h.get(hf(e)); !ok {
			return nil, false
		}
	}
	return out, true
}

// get converts one safetensors tensor: GGUF dims are the reversed shape; an FP8 weight brings its scales.
// (checkDTypes has vetted the dtypes.)
func (h *hfSource) get(hf string) (tensorData, bool) {
	t, ok := h.set.Tensor(hf)
	if !ok {
		return tensorData{}, false
	}
	dims := slices.Clone(t.Shape)
	slices.Reverse(dims)
	td := tensorData{Dims: dims, Data: t.Data}
	switch t.DType {
	case safetensors.F32:
		td.Type = kernels.F32
	case safetensors.F16:
		td.Type = kernels.F16
	case safetensors.BF16:
		td.Type = kernels.BF16
	case safetensors.F8_E4M3:
		td.Type = kernels.F8_E4M3
		s, _ := h.set.Tensor(hf + "_scale_inv")
		td.Scale = make([]float32, len(s.Data)/4)
		for i := range td.Scale {
			td.Scale[i] = math.Float32frombits(binary.LittleEndian.Uint32(s.Data[4*i:]))
		}
	}
	return td, true
}
