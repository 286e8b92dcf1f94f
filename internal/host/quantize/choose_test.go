package quantize

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/host/modelgen"
	"github.com/wasmoe/wasmoe/internal/kernels"
)

// loadTypeTable reads the types llama-quantize chose (tools/quanttypes).
func loadTypeTable(t *testing.T) TypeTable {
	raw, err := os.ReadFile("testdata/llama_quant_types.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var table TypeTable
	if err := json.NewDecoder(zr).Decode(&table); err != nil {
		t.Fatal(err)
	}
	return table
}

// generate writes a TypeCase model into memory.
func generate(t testing.TB, o modelgen.Options) *gguf.File {
	vocab, err := TinyVocab(256)
	if err != nil {
		t.Fatal(err)
	}
	w, err := modelgen.Generate(o, vocab)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := w.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(o.Arch, b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestTypesMatchLlamaQuantize replays every recorded model and preset through Order and Plan and compares
// the tensor order and every tensor's type with what llama-quantize wrote.
func TestTypesMatchLlamaQuantize(t *testing.T) {
	table := loadTypeTable(t)
	cases := map[string]TypeCase{}
	for _, c := range TypeCases() {
		cases[c.Name] = c
	}
	if len(table.Models) != len(cases) {
		t.Fatalf("table has %d models, TypeCases %d: rerun go run ./tools/quanttypes", len(table.Models), len(cases))
	}
	for _, rec := range table.Models {
		c, ok := cases[rec.Name]
		if !ok {
			t.Fatalf("table model %s is not a TypeCase", rec.Name)
		}
		f := generate(t, c.Options)
		hp, err := HParamsOf(f)
		if err != nil {
			t.Fatal(err)
		}
		infos := make([]TensorInfo, len(f.Tensors))
		for i, x := range f.Tensors {
			infos[i] = TensorInfo{x.Name, x.Dims, x.Type}
		}
		Order(infos)
		if len(infos) != len(rec.Tensors) {
			t.Fatalf("%s: %d tensors, llama-quantize wrote %d", rec.Name, len(infos), len(rec.Tensors))
		}
		for i := range infos {
			if infos[i].Name != rec.Tensors[i] {
				t.Fatalf("%s: tensor %d is %s, llama-quantize wrote %s there", rec.Name, i, infos[i].Name, rec.Tensors[i])
			}
		}
		if len(rec.Presets) != len(Presets) {
			t.Errorf("%s: table has %d presets, Presets %d", rec.Name, len(rec.Presets), len(Presets))
		}
		quantized := map[kernels.DType]bool{}
		for _, p := range Presets {
			want, ok := rec.Presets[p.Name]
			if !ok {
				t.Errorf("%s: preset %s not in the table", rec.Name, p.Name)
				continue
			}
			got, err := Plan(p, hp, infos)
			if err != nil {
				t.Fatalf("%s %s: %v", rec.Name, p.Name, err)
			}
			var bad []string
			for i := range got {
				quantized[got[i]] = true
				if !strings.EqualFold(got[i].String(), want[i]) {
					bad = append(bad, infos[i].Name+": "+got[i].String()+" want "+want[i])
				}
			}
			if len(bad) > 0 {
				t.Errorf("%s %s: %d of %d types differ, e.g. %s", rec.Name, p.Name, len(bad), len(got), strings.Join(bad[:min(5, len(bad))], "; "))
			}
		}
		t.Logf("%s: %d tensors, types seen %v", rec.Name, len(infos), keys(quantized))
	}
}

// keys lists a set's members.
func keys(m map[kernels.DType]bool) []kernels.DType {
	var out []kernels.DType
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestParsePreset checks names, aliases and the error for an unknown name.
func TestParsePreset(t *testing.T) {
	p, err := ParsePreset("q4_k_m")
	if err != nil || p.FileType != 15 || p.Default != kernels.Q4_K {
		t.Errorf("q4_k_m: %+v %v", p, err)
	}
	if p, _ := ParsePreset("Q4_K"); p.FileType != FtypeQ4_K_M {
		t.Errorf("Q4_K alias: %+v", p)
	}
	if _, err := ParsePreset("Q9_X"); err == nil || !strings.Contains(err.Error(), "Q4_K_M") {
		t.Errorf("unknown preset: %v", err)
	}
}

// TestFallback checks tensor_type_fallback's chain on row lengths that are multiples of 32 but not 256,
// and of neither.
func TestFallback(t *testing.T) {
	for _, c := range []struct {
		n        int
		in, want kernels.DType
	}{
		{512, kernels.Q4_K, kernels.Q4_K}, {96, kernels.Q4_K, kernels.Q5_0}, {96, kernels.Q5_K, kernels.Q5_1},
		{96, kernels.Q6_K, kernels.Q8_0}, {96, kernels.Q2_K, kernels.Q4_0}, {96, kernels.Q3_K, kernels.Q4_0},
		{96, kernels.IQ4_XS, kernels.IQ4_NL}, {100, kernels.Q4_K, kernels.F16}, {100, kernels.Q8_0, kernels.F16},
	} {
		if got, err := fallback(c.n, c.in); err != nil || got != c.want {
			t.Errorf("fallback(%d, %s) = %s, %v; want %s", c.n, c.in, got, err, c.want)
		}
	}
}
