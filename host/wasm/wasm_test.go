package wasm

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/guest/builtin"
	"github.com/wasmoe/wasmoe/guest/sampling"
	"github.com/wasmoe/wasmoe/host/gguf"
	"github.com/wasmoe/wasmoe/host/vocab"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

func newRuntime(t testing.TB) *Runtime {
	t.Helper()
	r, err := NewRuntime(context.Background(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	return r
}

func loadVocab(t testing.TB, name string) *abi.Vocab {
	t.Helper()
	f, err := gguf.Open(testutil.Vocab(t, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, err := vocab.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestTokenizerGuest runs llama.cpp's qwen2 vectors through the wasm guest and decodes them back.
func TestTokenizerGuest(t *testing.T) {
	ctx := context.Background()
	tok, err := NewTokenizer(newRuntime(t), builtin.Tokenizer, loadVocab(t, "ggml-vocab-qwen2.gguf"), 2)
	if err != nil {
		t.Fatal(err)
	}
	inp, _ := os.ReadFile(filepath.Join(testutil.Root(), "testdata", "vocab", "ggml-vocab-qwen2.gguf.inp"))
	out, _ := os.ReadFile(filepath.Join(testutil.Root(), "testdata", "vocab", "ggml-vocab-qwen2.gguf.out"))
	texts := strings.Split(string(inp), "\n__ggml_vocab_test__\n")
	want := strings.Split(string(out), "\n")
	for i, text := range texts[:len(texts)-1] {
		ids, err := tok.Encode(ctx, text, false, false)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, id := range ids {
			got = append(got, strconv.Itoa(int(id)))
		}
		if strings.Join(got, " ") != strings.TrimSpace(want[i]) {
			t.Errorf("case %d %q: got %v, want %s", i, text, ids, want[i])
		}
		back, err := tok.Decode(ctx, ids, false)
		if err != nil || string(back) != text {
			t.Errorf("case %d: decode gave %q (%v), want %q", i, back, err, text)
		}
	}
	// Pieces of a split multi-byte character come back as raw bytes.
	ids, _ := tok.Encode(ctx, "你好", false, false)
	var all []byte
	for _, id := range ids {
		p, err := tok.Piece(ctx, id, false)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, p...)
	}
	if string(all) != "你好" {
		t.Errorf("pieces join to %q", all)
	}
}

// TestSamplerGuestMatchesNative samples with the guest and with the native library from the same seed.
func TestSamplerGuestMatchesNative(t *testing.T) {
	ctx := context.Background()
	s, err := NewSampler(newRuntime(t), builtin.Sampler, 2)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	logits := make([]float32, 32000)
	for _, p := range []abi.SamplerParams{
		{Temperature: 0},
		{Temperature: 0.8, TopK: 40, TopP: 0.9, Seed: 11},
		{Temperature: 1.1, MinP: 0.05, RepeatPenalty: 1.2, PresencePenalty: 0.3, LogitBias: map[int32]float32{5: 3}, Seed: 12},
	} {
		ss, err := s.Acquire(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		native := sampling.New(p)
		history := []int32{3, 5, 8}
		if err := ss.Accept(history...); err != nil {
			t.Fatal(err)
		}
		for _, h := range history {
			native.Accept(h)
		}
		for step := 0; step < 30; step++ {
			for i := range logits {
				logits[i] = float32(r.NormFloat64() * 3)
			}
			got, err := ss.Sample(logits)
			if err != nil {
				t.Fatal(err)
			}
			want := native.Sample(append([]float32(nil), logits...))
			if got != want {
				t.Fatalf("params %+v step %d: guest picked %d, native %d", p, step, got, want)
			}
			ss.Accept(got)
			native.Accept(want)
		}
		ss.Release()
	}
	if n := s.p.live(); n > 2 {
		t.Errorf("%d live instances, pool size 2", n)
	}
}

// TestPoolReuse checks many sequential requests reuse instances instead of creating new ones.
func TestPoolReuse(t *testing.T) {
	s, err := NewSampler(newRuntime(t), builtin.Sampler, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		ss, err := s.Acquire(context.Background(), abi.SamplerParams{})
		if err != nil {
			t.Fatal(err)
		}
		ss.Release()
	}
	if n := s.p.live(); n != 1 {
		t.Errorf("%d instances after 50 sequential requests, want 1", n)
	}
}

// TestTrapDiscardsInstance feeds the sampler an out-of-range buffer: the call traps, the request fails with
// a clear error, and the instance is not reused.
func TestTrapDiscardsInstance(t *testing.T) {
	ctx := context.Background()
	s, err := NewSampler(newRuntime(t), builtin.Sampler, 1)
	if err != nil {
		t.Fatal(err)
	}
	ss, err := s.Acquire(ctx, abi.SamplerParams{})
	if err != nil {
		t.Fatal(err)
	}
	// Ask the guest to read 2^30 token ids at the end of its memory: a bounds trap inside the guest.
	_, err = ss.inst.call(ctx, abi.ExportSmpAccept, uint64(1<<31), uint64(1<<30))
	if err == nil || !ss.inst.broken {
		t.Fatalf("out-of-bounds accept: err %v, broken %v", err, ss.inst.broken)
	}
	ss.Release()
	if n := s.p.live(); n != 0 {
		t.Fatalf("broken instance kept: %d live", n)
	}
	ss, err = s.Acquire(ctx, abi.SamplerParams{})
	if err != nil {
		t.Fatalf("no fresh instance after a trap: %v", err)
	}
	if _, err := ss.Sample([]float32{0, 1}); err != nil {
		t.Fatal(err)
	}
	ss.Release()
}

func TestRejectsForeignModules(t *testing.T) {
	r := newRuntime(t)
	if _, err := NewSampler(r, builtin.Tokenizer, 1); err == nil || !strings.Contains(err.Error(), "smp_config") {
		t.Errorf("tokenizer accepted as a sampler: %v", err)
	}
	if _, err := NewSampler(r, []byte("\x00asm\x01\x00\x00\x00garbage"), 1); err == nil {
		t.Error("garbage module accepted")
	}
}

func BenchmarkSamplerGuest(b *testing.B) {
	s, err := NewSampler(newRuntime(b), builtin.Sampler, 1)
	if err != nil {
		b.Fatal(err)
	}
	logits := make([]float32, 151936)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range logits {
		logits[i] = float32(r.NormFloat64() * 3)
	}
	for _, p := range []struct {
		name string
		p    abi.SamplerParams
	}{{"greedy", abi.SamplerParams{}}, {"temp0.7-top_p0.95", abi.SamplerParams{Temperature: 0.7, TopP: 0.95}}} {
		b.Run(p.name, func(b *testing.B) {
			ss, _ := s.Acquire(context.Background(), p.p)
			defer ss.Release()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ss.Sample(logits); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
