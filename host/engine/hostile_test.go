package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmoe/wasmoe/host/wasm"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// TestHostileGuests runs the misbehaving policies of host/wasm/testdata/hostile through whole requests on
// both engines: each fails only its own request, soon, with an error that says what went wrong, and the
// engine then serves the next request normally.
func TestHostileGuests(t *testing.T) {
	cases := []struct {
		guest  string
		config byte
		want   []string // the error contains one of these
	}{
		{"trap", 0, []string{"unreachable"}},
		{"loop", 0, []string{"deadline"}},
		{"grow", 0, []string{"out of bounds memory access", "deadline"}},
		{"recurse", 0, []string{"stack overflow", "call stack exhausted", "deadline"}},
		{"logflood", 0, []string{"deadline", ""}}, // may finish: its log stays bounded
		{"forkbomb", 0, []string{"forked past"}},
	}
	for mode, want := range []string{"unknown action kind", "unknown action flags", "bias pairs", "splice of",
		"fork into", "fork into", "pick from", "pick from", "bad input", "took back", "ctl_pick chose", "unknown action"} {
		cases = append(cases, struct {
			guest  string
			config byte
			want   []string
		}{"badaction", byte(mode), []string{want}})
	}
	for mode := range 8 {
		cases = append(cases, struct {
			guest  string
			config byte
			want   []string
		}{"badbuf", byte(mode), []string{"ctl_step"}})
	}
	for _, engineName := range wasm.Engines() {
		t.Run(engineName, func(t *testing.T) {
			const logLimit = 4096
			rt, err := wasm.NewRuntime(context.Background(), wasm.Config{Engine: engineName, StepTimeout: 300 * time.Millisecond,
				CPUBudget: 2 * time.Second, MemoryLimitPages: 256, LogLimit: logLimit})
			if err != nil {
				t.Fatal(err)
			}
			e := openTiny(t, Config{PluginRuntime: rt, GuestPool: 1})
			sp := DefaultSampling()
			sp.Temperature = 0
			for _, c := range cases {
				bin, err := os.ReadFile(filepath.Join(testutil.Root(), "host/wasm/testdata/hostile", c.guest+".wasm"))
				if err != nil {
					t.Fatalf("%v (make guests builds it)", err)
				}
				p, err := e.LoadPolicy(bin)
				if err != nil {
					t.Fatalf("%s: %v", c.guest, err)
				}
				start := time.Now()
				_, err = e.Generate(context.Background(), Request{Prompt: []int32{1, 2, 3}, MaxTokens: 4, Sampling: sp,
					Policy: p, PolicyConfig: []byte{c.config}}, func(Piece) error { return nil })
				d := time.Since(start)
				ok := false
				for _, w := range c.want {
					if w == "" && err == nil || w != "" && err != nil && strings.Contains(err.Error(), w) {
						ok = true
					}
				}
				if !ok {
					t.Errorf("%s/%d: error %v, want one containing %q", c.guest, c.config, err, c.want)
				}
				if err != nil && len(err.Error()) > logLimit+2000 {
					t.Errorf("%s/%d: error of %d bytes: the guest's log is not bounded", c.guest, c.config, len(err.Error()))
				}
				if d > 5*time.Second {
					t.Errorf("%s/%d: the request took %v", c.guest, c.config, d)
				}
			}
			// The engine is unharmed: a well-behaved request runs to the end.
			if ids, _, res := collect(t, e, Request{Prompt: []int32{1, 2, 3}, MaxTokens: 4, Sampling: sp, IgnoreEOS: true}); len(ids) != 4 {
				t.Errorf("after the hostile guests: %d tokens, %+v", len(ids), res)
			}
		})
	}
}
