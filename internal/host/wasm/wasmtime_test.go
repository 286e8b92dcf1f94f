//go:build cgo

package wasm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/internal/builtin"
)

// asmFunc is a function of a module built by asm, exported under name.
type asmFunc struct {
	name string
	sig  signature
	code []byte // instructions after the (empty) locals vector, the final end included
}

// asm assembles a module: imported functions ("module.name"), then funcs, all exported, and an exported
// memory with the given limits (the binary encoding: 0x00 min, or 0x01 min max) when mem is not nil.
func asm(imports []fnDef, funcs []asmFunc, mem []byte) []byte {
	var types, imps, fns, exps, code []byte
	for _, f := range imports {
		types = appendTypes(appendTypes(append(types, 0x60), f.sig.params), f.sig.results)
	}
	for _, f := range funcs {
		types = appendTypes(appendTypes(append(types, 0x60), f.sig.params), f.sig.results)
	}
	for i, f := range imports {
		mod, name, _ := strings.Cut(f.name, ".")
		imps = append(appendName(appendName(imps, mod), name), 0x00, byte(i))
	}
	for i, f := range funcs {
		idx := byte(len(imports) + i)
		fns = append(fns, idx)
		exps = append(appendName(exps, f.name), 0x00, idx)
		body := append([]byte{0x00}, f.code...)
		code = append(append(code, byte(len(body))), body...)
	}
	nexp := len(funcs)
	if mem != nil {
		exps = append(appendName(exps, "memory"), 0x02, 0)
		nexp++
	}
	b := []byte("\x00asm\x01\x00\x00\x00")
	b = section(b, 1, len(imports)+len(funcs), types)
	if len(imports) > 0 {
		b = section(b, 2, len(imports), imps)
	}
	b = section(b, 3, len(funcs), fns)
	if mem != nil {
		b = section(b, 5, 1, mem)
	}
	b = section(b, 7, nexp, exps)
	return section(b, 10, len(funcs), code)
}

var (
	sigI32 = signature{[]valType{i32}, []valType{i32}}
	echo   = []byte{0x20, 0x00, 0x0b} // local.get 0, end

	// testModule echoes a value of each type, grows and sizes its memory (1 page at first, no maximum),
	// calls sched_yield n times and exits through proc_exit.
	testModule = asm(
		[]fnDef{{"wasi_snapshot_preview1.sched_yield", sig(0, 1)}, {"wasi_snapshot_preview1.proc_exit", sig(1, 0)}},
		[]asmFunc{
			{"echo_i32", sigI32, echo},
			{"echo_i64", signature{[]valType{i64}, []valType{i64}}, echo},
			{"echo_f32", signature{[]valType{f32}, []valType{f32}}, echo},
			{"echo_f64", signature{[]valType{f64}, []valType{f64}}, echo},
			{"grow", sigI32, []byte{0x20, 0x00, 0x40, 0x00, 0x0b}}, // memory.grow
			{"size", sig(0, 1), []byte{0x3f, 0x00, 0x0b}},          // memory.size
			{"yield_n", sigI32, []byte{
				0x02, 0x40, 0x03, 0x40, // block, loop
				0x20, 0x00, 0x45, 0x0d, 0x01, // br_if 1 (n == 0)
				0x10, 0x00, 0x1a, // call sched_yield, drop
				0x20, 0x00, 0x41, 0x01, 0x6b, 0x21, 0x00, // n--
				0x0c, 0x00, 0x0b, 0x0b, // br 0, end loop, end block
				0x20, 0x00, 0x0b}}, // n
			{"exit", sig(1, 0), []byte{0x20, 0x00, 0x10, 0x01, 0x0b}}, // proc_exit(n)
		},
		[]byte{0x00, 1})
)

// newTestInstance compiles bin without the ABI check and instantiates it on r.
func newTestInstance(t testing.TB, r *Runtime, bin []byte) *instance {
	t.Helper()
	ctx := context.Background()
	cm, err := r.be.compile(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := r.instantiate(ctx, cm, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inst.close(ctx) })
	return inst
}

