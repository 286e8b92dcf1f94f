package engine

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmoe/wasmoe/internal/host/wasm"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// openLimited opens the tiny engine with a plugin runtime that has deadlines (ctl_init: initTimeout) and
// the plugin directory dir.
func openLimited(t *testing.T, dir string, initTimeout time.Duration) *Engine {
	t.Helper()
	rt, err := wasm.NewRuntime(context.Background(), wasm.Config{StepTimeout: 300 * time.Millisecond,
		CPUBudget: 2 * time.Second, InitTimeout: initTimeout})
	if err != nil {
		t.Fatal(err)
	}
	return openTiny(t, Config{PluginRuntime: rt, PluginDir: dir, GuestPool: 1})
}

// A plugin whose ctl_init loops holds up only the callers of that plugin: another plugin loads meanwhile;
// the looping one fails after the init timeout with an error that says so, and fails again at once
// afterwards (remembered by content); concurrent callers of one module share one load, and two owners
// of one module do not share its instances.
func TestPolicyLoadsDoNotWaitForEachOther(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ban.wasm"), readConformance(t, "c"), 0o644); err != nil {
		t.Fatal(err)
	}
	const initTimeout = time.Second
	e := openLimited(t, dir, initTimeout)
	if _, err := e.policyModel(); err != nil { // built once for every plugin; not what this test times
		t.Fatal(err)
	}
	loop := testutil.InitLoopPolicy("a")
	sum := sha256.Sum256(loop)
	looping := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := e.PolicyModule("t", sum, PluginLimits{}, func() ([]byte, error) { return loop, nil })
		looping <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if _, err := e.Policy("ban"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-looping:
		t.Fatalf("the looping plugin's load ended (%v) before the other plugin's; loads wait for each other?", err)
	default:
	}
	err := <-looping
	if took := time.Since(start); !errors.Is(err, ErrBadPlugin) || !strings.Contains(err.Error(), "ctl_init") ||
		!strings.Contains(err.Error(), "deadline") || took < initTimeout {
		t.Fatalf("after %v: %v, want ErrBadPlugin saying ctl_init ran past its deadline", took, err)
	}
	var reads atomic.Int32
	again := time.Now()
	_, err2 := e.PolicyModule("t", sum, PluginLimits{}, func() ([]byte, error) { reads.Add(1); return loop, nil })
	if took := time.Since(again); err2 == nil || err2.Error() != err.Error() || took > initTimeout/4 || reads.Load() != 0 {
		t.Errorf("the second load of the failed module: %v after %v, %d reads; want the same error at once", err2, took, reads.Load())
	}

	conf := readConformance(t, "as")
	csum := sha256.Sum256(conf)
	var wg sync.WaitGroup
	got := make([]*wasm.Policy, 6)
	for i := range got {
		wg.Go(func() {
			p, err := e.PolicyModule("t", csum, PluginLimits{}, func() ([]byte, error) { reads.Add(1); return conf, nil })
			if err != nil {
				t.Error(err)
			}
			got[i] = p
		})
	}
	wg.Wait()
	for _, p := range got[1:] {
		if p != got[0] || p == nil {
			t.Fatal("concurrent callers of one module got different policies")
		}
	}
	if reads.Load() != 1 {
		t.Errorf("one module was read %d times by concurrent callers", reads.Load())
	}
	other, err := e.PolicyModule("u", csum, PluginLimits{}, func() ([]byte, error) { return conf, nil })
	if err != nil || other == got[0] {
		t.Errorf("two owners of one module share its instances: %v", err)
	}
	if _, err := e.PolicyModule("t", sha256.Sum256([]byte("other")), PluginLimits{}, func() ([]byte, error) { return conf, nil }); !errors.Is(err, ErrBadPlugin) ||
		!strings.Contains(err.Error(), "does not hash") {
		t.Errorf("content that does not match its hash: %v", err)
	}
}

