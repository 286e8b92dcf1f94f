package quantize

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/wasmoe/wasmoe/internal/host/hfmap"
	"github.com/wasmoe/wasmoe/internal/host/safetensors"
	"github.com/wasmoe/wasmoe/internal/kernels"
)

// openHF opens a Hugging Face directory as llama.cpp's convert_hf_to_gguf.py would convert it, so that
// quantizing it gives what converting and then running llama-quantize gives: metadata from config.json
// (hfmap) and the tokenizer (vocab), GGUF tensor names, experts stacked into 3-D tensors, Llama's q/k rows
// permuted, DeepSeek's kv_b split into attn_k_b (transposed per head) and attn_v_b, rope_freqs.weight for
// Llama-3.1 scaling, and 1-D tensors, norms and routers held as F32. Weights are read in place: F32, F16,
// BF16, and FP8 E4M3 with their 128×128 weight_scale_inv (dequantized directly, without a BF16 copy).
func openHF(dir string) (*input, error) {
	cfg, meta, err := hfmap.Open(dir)
	if err != nil {
		return nil, err
	}
	set, err := safetensors.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	in := &input{path: dir, kv: meta.KV, close: set.Close}
	if err := in.addHFTensors(set, cfg); err != nil {
		set.Close()
		return nil, err
	}
	return in, nil
}

// hfMatrix is one safetensors tensor as a kernels.Matrix (rows of the innermost dimension).
func hfMatrix(set *safetensors.Set, t *safetensors.Tensor) (kernels.Matrix, error) {
	cols := 1
	if len(t.Shape) > 0 {
		cols = t.Shape[len(t.Shape)-1]
	}
	m := kernels.Matrix{Rows: t.Elements() / max(cols, 1), Cols: cols, Data: t.Data}
	switch t.DType {
	case safetensors.F32:
		m.Type = kernels.F32
	case safetensors.F16:
		m.Type = kernels.F16
	case safetensors.BF16:
		m.Type = kernels.BF16
	case safetensors.F8_E4M3:
		m.Type = kernels.F8_E4M3
		s, ok := set.Tensor(t.Name + "_scale_inv")
		if !ok || s.DType != safetensors.F32 {
			return m, fmt.Errorf("%s: FP8 tensor %s has no F32 %s_scale_inv", t.Path, t.Name, t.Name)
		}
		m.Scale = make([]float32, len(s.Data)/4)
		for i := range m.Scale {
			m.Scale[i] = math.Float32frombits(binary.LittleEndian.Uint32(s.Data[4*i:]))
		}
	default:
		return m, fmt.Errorf("%s: tensor %s has dtype %s (supported: F32, F16, BF16, F8_E4M3 with block scales)", t.Path, t.Name, t.DType)
	}
	if err := m.Validate(); err != nil {
		return m, fmt.Errorf("%s: tensor %s: %w", t.Path, t.Name, err)
	}
	return m, nil
}

// matrixRows reads rows of ms, stacked (row r is row r mod rows of matrix r / rows), after mapping each
// output row through perm (nil: identity).
func matrixRows(ms []kernels.Matrix, perm func(r int) int) func(dst []float32, lo, hi int) error {
	rows, cols := ms[0].Rows, ms[0].Cols
	return func(dst []float32, lo, hi int) error {
		for r := lo; r < hi; r++ {
			src := r
			if perm != nil {
				src = perm(r)
			}
			if err := ms[src/rows].DequantizeRow(dst[(r-lo)*cols:(r-lo+1)*cols], src%rows); err != nil {
				return err
			}
		}
		return nil
	}
}

