package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/hub/hubtest"
)

// hubBin runs the binary against the fake hub at endpoint and returns stdout, stderr and the exit status.
func hubBin(t *testing.T, endpoint string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HF_ENDPOINT="+endpoint, "HF_TOKEN=", "HF_HUB_OFFLINE=")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// TestPullCLI pulls a tiny generated model from a fake hub, runs it as hf:org/repo, the same as by its path
// (and from the cache once the hub is gone), lists and removes it.
func TestPullCLI(t *testing.T) {
	local := r1Model(t)
	data, err := os.ReadFile(local)
	if err != nil {
		t.Fatal(err)
	}
	h := hubtest.New(t)
	h.Add("org/tiny-GGUF", map[string][]byte{"README.md": []byte("# tiny\n"), "Tiny-Q8_0.gguf": data})

	out, errOut, code := hubBin(t, h.URL, "pull", "org/tiny-GGUF")
	path := strings.TrimSpace(out)
	if code != 0 || filepath.Base(path) != "Tiny-Q8_0.gguf" || !strings.Contains(errOut, "Tiny-Q8_0.gguf: done") {
		t.Fatalf("pull: status %d, stdout %q, stderr:\n%s", code, out, errOut)
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("pulled file %s differs from the hub's (%v)", path, err)
	}
	out, _, _ = hubBin(t, h.URL, "list")
	if !strings.Contains(out, "org/tiny-GGUF:Q8_0") || !strings.Contains(out, path) {
		t.Fatalf("list does not show the pulled model:\n%s", out)
	}

	gen := []string{"run", "--max-tokens", "6", "--seed", "2", "--temp", "0", "Hello"}
	want, errOut, code := hubBin(t, h.URL, append(gen[:1:1], append([]string{"--model", local}, gen[1:]...)...)...)
	if code != 0 || strings.TrimSpace(want) == "" {
		t.Fatalf("run --model %s: status %d, stderr:\n%s", local, code, errOut)
	}
	got, errOut, code := hubBin(t, h.URL, append(gen[:1:1], append([]string{"--model", "hf:org/tiny-GGUF:Q8_0"}, gen[1:]...)...)...)
	if code != 0 || got != want || !strings.Contains(errOut, "in the cache") {
		t.Fatalf("run --model hf:org/tiny-GGUF:Q8_0: status %d, %q, want %q as from the file; stderr:\n%s", code, got, want, errOut)
	}
	h.Close()
	got, errOut, code = hubBin(t, h.URL, append(gen[:1:1], append([]string{"--model", "hf:org/tiny-GGUF"}, gen[1:]...)...)...)
	if code != 0 || got != want || !strings.Contains(errOut, "using the cached "+path) {
		t.Fatalf("run with the hub gone: status %d, %q; stderr:\n%s", code, got, errOut)
	}

	if out, errOut, code = hubBin(t, h.URL, "rm", "org/tiny-GGUF:Q8_0"); code != 0 || out != "removed org/tiny-GGUF:Q8_0\n" {
		t.Fatalf("rm: status %d, %q, stderr:\n%s", code, out, errOut)
	}
	if out, errOut, _ = hubBin(t, h.URL, "list"); out != "" || !strings.Contains(errOut, "no pulled models") {
		t.Fatalf("list after rm: %q %q", out, errOut)
	}
	if _, errOut, code = hubBin(t, h.URL, "rm", "org/tiny-GGUF"); code != 1 || !strings.Contains(errOut, "org/tiny-GGUF is not in the cache") {
		t.Fatalf("rm of a model not cached: status %d, stderr %q", code, errOut)
	}
}

// TestPullCLIErrors checks that a bad reference and a repository the hub lacks fail with messages that
// name them.
func TestPullCLIErrors(t *testing.T) {
	h := hubtest.New(t)
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"pull", "no-slash"}, `"no-slash"`},
		{[]string{"pull", "org/missing"}, "org/missing is private or gated, or does not exist: set HF_TOKEN"},
		{[]string{"run", "--model", "hf:org/missing:Q4_0", "Hi"}, "org/missing"},
	} {
		_, errOut, code := hubBin(t, h.URL, tc.args...)
		if code != 1 || !strings.Contains(errOut, tc.says) || strings.Contains(errOut, "panic") {
			t.Errorf("wasmoe %v: status %d, stderr %q, want it to say %q", tc.args, code, errOut, tc.says)
		}
	}
}

// TestPullHFDirCLI pulls a Hugging Face directory (mkmodel --format hf) from the fake hub and checks that
// eval gives the same answer on hf:org/repo as on the directory it came from.
func TestPullHFDirCLI(t *testing.T) {
	tokDir, vocabFile := smallHFTokenizer(t, 1024)
	src := filepath.Join(t.TempDir(), "tiny-hf")
	wasmoe(t, "", "mkmodel", "--arch", "qwen2", "--type", "bf16", "--vocab", vocabFile, "--out", src, "--format", "hf",
		"--tokenizer", tokDir)
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"README.md": []byte("# tiny\n")}
	for _, e := range ents {
		if files[e.Name()], err = os.ReadFile(filepath.Join(src, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	h := hubtest.New(t)
	h.Add("org/tiny-hf", files)
	args := func(m string) []string { return []string{"eval", "--model", m, "--tokens", "5,6,7", "--top", "3"} }
	want, errOut, code := hubBin(t, h.URL, args(src)...)
	if code != 0 {
		t.Fatalf("eval %s: %s", src, errOut)
	}
	got, errOut, code := hubBin(t, h.URL, args("hf:org/tiny-hf")...)
	if code != 0 || got != want {
		t.Fatalf("eval hf:org/tiny-hf: status %d\n%s\nwant\n%s\nstderr:\n%s", code, got, want, errOut)
	}
	if out, _, _ := hubBin(t, h.URL, "rm", "org/tiny-hf"); out != "removed org/tiny-hf\n" {
		t.Fatalf("rm: %q", out)
	}
}
