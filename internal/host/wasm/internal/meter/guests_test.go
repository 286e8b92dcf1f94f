package meter

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/host/vocab"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// write copies b into a fresh guest buffer from wasmoe_alloc.
func write(t testing.TB, m api.Module, b []byte) uint32 {
	t.Helper()
	ptr := uint32(call1(t, m, abi.ExportAlloc, uint64(len(b))))
	if !m.Memory().Write(ptr, b) {
		t.Fatalf("buffer %#x+%d outside memory", ptr, len(b))
	}
	return ptr
}

// randomLogits are n logits of a fixed pseudo-random spread.
func randomLogits(n int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 4*n)
	for i := range n {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(rng.NormFloat64()*3)))
	}
	return b
}

// sampleRun configures the sampler guest m, then samples steps tokens from logits, accepting each.
func sampleRun(t testing.TB, m api.Module, p abi.SamplerParams, logits []byte, steps int) []int32 {
	t.Helper()
	blob, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if st := int32(call1(t, m, abi.ExportSmpConfig, uint64(write(t, m, blob)), uint64(len(blob)))); st != abi.OK {
		t.Fatalf("smp_config: status %d", st)
	}
	n := uint64(len(logits) / 4)
	m.Memory().Write(uint32(call1(t, m, abi.ExportSmpLogits, n)), logits)
	idBuf := write(t, m, make([]byte, 4))
	var ids []int32
	for range steps {
		id := int32(call1(t, m, abi.ExportSmpSample, n))
		ids = append(ids, id)
		m.Memory().WriteUint32Le(idBuf, uint32(id))
		if st := int32(call1(t, m, abi.ExportSmpAccept, uint64(idBuf), 1)); st != abi.OK {
			t.Fatalf("smp_accept: status %d", st)
		}
	}
	return ids
}

// TestSampler runs the built-in sampler guest and its instrumented copy on the same requests: the tokens
// must be the same, and greedy decoding must pick the largest logit.
func TestSampler(t *testing.T) {
	orig := readGuest(t, "sampler.wasm")
	tk := &ticker{}
	rt := newRuntime(t, wazero.NewRuntimeConfig(), tk, orig)
	a, b := instantiate(t, rt, orig), instantiate(t, rt, mustInstrument(t, orig))
	const n = 129_280
	logits := randomLogits(n)
	best := 0
	for i := range n {
		if math.Float32frombits(binary.LittleEndian.Uint32(logits[4*i:])) >
			math.Float32frombits(binary.LittleEndian.Uint32(logits[4*best:])) {
			best = i
		}
	}
	for i, p := range []abi.SamplerParams{
		{},
		{Temperature: 0.8, Seed: 1},
		{Temperature: 1, TopK: 40, TopP: 0.9, MinP: 0.05, RepeatPenalty: 1.1, PresencePenalty: 0.5, Seed: 7,
			LogitBias: map[int32]float32{5: 2, 77: float32(math.Inf(-1))}},
	} {
		want := sampleRun(t, a, p, logits, 8)
		got := sampleRun(t, b, p, logits, 8)
		if !slices.Equal(got, want) {
			t.Errorf("params %d: instrumented sampled %v, original %v", i, got, want)
		}
		if i == 0 && want[0] != int32(best) {
			t.Errorf("greedy picked %d, want the largest logit's %d", want[0], best)
		}
	}
	if tk.ticks.Load() == 0 {
		t.Error("the instrumented sampler never ticked")
	}
}

// TestTokenizer runs llama.cpp's vectors for the deepseek-coder vocabulary through the instrumented
// tokenizer guest, and the original, and wants llama.cpp's ids from both.
func TestTokenizer(t *testing.T) {
	orig := readGuest(t, "tokenizer.wasm")
	tk := &ticker{}
	rt := newRuntime(t, wazero.NewRuntimeConfig(), tk, orig)
	f, err := gguf.Open(testutil.Vocab(t, "ggml-vocab-deepseek-coder.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, err := vocab.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	blob, err := v.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	vectors := testutil.LlamaCppVectors(t, "deepseek-coder")
	for _, bin := range [][]byte{orig, mustInstrument(t, orig)} {
		m := instantiate(t, rt, bin)
		if st := int32(call1(t, m, abi.ExportTokInit, uint64(write(t, m, blob)), uint64(len(blob)))); st != abi.OK {
			t.Fatalf("tok_init: status %d", st)
		}
		for _, v := range vectors {
			text, want := v.Text, v.IDs
			n := int32(call1(t, m, abi.ExportTokEncode, uint64(write(t, m, []byte(text))), uint64(len(text)), 0))
			if n < 0 {
				t.Fatalf("tok_encode(%q): status %d", text, n)
			}
			res, _ := m.Memory().Read(uint32(call1(t, m, abi.ExportTokResult)), uint32(4*n))
			got := make([]int32, n)
			for k := range got {
				got[k] = int32(binary.LittleEndian.Uint32(res[4*k:]))
			}
			if !slices.Equal(got, want) {
				t.Errorf("%q: ids %v, want %v", text, got, want)
			}
		}
	}
	if tk.ticks.Load() == 0 {
		t.Error("the instrumented tokenizer never ticked")
	}
}