// A plugin's limits tighten the plugin runtime's: a runtime per distinct set, the plugin runtime itself
// when nothing is tighter; and a guest's step runs under the tighter deadline.
func TestPolicyLimits(t *testing.T) {
	e := openLimited(t, "", time.Second)
	base, _, _ := e.pluginRuntime(PluginLimits{})
	if base != e.pluginRT {
		t.Fatal("no limits: not the plugin runtime")
	}
	if rt, _, _ := e.pluginRuntime(PluginLimits{MemoryMB: 8192, StepTimeout: time.Hour}); rt != base {
		t.Error("looser limits: not the plugin runtime")
	}
	a, _, _ := e.pluginRuntime(PluginLimits{MemoryMB: 4, StepTimeout: 20 * time.Millisecond})
	b, _, _ := e.pluginRuntime(PluginLimits{MemoryMB: 4, StepTimeout: 20 * time.Millisecond, CPUBudget: time.Hour})
	c, _, _ := e.pluginRuntime(PluginLimits{MemoryMB: 4})
	if a != b || a == c || a == base {
		t.Error("runtimes are not one per distinct set of limits")
	}
	if cfg := a.Config(); cfg.MemoryLimitPages != 64 || cfg.StepTimeout != 20*time.Millisecond || cfg.CPUBudget != 2*time.Second {
		t.Errorf("tightened config %+v", cfg)
	}
	bin, err := os.ReadFile(filepath.Join(testutil.Root(), "internal/host/wasm/testdata/hostile/loop.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.PolicyModule("t", sha256.Sum256(bin), PluginLimits{StepTimeout: 20 * time.Millisecond}, func() ([]byte, error) { return bin, nil })
	if err != nil {
		t.Fatal(err)
	}
	sp := DefaultSampling()
	_, err = e.Generate(context.Background(), Request{Prompt: []int32{1, 2, 3}, MaxTokens: 2, Sampling: sp, Policy: p}, func(Piece) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "deadline of 20ms") {
		t.Errorf("a looping step under a 20ms limit: %v", err)
	}
}

// The memory of failed loads keeps the last maxFailedLoads: a failure fails again without a read until
// that many newer ones push it out.
func TestFailedLoadsBounded(t *testing.T) {
	rt, err := wasm.NewRuntime(context.Background(), wasm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	e := &Engine{pluginRT: rt}
	reads := 0
	unreadable := func() ([]byte, error) { reads++; return nil, errors.New("unreadable") }
	key := func(i int) [32]byte { return [32]byte{byte(i), byte(i >> 8)} }
	for i := range maxFailedLoads + 1 {
		if _, err := e.load("t", key(i), PluginLimits{}, unreadable); err == nil {
			t.Fatal("a load that cannot read its module succeeded")
		}
	}
	reads = 0
	e.load("t", key(1), PluginLimits{}, unreadable)
	if reads != 0 {
		t.Errorf("a remembered failure read its module again")
	}
	e.load("t", key(0), PluginLimits{}, unreadable)
	if reads != 1 {
		t.Errorf("the oldest failure, past the bound, was still remembered (%d reads)", reads)
	}
	if n := len(e.policies.failed); n != maxFailedLoads {
		t.Errorf("%d failures remembered, want %d", n, maxFailedLoads)
	}
}

// Past the bound on loaded plugins (maxLoadedPolicies; 3 here), the least recently used is closed: naming it again loads it
// again (its module is read again), while one used since stays loaded.
func TestLoadedPoliciesEvictLeastRecentlyUsed(t *testing.T) {
	e := openTiny(t, Config{GuestPool: 1})
	const max = 3
	e.policies.max = max
	conf := readConformance(t, "c")
	salted := func(i int) []byte { // a custom section (id 0, size, name "s") makes each module distinct
		salt := fmt.Sprintf("%04d", i)
		return append(append([]byte(nil), conf...), append([]byte{0, byte(2 + len(salt)), 1, 's'}, salt...)...)
	}
	reads := make([]int, max+1)
	load := func(i int) {
		t.Helper()
		bin := salted(i)
		if _, err := e.PolicyModule("t", sha256.Sum256(bin), PluginLimits{}, func() ([]byte, error) { reads[i]++; return bin, nil }); err != nil {
			t.Fatal(err)
		}
	}
	for i := range max {
		load(i)
	}
	load(0) // plugin 0 is now the most recently used; plugin 1 the least
	load(max)
	load(0)
	load(1)
	if reads[0] != 1 || reads[1] != 2 {
		t.Fatalf("module reads: plugin 0 (used again) %d, want 1; plugin 1 (least recently used) %d, want 2", reads[0], reads[1])
	}
}
