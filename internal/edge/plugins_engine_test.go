package edge

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmoe/wasmoe/internal/builtin"
	"github.com/wasmoe/wasmoe/internal/host/engine"
	"github.com/wasmoe/wasmoe/internal/host/modelgen"
	"github.com/wasmoe/wasmoe/internal/host/wasm"
	"github.com/wasmoe/wasmoe/internal/kernels"
	"github.com/wasmoe/wasmoe/internal/store"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// deployInitTimeout bounds ctl_init in the deploy engine's plugin runtime.
const deployInitTimeout = time.Second

// openDeployEngine opens the real engine on a tiny random-weight qwen2 model, with a plugin runtime that
// has deadlines (ctl_init: deployInitTimeout) and the plugin directory dir.
func openDeployEngine(t *testing.T, dir string) *engine.Engine {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	if err := modelgen.WriteFile(modelgen.Tiny("qwen2", kernels.Q8_0), testutil.Vocab(t, "ggml-vocab-qwen2.gguf"), path); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt, err := wasm.NewRuntime(ctx, wasm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	prt, err := wasm.NewRuntime(ctx, wasm.Config{StepTimeout: 500 * time.Millisecond, CPUBudget: 5 * time.Second, InitTimeout: deployInitTimeout})
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.Open(engine.Config{ModelPath: path, ID: "tiny", Context: 256, Threads: 1, Runtime: rt, PluginRuntime: prt,
		TokenizerWasm: builtin.Tokenizer, SamplerWasm: builtin.Sampler, PluginDir: dir, GuestPool: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// readGuest reads a committed guest module.
func readGuest(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testutil.Root(), path))
	if err != nil {
		t.Fatalf("%v (make guests builds it)", err)
	}
	return b
}

// Real modules through the real engine: deploy a working policy and use it; deploy v2, a policy that
// traps, and see requests fail; roll back and use v1 again. Modules that are not wasm or not policies are
// refused at deploy with the reason; one whose ctl_init loops is refused after the init timeout, while
// another deploy and requests go on meanwhile.
func TestDeployRealEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a model and compiles guests")
	}
	e := openDeployEngine(t, "")
	url := storeServer(t, store.Limits{}, DefaultConfig(), e)
	ban := readGuest(t, "guest/c/ban.wasm")
	trap := readGuest(t, "internal/host/wasm/testdata/hostile/trap.wasm")

	upload(t, url, "acme-key", "p", "?tag=v1", bundle(t, "p", ban, store.PluginLimits{}), 201)
	if code, body, ver := use(t, url, "acme-key", "p"); code != 200 || ver != "p@1" {
		t.Fatalf("v1: %d %s %q", code, body, ver)
	}
	upload(t, url, "acme-key", "p", "", bundle(t, "p", trap, store.PluginLimits{}), 201)
	if code, body, _ := use(t, url, "acme-key", "p"); code != 400 || errCode(body) != "plugin_failed" || !strings.Contains(string(body), "unreachable") {
		t.Fatalf("v2 (traps): %d %s", code, body)
	}
	if code, body, _ := httpDo(t, "acme-key", "POST", url+"/v1/plugins/p/rollback", "", nil); code != 200 {
		t.Fatalf("rollback: %d %s", code, body)
	}
	if code, body, ver := use(t, url, "acme-key", "p"); code != 200 || ver != "p@1" {
		t.Fatalf("v1 again: %d %s %q", code, body, ver)
	}

	for _, c := range []struct {
		name string
		mod  []byte
		want string
	}{
		{"not wasm", []byte("\x00asm\x01\x00\x00\x00 not really"), "compile"},
		{"a sampler, not a policy", builtin.Sampler, "not a policy guest"},
		{"truncated", ban[:len(ban)/2], "compile"},
	} {
		code, body, _ := httpDo(t, "acme-key", "POST", url+"/v1/plugins/bad/versions", store.BundleContentType, bundle(t, "bad", c.mod, store.PluginLimits{}))
		if code != 400 || errCode(body) != "invalid_plugin" || !strings.Contains(string(body), c.want) {
			t.Errorf("%s: %d %s, want 400 invalid_plugin saying %q", c.name, code, body, c.want)
		}
	}

	looping := make(chan [2]any, 1)
	start := time.Now()
	go func() {
		code, body, _ := httpDo(t, "acme-key", "POST", url+"/v1/plugins/spin/versions", store.BundleContentType,
			bundle(t, "spin", testutil.InitLoopPolicy("deploy"), store.PluginLimits{}))
		looping <- [2]any{code, string(body)}
	}()
	time.Sleep(100 * time.Millisecond)
	upload(t, url, "beta-key", "other", "", bundle(t, "other", readGuest(t, "guest/c/conformance.wasm"), store.PluginLimits{}), 201)
	if code, body, _ := use(t, url, "acme-key", "p"); code != 200 {
		t.Errorf("a request during the looping deploy: %d %s", code, body)
	}
	select {
	case r := <-looping:
		t.Fatalf("the looping deploy ended first: %v", r)
	default:
	}
	r := <-looping
	if took := time.Since(start); r[0] != 400 || !strings.Contains(r[1].(string), "ctl_init") || !strings.Contains(r[1].(string), "deadline") || took < deployInitTimeout {
		t.Errorf("looping ctl_init: after %v %v, want 400 saying ctl_init ran past its deadline", took, r)
	}
	if code, body, _ := httpDo(t, "acme-key", "GET", url+"/v1/plugins/spin", "", nil); code != 404 {
		t.Errorf("the refused plugin exists: %d %s", code, body)
	}
}

