package quantize

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunErrors: bad presets, inputs and outputs fail with an error naming the problem, and no output
// file (nor its .tmp) is left behind.
func TestRunErrors(t *testing.T) {
	in := writeCase(t, "qwen2-odd")
	raw, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	truncated := filepath.Join(dir, "truncated.gguf")
	if err := os.WriteFile(truncated, raw[:len(raw)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	header := filepath.Join(dir, "header.gguf")
	if err := os.WriteFile(header, raw[:100], 0o644); err != nil {
		t.Fatal(err)
	}
	q8, _ := ParsePreset("Q8_0")
	if _, err := ParsePreset("Q4_K_XL"); err == nil || !strings.Contains(err.Error(), `"Q4_K_XL"`) {
		t.Errorf("unknown preset: %v", err)
	}
	for _, c := range []struct {
		name, in, out, want string
	}{
		{"missing input", filepath.Join(dir, "nope.gguf"), filepath.Join(dir, "o1.gguf"), "nope.gguf"},
		{"truncated data", truncated, filepath.Join(dir, "o2.gguf"), "truncated.gguf"},
		{"truncated header", header, filepath.Join(dir, "o3.gguf"), "header.gguf"},
		{"output directory missing", in, filepath.Join(dir, "no", "such", "o4.gguf"), "does not exist"},
		{"not a model", dir, filepath.Join(dir, "o5.gguf"), "config.json"},
	} {
		err := Run(context.Background(), Options{Input: c.in, Output: c.out, Preset: q8})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
		for _, p := range []string{c.out, c.out + ".tmp"} {
			if _, err := os.Stat(p); err == nil {
				t.Errorf("%s: %s left behind", c.name, p)
			}
		}
	}
	// Cancelled midway (Ctrl-C): the error is the context's and nothing is left.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := filepath.Join(dir, "cancelled.gguf")
	if err := Run(ctx, Options{Input: in, Output: out, Preset: q8}); err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Errorf("cancelled: %v", err)
	}
	for _, p := range []string{out, out + ".tmp"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("cancelled: %s left behind", p)
		}
	}
}