// TestWasmtimeTypes: both engines read the same exports, imports and memory from a module, and they are
// the ones it was assembled with.
func TestWasmtimeTypes(t *testing.T) {
	imports := []fnDef{{"wasmoe_v1.log", sig(3, 0)}, {"wasi_snapshot_preview1.clock_time_get",
		signature{[]valType{i32, i64, i32}, []valType{i32}}}}
	exports := []fnDef{{"a", sig(0, 0)}, {"b", signature{[]valType{f64, f32, i64}, []valType{i64}}}}
	for _, withMem := range []bool{false, true} {
		bin := module(imports, exports, withMem)
		forEachEngine(t, func(t *testing.T, engine string) {
			cm, err := newRuntimeConfig(t, Config{Engine: engine}).be.compile(context.Background(), bin)
			if err != nil {
				t.Fatal(err)
			}
			if cm.exportsMemory() != withMem {
				t.Errorf("exportsMemory() = %v, want %v", cm.exportsMemory(), withMem)
			}
			exps := cm.exports()
			if len(exps) != len(exports) {
				t.Errorf("exports %v, want %v", exps, exports)
			}
			for _, e := range exports {
				if s, ok := exps[e.name]; !ok || !s.equal(e.sig) {
					t.Errorf("export %s: %v, want %v", e.name, s, e.sig)
				}
			}
			imps := cm.imports()
			if len(imps) != len(imports) {
				t.Fatalf("imports %v, want %v", imps, imports)
			}
			for i, im := range imps {
				if want := imports[i]; im.module+"."+im.name != want.name || !im.sig.equal(want.sig) {
					t.Errorf("import %d: %s.%s%v, want %s%v", i, im.module, im.name, im.sig, want.name, want.sig)
				}
			}
		})
	}
}

// TestWasmtimeValues: arguments and results keep their bit patterns through a call on both engines, an
// i32 zero-extended in the stack.
func TestWasmtimeValues(t *testing.T) {
	cases := []struct {
		export string
		v      uint64
	}{
		{"echo_i32", 7}, {"echo_i32", 0xffffffff}, {"echo_i32", 0x80000000},
		{"echo_i64", 1 << 63}, {"echo_i64", math.MaxUint64}, {"echo_i64", 42},
		{"echo_f32", uint64(math.Float32bits(-1.5))}, {"echo_f32", uint64(math.Float32bits(float32(math.Inf(1))))},
		{"echo_f64", math.Float64bits(-1e300)}, {"echo_f64", math.Float64bits(math.SmallestNonzeroFloat64)},
	}
	forEachEngine(t, func(t *testing.T, engine string) {
		inst := newTestInstance(t, newRuntimeConfig(t, Config{Engine: engine}), testModule)
		for _, c := range cases {
			got, err := inst.call(context.Background(), c.export, c.v)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.v {
				t.Errorf("%s(%#x) = %#x", c.export, c.v, got)
			}
		}
		if got, err := inst.call(context.Background(), "yield_n", 5); err != nil || got != 0 {
			t.Errorf("yield_n(5) = %d, %v; want 0 after five host calls", got, err)
		}
	})
}

// TestWasmtimeHostTrap: a host function that stops the guest (proc_exit) fails the call with the same
// message on both engines.
func TestWasmtimeHostTrap(t *testing.T) {
	var msgs []string
	forEachEngine(t, func(t *testing.T, engine string) {
		inst := newTestInstance(t, newRuntimeConfig(t, Config{Engine: engine}), testModule)
		_, err := inst.call(context.Background(), "exit", 7)
		if err == nil || !inst.broken || !strings.Contains(err.Error(), "guest exited with code 7") {
			t.Fatalf("proc_exit(7): err %v, broken %v", err, inst.broken)
		}
		msgs = append(msgs, err.Error())
	})
	if len(msgs) == 2 && msgs[0] != msgs[1] {
		t.Errorf("the engines differ: %q vs %q", msgs[0], msgs[1])
	}
}

// TestWasmtimeMemoryCap: memory.grow past Config.MemoryLimitPages fails (-1) and leaves the memory as it
// was, a module whose memory starts past the cap does not instantiate, and a Go guest that allocates past
// the cap fails its call with Go's out-of-memory error.
func TestWasmtimeMemoryCap(t *testing.T) {
	ctx := context.Background()
	forEachEngine(t, func(t *testing.T, engine string) {
		r := newRuntimeConfig(t, Config{Engine: engine, MemoryLimitPages: 4})
		inst := newTestInstance(t, r, testModule)
		for _, c := range []struct{ grow, want uint64 }{{2, 1}, {2, 0xffffffff}, {1, 3}, {1, 0xffffffff}} {
			if got, err := inst.call(ctx, "grow", c.grow); err != nil || got != c.want {
				t.Errorf("grow(%d) = %#x, %v; want %#x", c.grow, got, err, c.want)
			}
		}
		if n, err := inst.call(ctx, "size", 0); err != nil || n != 4 {
			t.Errorf("size = %d, %v; want 4", n, err)
		}
		if n := len(inst.mod.memory()); n != 4*65536 {
			t.Errorf("memory() is %d bytes, want %d", n, 4*65536)
		}

		big := asm(nil, []asmFunc{{"size", sig(0, 1), []byte{0x3f, 0x00, 0x0b}}}, []byte{0x00, 5})
		if cm, err := r.be.compile(ctx, big); err == nil {
			if _, err := r.instantiate(ctx, cm, 1); err == nil {
				t.Error("a module with 5 pages instantiated under a cap of 4")
			}
		}

		p := newProbe(t, newRuntimeConfig(t, Config{Engine: engine, MemoryLimitPages: 256}), 1)
		pi, err := p.get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer p.put(pi)
		if _, err := pi.call(ctx, abi.ExportAlloc, 64<<20); err == nil || !pi.broken {
			t.Errorf("64 MiB allocation under a 16 MiB cap: err %v, broken %v", err, pi.broken)
		}
		if log := string(pi.log.buf); !strings.Contains(log, "fatal error: out of memory") {
			t.Errorf("the guest's log does not say it ran out of memory: %.300q", log)
		}
	})
}

