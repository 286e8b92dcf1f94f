package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/host/modelgen"
	"github.com/wasmoe/wasmoe/internal/kernels"
)

func mkmodel(args []string) error {
	fs := flag.NewFlagSet("mkmodel", flag.ContinueOnError)
	arch := fs.String("arch", "qwen2", "architecture: qwen2, llama or deepseek2")
	style := fs.String("style", "v3", "deepseek2: v3 (DeepSeek-V3/R1 style) or v2-lite (DeepSeek-V2-Lite style)")
	typ := fs.String("type", "f32", "weight type: f32, f16, bf16, q8_0 or another type wasmoe writes (see `wasmoe quantize`)")
	vocab := fs.String("vocab", "", "GGUF file whose tokenizer metadata is copied (e.g. a llama.cpp vocab file)")
	out := fs.String("out", "", "output GGUF path (a directory with --format hf)")
	format := fs.String("format", "gguf", "gguf, or hf: a Hugging Face directory (config.json, sharded safetensors, tokenizer) with the same weights")
	hfDType := fs.String("hf-dtype", "bf16", "--format hf: weight dtype, bf16 or fp8 (FP8 E4M3 with 128x128 block scales)")
	tokDir := fs.String("tokenizer", "", "--format hf: directory holding tokenizer.json and tokenizer_config.json to copy")
	mtp := fs.Int("mtp", 0, "deepseek2: multi-token-prediction blocks after the main ones (DeepSeek-V3 has 1)")
	cycle := fs.Int("cycle", 0, "qwen2, llama: a predictable model whose greedy output walks cycles of N token ids (a speculative-decoding benchmark fixture)")
	shape := fs.String("shape", "", "a real model shape instead of the tiny default: qwen2-1.5b, llama-1b, deepseek-v2-lite")
	var f modelgen.Options
	fs.IntVar(&f.Layers, "layers", 0, "transformer blocks (default: the architecture's tiny model)")
	fs.IntVar(&f.Dim, "dim", 0, "hidden size")
	fs.IntVar(&f.FFN, "ffn", 0, "feed-forward size")
	fs.IntVar(&f.Heads, "heads", 0, "attention heads")
	fs.IntVar(&f.KVHeads, "kv-heads", 0, "key/value heads (qwen2, llama)")
	fs.IntVar(&f.Context, "ctx", 0, "context length")
	fs.BoolVar(&f.Llama3Rope, "llama3-rope", false, "llama: add Llama-3.1 RoPE scaling (rope_freqs.weight)")
	fs.BoolVar(&f.TiedOutput, "tied", false, "omit output.weight (reuse the embedding)")
	fs.Uint64Var(&f.Seed, "seed", 1, "random seed")
	template := fs.String("chat-template", "", "Jinja file to store as tokenizer.chat_template")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	t, ok := kernels.ParseType(*typ)
	if !ok {
		return fmt.Errorf("--type %q: not a ggml type name (f32, f16, bf16, q8_0, q4_k, ...)", *typ)
	}
	if *vocab == "" || *out == "" {
		return fmt.Errorf("--vocab and --out are required")
	}
	o := modelgen.Tiny(*arch, t)
	o.Arch = *arch
	if *arch == "deepseek2" {
		s, err := modelgen.DeepSeekTiny(*style, t)
		if err != nil {
			return fmt.Errorf("--style: %w", err)
		}
		o = s
	}
	if *shape != "" {
		s, err := modelgen.Shape(*shape, t)
		if err != nil {
			return err
		}
		o = s
	}
	// Flags given explicitly override the model chosen above.
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "layers":
			o.Layers = f.Layers
		case "dim":
			o.Dim = f.Dim
		case "ffn":
			o.FFN = f.FFN
		case "heads":
			o.Heads = f.Heads
		case "kv-heads":
			o.KVHeads = f.KVHeads
		case "ctx":
			o.Context = f.Context
		case "llama3-rope":
			o.Llama3Rope = f.Llama3Rope
		case "tied":
			o.TiedOutput = f.TiedOutput
		}
	})
	o.Seed = f.Seed
	o.Cycle = *cycle
	if *mtp != 0 {
		if o.DeepSeek == nil || *mtp < 0 {
			return fmt.Errorf("--mtp %d: only deepseek2 models have multi-token-prediction blocks, 0 or more", *mtp)
		}
		o.DeepSeek.MTP = *mtp
	}
	if *template != "" {
		b, err := os.ReadFile(*template)
		if err != nil {
			return fmt.Errorf("--chat-template: %w", err)
		}
		o.ChatTemplate = string(b)
	}
	switch *format {
	case "gguf":
		return modelgen.WriteFile(o, *vocab, *out)
	case "hf":
		if *tokDir == "" {
			return fmt.Errorf("--format hf needs --tokenizer DIR (tokenizer.json and tokenizer_config.json)")
		}
		tmp, err := os.MkdirTemp("", "wasmoe-mkmodel")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		src := filepath.Join(tmp, "model.gguf")
		if err := modelgen.WriteFile(o, *vocab, src); err != nil {
			return err
		}
		g, err := gguf.Open(src)
		if err != nil {
			return err
		}
		defer g.Close()
		return modelgen.WriteHF(g, *out, *hfDType, *tokDir)
	}
	return fmt.Errorf("--format %q: want gguf or hf", *format)
}
