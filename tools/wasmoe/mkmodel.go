package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/wasmoe/wasmoe/host/modelgen"
	"github.com/wasmoe/wasmoe/kernels"
)

var weightTypes = map[string]kernels.DType{"f32": kernels.F32, "f16": kernels.F16, "bf16": kernels.BF16, "q8_0": kernels.Q8_0}

func mkmodel(args []string) error {
	fs := flag.NewFlagSet("mkmodel", flag.ContinueOnError)
	arch := fs.String("arch", "qwen2", "architecture: qwen2 or llama")
	typ := fs.String("type", "f32", "weight type: f32, f16, bf16 or q8_0")
	vocab := fs.String("vocab", "", "GGUF file whose tokenizer metadata is copied (e.g. a llama.cpp vocab file)")
	out := fs.String("out", "", "output GGUF path")
	shape := fs.String("shape", "", "a real model shape instead of the tiny default: qwen2-1.5b, llama-1b")
	o := modelgen.Tiny("qwen2", kernels.F32)
	fs.IntVar(&o.Layers, "layers", o.Layers, "transformer blocks")
	fs.IntVar(&o.Dim, "dim", o.Dim, "hidden size")
	fs.IntVar(&o.FFN, "ffn", o.FFN, "feed-forward size")
	fs.IntVar(&o.Heads, "heads", o.Heads, "attention heads")
	fs.IntVar(&o.KVHeads, "kv-heads", o.KVHeads, "key/value heads")
	fs.IntVar(&o.Context, "ctx", o.Context, "context length")
	fs.BoolVar(&o.Llama3Rope, "llama3-rope", false, "llama: add Llama-3.1 RoPE scaling (rope_freqs.weight)")
	fs.BoolVar(&o.TiedOutput, "tied", false, "omit output.weight (reuse the embedding)")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "random seed")
	template := fs.String("chat-template", "", "Jinja file to store as tokenizer.chat_template")
	if err := fs.Parse(args); err != nil {
		return err
	}
	t, ok := weightTypes[strings.ToLower(*typ)]
	if !ok {
		return fmt.Errorf("--type %q: want f32, f16, bf16 or q8_0", *typ)
	}
	if *vocab == "" || *out == "" {
		return fmt.Errorf("--vocab and --out are required")
	}
	o.Arch, o.Type = *arch, t
	if *template != "" {
		b, err := os.ReadFile(*template)
		if err != nil {
			return fmt.Errorf("--chat-template: %w", err)
		}
		o.ChatTemplate = string(b)
	}
	if *shape != "" {
		s, err := modelgen.Shape(*shape, t)
		if err != nil {
			return err
		}
		s.Seed, s.ChatTemplate = o.Seed, o.ChatTemplate
		o = s
	}
	return modelgen.WriteFile(o, *vocab, *out)
}
