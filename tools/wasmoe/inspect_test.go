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

// TestInspectSplit summarises a model split by llama-gguf-split, given by any of its parts: the summary is
// the whole model's (all 27 tensors) and says it is split into 3 parts.
func TestInspectSplit(t *testing.T) {
	dir := testutil.SplitModel(t)
	type summary struct {
		Path        string
		Parts       int
		TotalParams uint64
	}
	var whole summary
	if err := json.Unmarshal([]byte(wasmoe(t, "", "inspect", "--json", filepath.Join(dir, "tiny.gguf"))), &whole); err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{"tiny-00001-of-00003.gguf", "tiny-00003-of-00003.gguf"} {
		var got summary
		if err := json.Unmarshal([]byte(wasmoe(t, "", "inspect", "--json", filepath.Join(dir, part))), &got); err != nil {
			t.Fatal(err)
		}
		if got.Parts != 3 || got.TotalParams != whole.TotalParams || whole.Parts != 0 || filepath.Base(got.Path) != "tiny-00001-of-00003.gguf" {
			t.Errorf("inspect %s: %+v; the unsplit file: %+v", part, got, whole)
		}
	}
	if text := wasmoe(t, "", "inspect", filepath.Join(dir, "tiny-00002-of-00003.gguf")); !strings.Contains(text, "split          into 3 parts") {
		t.Errorf("text output:\n%s", text)
	}
}

// TestMkmodelMTP: `mkmodel --mtp 1` writes a deepseek2 model with one multi-token-prediction block, which
// inspect counts apart from the main blocks; --mtp on an architecture without MTP blocks is refused.
func TestMkmodelMTP(t *testing.T) {
	dir := t.TempDir()
	vocab := testutil.Vocab(t, "ggml-vocab-deepseek-coder.gguf")
	model := filepath.Join(dir, "v3.gguf")
	wasmoe(t, "", "mkmodel", "--arch", "deepseek2", "--style", "v3", "--mtp", "1", "--type", "q8_0", "--vocab", vocab, "--out", model)
	var in struct{ Layers, MTP int }
	if err := json.Unmarshal([]byte(wasmoe(t, "", "inspect", "--json", model)), &in); err != nil {
		t.Fatal(err)
	}
	if in.Layers != 3 || in.MTP != 1 {
		t.Errorf("inspect: %d main blocks and %d MTP blocks, want 3 and 1", in.Layers, in.MTP)
	}
	out, err := exec.Command(bin, "mkmodel", "--arch", "qwen2", "--mtp", "1", "--vocab", vocab, "--out", filepath.Join(dir, "q.gguf")).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--mtp") {
		t.Errorf("--mtp on qwen2: %v %s", err, out)
	}
}
