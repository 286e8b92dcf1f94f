package meter

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// errDeadline is what the test tick panics with past its deadline.
var errDeadline = errors.New("meter test: deadline exceeded")

// ticker is the host side of the tests: the tick counts calls and panics once past the deadline.
type ticker struct {
	ticks    atomic.Int64
	deadline atomic.Int64 // unix nanoseconds; 0 = none
}

func (tk *ticker) tick(context.Context) {
	tk.ticks.Add(1)
	if d := tk.deadline.Load(); d != 0 && time.Now().UnixNano() > d {
		panic(errDeadline)
	}
}

// newRuntime returns a wazero runtime with WASI, the tick host module, env.add (i32, i32) -> i32, and
// do-nothing stubs (zero results) for every other import of the guests given.
func newRuntime(t testing.TB, cfg wazero.RuntimeConfig, tk *ticker, guests ...[]byte) wazero.Runtime {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	t.Cleanup(func() { rt.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	host := map[string]wazero.HostModuleBuilder{
		ImportModule: rt.NewHostModuleBuilder(ImportModule).NewFunctionBuilder().WithFunc(tk.tick).Export(ImportName),
		"env": rt.NewHostModuleBuilder("env").NewFunctionBuilder().
			WithFunc(func(a, b int32) int32 { return a + b }).Export("add"),
	}
	defined := map[string]bool{ImportModule + "." + ImportName: true, "env.add": true}
	for _, g := range guests {
		cm, err := rt.CompileModule(ctx, g)
		if err != nil {
			t.Fatal(err)
		}
		for _, def := range cm.ImportedFunctions() {
			m, name, _ := def.Import()
			if m == wasi_snapshot_preview1.ModuleName || defined[m+"."+name] {
				continue
			}
			defined[m+"."+name] = true
			if host[m] == nil {
				host[m] = rt.NewHostModuleBuilder(m)
			}
			host[m] = host[m].NewFunctionBuilder().WithGoFunction(api.GoFunc(func(_ context.Context, stack []uint64) {
				clear(stack)
			}), def.ParamTypes(), def.ResultTypes()).Export(name)
		}
	}
	for m, b := range host {
		if _, err := b.Instantiate(ctx); err != nil {
			t.Fatalf("host module %s: %v", m, err)
		}
	}
	return rt
}

// instantiate compiles and starts a module (a reactor's _initialize runs first).
func instantiate(t testing.TB, rt wazero.Runtime, bin []byte) api.Module {
	t.Helper()
	ctx := context.Background()
	cm, err := rt.CompileModule(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	m, err := rt.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName("").WithStartFunctions("_initialize"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustInstrument(t testing.TB, bin []byte) []byte {
	t.Helper()
	out, err := Instrument(bin)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// readGuest reads a built-in guest of internal/builtin.
func readGuest(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "..", "internal", "builtin", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// call calls an export and returns its first result.
func call1(t testing.TB, m api.Module, name string, args ...uint64) uint64 {
	t.Helper()
	res, err := m.ExportedFunction(name).Call(context.Background(), args...)
	if err != nil {
		t.Fatalf("%s%v: %v", name, args, err)
	}
	if len(res) == 0 {
		return 0
	}
	return res[0]
}
