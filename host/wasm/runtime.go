// Package wasm runs wasmoe's WebAssembly guests on wazero: it compiles each module once (keyed by its
// SHA-256, optionally cached on disk), keeps pools of initialised instances, provides the host module of
// guest/ABI.md, and wraps the built-in guests in typed clients (Tokenizer, Sampler).
//
// Guests get no filesystem, environment, arguments or real clock (wazero's clocks are fake unless asked
// for), a seeded random source, a memory cap, and a bounded log. A call that traps discards its instance.
package wasm

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// Config sets up a Runtime.
type Config struct {
	CacheDir         string // directory for compiled code; "" keeps it in memory only
	MemoryLimitPages uint32 // cap on each instance's linear memory in 64 KiB pages; 0 = 8192 (512 MiB)
	LogLimit         int    // bytes of log kept per instance; 0 = 64 KiB
}

// Runtime compiles and instantiates guests. It is safe for concurrent use.
type Runtime struct {
	rt       wazero.Runtime
	cfg      Config
	mu       sync.Mutex
	compiled map[[32]byte]wazero.CompiledModule
}

// NewRuntime starts a wazero runtime with WASI and the wasmoe host module.
func NewRuntime(ctx context.Context, cfg Config) (*Runtime, error) {
	if cfg.MemoryLimitPages == 0 {
		cfg.MemoryLimitPages = 8192
	}
	if cfg.LogLimit == 0 {
		cfg.LogLimit = 64 << 10
	}
	rc := wazero.NewRuntimeConfig().WithMemoryLimitPages(cfg.MemoryLimitPages)
	if cfg.CacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("wasm: compilation cache %s: %w", cfg.CacheDir, err)
		}
		rc = rc.WithCompilationCache(cache)
	}
	r := &Runtime{rt: wazero.NewRuntimeWithConfig(ctx, rc), cfg: cfg, compiled: map[[32]byte]wazero.CompiledModule{}}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, r.rt); err != nil {
		return nil, fmt.Errorf("wasm: WASI: %w", err)
	}
	if err := r.instantiateHost(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// Close releases every module and instance of the runtime.
func (r *Runtime) Close(ctx context.Context) error { return r.rt.Close(ctx) }

// compile returns the compiled form of bin, compiling it once per distinct content. It checks the ABI
// marker and the exports the caller needs.
func (r *Runtime) compile(ctx context.Context, bin []byte, exports ...string) (wazero.CompiledModule, error) {
	key := sha256.Sum256(bin)
	r.mu.Lock()
	defer r.mu.Unlock()
	cm, ok := r.compiled[key]
	if !ok {
		var err error
		if cm, err = r.rt.CompileModule(ctx, bin); err != nil {
			return nil, fmt.Errorf("wasm: compile: %w", err)
		}
		r.compiled[key] = cm
	}
	defs := cm.ExportedFunctions()
	for _, name := range append([]string{abi.Marker, abi.ExportAlloc, abi.ExportFree}, exports...) {
		if _, ok := defs[name]; !ok {
			return nil, fmt.Errorf("wasm: module does not export %q: not a wasmoe %s guest of this kind (see guest/ABI.md)", name, abi.HostModule)
		}
	}
	for _, imp := range cm.ImportedFunctions() {
		mod, name, _ := imp.Import()
		if mod != abi.HostModule && mod != wasi_snapshot_preview1.ModuleName {
			return nil, fmt.Errorf("wasm: module imports %s.%s; guests may import only %s and WASI", mod, name, abi.HostModule)
		}
	}
	return cm, nil
}
