package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/testutil"
)

// TestServeDeepSeek serves tiny deepseek2 models: a V3-style GGUF with DeepSeek-R1's chat template (which
// opens <think>, so an answer that never closes it is all reasoning_content) and the same architecture
// as a Hugging Face directory with DeepSeek-V3's tokenizer and template (plain content).
func TestServeDeepSeek(t *testing.T) {
	dir := t.TempDir()
	vocab := testutil.Vocab(t, "ggml-vocab-deepseek-v3.gguf")
	r1 := filepath.Join(dir, "r1.gguf")
	wasmoe(t, "", "mkmodel", "--arch", "deepseek2", "--style", "v3", "--type", "q8_0", "--vocab", vocab, "--out", r1,
		"--chat-template", filepath.Join(testutil.Root(), "testdata", "templates", "llama-cpp-deepseek-r1.jinja"))
	v3 := filepath.Join(dir, "v3")
	wasmoe(t, "", "mkmodel", "--arch", "deepseek2", "--style", "v3", "--type", "f32", "--vocab", vocab, "--out", v3,
		"--format", "hf", "--hf-dtype", "fp8", "--tokenizer", filepath.Dir(testutil.HFTokenizer(t, "deepseek-v3")))

	for _, c := range []struct {
		model     string
		reasoning bool
	}{{r1, true}, {v3, false}} {
		s := startServer(t, "--model", c.model, "--ctx", "128")
		id := strings.TrimSuffix(filepath.Base(c.model), ".gguf")
		code, out := s.post(t, "/v1/chat/completions", `{"model":"`+id+`","messages":[{"role":"system","content":"Be brief."},`+
			`{"role":"user","content":"Hi"}],"max_tokens":8,"ignore_eos":true,"seed":1}`)
		if code != 200 {
			t.Fatalf("%s: status %d: %v", id, code, out)
		}
		choice := out["choices"].([]any)[0].(map[string]any)
		msg := choice["message"].(map[string]any)
		reasoning, _ := msg["reasoning_content"].(string)
		content, _ := msg["content"].(string)
		if c.reasoning && (reasoning == "" || choice["finish_reason"] != "length") {
			t.Errorf("%s: R1 template, want all reasoning: %v", id, choice)
		}
		if !c.reasoning && (content == "" || reasoning != "") {
			t.Errorf("%s: V3 template, want plain content: %v", id, choice)
		}
		usage := out["usage"].(map[string]any)
		if pt := usage["prompt_tokens"].(float64); pt < 5 {
			t.Errorf("%s: prompt_tokens %v: the chat template did not render", id, pt)
		}
	}
	if _, err := os.Stat(filepath.Join(v3, "model.safetensors.index.json")); err != nil {
		t.Errorf("the HF model is not sharded: %v", err)
	}
}
