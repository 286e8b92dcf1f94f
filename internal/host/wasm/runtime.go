// Package wasm runs wasmoe's WebAssembly guests (guest/ABI.md) on one of two engines behind one
// interface, wazero (pure Go, the default) or wasmtime-go: it compiles each module once (keyed by its
// SHA-256; compiled code is cached in memory for the process, or on disk), keeps pools of initialised
// instances, provides the host modules (wasmoe_v1, wasmoe_v0 and a deterministic subset of WASI), and
// wraps the guests in typed clients (Tokenizer, Sampler, Policy).
//
// Guests get no filesystem, environment, arguments or real clock, a seeded random source, a memory cap,
// a bounded log and, when Config asks, a per-call deadline and a per-request CPU budget. A call that
// traps or runs out of time discards its instance and fails only its own request.
package wasm

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Config sets up a Runtime.
type Config struct {
	// Engine is EngineWazero (the default when "") or EngineWasmtime.
	Engine string
	// CacheDir keeps compiled code on disk across processes. "" keeps it in memory for the process.
	CacheDir string
	// MemoryLimitPages caps each instance's linear memory, in 64 KiB pages; 0 = 8192 (512 MiB).
	MemoryLimitPages uint32
	// KeepMemoryPages bounds the memory of the instances a pool keeps, per slot of the pool: its idle
	// instances hold at most its size times this (or times an instance's size when it started, where
	// that is more) together. An instance given back that would take them past it is closed instead of
	// kept for the next request, so that its memory goes back to the OS; below it, an instance keeps the
	// memory it grew (a policy's caches). In 64 KiB pages; 0 = 1024 (64 MiB); at most MemoryLimitPages.
	KeepMemoryPages uint32
	// LogLimit is the bytes of log kept per instance and request; 0 = 64 KiB.
	LogLimit int
	// StepTimeout bounds each call into a guest (a policy step, a sample); 0 = no bound, for trusted
	// guests. A guest past it is stopped, its instance discarded and its request failed.
	StepTimeout time.Duration
	// CPUBudget bounds the time one request spends inside a guest, all calls together; 0 = no bound.
	CPUBudget time.Duration
	// InitTimeout bounds an instance's start (_initialize and ctl_init, which may build tables over the
	// whole vocabulary) when StepTimeout is set; 0 = 10 s. It does not count against CPUBudget.
	InitTimeout time.Duration
	// Limits on what a policy may ask for; zero values take the defaults of DefaultLimits.
	Limits Limits

	guestGrammars bool // the mask imports answer ErrNotReady: policies mask constraints themselves (tests, benchmarks)
}

// Limits bound what one request's policy may ask of the host.
type Limits struct {
	MaxForks     int // sequences a request may have at once (fork); default 16
	MaxSplice    int // tokens one splice may add; default 4096
	MaxBias      int // bias pairs one step may give; default 65536
	MaxSeqs      int // model sequences a guest may open through seq_new; default 8
	MaxSeqTokens int // tokens those sequences may hold, each; default 4096
}

// DefaultLimits are the limits a zero Limits field takes.
var DefaultLimits = Limits{MaxForks: 16, MaxSplice: 4096, MaxBias: 65536, MaxSeqs: 8, MaxSeqTokens: 4096}

func (l *Limits) fill() {
	d := DefaultLimits
	for _, p := range []struct {
		v *int
		d int
	}{{&l.MaxForks, d.MaxForks}, {&l.MaxSplice, d.MaxSplice},
		{&l.MaxBias, d.MaxBias}, {&l.MaxSeqs, d.MaxSeqs}, {&l.MaxSeqTokens, d.MaxSeqTokens}} {
		if *p.v <= 0 {
			*p.v = p.d
		}
	}
}

// Runtime compiles and instantiates guests on one engine. It is safe for concurrent use.
type Runtime struct {
	be  backend
	cfg Config

	mu       sync.Mutex
	compiled map[[32]byte]*compileCall // by the module's SHA-256: done, or compiling now
}

// compileCall is one module's compilation: done is closed when cm or err is set. Callers of a module
// being compiled wait for that compilation alone; other modules compile meanwhile.
type compileCall struct {
	done chan struct{}
	cm   compiledModule
	err  error
}

// NewRuntime starts an engine with the host modules of guest/ABI.md.
func NewRuntime(ctx context.Context, cfg Config) (*Runtime, error) {
	if cfg.MemoryLimitPages == 0 {
		cfg.MemoryLimitPages = 8192
	}
	if cfg.KeepMemoryPages == 0 {
		cfg.KeepMemoryPages = 1024
	}
	cfg.KeepMemoryPages = min(cfg.KeepMemoryPages, cfg.MemoryLimitPages)
	if cfg.LogLimit == 0 {
		cfg.LogLimit = 64 << 10
	}
	if cfg.InitTimeout == 0 {
		cfg.InitTimeout = 10 * time.Second
	}
	cfg.Limits.fill()
	r := &Runtime{cfg: cfg, compiled: map[[32]byte]*compileCall{}}
	host := hostFuncs()
	var err error
	switch cfg.Engine {
	case "", EngineWazero:
		r.cfg.Engine = EngineWazero
		r.be, err = newWazero(ctx, cfg, host)
	case EngineWasmtime:
		r.be, err = newWasmtime(cfg, host)
	default:
		err = fmt.Errorf("wasm: unknown engine %q (this binary has %s)", cfg.Engine, strings.Join(Engines(), ", "))
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Engines lists the engines this binary can run: wasmtime needs cgo.
func Engines() []string {
	if haveWasmtime {
		return []string{EngineWazero, EngineWasmtime}
	}
	return []string{EngineWazero}
}

// Engine is the name of the engine the runtime runs on.
func (r *Runtime) Engine() string { return r.cfg.Engine }

// Close releases every module and instance of the runtime.
func (r *Runtime) Close(ctx context.Context) error { return r.be.close(ctx) }

// compile returns the compiled form of bin, compiling it once per distinct content, after checking it
// against the ABI (see check). A module that does not compile, or that fails the check of the kind it
// was asked as, is not kept: a node that refuses many bad modules holds none of them.
func (r *Runtime) compile(ctx context.Context, bin []byte, k kind) (compiledModule, error) {
	key := sha256.Sum256(bin)
	r.mu.Lock()
	c := r.compiled[key]
	if c == nil {
		c = &compileCall{done: make(chan struct{})}
		r.compiled[key] = c
		r.mu.Unlock()
		c.cm, c.err = r.be.compile(ctx, bin)
		if c.err != nil {
			c.err = fmt.Errorf("wasm: compile: %w", c.err)
		}
		close(c.done)
	} else {
		r.mu.Unlock()
		<-c.done
	}
	err := c.err
	if err == nil {
		err = check(c.cm, k)
	}
	if err != nil {
		r.mu.Lock()
		if r.compiled[key] == c {
			delete(r.compiled, key)
		}
		r.mu.Unlock()
		return nil, err
	}
	return c.cm, nil
}

// Config returns the runtime's configuration, defaults filled in: what a runtime with other limits
// starts from.
func (r *Runtime) Config() Config { return r.cfg }
