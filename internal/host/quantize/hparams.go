package quantize

import (
	"fmt"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
)

// HParams are the hyper-parameters llama.cpp's type choice reads (llama_hparams and llama_model::type).
type HParams struct {
	Arch      string
	NLayerAll int // block_count, multi-token-prediction blocks included
	NExpert   int
	NHead     int // of layer 0
	NHeadKV   int // of layer 0
	Is70B     bool
}

// NGQA is llama_hparams::n_gqa for layer 0 (0 when there are no KV heads).
func (h HParams) NGQA() int {
	if h.NHeadKV == 0 {
		return 0
	}
	return h.NHead / h.NHeadKV
}

// HParamsOf reads the hyper-parameters from GGUF metadata as llama.cpp's load_hparams does: head counts
// may be per-layer arrays (layer 0 counts), head_count_kv defaults to head_count, and the model counts as
// 70B where the architecture's load_arch_hparams says LLM_TYPE_70B.
func HParamsOf(f *gguf.File) (HParams, error) {
	arch, ok := f.String("general.architecture")
	if !ok {
		return HParams{}, fmt.Errorf("general.architecture is missing")
	}
	h := HParams{Arch: arch}
	n, ok := f.Int(arch + ".block_count")
	if !ok || n <= 0 {
		return HParams{}, fmt.Errorf("%s.block_count is missing or not positive", arch)
	}
	h.NLayerAll = int(n)
	if e, ok := f.Int(arch + ".expert_count"); ok {
		h.NExpert = int(e)
	}
	first := func(key string) (int, bool) {
		if v, ok := f.Int(key); ok {
			return int(v), true
		}
		if vs, ok := f.Ints(key); ok && len(vs) > 0 {
			return int(vs[0]), true
		}
		return 0, false
	}
	h.NHead, _ = first(arch + ".attention.head_count")
	h.NHeadKV = h.NHead
	if kv, ok := first(arch + ".attention.head_count_kv"); ok {
		h.NHeadKV = kv
	}
	nextn, _ := f.Int(arch + ".nextn_predict_layers")
	layers := h.NLayerAll - int(nextn)
	switch arch {
	case "llama":
		h.Is70B = h.NExpert != 8 && layers == 80 && h.NHead != h.NHeadKV
	case "qwen2", "olmo", "deci":
		h.Is70B = layers == 80
	case "jais2":
		h.Is70B = layers == 68
	}
	return h, nil
}
