package modelinfo

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
)

// FromGGUF summarises an open GGUF file from its metadata and tensor headers.
func FromGGUF(f *gguf.File) (*Info, error) {
	arch, ok := f.String("general.architecture")
	if !ok {
		return nil, fmt.Errorf("modelinfo: %s: metadata general.architecture missing", f.Path)
	}
	in := &Info{Format: "gguf", Path: f.Path, Arch: arch, Parts: len(f.Parts)}
	in.Name, _ = f.String("general.name")
	key := func(k string) int {
		n, _ := f.Uint(arch + "." + k)
		return int(n)
	}
	blocks := key("block_count")
	if blocks <= 0 {
		return nil, fmt.Errorf("modelinfo: %s: metadata %s.block_count missing", f.Path, arch)
	}
	in.MTP = key("nextn_predict_layers")
	in.Layers = blocks - in.MTP
	in.Context = key("context_length")
	if toks, ok := f.Strings("tokenizer.ggml.tokens"); ok {
		in.Vocab = len(toks)
	}
	if t, ok := f.Tensor("token_embd.weight"); ok && t.Dim(1) > in.Vocab {
		in.Vocab = t.Dim(1)
	}
	in.Experts, in.ExpertsUsed = key("expert_count"), key("expert_used_count")

	heads := key("attention.head_count")
	if kvLora := key("attention.kv_lora_rank"); kvLora > 0 {
		keyMLA, valueMLA := key("attention.key_length_mla"), key("attention.value_length_mla")
		if keyMLA == 0 { // legacy MLA file: key_length is the per-head query width
			keyMLA, valueMLA = key("attention.key_length"), key("attention.value_length")
		}
		in.mla(heads, kvLora, key("rope.dimension_count"), keyMLA, valueMLA)
	} else {
		kvHeads := key("attention.head_count_kv")
		if kvHeads == 0 {
			kvHeads = heads
		}
		k, v := key("attention.key_length"), key("attention.value_length")
		if heads > 0 && k == 0 {
			k = key("embedding_length") / heads
		}
		if v == 0 {
			v = k
		}
		in.NaiveValues = in.Layers * kvHeads * (k + v)
	}

	ts := make([]tensor, len(f.Tensors))
	for i := range f.Tensors {
		t := &f.Tensors[i]
		ts[i] = tensor{t.Name, t.Type.String(), t.Elements()}
	}
	routed := func(name string) bool { return strings.Contains(name, "_exps.") }
	mtp := func(name string) bool { return in.MTP > 0 && blockIndex(name) >= in.Layers }
	in.params(ts, routed, mtp, "token_embd.weight")
	return in, nil
}

// blockIndex is the block number of a GGUF tensor name "blk.N.…", or -1.
func blockIndex(name string) int {
	rest, ok := strings.CutPrefix(name, "blk.")
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
