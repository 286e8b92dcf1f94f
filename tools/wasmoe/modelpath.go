package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/wasmoe/wasmoe/internal/hub"
)

// isHFDir tells how a command is to read the model at path, the same way for every command that takes one:
// true for a Hugging Face directory (one holding config.json), false for a file, read as GGUF. A missing
// path, or a directory without config.json, is an error naming the path.
func isHFDir(path string) (bool, error) {
	st, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	if !st.IsDir() {
		return false, nil
	}
	if _, err := os.Stat(filepath.Join(path, "config.json")); err != nil {
		return false, fmt.Errorf("%s: a directory without config.json: expected a GGUF file or a Hugging Face directory "+
			"(config.json, tokenizer.json, model*.safetensors)", path)
	}
	return true, nil
}

// resolveModel turns a --model value into a local path, the same way for every command that takes one:
// "hf:org/repo[:QUANT][@REVISION]" is pulled from the hub into the cache (files already there are not
// downloaded again) and becomes the pulled file's or directory's path; when the hub cannot be reached, or
// with HF_HUB_OFFLINE=1, the cache's copy is used. Any other value is a path, returned as it is.
func resolveModel(ctx context.Context, model string) (string, error) {
	ref, ok := strings.CutPrefix(model, "hf:")
	if !ok {
		return model, nil
	}
	r, err := hub.ParseRef(ref)
	if err != nil {
		return "", err
	}
	if v := os.Getenv("HF_HUB_OFFLINE"); v == "1" || strings.EqualFold(v, "true") {
		m, err := modelCache().Local(r)
		if err != nil {
			return "", fmt.Errorf("HF_HUB_OFFLINE is set: %w", err)
		}
		return m.Path, nil
	}
	m, err := pullModel(ctx, r, false)
	if err != nil {
		local, lerr := modelCache().Local(r)
		if ctx.Err() != nil || lerr != nil {
			return "", fmt.Errorf("%s: %w", model, err)
		}
		fmt.Fprintf(os.Stderr, "wasmoe: %s: %v\nwasmoe: using the cached %s\n", model, err, local.Path)
		return local.Path, nil
	}
	return m.Path, nil
}
