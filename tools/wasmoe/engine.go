package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wasmoe/wasmoe/guest/builtin"
	"github.com/wasmoe/wasmoe/host/engine"
	"github.com/wasmoe/wasmoe/host/gguf"
	"github.com/wasmoe/wasmoe/host/modelgen"
	"github.com/wasmoe/wasmoe/host/vocab"
	"github.com/wasmoe/wasmoe/host/wasm"
)

// engineFlags are the flags of every command that loads a model.
type engineFlags struct {
	model    string
	ctx      int
	threads  int
	sampler  string
	maxQueue int
}

func (f *engineFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.model, "model", "", "GGUF model file or Hugging Face directory (default: a small random-weight model, generated once)")
	fs.IntVar(&f.ctx, "ctx", 0, "context tokens per sequence (default: min(model, 4096))")
	fs.IntVar(&f.threads, "threads", 0, "kernel threads (default: all cores)")
	fs.StringVar(&f.sampler, "sampler", "", "sampler guest .wasm (default: the built-in sampler)")
}

// cacheDir is where generated models and compiled guests are kept.
func cacheDir() string {
	if d := os.Getenv("WASMOE_CACHE"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		d = os.TempDir()
	}
	return filepath.Join(d, "wasmoe")
}

// open loads the model (or the default one) and its guests.
func (f *engineFlags) open(ctx context.Context) (*engine.Engine, error) {
	path := f.model
	if path == "" {
		var err error
		if path, err = modelgen.EnsureDefault(cacheDir()); err != nil {
			return nil, fmt.Errorf("default model: %w", err)
		}
		fmt.Fprintf(os.Stderr, "wasmoe: no --model given: using %s, a small model with RANDOM weights (its output is noise).\n"+
			"wasmoe: serve a real model with --model path/to/model.gguf (e.g. a DeepSeek-R1-Distill-Qwen GGUF)\n", path)
	}
	samplerWasm := builtin.Sampler
	if f.sampler != "" {
		b, err := os.ReadFile(f.sampler)
		if err != nil {
			return nil, fmt.Errorf("--sampler: %w", err)
		}
		samplerWasm = b
	}
	rt, err := newRuntime(ctx)
	if err != nil {
		return nil, err
	}
	return engine.Open(engine.Config{ModelPath: path, Threads: f.threads, Context: f.ctx, Runtime: rt, MaxQueue: f.maxQueue,
		TokenizerWasm: builtin.Tokenizer, SamplerWasm: samplerWasm})
}

func newRuntime(ctx context.Context) (*wasm.Runtime, error) {
	return wasm.NewRuntime(ctx, wasm.Config{CacheDir: filepath.Join(cacheDir(), "wazero")})
}

// openTokenizer starts the tokenizer guest on the vocabulary of a GGUF file, without loading weights.
func openTokenizer(ctx context.Context, path string) (*wasm.Tokenizer, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	v, err := vocab.FromGGUF(f)
	if err != nil {
		return nil, err
	}
	rt, err := newRuntime(ctx)
	if err != nil {
		return nil, err
	}
	return wasm.NewTokenizer(rt, builtin.Tokenizer, v, 1)
}
