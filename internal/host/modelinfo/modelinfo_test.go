package modelinfo

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/host/modelgen"
	"github.com/wasmoe/wasmoe/internal/kernels"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// deepseekShape is the tensor list of a deepseek2 GGUF built from the HF shapes of spec §6.3.
type deepseekShape struct {
	layers, dense, D, V, I, Ie, E, shared, H, rq, rkv, dn, dr, dv int
}

func (s deepseekShape) tensors() []tensor {
	var ts []tensor
	add := func(name string, dims ...int) {
		n := uint64(1)
		for _, d := range dims {
			n *= uint64(d)
		}
		ts = append(ts, tensor{name, "BF16", n})
	}
	add("token_embd.weight", s.D, s.V)
	add("output_norm.weight", s.D)
	add("output.weight", s.D, s.V)
	dq := s.dn + s.dr
	for l := range s.layers {
		p := fmt.Sprintf("blk.%d.", l)
		add(p+"attn_norm.weight", s.D)
		if s.rq > 0 {
			add(p+"attn_q_a.weight", s.D, s.rq)
			add(p+"attn_q_a_norm.weight", s.rq)
			add(p+"attn_q_b.weight", s.rq, s.H*dq)
		} else {
			add(p+"attn_q.weight", s.D, s.H*dq)
		}
		add(p+"attn_kv_a_mqa.weight", s.D, s.rkv+s.dr)
		add(p+"attn_kv_a_norm.weight", s.rkv)
		add(p+"attn_k_b.weight", s.dn, s.rkv, s.H)
		add(p+"attn_v_b.weight", s.rkv, s.dv, s.H)
		add(p+"attn_output.weight", s.H*s.dv, s.D)
		add(p+"ffn_norm.weight", s.D)
		if l < s.dense {
			add(p+"ffn_gate.weight", s.D, s.I)
			add(p+"ffn_up.weight", s.D, s.I)
			add(p+"ffn_down.weight", s.I, s.D)
			continue
		}
		add(p+"ffn_gate_inp.weight", s.D, s.E)
		add(p+"ffn_gate_exps.weight", s.D, s.Ie, s.E)
		add(p+"ffn_up_exps.weight", s.D, s.Ie, s.E)
		add(p+"ffn_down_exps.weight", s.Ie, s.D, s.E)
		add(p+"ffn_gate_shexp.weight", s.D, s.Ie*s.shared)
		add(p+"ffn_up_shexp.weight", s.D, s.Ie*s.shared)
		add(p+"ffn_down_shexp.weight", s.Ie*s.shared, s.D)
	}
	return ts
}

// TestPublishedParameterCounts checks the counts against DeepSeek's published figures: V3 671B total and
// 37B activated; V2-Lite 15.7B total and 2.4B activated (spec §1.1, §1.2).
func TestPublishedParameterCounts(t *testing.T) {
	for _, c := range []struct {
		name          string
		s             deepseekShape
		k             int
		total, active float64 // billions, as published
		tol           float64
	}{
		{"V3", deepseekShape{61, 3, 7168, 129280, 18432, 2048, 256, 1, 128, 1536, 512, 128, 64, 128}, 8, 671, 37, 0.02},
		{"V2-Lite", deepseekShape{27, 1, 2048, 102400, 10944, 1408, 64, 2, 16, 0, 512, 128, 64, 128}, 6, 15.7, 2.4, 0.03},
	} {
		in := &Info{Layers: c.s.layers, Experts: c.s.E, ExpertsUsed: c.k}
		routed := func(n string) bool { return strings.Contains(n, "_exps.") }
		in.params(c.s.tensors(), routed, func(string) bool { return false }, "token_embd.weight")
		total, active := float64(in.TotalParams)/1e9, float64(in.ActiveParams)/1e9
		t.Logf("%s: %.3fB total, %.3fB active", c.name, total, active)
		if math.Abs(total/c.total-1) > c.tol || math.Abs(active/c.active-1) > c.tol {
			t.Errorf("%s: %.2fB total, %.2fB active; published %gB and %gB", c.name, total, active, c.total, c.active)
		}
		in.mla(c.s.H, c.s.rkv, c.s.dr, c.s.dn+c.s.dr, c.s.dv)
		// Spec §3.4.5: V3 70,272 B latent and 4,997,120 B naive per token at 2 bytes a value; V2-Lite 31,104 and 276,480.
		want := map[string][2]int{"V3": {70272, 4997120}, "V2-Lite": {31104, 276480}}[c.name]
		if in.LatentValues*2 != want[0] || in.NaiveValues*2 != want[1] {
			t.Errorf("%s: cache %d / %d bytes per token, want %d / %d", c.name, in.LatentValues*2, in.NaiveValues*2, want[0], want[1])
		}
	}
}

// TestFromGGUF summarises a generated qwen2 model and checks the counts against its shape.
func TestFromGGUF(t *testing.T) {
	o := modelgen.Tiny("qwen2", kernels.Q8_0)
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := modelgen.WriteFile(o, testutil.Vocab(t, "ggml-vocab-qwen2.gguf"), path); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in, err := FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	hd := o.Dim / o.Heads
	V := uint64(in.Vocab)
	perLayer := uint64(2*o.Dim + // norms
		o.Dim*(o.Heads+2*o.KVHeads)*hd + (o.Heads+2*o.KVHeads)*hd + // q, k, v and biases
		o.Heads*hd*o.Dim + 3*o.Dim*o.FFN)
	total := uint64(o.Layers)*perLayer + 2*V*uint64(o.Dim) + uint64(o.Dim)
	if in.Arch != "qwen2" || in.Layers != o.Layers || in.TotalParams != total || in.ActiveParams != total-V*uint64(o.Dim) {
		t.Errorf("got %+v, want %d total params", in, total)
	}
	if in.NaiveValues != o.Layers*2*o.KVHeads*hd || in.LatentValues != 0 {
		t.Errorf("cache values %d / %d", in.NaiveValues, in.LatentValues)
	}
	if in.Types["Q8_0"] != 7*o.Layers+2 {
		t.Errorf("types %v", in.Types)
	}
	var b strings.Builder
	in.WriteText(&b, 2)
	if !strings.Contains(b.String(), "qwen2") {
		t.Errorf("text: %s", b.String())
	}
}
