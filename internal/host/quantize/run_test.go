package quantize

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/host/model"
	"github.com/wasmoe/wasmoe/internal/kernels"
)

// relBound is the largest relative RMSE (RMSE / RMS of the input) a tensor of the type may have on the
// uniform random weights of modelgen: a few times the rounding step of the type's bits.
var relBound = map[kernels.DType]float64{
	kernels.F32: 0, kernels.F16: 1e-3, kernels.BF16: 8e-3, kernels.Q8_0: 1e-2, kernels.Q6_K: 3e-2,
	kernels.Q5_0: 6e-2, kernels.Q5_1: 6e-2, kernels.Q5_K: 6e-2, kernels.Q4_0: 0.12, kernels.Q4_1: 0.12,
	kernels.Q4_K: 0.12, kernels.IQ4_NL: 0.12, kernels.IQ4_XS: 0.12, kernels.Q3_K: 0.25, kernels.Q2_K: 0.5,
}

// writeCase writes the TypeCase named name as an F32 GGUF file.
func writeCase(t *testing.T, name string) string {
	for _, c := range TypeCases() {
		if c.Name == name {
			f := generate(t, c.Options)
			path := filepath.Join(t.TempDir(), name+".gguf")
			w := gguf.NewWriter()
			for _, kv := range f.KV {
				w.SetValue(kv.Key, kv.Value)
			}
			for _, x := range f.Tensors {
				if err := w.AddTensor(x.Name, x.Type, x.Dims, x.Data); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.WriteFile(path); err != nil {
				t.Fatal(err)
			}
			return path
		}
	}
	t.Fatalf("no TypeCase %s", name)
	return ""
}

// TestRunPresets quantizes two recorded models (row lengths that need fallbacks; MoE experts and MLA)
// with every preset whose types wasmoe writes, and checks the file is byte for byte llama-quantize's
// (the recorded SHA-256), loads and runs, and every tensor's error against the input is bounded.
func TestRunPresets(t *testing.T) {
	table := loadTypeTable(t)
	for _, name := range []string{"qwen2-odd", "deepseek2-v3"} {
		in := writeCase(t, name)
		var rec TypeRecord
		for _, r := range table.Models {
			if r.Name == name {
				rec = r
			}
		}
		for _, p := range Presets {
			t.Run(name+"/"+p.Name, func(t *testing.T) {
				plan, err := PlanFile(in, p)
				if err != nil {
					t.Fatal(err)
				}
				var missing []string
				for _, x := range plan {
					if x.Out != x.Type && !kernels.Writable(x.Out) && !slices.Contains(missing, x.Out.String()) {
						missing = append(missing, x.Out.String())
					}
				}
				if len(missing) > 0 {
					t.Skipf("wasmoe cannot write %s yet", strings.Join(missing, ", "))
				}
				out := filepath.Join(t.TempDir(), "out.gguf")
				if err := Run(context.Background(), Options{Input: in, Output: out, Preset: p, Threads: 3}); err != nil {
					t.Fatal(err)
				}
				raw, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				if got := fmt.Sprintf("%x", sha256.Sum256(raw)); rec.SHA256 != nil && got != rec.SHA256[p.Name] {
					t.Errorf("output differs from llama-quantize's (sha256 %s, want %s)", got, rec.SHA256[p.Name])
				}
				checkOutput(t, in, out, p)
			})
		}
	}
}

// checkOutput checks the metadata llama-quantize sets, each tensor's relative RMSE against the input, and
// that the model loads and gives finite logits.
func checkOutput(t *testing.T, in, out string, p Preset) {
	f, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if v, _ := f.Int("general.file_type"); FileType(v) != p.FileType {
		t.Errorf("general.file_type %d, want %d", v, p.FileType)
	}
	if v, _ := f.Int("general.quantization_version"); v != QuantizationVersion {
		t.Errorf("general.quantization_version %d", v)
	}
	src, err := openInput(in)
	if err != nil {
		t.Fatal(err)
	}
	defer src.close()
	byName := map[string]*source{}
	for i := range src.tensors {
		byName[src.tensors[i].Name] = &src.tensors[i]
	}
	for i := range f.Tensors {
		q := &f.Tensors[i]
		s := byName[q.Name]
		e, err := rmse(s, q)
		if err != nil {
			t.Fatalf("%s: %v", q.Name, err)
		}
		zero := &gguf.Tensor{Name: q.Name, Dims: q.Dims, Type: kernels.F32, Data: make([]byte, 4*elements(q.Dims))}
		rms, _ := rmse(s, zero)
		bound, ok := relBound[q.Type]
		if !ok {
			t.Fatalf("%s: no error bound for %s", q.Name, q.Type)
		}
		if rel := e / rms; rel > bound || math.IsNaN(rel) {
			t.Errorf("%s (%s): relative RMSE %.3g > %.3g", q.Name, q.Type, rel, bound)
		}
	}
	m, err := model.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	pool := kernels.NewPool(2)
	defer pool.Close()
	logits, err := m.Forward(pool, m.NewState(16), []int32{1, 2, 3}, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range logits {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("logit %v", v)
		}
	}
}
