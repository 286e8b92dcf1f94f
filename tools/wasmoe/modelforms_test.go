package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/host/vocab"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// modelCommand is one command that takes a model, as TestModelForms runs it.
type modelCommand struct {
	name string
	// args is the command line for model; scratch is an empty directory for the command's output files.
	args func(model, scratch string) []string
	// answer is the part of the command's output that must not depend on the model's form ("" for none);
	// it fails the test on output that is not an answer at all.
	answer func(t *testing.T, stdout, scratch string) string
}

// modelCommands are every wasmoe command with a --model flag (or, for inspect, a model argument) but
// serve, which TestModelForms runs as a server.
var modelCommands = []modelCommand{
	{"tokenize", func(m, _ string) []string { return []string{"tokenize", "--model", m, "Hello world! 你好"} },
		func(t *testing.T, out, _ string) string {
			var ids []int32
			if err := json.Unmarshal([]byte(out), &ids); err != nil || len(ids) == 0 {
				t.Fatalf("tokenize: %q: %v", out, err)
			}
			return fmt.Sprint(ids)
		}},
	{"eval", func(m, _ string) []string {
		return []string{"eval", "--model", m, "--text", "Hello world", "--top", "5"}
	},
		func(t *testing.T, out, _ string) string {
			var steps []struct{ Top [][2]float64 }
			if err := json.Unmarshal([]byte(out), &steps); err != nil || len(steps) == 0 || len(steps[0].Top) != 5 {
				t.Fatalf("eval: %q: %v", out, err)
			}
			return out
		}},
	{"run", func(m, _ string) []string {
		return []string{"run", "--model", m, "--temp", "0", "--max-tokens", "6", "Hi there"}
	}, func(t *testing.T, out, _ string) string {
		if strings.TrimSpace(out) == "" {
			t.Fatal("run: no text")
		}
		return out
	}},
	{"inspect", func(m, _ string) []string { return []string{"inspect", "--json", m} },
		func(t *testing.T, out, _ string) string {
			var in struct {
				Arch                                                           string
				Layers, Context, Vocab, TotalParams, ActiveParams, NaiveValues int
			}
			if err := json.Unmarshal([]byte(out), &in); err != nil || in.TotalParams == 0 {
				t.Fatalf("inspect: %q: %v", out, err)
			}
			return fmt.Sprintf("%+v", in)
		}},
	{"bench", func(m, _ string) []string {
		return []string{"bench", "--model", m, "--prompt-tokens", "8", "--gen-tokens", "4", "--threads", "1"}
	}, func(t *testing.T, out, _ string) string {
		var r struct {
			PromptTokens int     `json:"prompt_tokens"`
			GenTokens    int     `json:"gen_tokens"`
			Decode       float64 `json:"decode_tok_s"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil || r.PromptTokens != 8 || r.GenTokens != 4 || r.Decode <= 0 {
			t.Fatalf("bench: %q: %v", out, err)
		}
		return "" // timings
	}},
	{"quantize", func(m, scratch string) []string {
		return []string{"quantize", "--model", m, "--type", "Q8_0", "--out", filepath.Join(scratch, "q.gguf"), "--quiet"}
	}, func(t *testing.T, _, scratch string) string { return tensorDigest(t, filepath.Join(scratch, "q.gguf")) }},
}

// tensorDigest lists a GGUF file's tensors: name, type, shape and the SHA-256 of their data.
func tensorDigest(t *testing.T, path string) string {
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	for _, x := range f.Tensors {
		fmt.Fprintf(&b, "%s %v %v %x\n", x.Name, x.Type, x.Dims, sha256.Sum256(x.Data))
	}
	return b.String()
}

// smallHFTokenizer writes DeepSeek-V3's Hugging Face tokenizer cut to its first n ids (the three special
// tokens, the 256 byte tokens and the first merges' results; the merges kept are those whose parts and
// result are all kept) into a directory, with tokenizer_config.json, and returns the directory and a
// vocab-only GGUF file of the same tokenizer for mkmodel. A small vocabulary keeps every command quick.
func smallHFTokenizer(t *testing.T, n int) (string, string) {
	src := testutil.HFTokenizer(t, "deepseek-v3")
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var tok map[string]json.RawMessage
	var model map[string]json.RawMessage
	var ids map[string]int // model.vocab: token → id
	var merges []string
	var added []map[string]any
	if err := json.Unmarshal(raw, &tok); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{json.Unmarshal(tok["model"], &model), json.Unmarshal(tok["added_tokens"], &added)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, err := range []error{json.Unmarshal(model["vocab"], &ids), json.Unmarshal(model["merges"], &merges)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	maps.DeleteFunc(ids, func(_ string, id int) bool { return id >= n })
	merges = slices.DeleteFunc(merges, func(m string) bool {
		a, b, _ := strings.Cut(m, " ")
		_, okA := ids[a]
		_, okB := ids[b]
		_, okAB := ids[a+b]
		return !okA || !okB || !okAB
	})
	added = slices.DeleteFunc(added, func(a map[string]any) bool { return a["id"].(float64) >= float64(n) })
	model["vocab"], _ = json.Marshal(ids)
	model["merges"], _ = json.Marshal(merges)
	tok["model"], _ = json.Marshal(model)
	tok["added_tokens"], _ = json.Marshal(added)
	raw, _ = json.Marshal(tok)
	dir := t.TempDir()
	cfg, err := os.ReadFile(filepath.Join(filepath.Dir(src), "tokenizer_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"tokenizer.json": raw, "tokenizer_config.json": cfg} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h, err := vocab.LoadHF(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Vocab.Tokens) != n {
		t.Fatalf("the cut tokenizer has %d tokens, want %d", len(h.Vocab.Tokens), n)
	}
	w := gguf.NewWriter()
	if err := vocab.SetGGUF(w, h.Vocab, h.ChatTemplate); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "vocab.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return dir, path
}

// TestModelForms runs every command that takes a model on one tiny qwen2 model in its two forms: a Hugging
// Face directory (mkmodel --format hf, DeepSeek-V3's tokenizer cut to 1024 tokens) and the GGUF file
// `wasmoe quantize --type BF16` converts it to, which holds the same values (the BF16 matrices as they
// are, the BF16 norms widened to F32 exactly) and the same tokenizer. Each command must accept both forms
// and give the same answer for both (bench its timings, so only well-formed output); serve must answer
// the same chat request the same way. A directory without config.json gets the one error isHFDir writes,
// from every command.
func TestModelForms(t *testing.T) {
	dir := t.TempDir()
	tokDir, vocabFile := smallHFTokenizer(t, 1024)
	hf := filepath.Join(dir, "m")
	wasmoe(t, "", "mkmodel", "--arch", "qwen2", "--type", "bf16", "--vocab", vocabFile, "--out", hf, "--format", "hf",
		"--tokenizer", tokDir)
	file := filepath.Join(dir, "m.gguf")
	wasmoe(t, "", "quantize", "--model", hf, "--type", "BF16", "--out", file, "--quiet")
	forms := []string{file, hf}

	for _, c := range modelCommands {
		t.Run(c.name, func(t *testing.T) {
			var answers []string
			for _, m := range forms {
				scratch := t.TempDir()
				answers = append(answers, c.answer(t, wasmoe(t, "", c.args(m, scratch)...), scratch))
			}
			if answers[0] != answers[1] {
				t.Errorf("GGUF file and HF directory differ:\n%s\n%s", answers[0], answers[1])
			}
		})
	}
	t.Run("serve", func(t *testing.T) {
		var answers []string
		for _, m := range forms {
			s := startServer(t, "--model", m, "--ctx", "128")
			code, out := s.post(t, "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"Hi"}],`+
				`"max_tokens":6,"temperature":0,"ignore_eos":true}`)
			if code != 200 {
				t.Fatalf("%s: status %d: %v", m, code, out)
			}
			msg := out["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)
			if content, _ := msg["content"].(string); content == "" {
				t.Fatalf("%s: no content: %v", m, out)
			}
			answers = append(answers, fmt.Sprint(msg["content"], out["usage"]))
		}
		if answers[0] != answers[1] {
			t.Errorf("GGUF file and HF directory differ:\n%s\n%s", answers[0], answers[1])
		}
	})

	t.Run("neither", func(t *testing.T) {
		empty := filepath.Join(dir, "not-a-model")
		if err := os.Mkdir(empty, 0o755); err != nil {
			t.Fatal(err)
		}
		cmds := [][]string{{"serve", "--model", empty, "--addr", "127.0.0.1:0"},
			{"eval", "--model", file, "--extra-model", "x=" + empty, "--tokens", "1"}}
		for _, c := range modelCommands {
			cmds = append(cmds, c.args(empty, t.TempDir()))
		}
		want := empty + ": a directory without config.json: expected a GGUF file or a Hugging Face directory"
		for _, args := range cmds {
			out, err := exec.Command(bin, args...).CombinedOutput()
			if err == nil || !strings.Contains(string(out), want) || strings.Contains(string(out), "panic") {
				t.Errorf("wasmoe %s: %v\n%s\nwant an error containing %q", strings.Join(args, " "), err, out, want)
			}
		}
	})
}
