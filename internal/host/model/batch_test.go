package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/host/kvcache"
	"github.com/wasmoe/wasmoe/internal/host/modelgen"
	"github.com/wasmoe/wasmoe/internal/kernels"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// batchModels are the models batch invariance is checked on: both architectures, F32, Q8_0 and FP8 with
// block scales (a Hugging Face directory).
func batchModels(t *testing.T) map[string]*Model {
	ms := map[string]*Model{}
	for _, c := range []struct {
		name string
		arch string
		ty   kernels.DType
	}{{"qwen2-f32", "qwen2", kernels.F32}, {"qwen2-q8_0", "qwen2", kernels.Q8_0}, {"llama-q8_0", "llama", kernels.Q8_0},
		{"deepseek2-f32", "deepseek2", kernels.F32}, {"deepseek2-q8_0", "deepseek2", kernels.Q8_0}} {
		ms[c.name] = tinyModel(t, modelgen.Tiny(c.arch, c.ty))
	}
	v3, _ := modelgen.DeepSeekTiny("v3", kernels.F32)
	dir := t.TempDir()
	path := filepath.Join(dir, "m.gguf")
	if err := modelgen.WriteFile(v3, testutil.Vocab(t, "ggml-vocab-deepseek-v3.gguf"), path); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hf := filepath.Join(dir, "hf")
	if err := modelgen.WriteHF(f, hf, "fp8", filepath.Dir(testutil.HFTokenizer(t, "deepseek-v3"))); err != nil {
		t.Fatal(err)
	}
	m, err := Open(hf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	ms["deepseek2-fp8"] = m
	return ms
}

// alone runs tokens through a fresh sequence one token a step and returns the logits after each.
func alone(t *testing.T, m *Model, p *kernels.Pool, tokens []int32) [][]float32 {
	t.Helper()
	c := m.NewCache(len(tokens))
	s := c.NewSeq()
	var b Batch
	var out [][]float32
	for i, tok := range tokens {
		if err := s.Reserve(i + 1); err != nil {
			t.Fatal(err)
		}
		b.Rows = append(b.Rows[:0], Row{Token: tok, Seq: s, Pos: i, Logits: true})
		l, err := m.ForwardBatch(p, &b)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, append([]float32(nil), l...))
	}
	return out
}

// sameLogits fails unless got is bit for bit want.
func sameLogits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: logit %d is %v, alone %v", what, i, got[i], want[i])
		}
	}
}

// TestBatchInvariance runs random mixes of sequences through one shared paged cache, in random chunk
// sizes, interleaved in random orders, with forks (copy-on-write blocks) and prefix-cache hits, and
// checks that every position's logits are bit for bit those of the same tokens run alone, one at a time.
func TestBatchInvariance(t *testing.T) {
	p := kernels.NewPool(2)
	defer p.Close()
	for name, m := range batchModels(t) {
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, uint64(len(name))))
			for round := range 2 {
				checkRandomMix(t, m, p, r, fmt.Sprintf("round %d", round))
			}
		})
	}
}

// mixSeq is one sequence of a random mix: its tokens and how many have run.
type mixSeq struct {
	s      *kvcache.Seq
	tokens []int32
	done   int
	want   [][]float32
}

func checkRandomMix(t *testing.T, m *Model, p *kernels.Pool, r *rand.Rand, round string) {
	cache := m.NewCache(2048)
	shared := make([]int32, 18) // a common prompt start, for forks and prefix hits
	for i := range shared {
		shared[i] = int32(r.IntN(m.Vocab))
	}
	newTokens := func() []int32 {
		n := 1 + r.IntN(24)
		tok := make([]int32, n)
		for i := range tok {
			tok[i] = int32(r.IntN(m.Vocab))
		}
		if r.IntN(2) == 0 {
			tok = append(append([]int32(nil), shared...), tok...)
		}
		return tok
	}
	var seqs []*mixSeq
	for range 2 + r.IntN(4) {
		seqs = append(seqs, &mixSeq{s: cache.NewSeq(), tokens: newTokens()})
	}
	var b Batch
	for step := 0; ; step++ {
		type pending struct {
			q  *mixSeq
			n  int
			at int
		}
		var plan []pending
		for _, q := range seqs {
			if left := len(q.tokens) - q.done; left > 0 && r.IntN(4) > 0 {
				plan = append(plan, pending{q: q, n: 1 + r.IntN(min(left, 1+r.IntN(20)))})
			}
		}
		if len(plan) == 0 {
			finished := true
			for _, q := range seqs {
				finished = finished && q.done == len(q.tokens)
			}
			if finished {
				break
			}
			continue
		}
		// Interleave the rows of the planned chunks at random, each sequence's in position order.
		b.Rows = b.Rows[:0]
		var owner []*mixSeq
		for _, pl := range plan {
			if err := pl.q.s.Reserve(pl.q.done + pl.n); err != nil {
				t.Fatal(err)
			}
		}
		for left := len(plan); left > 0; {
			i := r.IntN(len(plan))
			pl := &plan[i]
			if pl.at == pl.n {
				continue
			}
			pos := pl.q.done + pl.at
			b.Rows = append(b.Rows, Row{Token: pl.q.tokens[pos], Seq: pl.q.s, Pos: pos, Logits: true})
			owner = append(owner, pl.q)
			if pl.at++; pl.at == pl.n {
				left--
			}
		}
		logits, err := m.ForwardBatch(p, &b)
		if err != nil {
			t.Fatal(err)
		}
		for i, row := range b.Rows {
			q := owner[i]
			if q.want == nil {
				q.want = alone(t, m, p, q.tokens)
			}
			sameLogits(t, fmt.Sprintf("%s step %d: row %d (position %d of %d, batch of %d)", round, step, i, row.Pos,
				len(q.tokens), len(b.Rows)), logits[i*m.Vocab:(i+1)*m.Vocab], q.want[row.Pos])
		}
		for _, pl := range plan {
			pl.q.done += pl.n
		}
		// Now and then: fork a sequence into a new one that goes its own way, or publish a finished one's
		// blocks and start a new sequence on a prefix-cache hit.
		if len(seqs) >= 7 {
			continue
		}
		switch q := seqs[r.IntN(len(seqs))]; r.IntN(4) {
		case 0:
			if q.done > 0 {
				f := &mixSeq{s: q.s.Fork(), done: q.done, tokens: append(q.tokens[:q.done:q.done], newTokens()...)}
				seqs = append(seqs, f)
			}
		case 1:
			if q.done == len(q.tokens) {
				cache.Publish(q.s, 0, q.tokens)
				h := &mixSeq{s: cache.NewSeq(), tokens: append(append([]int32(nil), q.tokens...), newTokens()...)}
				h.done = cache.Lookup(h.s, 0, h.tokens, len(h.tokens)-1)
				seqs = append(seqs, h)
			}
		}
	}
	for _, q := range seqs {
		q.s.Free()
	}
	if cache.Used() != 0 {
		t.Fatalf("%s: %d blocks still used after every sequence was freed", round, cache.Used())
	}
}
