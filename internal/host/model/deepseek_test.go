package model

import (
	"math"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/host/modelgen"
	"github.com/wasmoe/wasmoe/internal/kernels"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// deepseekTiny returns a tiny deepseek2 model of a modelgen style, changed by edit.
func deepseekTiny(t *testing.T, style string, typ kernels.DType, edit func(*modelgen.Options)) *Model {
	t.Helper()
	o, err := modelgen.DeepSeekTiny(style, typ)
	if err != nil {
		t.Fatal(err)
	}
	d := *o.DeepSeek
	o.DeepSeek = &d
	if edit != nil {
		edit(&o)
	}
	return tinyModel(t, o)
}

// maxProbDiff is the largest difference between the probabilities of two logit vectors.
func maxProbDiff(a, b []float64) float64 {
	pa, pb := softmax64(a), softmax64(b)
	w := 0.0
	for i := range pa {
		w = math.Max(w, math.Abs(pa[i]-pb[i]))
	}
	return w
}

// TestDeepSeekMatchesReference compares the deepseek2 forward pass — batched and token by token, in both
// MLA forms — with the float64 reference on both styles, for F32 and Q8_0 weights, legacy attn_kv_b
// files and fused expert tensors. F32 must agree everywhere to tol. Q8_0 activations carry ~1% rounding
// noise that the reference does not have: it moves probabilities by ~5e-3, and where two experts (or
// groups) nearly tie it changes an expert choice, which moves one position by up to ~7e-2 in these
// models. So for Q8_0 the median position must agree to tol and every position to 1e-1; the tight Q8_0
// check is llama.cpp parity (TestLlamaCppParity), which rounds the activations as we do.
func TestDeepSeekMatchesReference(t *testing.T) {
	pool := kernels.NewPool(2)
	defer pool.Close()
	cases := []struct {
		name  string
		style string
		typ   kernels.DType
		edit  func(*modelgen.Options)
		tol   float64
	}{
		{"v3-f32", "v3", kernels.F32, nil, 5e-6},
		{"v2-lite-f32", "v2-lite", kernels.F32, nil, 5e-6},
		{"v3-f32-legacy-kv_b", "v3", kernels.F32, func(o *modelgen.Options) { o.DeepSeek.LegacyKVB = true }, 5e-6},
		{"v2-lite-f32-fused-gate-up", "v2-lite", kernels.F32, func(o *modelgen.Options) { o.Layers = 3; o.DeepSeek.FusedGateUp = true }, 5e-6},
		{"v3-q8_0", "v3", kernels.Q8_0, nil, 1e-2},
		{"v2-lite-q8_0", "v2-lite", kernels.Q8_0, nil, 1e-2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := deepseekTiny(t, c.style, c.typ, c.edit)
			ref := refDeepSeek(t, m.File, testTokens)
			var diffs []float64
			check := func(what string, pos int, got []float32) {
				t.Helper()
				d := maxProbDiff(ref[pos], f64(got))
				if limit := map[bool]float64{false: c.tol, true: 1e-1}[c.typ == kernels.Q8_0]; d > limit {
					t.Fatalf("%s pos %d: max probability difference %.3g > %.3g", what, pos, d, limit)
				}
				diffs = append(diffs, d)
			}
			for _, naive := range []bool{false, true} {
				m.NaiveFrom = math.MaxInt
				if naive {
					m.NaiveFrom = 1
				}
				s := m.NewState(0)
				all, err := m.Forward(pool, s, testTokens, true)
				if err != nil {
					t.Fatal(err)
				}
				for pos := range testTokens {
					check("batch", pos, all[pos*m.Vocab:(pos+1)*m.Vocab])
				}
				s = m.NewState(0)
				if _, err := m.Forward(pool, s, testTokens[:5], false); err != nil {
					t.Fatal(err)
				}
				for pos := 5; pos < len(testTokens); pos++ {
					got, err := m.Forward(pool, s, testTokens[pos:pos+1], false)
					if err != nil {
						t.Fatal(err)
					}
					check("decode", pos, got)
				}
			}
			sort.Float64s(diffs)
			if med := diffs[len(diffs)/2]; med > c.tol {
				t.Errorf("median probability difference %.3g > %.3g", med, c.tol)
			}
			t.Logf("probability differences: median %.3g, largest %.3g", diffs[len(diffs)/2], diffs[len(diffs)-1])
		})
	}
}

