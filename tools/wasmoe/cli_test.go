package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/golden"
	"github.com/wasmoe/wasmoe/internal/host/modelgen"
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

// TestTokenizeHF runs `wasmoe tokenize --tokenizer tokenizer.json --jsonl` on DeepSeek-V3's Hugging Face
// tokenizer: Hugging Face's ids for encode-cases.json, and llama.cpp's for the deepseek-v3 vectors and
// random texts of testdata/vocab (with and without --special).
func TestTokenizeHF(t *testing.T) {
	path := testutil.HFTokenizer(t, "deepseek-v3")
	tokenize := func(t *testing.T, texts []string, flags ...string) [][]int32 {
		t.Helper()
		var stdin strings.Builder
		for _, s := range texts {
			b, _ := json.Marshal(s)
			stdin.Write(append(b, '\n'))
		}
		args := append([]string{"tokenize", "--jsonl", "--tokenizer", path}, flags...)
		lines := strings.Split(strings.TrimSuffix(wasmoe(t, stdin.String(), args...), "\n"), "\n")
		if len(lines) != len(texts) {
			t.Fatalf("%d output lines for %d texts", len(lines), len(texts))
		}
		out := make([][]int32, len(lines))
		for i, l := range lines {
			if err := json.Unmarshal([]byte(l), &out[i]); err != nil {
				t.Fatalf("line %d: %v", i, err)
			}
		}
		return out
	}
	check := func(t *testing.T, texts []string, want [][]int32, flags ...string) {
		t.Helper()
		bad := 0
		for i, got := range tokenize(t, texts, flags...) {
			if !slices.Equal(got, want[i]) {
				if bad++; bad <= 5 {
					t.Errorf("%q %v:\n got %v\nwant %v", texts[i], flags, got, want[i])
				}
			}
		}
		if bad > 0 {
			t.Errorf("%d of %d texts differ", bad, len(texts))
		}
	}
	t.Run("hf-cases", func(t *testing.T) {
		raw, err := os.ReadFile(filepath.Join(testutil.Root(), "testdata", "tokenizers", "deepseek-v3", "encode-cases.json"))
		if err != nil {
			t.Fatal(err)
		}
		var cases []struct {
			Text string  `json:"text"`
			IDs  []int32 `json:"ids"`
		}
		if err := json.Unmarshal(raw, &cases); err != nil {
			t.Fatal(err)
		}
		if len(cases) < 20 {
			t.Fatalf("%d cases", len(cases))
		}
		var texts []string
		var want [][]int32
		for _, c := range cases {
			texts, want = append(texts, c.Text), append(want, c.IDs)
		}
		check(t, texts, want)
	})
	t.Run("llama.cpp", func(t *testing.T) {
		base := filepath.Join(testutil.Root(), "testdata", "vocab", "ggml-vocab-deepseek-v3.gguf")
		inp, err := os.ReadFile(base + ".inp")
		if err != nil {
			t.Fatal(err)
		}
		outp, err := os.ReadFile(base + ".out")
		if err != nil {
			t.Fatal(err)
		}
		texts := strings.Split(string(inp), "\n__ggml_vocab_test__\n")
		texts = texts[:len(texts)-1]
		lines := strings.Split(strings.TrimSuffix(string(outp), "\n"), "\n")
		if len(lines) != len(texts) {
			t.Fatalf("%d inputs, %d outputs", len(texts), len(lines))
		}
		want := make([][]int32, len(lines))
		for i, l := range lines {
			if err := json.Unmarshal([]byte("["+strings.Join(strings.Fields(l), ",")+"]"), &want[i]); err != nil {
				t.Fatal(err)
			}
		}
		check(t, texts, want)
	})
	t.Run("llama.cpp-random", func(t *testing.T) {
		data := testutil.LlamaCppRandom(t)
		want := data.IDs["deepseek-v3"]
		if len(want.Plain) != len(data.Texts) || len(want.Special) != len(data.Texts) {
			t.Fatal("deepseek-v3 ids missing")
		}
		check(t, data.Texts, want.Plain)
		check(t, data.Texts, want.Special, "--special")
	})
	t.Run("bos", func(t *testing.T) {
		// tokenizer_config.json adds BOS (id 0); spec §10: "Hello!" → 19923, 3.
		if got := tokenize(t, []string{"Hello!"}, "--bos"); !slices.Equal(got[0], []int32{0, 19923, 3}) {
			t.Errorf("--bos: %v, want [0 19923 3]", got[0])
		}
	})
	t.Run("errors", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "tokenizer.json")
		if err := os.WriteFile(bad, []byte(`{"model": {"type": "Unigram"}}`), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{
			{"tokenize", "--tokenizer", bad, "x"},
			{"tokenize", "--tokenizer", path, "--model", testutil.Vocab(t, "ggml-vocab-qwen2.gguf"), "x"},
		} {
			out, err := exec.Command(bin, args...).CombinedOutput()
			if err == nil || !strings.Contains(string(out), "model") || strings.Contains(string(out), "panic") {
				t.Errorf("wasmoe %v: %v, no clear error:\n%s", args, err, out)
			}
		}
	})
}

// TestEvalMatchesLlamaCpp regenerates each golden model, checks it is the file llama.cpp saw, and compares
// `wasmoe eval --text` with llama.cpp's tokens and probabilities. The quantized cases go through `wasmoe
// quantize` first, for one architecture (internal/host/model's parity test runs every case through the package).
func TestEvalMatchesLlamaCpp(t *testing.T) {
	for _, c := range golden.Cases() {
		if c.Preset != "" && c.Options.Arch != "qwen2" {
			continue
		}
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
			if c.Preset != "" {
				q := filepath.Join(t.TempDir(), "q.gguf")
				wasmoe(t, "", "quantize", "--model", model, "--type", c.Preset, "--out", q, "--quiet")
				model = q
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
