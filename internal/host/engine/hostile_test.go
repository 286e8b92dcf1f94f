package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmoe/wasmoe/internal/builtin"
	"github.com/wasmoe/wasmoe/internal/host/modelgen"
	"github.com/wasmoe/wasmoe/internal/host/wasm"
	"github.com/wasmoe/wasmoe/internal/kernels"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// TestHostileGuests runs the misbehaving policies of internal/host/wasm/testdata/hostile through whole requests on
// both engines: each fails only its own request, soon, with an error that says what went wrong, and the
// engine then serves the next request normally.
func TestHostileGuests(t *testing.T) {
	cases := []struct {
		guest  string
		config byte
		want   []string // the error contains one of these
	}{
		{"trap", 0, []string{"unreachable"}},
		// A guest that runs long is stopped by its step deadline or, on a loaded machine, by the request's
		// CPU budget running out first: both say so.
		{"loop", 0, []string{"deadline", "CPU budget"}},
		{"grow", 0, []string{"out of bounds memory access", "deadline", "CPU budget"}},
		{"recurse", 0, []string{"stack overflow", "call stack exhausted", "deadline", "CPU budget"}},
		{"logflood", 0, []string{"deadline", "CPU budget", ""}}, // may finish: its log stays bounded
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
				bin, err := os.ReadFile(filepath.Join(testutil.Root(), "internal/host/wasm/testdata/hostile", c.guest+".wasm"))
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
				// The CPU budget is 2 s; on a shared 2-core machine running other packages' tests the wall
				// time can be a few times the CPU time (5.6 s seen for logflood under wasmtime), so the bound
				// is 10 s: far below a stall, which would hold the request until the test's timeout.
				if d > 10*time.Second {
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

// kernelLoopGuest is a hostile policy that spends its step in host kernels: its ctl_step forwards a
// sequence forever, config[0] tokens per seq_forward (0: 4096, a call that takes seconds on one thread),
// and ignores every status, refilling the sequence when it is full. It runs few instructions of its own.
const kernelLoopGuest = `package main

import "unsafe"

//go:wasmimport wasmoe_v1 config
func config(ptr, capacity uint32) int32

//go:wasmimport wasmoe_v1 seq_new
func seqNew(m int32) int32

//go:wasmimport wasmoe_v1 seq_forward
func seqForward(s int32, ids, n, logits, capacity uint32) int32

//go:wasmimport wasmoe_v1 seq_trim
func seqTrim(s int32, keep uint32) int32

var (
	ids    [4096]int32
	cfg    [1]byte
)

//go:wasmexport ctl_init
func ctlInit() int32 { return 0 }

//go:wasmexport ctl_open
func ctlOpen(seq, parent int32) int32 { return 0 }

//go:wasmexport ctl_close
func ctlClose(seq int32) int32 { return 0 }

//go:wasmexport ctl_step
func ctlStep(seq int32, p, n uint32) int64 {
	per := uint32(len(ids))
	if config(ptr(cfg[:]), 1) == 1 && cfg[0] > 0 {
		per = uint32(cfg[0])
	}
	s := seqNew(0)
	for {
		if seqForward(s, ptr(ids[:]), per, 0, 0) < 0 {
			seqTrim(s, 0)
		}
	}
}
`

// kernelLoopWasm is kernelLoopGuest, built once per test binary.
var kernelLoopWasm = sync.OnceValues(func() ([]byte, error) { return buildTestGuest("kernelloop", kernelLoopGuest) })

// TestHostileKernelLoop: a policy that loops over seq_forward, in long calls or short ones, is stopped
// soon after its 100 ms step deadline, though its time is spent in host kernels that the wasm engine's
// deadline cannot interrupt, and though it ignores the statuses they return. The error names the deadline,
// and the engine then serves the next request normally. (internal/host/wasm's TestKernelDeadline checks the CPU
// budget.)
func TestHostileKernelLoop(t *testing.T) {
	needGo(t)
	bin, err := kernelLoopWasm()
	if err != nil {
		t.Fatal(err)
	}
	o := modelgen.Tiny("qwen2", kernels.Q8_0)
	o.Context = 4096 // a seq_forward of the whole context takes seconds
	path := writeTiny(t, o)
	for _, engineName := range wasm.Engines() {
		t.Run(engineName, func(t *testing.T) {
			const deadline = 100 * time.Millisecond
			prt, err := wasm.NewRuntime(context.Background(), wasm.Config{Engine: engineName, StepTimeout: deadline, CPUBudget: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			rt, err := wasm.NewRuntime(context.Background(), wasm.Config{})
			if err != nil {
				t.Fatal(err)
			}
			e, err := Open(Config{ModelPath: path, Runtime: rt, PluginRuntime: prt, GuestPool: 1,
				TokenizerWasm: builtin.Tokenizer, SamplerWasm: builtin.Sampler})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			p, err := e.LoadPolicy(bin)
			if err != nil {
				t.Fatal(err)
			}
			sp := DefaultSampling()
			sp.Temperature = 0
			for _, per := range []byte{0, 16} {
				start := time.Now()
				_, err = e.Generate(context.Background(), Request{Prompt: []int32{1, 2, 3}, MaxTokens: 4, Sampling: sp,
					Policy: p, PolicyConfig: []byte{per}}, func(Piece) error { return nil })
				d := time.Since(start)
				if want := "ran past its deadline of 100ms"; err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("%d tokens a call: error %v, want one containing %q", per, err, want)
				}
				if d > 10*deadline {
					t.Errorf("%d tokens a call: the request took %v, its deadline is %v", per, d, deadline)
				}
			}
			if ids, _, res := collect(t, e, Request{Prompt: []int32{1, 2, 3}, MaxTokens: 4, Sampling: sp, IgnoreEOS: true}); len(ids) != 4 {
				t.Errorf("after the hostile guest: %d tokens, %+v", len(ids), res)
			}
		})
	}
}
