// Package modelinfo summarises a model without loading it: architecture, total and per-token active
// parameters, KV-cache bytes per token, context length and tensor type counts, from a GGUF file or a
// Hugging Face safetensors directory. It reads metadata and tensor headers only.
package modelinfo

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Info is the summary of one model.
type Info struct {
	Format  string // "gguf" or "hf"
	Path    string
	Parts   int    `json:",omitempty"` // files of a GGUF model split by llama-gguf-split; 0 for one file
	Arch    string // GGUF architecture name (deepseek2, qwen2, llama); HF model_type is mapped to it
	Name    string
	Layers  int // main transformer blocks (MTP blocks excluded)
	MTP     int // multi-token-prediction blocks (DeepSeek-V3 nextn layers)
	Context int
	Vocab   int

	TotalParams  uint64 // every weight in the file
	ActiveParams uint64 // weights one token's forward pass multiplies by (see Params)
	ExpertParams uint64 // routed-expert weights, all experts
	MTPParams    uint64 // weights of the MTP blocks (not active in plain decoding)
	Experts      int    // routed experts per MoE layer (0 for dense models)
	ExpertsUsed  int    // routed experts per token

	// KV-cache values per token, all layers: what an engine must keep for each position.
	LatentValues int // MLA latent cache (kv_lora_rank + rope dims per layer); 0 for non-MLA models
	NaiveValues  int // per-head K and V (MLA decompressed, or GQA K/V heads)

	Types map[string]int // tensor type name → number of tensors
}

// tensor is what the summary needs of one tensor.
type tensor struct {
	name     string
	typ      string
	elements uint64
}

// params fills the parameter counts from the tensor list. Active parameters are every weight except the
// token-embedding table (a lookup, not a product), the MTP blocks, and the routed experts a token does not
// use: Experts−ExpertsUsed of every Experts routed-expert weights.
func (in *Info) params(ts []tensor, routed, mtp func(name string) bool, embedding string) {
	in.Types = map[string]int{}
	var embed uint64
	for _, t := range ts {
		in.Types[t.typ]++
		in.TotalParams += t.elements
		switch {
		case mtp(t.name):
			in.MTPParams += t.elements
		case routed(t.name):
			in.ExpertParams += t.elements
		case t.name == embedding:
			embed += t.elements
		}
	}
	in.ActiveParams = in.TotalParams - in.MTPParams - in.ExpertParams - embed
	if in.Experts > 0 {
		in.ActiveParams += in.ExpertParams * uint64(in.ExpertsUsed) / uint64(in.Experts)
	}
}

// mla sets the cache sizes of a Multi-head Latent Attention model (spec §3.4.5).
func (in *Info) mla(heads, kvLora, rope, keyMLA, valueMLA int) {
	in.LatentValues = in.Layers * (kvLora + rope)
	in.NaiveValues = in.Layers * heads * (keyMLA + valueMLA)
}

// WriteText prints the summary for people. bytesPerValue sizes the cache figures (2 for an f16/bf16 cache,
// 4 for float32).
func (in *Info) WriteText(w io.Writer, bytesPerValue int) {
	fmt.Fprintf(w, "%s (%s)\n", in.Path, in.Format)
	if in.Parts > 1 {
		fmt.Fprintf(w, "  split          into %d parts (the first is named above)\n", in.Parts)
	}
	fmt.Fprintf(w, "  architecture   %s", in.Arch)
	if in.Name != "" {
		fmt.Fprintf(w, "  %q", in.Name)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  layers         %d", in.Layers)
	if in.MTP > 0 {
		fmt.Fprintf(w, " (+%d MTP, %s params)", in.MTP, human(in.MTPParams))
	}
	fmt.Fprintf(w, "\n  context        %d\n  vocabulary     %d\n", in.Context, in.Vocab)
	fmt.Fprintf(w, "  parameters     %s total, %s active per token", human(in.TotalParams), human(in.ActiveParams))
	if in.Experts > 0 {
		fmt.Fprintf(w, " (%d of %d routed experts, %s expert params)", in.ExpertsUsed, in.Experts, human(in.ExpertParams))
	}
	fmt.Fprintln(w)
	b := uint64(bytesPerValue)
	if in.LatentValues > 0 {
		fmt.Fprintf(w, "  KV cache/token %s latent (MLA), %s naive (per-head K/V): %.1f× smaller, at %d bytes a value\n",
			bytes(uint64(in.LatentValues)*b), bytes(uint64(in.NaiveValues)*b),
			float64(in.NaiveValues)/float64(in.LatentValues), bytesPerValue)
	} else {
		fmt.Fprintf(w, "  KV cache/token %s (K and V), at %d bytes a value\n", bytes(uint64(in.NaiveValues)*b), bytesPerValue)
	}
	types := make([]string, 0, len(in.Types))
	for t := range in.Types {
		types = append(types, t)
	}
	sort.Strings(types)
	parts := make([]string, len(types))
	for i, t := range types {
		parts[i] = fmt.Sprintf("%s×%d", t, in.Types[t])
	}
	fmt.Fprintf(w, "  tensor types   %s\n", strings.Join(parts, ", "))
}

// human prints a parameter count as 15.71B, 340.2M, 12.3K.
func human(n uint64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

// bytes prints a byte count in B, KiB or MiB.
func bytes(n uint64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
