package model

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/host/modelgen"
	"github.com/wasmoe/wasmoe/internal/host/safetensors"
	"github.com/wasmoe/wasmoe/internal/kernels"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// TestHFMatchesGGUF writes each generated model as GGUF (F32) and as a Hugging Face directory (BF16, and
// FP8 with block scales for DeepSeek) holding the same weights, loads both, and compares next-token
// probabilities: the HF form may differ only by its dtype's rounding. For llama this also checks that HF's
// half-split q/k rows (un-permuted by the writer) run with NEOX pairs.
func TestHFMatchesGGUF(t *testing.T) {
	pool := kernels.NewPool(2)
	defer pool.Close()
	v3, _ := modelgen.DeepSeekTiny("v3", kernels.F32)
	lite, _ := modelgen.DeepSeekTiny("v2-lite", kernels.F32)
	llama := modelgen.Tiny("llama", kernels.F32)
	llama.Llama3Rope = true
	tokens := []int32{0, 520, 31000, 7, 7, 9999, 42, 17}
	tokDir := testutil.HFTokenizer(t, "deepseek-v3")
	for _, c := range []struct {
		name  string
		o     modelgen.Options
		dtype string
		tol   float64
	}{
		{"deepseek2-v3-bf16", v3, "bf16", 2e-2},
		{"deepseek2-v3-fp8", v3, "fp8", 8e-2},
		{"deepseek2-v2-lite-bf16", lite, "bf16", 3e-2},
		{"qwen2-bf16", modelgen.Tiny("qwen2", kernels.F32), "bf16", 2e-2},
		{"llama-bf16", llama, "bf16", 2e-2},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "m.gguf")
			if err := modelgen.WriteFile(c.o, testutil.Vocab(t, "ggml-vocab-deepseek-v3.gguf"), path); err != nil {
				t.Fatal(err)
			}
			f, err := gguf.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			hfDir := filepath.Join(dir, "hf")
			if err := modelgen.WriteHF(f, hfDir, c.dtype, filepath.Dir(tokDir)); err != nil {
				t.Fatal(err)
			}
			g, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			h, err := Open(hfDir)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			want, err := g.Eval(pool, tokens, 5)
			if err != nil {
				t.Fatal(err)
			}
			got, err := h.Eval(pool, tokens, 50)
			if err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for i, w := range want {
				have := map[int32]float64{}
				for _, e := range got[i].Top {
					have[int32(e[0])] = e[1]
				}
				for _, e := range w.Top {
					worst = math.Max(worst, math.Abs(have[int32(e[0])]-e[1]))
				}
			}
			t.Logf("largest probability difference %.3g (tolerance %g)", worst, c.tol)
			if worst > c.tol {
				t.Errorf("HF %s differs from GGUF F32 by %.3g", c.dtype, worst)
			}
			if h.Config.Arch == "deepseek2" && h.MLALayers[len(h.MLALayers)-1].MoE == nil {
				t.Error("no MoE block loaded")
			}
		})
	}
}

// TestLoadHFErrors: a directory that is not a usable HF model fails with an error naming the file.
func TestLoadHFErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadHF(dir); err == nil || !strings.Contains(err.Error(), "config.json") {
		t.Errorf("no config.json: %v", err)
	}
	for _, cfg := range []string{`{`, `{"model_type":"mamba"}`, `{"model_type":"qwen2","hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,"vocab_size":4,"max_position_embeddings":8}`} {
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadHF(dir); err == nil {
			t.Errorf("%s: loaded", cfg)
		}
	}
}

// TestLoadHFDTypes: a tensor of a dtype with no kernel, or FP8 without block scales, is refused by name.
func TestLoadHFDTypes(t *testing.T) {
	tok := filepath.Dir(testutil.HFTokenizer(t, "deepseek-v3"))
	cfg := `{"model_type":"qwen2","hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,"vocab_size":129280,"max_position_embeddings":8}`
	if err := os.WriteFile(filepath.Join(tok, "config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		t    safetensors.WriteTensor
		want string
	}{
		{safetensors.WriteTensor{Name: "model.norm.weight", DType: safetensors.I64, Shape: []int{8}, Data: make([]byte, 64)}, "dtype I64"},
		{safetensors.WriteTensor{Name: "lm_head.weight", DType: safetensors.F8_E4M3, Shape: []int{4, 8}, Data: make([]byte, 32)}, "_scale_inv"},
	} {
		if err := safetensors.Write(filepath.Join(tok, "model.safetensors"), []safetensors.WriteTensor{c.t}, nil); err != nil {
			t.Fatal(err)
		}
		_, err := LoadHF(tok)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.t.Name) {
			t.Errorf("%s: %v", c.t.Name, err)
		}
	}
}

// TestHFMTP: DeepSeek-V3's multi-token-prediction block (model.layers.N with eh_proj, enorm, hnorm, its
// embed_tokens and shared_head) is loaded from an HF directory as from GGUF, and its logits agree with
// the GGUF F32 model's up to BF16 rounding.
func TestHFMTP(t *testing.T) {
	o, _ := modelgen.DeepSeekTiny("v3", kernels.F32)
	d := *o.DeepSeek
	d.MTP = 1
	o.DeepSeek = &d
	dir := t.TempDir()
	path := filepath.Join(dir, "m.gguf")
	if err := modelgen.WriteFile(o, testutil.Vocab(t, "ggml-vocab-deepseek-v3.gguf"), path); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hfDir := filepath.Join(dir, "hf")
	if err := modelgen.WriteHF(f, hfDir, "bf16", filepath.Dir(testutil.HFTokenizer(t, "deepseek-v3"))); err != nil {
		t.Fatal(err)
	}
	m, err := LoadHF(hfDir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if len(m.MTP) != 1 || len(m.MLALayers) != o.Layers {
		t.Fatalf("MTP blocks %d, main blocks %d", len(m.MTP), len(m.MLALayers))
	}
	if T := m.MTP[0]; T.EHProj.Rows != m.Dim || T.ENorm == nil || T.Embed.Rows != m.Vocab || T.Head.Rows != m.Vocab || T.HeadNorm == nil {
		t.Fatalf("MTP eh_proj has %d rows, enorm %v, embedding %d rows, head %d rows, head norm %v",
			T.EHProj.Rows, T.ENorm != nil, T.Embed.Rows, T.Head.Rows, T.HeadNorm != nil)
	}
	g, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	pool := kernels.NewPool(2)
	defer pool.Close()
	mtpLogits := func(m *Model) []float32 {
		s, _, hidden := prefill(t, m, pool, testTokens, 0)
		var b MTPBatch
		for pos := range len(testTokens) - 1 {
			b.Rows = append(b.Rows, MTPRow{Seq: s, Pos: pos, Hidden: hidden[pos*m.Dim : (pos+1)*m.Dim], Next: testTokens[pos+1], Logits: true})
		}
		l, err := m.ForwardMTP(pool, &b)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	want, got := mtpLogits(g), mtpLogits(m)
	for i := 0; i < len(want); i += m.Vocab {
		if d := maxProbDiff(f64(want[i:i+m.Vocab]), f64(got[i:i+m.Vocab])); d > 2e-2 {
			t.Errorf("MTP position %d: HF BF16 differs from GGUF F32 by %.3g", i/m.Vocab, d)
		}
	}
}
