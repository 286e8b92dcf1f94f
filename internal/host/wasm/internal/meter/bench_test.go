package meter

import (
	"context"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// benchModes runs f on three set-ups of the same guest: plain wazero; wazero WithCloseOnContextDone
// under a context with a deadline (what stops guests without metering); and the instrumented guest,
// whose tick reads the clock. The metered run also reports the time between ticks.
func benchModes(b *testing.B, bin []byte, setup func(b *testing.B, m api.Module), f func(ctx context.Context, m api.Module) error) {
	for _, mode := range []string{"plain", "close-on-done", "metered"} {
		b.Run(mode, func(b *testing.B) {
			tk := &ticker{}
			cfg, guest, ctx := wazero.NewRuntimeConfig(), bin, context.Background()
			switch mode {
			case "close-on-done":
				cfg = cfg.WithCloseOnContextDone(true)
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, time.Hour)
				defer cancel()
			case "metered":
				guest = mustInstrument(b, bin)
				tk.deadline.Store(time.Now().Add(time.Hour).UnixNano())
			}
			m := instantiate(b, newRuntime(b, cfg, tk, bin), guest)
			setup(b, m)
			b.ResetTimer()
			start, ticks := time.Now(), tk.ticks.Load()
			for b.Loop() {
				if err := f(ctx, m); err != nil {
					b.Fatal(err)
				}
			}
			if n := tk.ticks.Load() - ticks; n > 0 {
				b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(n), "ns/tick")
			}
		})
	}
}

// BenchmarkSampler: the sampler guest's smp_sample over 129,280 logits at temperature 0.8.
func BenchmarkSampler(b *testing.B) {
	const n = 129_280
	logits := randomLogits(n)
	benchModes(b, readGuest(b, "sampler.wasm"), func(b *testing.B, m api.Module) {
		sampleRun(b, m, abi.SamplerParams{Temperature: 0.8, Seed: 1}, logits, 1)
	}, func(ctx context.Context, m api.Module) error {
		_, err := m.ExportedFunction(abi.ExportSmpSample).Call(ctx, n)
		return err
	})
}

// BenchmarkLoop: count(1e6), the tightest loop there is (8 instructions an iteration), and fib(25), 250k
// calls.
func BenchmarkLoop(b *testing.B) {
	for _, c := range []struct {
		name string
		arg  uint64
	}{{"count", 1e6}, {"fib", 25}} {
		b.Run(c.name, func(b *testing.B) {
			benchModes(b, arithModule(), func(*testing.B, api.Module) {}, func(ctx context.Context, m api.Module) error {
				_, err := m.ExportedFunction(c.name).Call(ctx, c.arg)
				return err
			})
		})
	}
}
