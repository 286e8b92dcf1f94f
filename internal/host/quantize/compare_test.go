package quantize

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/wasmoe/wasmoe/internal/kernels"
)

// Compare measures each tensor's RMSE against the input: zero for an F32 copy, equal for two identical
// files, and a coarser type fails Within against a finer one.
func TestCompare(t *testing.T) {
	in := writeCase(t, "qwen2-gqa4")
	out := func(preset string) string {
		p, err := ParsePreset(preset)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), preset+".gguf")
		if err := Run(context.Background(), Options{Input: in, Output: path, Preset: p}); err != nil {
			t.Fatal(err)
		}
		return path
	}
	f32, q4, q8 := out("F32"), out("Q4_K_M"), out("Q8_0")

	rows, err := Compare(in, f32, f32)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.RMSEOurs != 0 || r.RMSERef != 0 || !r.Within(0) {
			t.Errorf("F32 copy: %s has RMSE %g / %g", r.Name, r.RMSEOurs, r.RMSERef)
		}
	}

	rows, err = Compare(in, q4, q4)
	if err != nil {
		t.Fatal(err)
	}
	quantized := 0
	for _, r := range rows {
		if r.RMSEOurs != r.RMSERef || r.Ratio() != 1 || !r.Within(0) {
			t.Errorf("same file: %s has RMSE %g / %g", r.Name, r.RMSEOurs, r.RMSERef)
		}
		if r.Ours != kernels.F32 {
			quantized++
			if r.RMSEOurs <= 0 {
				t.Errorf("%s (%v): RMSE %g, want > 0", r.Name, r.Ours, r.RMSEOurs)
			}
		}
	}
	if quantized == 0 {
		t.Fatal("Q4_K_M quantized no tensor")
	}

	rows, err = Compare(in, q4, q8)
	if err != nil {
		t.Fatal(err)
	}
	worse := 0
	for _, r := range rows {
		if r.Ours != kernels.F32 && r.Ours != r.Ref {
			if r.Within(0.02) {
				t.Errorf("%s: %v against %v is within 2%%", r.Name, r.Ours, r.Ref)
			}
			if r.Ratio() > 1.5 {
				worse++
			}
		}
	}
	if worse == 0 {
		t.Error("Q4_K_M is nowhere much worse than Q8_0")
	}
}
