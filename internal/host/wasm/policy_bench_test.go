package wasm

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/wasmoe/wasmoe/internal/testutil"
)

// v3Vocab is DeepSeek-V3's vocabulary size, the size the per-token overhead is measured at.
const v3Vocab = 129280

// syntheticPolicyModel is a model description with n tokens of random bytes (1 to 8 each).
func syntheticPolicyModel(n int) *PolicyModel {
	r := rand.New(rand.NewPCG(1, 2))
	m := &PolicyModel{NLogits: n, NCtx: 4096, Pieces: make([][]byte, n), BOS: 0, EOS: 1, EOT: -1, ThinkOpen: -1, ThinkClose: -1}
	for i := range m.Pieces {
		b := make([]byte, 1+r.IntN(8))
		for j := range b {
			b[j] = byte(' ' + r.IntN(95))
		}
		m.Pieces[i] = b
	}
	return m
}

// policyGuests are the conformance guests of the three SDKs (make guests builds them).
var policyGuests = map[string]string{
	"go": "guest/examples/conformance/conformance.wasm",
	"c":  "guest/c/conformance.wasm",
	"as": "guest/as/policy.wasm",
}

func readGuest(tb testing.TB, rel string) []byte {
	tb.Helper()
	bin, err := os.ReadFile(filepath.Join(testutil.Root(), rel))
	if err != nil {
		tb.Fatalf("%v (make guests builds it)", err)
	}
	return bin
}

// modeConfig is the conformance guest's config for a mode with token X.
func modeConfig(mode byte, x int32) []byte {
	b := make([]byte, 12)
	b[0] = mode
	binary.LittleEndian.PutUint32(b[4:], uint32(x))
	return b
}

// BenchmarkPolicyStep is the per-token cost of a policy at DeepSeek-V3's vocabulary: one ctl_step
// (reporting one token), then its action applied to 129,280 logits in place. Policies: each SDK's
// conformance guest letting sampling run free (free) and rewriting a one-token mask every step (dense
// mask, the worst case: 16 KB written by the guest, 129,279 logits set to -Inf by the host), and the C
// ban example, whose mask of 100 banned tokens is built once per request (mask). Engines: wazero and
// wasmtime with a per-call deadline, as plugins run, and wazero without one, as the trusted built-in
// guests run. Sampling itself is not included: it is the same with or without a policy.
func BenchmarkPolicyStep(b *testing.B) {
	m := syntheticPolicyModel(v3Vocab)
	logits := make([]float32, v3Vocab)
	ban := make([]byte, 0, 400)
	for i := range 100 {
		ban = binary.LittleEndian.AppendUint32(ban, uint32(1000*i+7))
	}
	guests := []struct {
		name, path string
		config     []byte
	}{
		{"go/free", policyGuests["go"], modeConfig(0, 7)},
		{"c/free", policyGuests["c"], modeConfig(0, 7)},
		{"as/free", policyGuests["as"], modeConfig(0, 7)},
		{"go/dense-mask", policyGuests["go"], modeConfig(1, 7)},
		{"c/dense-mask", policyGuests["c"], modeConfig(1, 7)},
		{"as/dense-mask", policyGuests["as"], modeConfig(1, 7)},
		{"c/mask", "guest/c/ban.wasm", ban},
	}
	for _, c := range []struct {
		name string
		cfg  Config
	}{
		{"wazero", Config{Engine: EngineWazero, StepTimeout: 100e6, CPUBudget: 1e12}},
		{"wazero-no-deadline", Config{Engine: EngineWazero}},
		{"wasmtime", Config{Engine: EngineWasmtime, StepTimeout: 100e6, CPUBudget: 1e12}},
	} {
		rt := newRuntimeConfig(b, c.cfg)
		for _, g := range guests {
			p, err := NewPolicy(rt, readGuest(b, g.path), m, 1)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(c.name+"/"+g.name, func(b *testing.B) {
				s, err := p.Acquire(context.Background(), g.config, nil)
				if err != nil {
					b.Fatal(err)
				}
				defer s.Release()
				if err := s.Open(0, -1); err != nil {
					b.Fatal(err)
				}
				defer s.Close(0)
				ids := []int32{5}
				for b.Loop() {
					st, err := s.Step(0, ids)
					if err != nil {
						b.Fatal(err)
					}
					if err := st.Apply(logits); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkPolicyStart is what a new policy instance costs (instantiate, _initialize, ctl_init reading
// the 129,280-token model description), and what compiling the Go guest costs in a new runtime, cold and
// from the on-disk cache, on each engine. Pools and the cache hide these from requests.
func BenchmarkPolicyStart(b *testing.B) {
	m := syntheticPolicyModel(v3Vocab)
	ctx := context.Background()
	for _, engine := range []string{EngineWazero, EngineWasmtime} {
		for _, sdk := range []string{"go", "c", "as"} {
			bin := readGuest(b, policyGuests[sdk])
			b.Run(fmt.Sprintf("%s/%s/instance", engine, sdk), func(b *testing.B) {
				rt := newRuntimeConfig(b, Config{Engine: engine})
				p, err := NewPolicy(rt, bin, m, 1)
				if err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					inst, err := rt.instantiate(ctx, p.p.cm, 1)
					if err == nil {
						err = p.p.init(ctx, inst)
					}
					if err != nil {
						b.Fatal(err)
					}
					inst.close(ctx)
				}
			})
		}
		bin := readGuest(b, policyGuests["go"])
		b.Run(engine+"/go/compile-cold", func(b *testing.B) {
			for b.Loop() {
				rt, err := NewRuntime(ctx, Config{Engine: engine, CacheDir: b.TempDir()})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := rt.compile(ctx, bin, policyKind); err != nil {
					b.Fatal(err)
				}
				rt.Close(ctx)
			}
		})
		dir := b.TempDir()
		b.Run(engine+"/go/compile-cached", func(b *testing.B) {
			warm := newRuntimeConfig(b, Config{Engine: engine, CacheDir: dir})
			if _, err := warm.compile(ctx, bin, policyKind); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				rt, err := NewRuntime(ctx, Config{Engine: engine, CacheDir: dir})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := rt.compile(ctx, bin, policyKind); err != nil {
					b.Fatal(err)
				}
				rt.Close(ctx)
			}
		})
	}
}
