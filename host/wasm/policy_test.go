package wasm

import (
	"strings"
	"testing"
	"time"

	"github.com/wasmoe/wasmoe/guest/builtin"
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