// TestMLANaiveMatchesAbsorbed runs a prompt through the naive and the absorbed form of MLA, which read
// the same latent cache, and a continuation after each: the probabilities agree to 1e-5.
func TestMLANaiveMatchesAbsorbed(t *testing.T) {
	pool := kernels.NewPool(2)
	defer pool.Close()
	for _, style := range []string{"v3", "v2-lite"} {
		m := deepseekTiny(t, style, kernels.F32, func(o *modelgen.Options) { o.Layers = 3 })
		run := func(naiveFrom int) [][]float32 {
			m.NaiveFrom = naiveFrom
			s := m.NewState(0)
			all, err := m.Forward(pool, s, testTokens[:10], true)
			if err != nil {
				t.Fatal(err)
			}
			out := [][]float32{append([]float32(nil), all...)}
			m.NaiveFrom = math.MaxInt // the continuation decodes absorbed from the cache either form wrote
			for _, tok := range testTokens[10:] {
				l, err := m.Forward(pool, s, []int32{tok}, false)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, append([]float32(nil), l...))
			}
			return out
		}
		naive, absorbed := run(1), run(math.MaxInt)
		for i := range naive {
			for j := 0; j < len(naive[i]); j += m.Vocab {
				if d := maxProbDiff(f64(naive[i][j:j+m.Vocab]), f64(absorbed[i][j:j+m.Vocab])); d > 1e-5 {
					t.Errorf("%s: step %d row %d: naive and absorbed differ by %.3g", style, i, j/m.Vocab, d)
				}
			}
		}
	}
}

// TestDeepSeekFileVariants checks that files which store the same model differently load to the same
// weights and logits: attn_kv_b (legacy) against attn_k_b/attn_v_b (spec §10 smoke test 3), fused
// ffn_gate_up_exps against separate tensors, and MTP blocks (which Forward does not run) against none.
func TestDeepSeekFileVariants(t *testing.T) {
	pool := kernels.NewPool(2)
	defer pool.Close()
	logits := func(m *Model) []float32 {
		l, err := m.Forward(pool, m.NewState(0), testTokens, true)
		if err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), l...)
	}
	three := func(o *modelgen.Options) { o.Layers = 3 }
	for _, c := range []struct {
		name  string
		style string
		edit  func(*modelgen.Options)
		exact bool // the same weights in the same order: bit-identical logits
	}{
		{"legacy attn_kv_b", "v3", func(o *modelgen.Options) { o.DeepSeek.LegacyKVB = true }, false},
		{"fused gate_up", "v2-lite", func(o *modelgen.Options) { three(o); o.DeepSeek.FusedGateUp = true }, true},
		{"mtp", "v3", func(o *modelgen.Options) { o.DeepSeek.MTP = 1 }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			edit := func(o *modelgen.Options) {
				if c.style == "v2-lite" {
					three(o)
				}
			}
			plain := deepseekTiny(t, c.style, kernels.F32, edit)
			m := deepseekTiny(t, c.style, kernels.F32, c.edit)
			a, b := logits(plain), logits(m)
			for i := 0; i < len(a); i += m.Vocab {
				d := maxProbDiff(f64(a[i:i+m.Vocab]), f64(b[i:i+m.Vocab]))
				if (c.exact && d != 0) || d > 1e-6 {
					t.Fatalf("position %d: probabilities differ by %.3g", i/m.Vocab, d)
				}
			}
			for l := range m.MLALayers {
				for h := range m.Heads {
					for _, w := range [][2]kernels.Matrix{{m.MLALayers[l].KB[h], plain.MLALayers[l].KB[h]},
						{m.MLALayers[l].UK[h], plain.MLALayers[l].UK[h]}} {
						if w[0].Rows != w[1].Rows || w[0].Cols != w[1].Cols || string(w[0].Data) != string(w[1].Data) {
							t.Fatalf("block %d head %d: per-head matrices differ", l, h)
						}
					}
				}
			}
		})
	}
	m := deepseekTiny(t, "v3", kernels.F32, func(o *modelgen.Options) { o.DeepSeek.MTP = 1 })
	if m.Blocks != 3 || len(m.MTP) != 1 || m.MTP[0].MoE == nil || m.MTP[0].EHProj.Rows != m.Dim || m.MTP[0].EHProj.Cols != 2*m.Dim {
		t.Errorf("MTP block not loaded: %d blocks, %d MTP blocks", m.Blocks, len(m.MTP))
	}
}

// TestDeepSeekVecDotWeights checks which weights are marked for vec_dot's float order: llama.cpp repacks
// only 2D weights of a MUL_MAT (ggml-cpu's repack supports_op), so the per-head attn_k_b and attn_v_b,
// 3D, are the ones it multiplies with vec_dot; the projections around them are not marked.
func TestDeepSeekVecDotWeights(t *testing.T) {
	m := deepseekTiny(t, "v3", kernels.F32, nil)
	for l, L := range m.MLALayers {
		for h := range m.Heads {
			if !L.KB[h].VecDot || !L.VB[h].VecDot {
				t.Fatalf("block %d head %d: attn_k_b VecDot %v, attn_v_b VecDot %v", l, h, L.KB[h].VecDot, L.VB[h].VecDot)
			}
		}
		for _, w := range []kernels.Matrix{L.Wqa, L.Wqb, L.Wkva, L.Wo} {
			if w.VecDot {
				t.Fatalf("block %d: a 2D projection is marked VecDot", l)
			}
		}
	}
}