// addHFTensors lists the GGUF tensors of the set.
func (in *input) addHFTensors(set *safetensors.Set, cfg *hfmap.Config) error {
	arch, _ := cfg.Arch()
	experts := map[string][]*safetensors.Tensor{}
	for _, name := range set.Names() {
		if strings.HasSuffix(name, "_scale_inv") || strings.HasSuffix(name, "rotary_emb.inv_freq") {
			continue
		}
		t, _ := set.Tensor(name)
		g, e, ok := hfmap.GGUFName(name)
		if !ok {
			return fmt.Errorf("%s: tensor %s has no GGUF name", t.Path, name)
		}
		if e >= 0 {
			if len(experts[g]) <= e {
				experts[g] = append(experts[g], make([]*safetensors.Tensor, e+1-len(experts[g]))...)
			}
			experts[g][e] = t
			continue
		}
		m, err := hfMatrix(set, t)
		if err != nil {
			return err
		}
		switch {
		case arch == "deepseek2" && strings.HasSuffix(g, "attn_kv_b.weight"):
			if err := in.splitKVB(g, t, m, cfg); err != nil {
				return err
			}
		case arch == "llama" && (strings.HasSuffix(g, "attn_q.weight") || strings.HasSuffix(g, "attn_k.weight")):
			heads := cfg.Heads
			if strings.HasSuffix(g, "attn_k.weight") && cfg.KVHeads > 0 {
				heads = cfg.KVHeads
			}
			if heads <= 0 || m.Rows%(2*heads) != 0 {
				return fmt.Errorf("%s: tensor %s: %d rows do not split into %d heads", t.Path, name, m.Rows, heads)
			}
			in.addHF(g, []kernels.Matrix{m}, llamaPermute(m.Rows, heads), t.Shape)
		default:
			in.addHF(g, []kernels.Matrix{m}, nil, t.Shape)
		}
	}
	for g, ts := range experts {
		ms := make([]kernels.Matrix, len(ts))
		for e, t := range ts {
			if t == nil {
				return fmt.Errorf("%s: expert %d of %s is missing", in.path, e, g)
			}
			m, err := hfMatrix(set, t)
			if err != nil {
				return err
			}
			if e > 0 && (m.Rows != ms[0].Rows || m.Cols != ms[0].Cols || m.Type != ms[0].Type) {
				return fmt.Errorf("%s: tensor %s: shape or dtype differs from expert 0's", t.Path, t.Name)
			}
			ms[e] = m
		}
		in.addHF(g, ms, nil, []int{len(ms), ms[0].Rows, ms[0].Cols})
	}
	if div := cfg.RopeFreqs(); div != nil {
		data := make([]byte, 4*len(div))
		for i, v := range div {
			binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
		}
		m := kernels.Matrix{Type: kernels.F32, Rows: 1, Cols: len(div), Data: data}
		in.addHF("rope_freqs.weight", []kernels.Matrix{m}, nil, []int{len(div)})
	}
	return nil
}

// addHF adds a tensor read from matrices ms (stacked) through perm; shape is PyTorch's (outermost first).
func (in *input) addHF(name string, ms []kernels.Matrix, perm func(int) int, shape []int) {
	dims := make([]uint64, len(shape))
	for i, d := range shape {
		dims[len(shape)-1-i] = uint64(d)
	}
	typ := ms[0].Type
	if isNormLike(name, dims) {
		typ = kernels.F32
	}
	s := source{TensorInfo: TensorInfo{Name: name, Dims: dims, Type: typ}, rows: matrixRows(ms, perm)}
	if typ == ms[0].Type && perm == nil && typ != kernels.F8_E4M3 {
		s.raw = func(w io.Writer) error {
			for _, m := range ms {
				if _, err := w.Write(m.Data); err != nil {
					return err
				}
			}
			return nil
		}
	}
	in.tensors = append(in.tensors, s)
}

// llamaPermute is the converter's LlamaModel.permute on rows: within each head, GGUF row 2i+j is HF row
// j·(half)+i (HF keeps the two rotary halves apart, llama.cpp interleaves them).
func llamaPermute(rows, heads int) func(int) int {
	hd := rows / heads
	half := hd / 2
	return func(r int) int {
		h, k := r/hd, r%hd
		return h*hd + (k%2)*half + k/2
	}
}

// splitKVB adds DeepSeek's kv_b_proj (heads·(nope+v) rows of kv_lora) as the converter splits it:
// attn_k_b, per head the nope rows transposed ([heads][kv_lora][nope]), and attn_v_b, per head the v rows
// ([heads][v][kv_lora]).
func (in *input) splitKVB(name string, t *safetensors.Tensor, m kernels.Matrix, cfg *hfmap.Config) error {
	heads := cfg.KVHeads
	if heads == 0 {
		heads = cfg.Heads
	}
	nope, v, lora := cfg.NopeDim, cfg.VDim, m.Cols
	if heads <= 0 || m.Rows != heads*(nope+v) {
		return fmt.Errorf("%s: tensor %s: %d rows, want %d heads × (%d + %d)", t.Path, t.Name, m.Rows, heads, nope, v)
	}
	prefix := strings.TrimSuffix(name, "attn_kv_b.weight")
	kb := source{TensorInfo: TensorInfo{Name: prefix + "attn_k_b.weight", Dims: []uint64{uint64(nope), uint64(lora), uint64(heads)}, Type: m.Type}}
	kb.rows = func(dst []float32, lo, hi int) error {
		block := make([]float32, nope*lora)
		for h := lo / lora; h*lora < hi; h++ {
			for i := range nope {
				if err := m.DequantizeRow(block[i*lora:(i+1)*lora], h*(nope+v)+i); err != nil {
					return err
				}
			}
			for c := max(lo, h*lora); c < min(hi, (h+1)*lora); c++ {
				row := dst[(c-lo)*nope : (c-lo+1)*nope]
				for i := range nope {
					row[i] = block[i*lora+c-h*lora]
				}
			}
		}
		return nil
	}
	in.tensors = append(in.tensors, kb)
	vb := source{TensorInfo: TensorInfo{Name: prefix + "attn_v_b.weight", Dims: []uint64{uint64(lora), uint64(v), uint64(heads)}, Type: m.Type}}
	vb.rows = matrixRows([]kernels.Matrix{m}, func(r int) int { return r/v*(nope+v) + nope + r%v })
	in.tensors = append(in.tensors, vb)
	return nil
}