// countingEngine counts the module reads of PolicyModule: one per load (compile and start).
type countingEngine struct {
	*engine.Engine
	reads atomic.Int32
}

// PolicyModule loads through the engine, counting the reads of the module.
func (c *countingEngine) PolicyModule(owner string, sum [32]byte, lim engine.PluginLimits, module func() ([]byte, error)) (*wasm.Policy, error) {
	return c.Engine.PolicyModule(owner, sum, lim, func() ([]byte, error) { c.reads.Add(1); return module() })
}

// The first request after a deploy finds the module compiled and started: the deploy loaded it (one read
// of the module), the request loads nothing. The test logs its time next to the first request naming the
// same code from the plugin directory, which compiles it then (both modules are one guest with a distinct
// custom section, so neither finds the other's compiled code). The guest is the C conformance guest, or
// the one WASMOE_PRECOMPILE_GUEST names (e.g. the Go build, 2.7 MB).
func TestDeployPrecompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a model and compiles guests")
	}
	guest := "guest/c/conformance.wasm"
	if g := os.Getenv("WASMOE_PRECOMPILE_GUEST"); g != "" {
		guest = g
	}
	conf := readGuest(t, guest)
	salted := func(salt string) []byte { // a custom section: id 0, size, name "s", the salt
		return append(append([]byte(nil), conf...), append([]byte{0, byte(2 + len(salt)), 1, 's'}, salt...)...)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cold.wasm"), salted("cold"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := &countingEngine{Engine: openDeployEngine(t, dir)}
	url := storeServer(t, store.Limits{}, DefaultConfig(), e)
	upload(t, url, "acme-key", "warmup", "", bundle(t, "warmup", readGuest(t, "guest/c/ban.wasm"), store.PluginLimits{}), 201) // builds the model's token table
	d := upload(t, url, "acme-key", "hot", "", bundle(t, "hot", salted("hot"), store.PluginLimits{}), 201)
	timeUse := func(ref string) time.Duration {
		start := time.Now()
		if code, body, _ := use(t, url, "acme-key", ref); code != 200 {
			t.Fatalf("%s: %d %s", ref, code, body)
		}
		return time.Since(start)
	}
	hot := timeUse("hot")
	if n := e.reads.Load(); n != 2 {
		t.Errorf("the module was read %d times by two deploys and a request; want 2 (the first request after a deploy loads nothing)", n)
	}
	cold := timeUse("cold")
	hot2, cold2 := timeUse("hot"), timeUse("cold")
	compileMS, _ := d["compile_ms"].(float64)
	t.Logf("%s: deploy compiled and started it in %.1f ms; first request after the deploy %v (then %v); first request from the plugin directory %v (then %v)",
		guest, compileMS, hot.Round(time.Microsecond), hot2.Round(time.Microsecond), cold.Round(time.Microsecond), cold2.Round(time.Microsecond))
}
