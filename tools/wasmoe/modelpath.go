package main

import (
	"fmt"
	"os"
	"path/filepath"
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
