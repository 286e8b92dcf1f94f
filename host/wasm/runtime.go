// Package wasm runs wasmoe's WebAssembly guests on wazero: it compiles each module once (keyed by its
// SHA-256; compiled code is cached in memory for the process, or on disk), keeps pools of initialised
// instances, provides the host module of guest/ABI.md, and wraps the built-in guests in typed clients
// (Tokenizer, Sampler).
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
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Config sets up a Runtime.
type Config struct {
	// CacheDir keeps compiled code on disk across processes (wazero.NewCompilationCacheWithDir). "" keeps
	// it in memory, shared by every Runtime of the process.
	CacheDir string
	// MemoryLimitPages caps each instance's linear memory, in 64 KiB pages; 0 = 8192 (512 MiB).
	MemoryLimitPages uint32
	// LogLimit is the bytes of log kept per instance and request; 0 = 64 KiB.
	LogLimit int
	// CloseOnContextDone lets a cancelled or expired context stop a guest in the middle of a call
	// (wazero's WithCloseOnContextDone); the instance is then discarded. It makes guest code slower —
	// see guest/ABI.md for the measured cost — so it is meant for untrusted guests.
	CloseOnContextDone bool
}

// Runtime compiles and instantiates guests. It is safe for concurrent use.
type Runtime struct {
	rt    wazero.Runtime
	cfg   Config
	cache wazero.CompilationCache // the on-disk cache this runtime opened, closed with it

	mu       sync.Mutex
	compiled map[[32]byte]wazero.CompiledModule

	instances sync.Map // api.Module → *instance, for the host functions
}

// memoryCache is the compilation cache of runtimes without a CacheDir: a guest compiles once per process.
var memoryCache = sync.OnceValue(wazero.NewCompilationCache)

// NewRuntime starts a wazero runtime with WASI and the wasmoe host module.
func NewRuntime(ctx context.Context, cfg Config) (*Runtime, error) {
	if cfg.MemoryLimitPages == 0 {
		cfg.MemoryLimitPages = 8192
	}
	if cfg.LogLimit == 0 {
		cfg.LogLimit = 64 << 10
	}
	r := &Runtime{cfg: cfg, compiled: map[[32]byte]wazero.CompiledModule{}}
	cache := memoryCache()
	if cfg.CacheDir != "" {
		var err error
		if cache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir); err != nil {
			return nil, fmt.Errorf("wasm: compilation cache %s: %w", cfg.CacheDir, err)
		}
		r.cache = cache
	}
	rc := wazero.NewRuntimeConfig().
		WithMemoryLimitPages(cfg.MemoryLimitPages).
		WithCompilationCache(cache).
		WithCloseOnContextDone(cfg.CloseOnContextDone)
	r.rt = wazero.NewRuntimeWithConfig(ctx, rc)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, r.rt); err != nil {
		r.Close(ctx)
		return nil, fmt.Errorf("wasm: WASI: %w", err)
	}
	if err := r.instantiateHost(ctx); err != nil {
		r.Close(ctx)
		return nil, err
	}
	return r, nil
}

// Close releases every module and instance of the runtime.
func (r *Runtime) Close(ctx context.Context) error {
	err := r.rt.Close(ctx)
	if r.cache != nil {
		if cerr := r.cache.Close(ctx); err == nil {
			err = cerr
		}
	}
	return err
}

// compile returns the compiled form of bin, compiling it once per distinct content, after checking it
// against the ABI: the marker, the exports of its kind with their signatures, and imports only from the
// host module and WASI.
func (r *Runtime) compile(ctx context.Context, bin []byte, k kind) (wazero.CompiledModule, error) {
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
	if err := check(cm, k); err != nil {
		return nil, err
	}
	return cm, nil
}

// register and unregister map a module to its instance, for the host functions it calls.
func (r *Runtime) register(m api.Module, inst *instance) { r.instances.Store(m, inst) }
func (r *Runtime) unregister(m api.Module)               { r.instances.Delete(m) }

// instanceOf returns the instance of a module, or nil.
func (r *Runtime) instanceOf(m api.Module) *instance {
	inst, _ := r.instances.Load(m)
	i, _ := inst.(*instance)
	return i
}
