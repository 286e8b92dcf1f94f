package wasm

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/internal/builtin"
)

// TestInitTimeout: an instance's start (the built-in policy builds its token trie over the whole
// vocabulary in ctl_init) runs under InitTimeout, not the per-step deadline, and is still bounded.
func TestInitTimeout(t *testing.T) {
	m := syntheticPolicyModel(v3Vocab)
	forEachEngine(t, func(t *testing.T, engine string) {
		rt := newRuntimeConfig(t, Config{Engine: engine, StepTimeout: time.Millisecond, CPUBudget: time.Millisecond})
		if _, err := NewPolicy(rt, builtin.Policy, m, 1); err != nil {
			t.Fatalf("start under a 1 ms step deadline and CPU budget: %v", err)
		}
		rt = newRuntimeConfig(t, Config{Engine: engine, StepTimeout: time.Millisecond, InitTimeout: time.Millisecond})
		if _, err := NewPolicy(rt, builtin.Policy, m, 1); err == nil || !strings.Contains(err.Error(), "deadline") {
			t.Fatalf("start under a 1 ms init deadline: %v, want a deadline error", err)
		}
	})
}

// TestMeterImportRefused: on a metered wazero runtime the meter's own import is hidden from the ABI check,
// but a guest that imports the meter's tick itself is refused like any foreign import.
func TestMeterImportRefused(t *testing.T) {
	r := newRuntimeConfig(t, Config{StepTimeout: time.Second})
	every := []fnDef{{abi.MarkerV1, sig(0, 0)}, {abi.ExportAlloc, sig(1, 1)}, {abi.ExportFree, sig(1, 0)}}
	if _, err := r.compile(context.Background(), module(nil, every, true), kind{name: "bare"}); err != nil {
		t.Fatalf("metered bare guest: %v", err)
	}
	bin := module([]fnDef{{"wasmoe_meter.tick", sig(0, 0)}}, every, true)
	if _, err := r.compile(context.Background(), bin, kind{name: "bare"}); err == nil || !strings.Contains(err.Error(), "import only") {
		t.Fatalf("guest importing the meter's tick: %v, want a refusal", err)
	}
}
