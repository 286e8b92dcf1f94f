package quantize

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// A split input (llama-gguf-split's parts, given by any part) quantizes to the same bytes as the unsplit
// file, and the output is one file without split keys.
func TestSplitInput(t *testing.T) {
	dir := testutil.SplitModel(t)
	for _, name := range []string{"Q4_K_M", "Q4_0", "Q8_0"} {
		p, err := ParsePreset(name)
		if err != nil {
			t.Fatal(err)
		}
		var outs [][]byte
		for _, in := range []string{"tiny.gguf", "tiny-00001-of-00003.gguf", "tiny-00003-of-00003.gguf"} {
			out := filepath.Join(t.TempDir(), "out.gguf")
			if err := Run(context.Background(), Options{Input: filepath.Join(dir, in), Output: out, Preset: p}); err != nil {
				t.Fatalf("%s from %s: %v", name, in, err)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			outs = append(outs, b)
			f, err := gguf.Parse(out, b)
			if err != nil {
				t.Fatalf("%s from %s: output: %v", name, in, err)
			}
			for _, k := range []string{gguf.KeySplitNo, gguf.KeySplitCount, gguf.KeySplitTensors} {
				if _, ok := f.Value(k); ok {
					t.Errorf("%s from %s: output has %s", name, in, k)
				}
			}
		}
		for i := 1; i < len(outs); i++ {
			if !bytes.Equal(outs[i], outs[0]) {
				t.Errorf("%s: output from split part %d differs from the unsplit file's", name, i)
			}
		}
	}
}