// TestWasmtimeSandbox: the probe guest sees no files, environment or real clock on wasmtime, and a panic
// fails its call quoting the guest's message.
func TestWasmtimeSandbox(t *testing.T) {
	ctx := context.Background()
	p := newProbe(t, newRuntimeConfig(t, Config{Engine: EngineWasmtime}), 1)
	inst, err := p.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for export, want := range map[string]uint64{"probe_fs": 0, "probe_env": 0, "probe_year": 2022} {
		if got, err := inst.call(ctx, export); err != nil || uint32(got) != uint32(want) {
			t.Errorf("%s = %d, %v; want %d", export, got, err, want)
		}
	}
	if _, err := inst.call(ctx, "probe_panic"); err == nil || !inst.broken || !strings.Contains(err.Error(), "deliberate panic") {
		t.Errorf("panicking guest: %v", err)
	}
	p.put(inst)
	if p.live() != 0 {
		t.Error("trapped instance kept")
	}
}

// TestWasmtimeDiskCache: with a CacheDir, a second runtime loads a module from its file instead of
// compiling it (shown by planting another module's file under its name), and a corrupt file is compiled
// again and replaced.
func TestWasmtimeDiskCache(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := Config{Engine: EngineWasmtime, CacheDir: dir}
	sub := filepath.Join(dir, "wasmtime")
	fileOf := func(bin []byte) string {
		k := sha256.Sum256(bin)
		return filepath.Join(sub, hex.EncodeToString(k[:])+".cwasm.sz")
	}
	compile := func(bin []byte) (compiledModule, time.Duration) {
		r := newRuntimeConfig(t, cfg)
		start := time.Now()
		cm, err := r.be.compile(ctx, bin)
		if err != nil {
			t.Fatal(err)
		}
		return cm, time.Since(start)
	}
	files := func() []string {
		entries, err := os.ReadDir(sub)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return names
	}

	_, cold := compile(builtin.Sampler)
	_, warm := compile(builtin.Sampler)
	t.Logf("sampler: compiled in %v, loaded from the cache in %v", cold, warm)
	if got := files(); len(got) != 1 || got[0] != filepath.Base(fileOf(builtin.Sampler)) {
		t.Fatalf("cache holds %v, want the sampler's file alone", got)
	}
	// The file is the compiled module, snappy-compressed, then the module's SHA-256.
	data, err := os.ReadFile(fileOf(builtin.Sampler))
	if err != nil {
		t.Fatal(err)
	}
	body, err := snappy.Decode(nil, data[:len(data)-sha256.Size])
	if sum := sha256.Sum256(body); err != nil || !bytes.Equal(sum[:], data[len(data)-sha256.Size:]) || len(data) >= len(body) {
		t.Fatalf("cache file of %d bytes: not a smaller snappy block of the module (%d bytes) and its hash: %v", len(data), len(body), err)
	}

	// Plant the test module's file under the sampler's name: a runtime that reads the file gets it.
	compile(testModule)
	planted, err := os.ReadFile(fileOf(testModule))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fileOf(builtin.Sampler), planted, 0o644); err != nil {
		t.Fatal(err)
	}
	cm, _ := compile(builtin.Sampler)
	if _, ok := cm.exports()["echo_i32"]; !ok {
		t.Fatalf("the second runtime compiled the sampler instead of loading its file: exports %v", cm.exports())
	}

	// Corrupt it (a flipped bit in the checksum, then a torn file): the sampler is compiled again and its
	// file rewritten.
	for _, corrupt := range []func([]byte) []byte{
		func(b []byte) []byte { b[len(b)-1] ^= 1; return b },
		func(b []byte) []byte { return b[:len(b)/2] },
	} {
		bad := corrupt(bytes.Clone(planted))
		if err := os.WriteFile(fileOf(builtin.Sampler), bad, 0o644); err != nil {
			t.Fatal(err)
		}
		cm, _ = compile(builtin.Sampler)
		if _, ok := cm.exports()[abi.ExportSmpSample]; !ok {
			t.Fatalf("corrupt file: exports %v, want the sampler's", cm.exports())
		}
		data, err := os.ReadFile(fileOf(builtin.Sampler))
		if err != nil || bytes.Equal(data, bad) {
			t.Fatalf("corrupt file not replaced: %v", err)
		}
	}
	if got := files(); len(got) != 2 {
		t.Errorf("cache holds %v, want two files and no temporaries", got)
	}
}

