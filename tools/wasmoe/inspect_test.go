package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/testutil"
)

// TestInspect summarises a generated llama model; the cache size follows from its shape (2 layers, 2 KV
// heads of 16 dims, K and V, 2 bytes a value).
func TestInspect(t *testing.T) {
	model := filepath.Join(t.TempDir(), "m.gguf")
	wasmoe(t, "", "mkmodel", "--arch", "llama", "--type", "q8_0", "--vocab", testutil.Vocab(t, "ggml-vocab-llama-bpe.gguf"), "--out", model)
	var in struct {
		Arch                string
		Layers, NaiveValues int
		Types               map[string]int
	}
	if err := json.Unmarshal([]byte(wasmoe(t, "", "inspect", "--json", model)), &in); err != nil {
		t.Fatal(err)
	}
	if in.Arch != "llama" || in.Layers != 2 || in.NaiveValues != 2*2*2*16 || in.Types["Q8_0"] == 0 {
		t.Errorf("inspect: %+v", in)
	}
	text := wasmoe(t, "", "inspect", model)
	if !strings.Contains(text, "KV cache/token 256 B") {
		t.Errorf("text output:\n%s", text)
	}
	out, err := exec.Command(bin, "inspect", filepath.Join(t.TempDir(), "missing.gguf")).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "missing.gguf") {
		t.Errorf("a missing file: %v %s", err, out)
	}
}