// TestDeepSeekConfig checks the hyper-parameters read from a V3-style file and the softmax scales the
// spec computes for the real models (§3.4.4: V3/R1 0.1352338, V2-Lite 0.1147214).
func TestDeepSeekConfig(t *testing.T) {
	m := deepseekTiny(t, "v3", kernels.F32, nil)
	want := Config{Arch: "deepseek2", Name: m.Name, Blocks: 3, Dim: 64, FFN: 128, Heads: 4, KVHeads: 1, HeadDim: 48,
		RopeDim: 16, Vocab: m.Vocab, Context: 512, Eps: 1e-6, RopeBase: 10000,
		MLA:  MLAConfig{QLoRA: 32, KVLoRA: 64, NopeDim: 32, ValueDim: 32},
		MoE:  MoEConfig{DenseLead: 1, Experts: 16, Used: 4, Shared: 1, FFN: 32, Sigmoid: true, Groups: 4, GroupsUsed: 2, Norm: true, Scale: 2.5},
		Rope: RopeScaling{Type: "yarn", Factor: 40, OrigContext: 4096, LogMul: 0.1, AttnFactor: 1}}
	if m.Config != want {
		t.Errorf("config\n%+v, want\n%+v", m.Config, want)
	}
	if m.MLARope.Low != 2 || m.MLARope.High != 6 || m.MLARope.ExtFactor != 1 || m.MLARope.FreqScale != 1.0/40 {
		t.Errorf("rope %+v; want corr dims 2, 6 for 16 dims", m.MLARope)
	}
	for _, c := range []struct {
		mscaleAllDim float64
		want         float32
	}{{1, 0.1352338}, {0.707, 0.1147214}} {
		cfg := Config{HeadDim: 192, RopeDim: 64, RopeBase: 10000,
			Rope: RopeScaling{Type: "yarn", Factor: 40, OrigContext: 4096, LogMul: float32(0.1 * c.mscaleAllDim), AttnFactor: 1}}
		y, scale := deepseekRope(&cfg)
		if math.Abs(float64(scale-c.want)) > 1e-6 {
			t.Errorf("mscale_all_dim %v: softmax scale %v, want %v", c.mscaleAllDim, scale, c.want)
		}
		if m := y.AttnFactor * (1 + 0.1*log32(40)); math.Abs(float64(m)-1) > 1e-6 {
			t.Errorf("mscale_all_dim %v: net rope magnitude %v, want 1", c.mscaleAllDim, m)
		}
		if y.Low != 10 || y.High != 23 {
			t.Errorf("corr dims %v, %v; want 10, 23", y.Low, y.High)
		}
	}
}

// TestDeepSeekConfigErrors checks that bad or missing metadata is an error naming the file and the key.
func TestDeepSeekConfigErrors(t *testing.T) {
	o, _ := modelgen.DeepSeekTiny("v3", kernels.F32)
	good := filepath.Join(t.TempDir(), "good.gguf")
	if err := modelgen.WriteFile(o, testutil.Vocab(t, "ggml-vocab-deepseek-coder.gguf"), good); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(good)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, c := range []struct {
		key   string
		value any // nil: drop the key
		want  string
	}{
		{"deepseek2.attention.kv_lora_rank", nil, "deepseek2.attention.kv_lora_rank missing"},
		{"deepseek2.attention.key_length_mla", nil, "deepseek2.attention.key_length_mla missing"},
		{"deepseek2.expert_count", nil, "deepseek2.expert_count missing"},
		{"deepseek2.expert_gating_func", uint32(3), "deepseek2.expert_gating_func = 3 is not supported"},
		{"deepseek2.rope.scaling.type", "longrope", "deepseek2.rope.scaling.type = \"longrope\" is not supported"},
		{"deepseek2.nextn_predict_layers", uint32(3), "deepseek2.nextn_predict_layers = 3 leaves no main block"},
		{"deepseek2.expert_group_used_count", uint32(5), "deepseek2.expert_*"},
		{"deepseek2.attention.layer_norm_rms_epsilon", nil, "layer_norm_rms_epsilon missing"},
		{"deepseek2.attention.head_count", "four", "deepseek2.attention.head_count = four is not a non-negative integer"},
	} {
		out := gguf.NewWriter() // metadata only: the config is read before any tensor
		for _, kv := range f.KV {
			if kv.Key == c.key {
				continue
			}
			out.SetValue(kv.Key, kv.Value)
		}
		if c.value != nil {
			out.Set(c.key, c.value)
		}
		path := filepath.Join(t.TempDir(), "m.gguf")
		if err := out.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		_, err = Load(path)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s = %v: error %v, want one naming the file and %q", c.key, c.value, err, c.want)
		}
	}
}