// TestWasmtimeClosed: a closed runtime compiles and instantiates nothing; its instances can still be
// closed.
func TestWasmtimeClosed(t *testing.T) {
	ctx := context.Background()
	r := newRuntimeConfig(t, Config{Engine: EngineWasmtime})
	cm, err := r.be.compile(ctx, testModule)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := r.instantiate(ctx, cm, 1)
	if err != nil {
		t.Fatal(err)
	}
	r.Close(ctx)
	if _, err := r.be.compile(ctx, testModule); !errors.Is(err, errWasmtimeClosed) {
		t.Errorf("compile after Close: %v", err)
	}
	if _, err := r.instantiate(ctx, cm, 1); err == nil {
		t.Error("instantiate after Close worked")
	}
	inst.close(ctx)
	if _, err := inst.call(ctx, "echo_i32", 1); err == nil {
		t.Error("call on a closed instance worked")
	}
}

// noEpochRuntime is a wasmtime runtime on an engine of its own without epoch interruption: the
// baseline of what epochs cost.
func noEpochRuntime(b testing.TB) *Runtime {
	r := newRuntimeConfig(b, Config{Engine: EngineWasmtime})
	r.be.close(context.Background())
	be, err := newWasmtimeOn(newWasmtimeEngine(false), r.cfg, hostFuncs())
	if err != nil {
		b.Fatal(err)
	}
	r.be = be
	return r
}

// benchRuntimes are the engines and settings the benchmarks compare.
func benchRuntimes(b *testing.B) []struct {
	name string
	r    *Runtime
} {
	return []struct {
		name string
		r    *Runtime
	}{
		{"wazero", newRuntime(b)},
		{"wazero-deadline", newRuntimeConfig(b, Config{StepTimeout: time.Hour})},
		{"wasmtime-no-epoch", noEpochRuntime(b)},
		{"wasmtime", newRuntimeConfig(b, Config{Engine: EngineWasmtime})},
		{"wasmtime-deadline", newRuntimeConfig(b, Config{Engine: EngineWasmtime, StepTimeout: time.Hour})},
	}
}

// BenchmarkWasmtimeSample is one token over DeepSeek-V3's 129,280 logits on each engine: wasmtime
// without epoch interruption, with it, and with it and a deadline set on every call.
func BenchmarkWasmtimeSample(b *testing.B) {
	logits := randomLogits(rand.New(rand.NewPCG(1, 1)), v3Vocab, 3)
	for _, e := range benchRuntimes(b) {
		s := newSampler(b, e.r, 1)
		for _, p := range samplerBenchParams {
			b.Run(p.name+"/"+e.name, func(b *testing.B) {
				ss, err := s.Acquire(context.Background(), p.p)
				if err != nil {
					b.Fatal(err)
				}
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
}

// BenchmarkWasmtimeCall is the cost of a call into the guest (an i32 identity) and of a call from the
// guest to the host (sched_yield, 1000 per op), on each engine.
func BenchmarkWasmtimeCall(b *testing.B) {
	ctx := context.Background()
	for _, e := range benchRuntimes(b) {
		inst := newTestInstance(b, e.r, testModule)
		b.Run("host-to-guest/"+e.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := inst.call(ctx, "echo_i32", 1); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("guest-to-host-x1000/"+e.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := inst.call(ctx, "yield_n", 1000); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A cgo build runs wasmtime beside wazero (Engines is what the CLI's --engine offers).
func TestEnginesWithCgo(t *testing.T) {
	if got := Engines(); !slices.Equal(got, []string{EngineWazero, EngineWasmtime}) {
		t.Fatalf("Engines() = %v in a cgo build", got)
	}
}
