package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/host/modelinfo"
)

// inspect prints a model's architecture, parameter counts, KV-cache size per token and tensor types
// without loading its weights.
func inspect(args []string) error {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	cacheBytes := fs.Int("cache-bytes", 2, "bytes per cached value for the KV-cache figures (2: f16/bf16, 4: f32)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: wasmoe inspect [--json] MODEL.gguf|HF_DIR")
	}
	if *cacheBytes <= 0 {
		return fmt.Errorf("--cache-bytes must be positive")
	}
	path, err := resolveModel(context.Background(), fs.Arg(0))
	if err != nil {
		return err
	}
	in, err := summarise(path)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(in)
	}
	in.WriteText(os.Stdout, *cacheBytes)
	return nil
}

// summarise reads a GGUF file or a Hugging Face directory.
func summarise(path string) (*modelinfo.Info, error) {
	hf, err := isHFDir(path)
	if err != nil {
		return nil, err
	}
	if hf {
		return modelinfo.FromHF(path)
	}
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return modelinfo.FromGGUF(f)
}
