package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/host/golden"
	"github.com/wasmoe/wasmoe/host/modelgen"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// bin is the wasmoe binary the tests run, built once by TestMain.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wasmoe-cli")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "wasmoe")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building wasmoe: %v\n%s", err, out)
		os.Exit(1)
	}
	os.Setenv("WASMOE_CACHE", filepath.Join(dir, "cache"))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// wasmoe runs the binary and returns its stdout; a non-zero exit fails the test.
func wasmoe(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("wasmoe %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// TestTokenizeVectors runs llama.cpp's tokenizer test vectors through `wasmoe tokenize --jsonl`.
func TestTokenizeVectors(t *testing.T) {
	for _, name := range []string{"qwen2", "llama-bpe", "deepseek-llm", "deepseek-coder"} {
		t.Run(name, func(t *testing.T) {
			file := "ggml-vocab-" + name + ".gguf"
			inp, err := os.ReadFile(filepath.Join(testutil.Root(), "testdata", "vocab", file+".inp"))
			if err != nil {
				t.Fatal(err)
			}
			outp, err := os.ReadFile(filepath.Join(testutil.Root(), "testdata", "vocab", file+".out"))
			if err != nil {
				t.Fatal(err)
			}
			texts := strings.Split(string(inp), "\n__ggml_vocab_test__\n")
			texts = texts[:len(texts)-1]
			want := strings.Split(strings.TrimSuffix(string(outp), "\n"), "\n")
			if len(texts) != len(want) {
				t.Fatalf("%d inputs, %d outputs", len(texts), len(want))
			}
			var stdin strings.Builder
			for _, s := range texts {
				b, _ := json.Marshal(s)
				stdin.Write(append(b, '\n'))
			}
			got := strings.Split(strings.TrimSuffix(wasmoe(t, stdin.String(), "tokenize", "--jsonl", "--model", testutil.Vocab(t, file)), "\n"), "\n")
			if len(got) != len(want) {
				t.Fatalf("%d output lines, want %d", len(got), len(want))
			}
			for i := range want {
				var ids []int
				if err := json.Unmarshal([]byte(got[i]), &ids); err != nil {
					t.Fatalf("case %d: %v", i, err)
				}
				g := strings.Trim(fmt.Sprint(ids), "[]")
				if g != strings.TrimSpace(want[i]) {
					t.Errorf("case %d %q:\n got %s\nwant %s", i, texts[i], g, strings.TrimSpace(want[i]))
				}
			}
		})
	}
}

// TestEvalMatchesLlamaCpp regenerates each golden model, checks it is the file llama.cpp saw, and compares
// `wasmoe eval --text` with llama.cpp's tokens and probabilities.
func TestEvalMatchesLlamaCpp(t *testing.T) {
	for _, c := range golden.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			g, err := golden.Load(filepath.Join(testutil.Root(), "testdata", "golden", c.Name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			model := filepath.Join(t.TempDir(), c.Name+".gguf")
			if err := modelgen.WriteFile(c.Options, testutil.Vocab(t, c.Vocab), model); err != nil {
				t.Fatal(err)
			}
			if sum := testutil.SHA256File(t, model); sum != g.SHA256 {
				t.Fatalf("generated model hash %s, golden file was made from %s: regenerate with `go run ./tools/goldens`", sum, g.SHA256)
			}
			out := wasmoe(t, "", "eval", "--model", model, "--text", g.Text, "--top", "50")
			var ours []golden.Step
			if err := json.Unmarshal([]byte(out), &ours); err != nil {
				t.Fatal(err)
			}
			worst, err := golden.Compare(g.Ref, ours, g.Tolerance)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d positions, largest probability difference %.3g (tolerance %g)", len(ours), worst, g.Tolerance)
		})
	}
}

func TestMkmodelDeterministic(t *testing.T) {
	vocab := testutil.Vocab(t, "ggml-vocab-deepseek-coder.gguf")
	dir := t.TempDir()
	for _, name := range []string{"a.gguf", "b.gguf"} {
		wasmoe(t, "", "mkmodel", "--arch", "llama", "--type", "q8_0", "--vocab", vocab, "--out", filepath.Join(dir, name), "--seed", "7")
	}
	if testutil.SHA256File(t, filepath.Join(dir, "a.gguf")) != testutil.SHA256File(t, filepath.Join(dir, "b.gguf")) {
		t.Fatal("same options and seed gave different files")
	}
	cmd := exec.Command(bin, "mkmodel", "--type", "q4_9", "--vocab", vocab, "--out", filepath.Join(dir, "c.gguf"))
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "--type") {
		t.Fatalf("bad --type accepted: %v %s", err, out)
	}
}

func TestRun(t *testing.T) {
	cmd := exec.Command(bin, "run", "--max-tokens", "8", "--seed", "3", "Why is the sky blue?")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "RANDOM weights") || !strings.Contains(stderr.String(), "generated") {
		t.Errorf("stderr does not say the default model is random or what was generated:\n%s", stderr.String())
	}
	if len(strings.TrimSpace(string(out))) == 0 {
		t.Error("no text streamed")
	}
	again, _ := exec.Command(bin, "run", "--max-tokens", "8", "--seed", "3", "Why is the sky blue?").Output()
	if string(again) != string(out) {
		t.Errorf("same seed, different output:\n%q\n%q", out, again)
	}
}

func TestCLIErrors(t *testing.T) {
	for _, args := range [][]string{
		{"eval", "--model", "/nonexistent.gguf", "--tokens", "1"},
		{"serve", "--config", "/nonexistent.toml"},
		{"frobnicate"},
	} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err == nil {
			t.Errorf("wasmoe %v succeeded", args)
		}
		if len(out) == 0 || strings.Contains(string(out), "panic") {
			t.Errorf("wasmoe %v: no clear error:\n%s", args, out)
		}
	}
}
