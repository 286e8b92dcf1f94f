//go:build cgo

package wasm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"
	"weak"

	"github.com/bytecodealliance/wasmtime-go/v39"
	"github.com/golang/snappy"
)

// haveWasmtime says the wasmtime engine is built in (it needs cgo).
const haveWasmtime = true

// epochTick is how often the engine's epoch advances: the resolution of a wasmtime deadline.
const epochTick = time.Millisecond

// noDeadline is the epoch deadline of a call without one: far beyond any epoch the ticker reaches.
const noDeadline = 1 << 62

// wasmtimeEngine is a wasmtime Engine and the modules compiled on it.
type wasmtimeEngine struct {
	engine *wasmtime.Engine
	epochs bool // compiled code checks the epoch, and every call sets its store's epoch deadline

	mu      sync.Mutex
	modules map[[32]byte]*wasmtime.Module // the in-process cache, for runtimes without a CacheDir
}

// newWasmtimeEngine creates an engine, with epoch interruption when epochs.
func newWasmtimeEngine(epochs bool) *wasmtimeEngine {
	c := wasmtime.NewConfig()
	c.SetEpochInterruption(epochs)
	return &wasmtimeEngine{engine: wasmtime.NewEngineWithConfig(c), epochs: epochs,
		modules: map[[32]byte]*wasmtime.Module{}}
}

// processEngine is the engine every wasmtime Runtime shares, so that a module compiles once per process.
// A goroutine advances its epoch every epochTick for the life of the process.
var processEngine = sync.OnceValue(func() *wasmtimeEngine {
	e := newWasmtimeEngine(true)
	go func() {
		for range time.Tick(epochTick) {
			e.engine.IncrementEpoch()
		}
	}()
	return e
})

// wasmtimeBackend runs guests on wasmtime-go. Its host functions live in one Linker, shared by every
// instance; each instance has its own Store, whose data leads a host function back to the instance.
type wasmtimeBackend struct {
	e        *wasmtimeEngine
	cacheDir string // "" = the engine's in-process cache; else CacheDir/wasmtime
	memLimit int64  // bytes of linear memory per instance
	linker   *wasmtime.Linker

	mu     sync.Mutex
	closed bool
}

func newWasmtime(cfg Config, host []hostFunc) (backend, error) {
	return newWasmtimeOn(processEngine(), cfg, host)
}

// newWasmtimeOn creates a backend on e.
func newWasmtimeOn(e *wasmtimeEngine, cfg Config, host []hostFunc) (*wasmtimeBackend, error) {
	b := &wasmtimeBackend{e: e, memLimit: int64(cfg.MemoryLimitPages) * 65536, linker: wasmtime.NewLinker(e.engine)}
	if cfg.CacheDir != "" {
		b.cacheDir = filepath.Join(cfg.CacheDir, "wasmtime")
		if err := os.MkdirAll(b.cacheDir, 0o755); err != nil {
			return nil, fmt.Errorf("wasm: compilation cache %s: %w", cfg.CacheDir, err)
		}
	}
	for i := range host {
		h := &host[i]
		if err := b.linker.FuncNew(h.module, h.name, funcType(h.sig), func(c *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
			wp, _ := c.Data().(weak.Pointer[wasmtimeModule])
			g := wp.Value()
			if g == nil {
				return nil, wasmtime.NewTrap("host function called from a store the host does not know")
			}
			return g.hostCall(c, h, args)
		}); err != nil {
			return nil, fmt.Errorf("wasm: host function %s.%s: %w", h.module, h.name, err)
		}
	}
	return b, nil
}

// close drops the backend's linker. Instances stay usable until they are closed (or collected).
func (b *wasmtimeBackend) close(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		b.linker.Close()
	}
	return nil
}

var errWasmtimeClosed = errors.New("wasm: the runtime is closed")

func (b *wasmtimeBackend) compile(_ context.Context, bin []byte) (compiledModule, error) {
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return nil, errWasmtimeClosed
	}
	key := sha256.Sum256(bin)
	var m *wasmtime.Module
	var err error
	if b.cacheDir != "" {
		m, err = b.compileCached(key, bin)
	} else {
		m, err = b.e.compileShared(key, bin)
	}
	if err != nil {
		return nil, err
	}
	return newWasmtimeCompiled(b, m), nil
}

// compileShared compiles bin once per engine: the modules of every runtime without a CacheDir.
func (e *wasmtimeEngine) compileShared(key [32]byte, bin []byte) (*wasmtime.Module, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if m, ok := e.modules[key]; ok {
		return m, nil
	}
	m, err := wasmtime.NewModule(e.engine, bin)
	if err != nil {
		return nil, err
	}
	e.modules[key] = m
	return m, nil
}

// compileCached returns bin's module from its file in the cache directory, or compiles it and writes the
// file. A file is the serialized module, snappy-compressed (machine code shrinks to about half), followed
// by the SHA-256 of the uncompressed module: a file that does not match (torn, corrupt) or that this
// wasmtime cannot load (another version, other settings) is compiled again and replaced. The directory
// must be trusted: wasmtime runs the machine code in it.
func (b *wasmtimeBackend) compileCached(key [32]byte, bin []byte) (*wasmtime.Module, error) {
	path := filepath.Join(b.cacheDir, hex.EncodeToString(key[:])+".cwasm.sz")
	if body, ok := readCompiled(path); ok {
		if m, err := wasmtime.NewModuleDeserialize(b.e.engine, body); err == nil {
			return m, nil
		}
	}
	m, err := wasmtime.NewModule(b.e.engine, bin)
	if err != nil {
		return nil, err
	}
	if body, err := m.Serialize(); err == nil {
		sum := sha256.Sum256(body)
		writeFileAtomic(path, append(snappy.Encode(nil, body), sum[:]...)) // best effort: without the file, the next runtime compiles again
	}
	return m, nil
}

// maxCompiled bounds what a cache file may decompress to: far above any module's machine code.
const maxCompiled = 1 << 30

// readCompiled reads a compiled module's cache file; ok is false when it is missing, torn or corrupt.
func readCompiled(path string) (body []byte, ok bool) {
	data, err := os.ReadFile(path)
	if err != nil || len(data) <= sha256.Size {
		return nil, false
	}
	packed, sum := data[:len(data)-sha256.Size], data[len(data)-sha256.Size:]
	if n, err := snappy.DecodedLen(packed); err != nil || n > maxCompiled {
		return nil, false
	}
	body, err = snappy.Decode(nil, packed)
	if err != nil {
		return nil, false
	}
	h := sha256.Sum256(body)
	return body, bytes.Equal(h[:], sum)
}

// writeFileAtomic writes data to a temporary file beside path and renames it over path, so that readers
// see the old file or the whole new one.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// wasmtimeCompiled is a module with its type information read once.
type wasmtimeCompiled struct {
	b       *wasmtimeBackend
	m       *wasmtime.Module
	exps    map[string]signature
	imps    []importDef
	hasMem  bool
	expList []string // exported function names, for instantiate
}

func newWasmtimeCompiled(b *wasmtimeBackend, m *wasmtime.Module) *wasmtimeCompiled {
	c := &wasmtimeCompiled{b: b, m: m, exps: map[string]signature{}}
	for _, e := range m.Exports() {
		t := e.Type()
		if ft := t.FuncType(); ft != nil {
			c.exps[e.Name()] = fromFuncType(ft)
			c.expList = append(c.expList, e.Name())
		} else if t.MemoryType() != nil && e.Name() == "memory" {
			c.hasMem = true
		}
	}
	for _, im := range m.Imports() {
		if ft := im.Type().FuncType(); ft != nil {
			name := ""
			if n := im.Name(); n != nil {
				name = *n
			}
			c.imps = append(c.imps, importDef{im.Module(), name, fromFuncType(ft)})
		}
	}
	return c
}

func (c *wasmtimeCompiled) exports() map[string]signature { return c.exps }
func (c *wasmtimeCompiled) imports() []importDef          { return c.imps }
func (c *wasmtimeCompiled) exportsMemory() bool           { return c.hasMem }

func (c *wasmtimeCompiled) instantiate(_ context.Context, inst *instance) (guestModule, error) {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	if c.b.closed {
		return nil, errWasmtimeClosed
	}
	g := &wasmtimeModule{inst: inst, epochs: c.b.e.epochs, fns: make(map[string]wasmtimeExport, len(c.exps))}
	// The store refers to g weakly: g owns the store, and the store is freed when g is closed or collected.
	g.store = wasmtime.NewStoreWithData(c.b.e.engine, weak.Make(g))
	g.store.Limiter(c.b.memLimit, -1, 1, 1, 1)
	if g.epochs {
		g.store.SetEpochDeadline(noDeadline)
	}
	in, err := c.b.linker.Instantiate(g.store, c.m)
	if err != nil {
		g.store.Close()
		return nil, err
	}
	for _, name := range c.expList {
		s := c.exps[name]
		g.fns[name] = wasmtimeExport{in.GetFunc(g.store, name), s.params, make([]any, len(s.params))}
	}
	if c.hasMem {
		g.mem = in.GetExport(g.store, "memory").Memory()
	}
	return g, nil
}

// wasmtimeModule is one instance in its own Store.
type wasmtimeModule struct {
	inst   *instance
	store  *wasmtime.Store
	epochs bool
	fns    map[string]wasmtimeExport
	mem    *wasmtime.Memory

	caller   *wasmtime.Caller // the running host function's caller, through which memory is read
	hostTrap *trap            // why a host function stopped the guest, returned by call
	hostArgs [16]uint64       // the stack of a host function
	hostRes  []wasmtime.Val   // its results
}

// wasmtimeExport is an exported function with its parameter types and a buffer for its arguments.
type wasmtimeExport struct {
	fn     *wasmtime.Func
	params []valType
	args   []any
}

func (g *wasmtimeModule) call(ctx context.Context, name string, stack []uint64, deadline time.Time) error {
	e, ok := g.fns[name]
	if !ok {
		return fmt.Errorf("no export %q", name)
	}
	if g.store == nil {
		return errors.New("the instance is closed")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for i, t := range e.params {
		e.args[i] = fromBits(t, stack[i])
	}
	if g.epochs {
		ticks := uint64(noDeadline)
		if !deadline.IsZero() {
			ticks = uint64(max(time.Until(deadline), 0)+epochTick-1)/uint64(epochTick) + 1
		}
		g.store.SetEpochDeadline(ticks)
	}
	g.hostTrap = nil
	res, err := e.fn.Call(g.store, e.args...)
	clear(e.args)
	if err != nil {
		if t := g.hostTrap; t != nil {
			g.hostTrap = nil
			return t
		}
		var wt *wasmtime.Trap
		if errors.As(err, &wt) && !deadline.IsZero() {
			if code := wt.Code(); code != nil && *code == wasmtime.Interrupt {
				// The epoch ticks a little unevenly: let the deadline pass, so the caller's clock sees it did.
				time.Sleep(time.Until(deadline))
			}
		}
		return err
	}
	switch v := res.(type) {
	case int32:
		stack[0] = uint64(uint32(v))
	case int64:
		stack[0] = uint64(v)
	case float32:
		stack[0] = uint64(math.Float32bits(v))
	case float64:
		stack[0] = math.Float64bits(v)
	case []wasmtime.Val:
		if len(v) > 0 {
			stack[0] = toBits(v[0])
		}
	}
	return nil
}

// hostCall runs a host function for the guest: arguments in, results out, a panic turned into a trap.
func (g *wasmtimeModule) hostCall(c *wasmtime.Caller, h *hostFunc, args []wasmtime.Val) (res []wasmtime.Val, wt *wasmtime.Trap) {
	n := max(len(h.sig.params), len(h.sig.results))
	if n > len(g.hostArgs) || len(args) != len(h.sig.params) {
		return nil, wasmtime.NewTrap(fmt.Sprintf("host function %s.%s: bad call", h.module, h.name))
	}
	stack := g.hostArgs[:n]
	for i, a := range args {
		stack[i] = toBits(a)
	}
	prev := g.caller
	g.caller = c
	defer func() {
		g.caller = prev
		if p := recover(); p != nil {
			t, ok := p.(*trap)
			if !ok {
				t = &trap{fmt.Sprintf("host function %s.%s panicked: %v", h.module, h.name, p)}
			}
			g.hostTrap = t
			res, wt = nil, wasmtime.NewTrap(t.msg)
		}
	}()
	h.fn(g.inst, stack)
	// The binding copies results out before the next host call, so one slice serves them all.
	g.hostRes = g.hostRes[:0]
	for i, t := range h.sig.results {
		g.hostRes = append(g.hostRes, toVal(t, stack[i]))
	}
	return g.hostRes, nil
}

func (g *wasmtimeModule) memory() []byte {
	if g.mem == nil || g.store == nil {
		return nil
	}
	if g.caller != nil { // inside a host function: the store is the caller's
		return g.mem.UnsafeData(g.caller)
	}
	return g.mem.UnsafeData(g.store)
}

func (g *wasmtimeModule) close(context.Context) {
	if g.store != nil {
		g.store.Close()
		g.store, g.mem = nil, nil
	}
}

// funcType is the wasmtime type of a function of signature s.
func funcType(s signature) *wasmtime.FuncType {
	conv := func(ts []valType) []*wasmtime.ValType {
		out := make([]*wasmtime.ValType, len(ts))
		for i, t := range ts {
			out[i] = wasmtime.NewValType(toKind(t))
		}
		return out
	}
	return wasmtime.NewFuncType(conv(s.params), conv(s.results))
}

// fromFuncType is the signature of a wasmtime function type.
func fromFuncType(ft *wasmtime.FuncType) signature {
	conv := func(ts []*wasmtime.ValType) []valType {
		out := make([]valType, len(ts))
		for i, t := range ts {
			out[i] = fromKind(t.Kind())
		}
		return out
	}
	return signature{conv(ft.Params()), conv(ft.Results())}
}

func toKind(t valType) wasmtime.ValKind {
	switch t {
	case i64:
		return wasmtime.KindI64
	case f32:
		return wasmtime.KindF32
	case f64:
		return wasmtime.KindF64
	}
	return wasmtime.KindI32
}

// fromKind maps a wasmtime value kind to its binary-format type; reference types get theirs (0x6f
// externref, 0x70 funcref), which no ABI signature uses.
func fromKind(k wasmtime.ValKind) valType {
	switch k {
	case wasmtime.KindI32:
		return i32
	case wasmtime.KindI64:
		return i64
	case wasmtime.KindF32:
		return f32
	case wasmtime.KindF64:
		return f64
	case wasmtime.KindExternref:
		return 0x6f
	case wasmtime.KindFuncref:
		return 0x70
	}
	return 0
}

// fromBits is the argument for Func.Call of a value of type t held as the bit pattern v.
func fromBits(t valType, v uint64) any {
	switch t {
	case i64:
		return int64(v)
	case f32:
		return math.Float32frombits(uint32(v))
	case f64:
		return math.Float64frombits(v)
	}
	return int32(uint32(v))
}

// toVal is the wasmtime value of type t held as the bit pattern v.
func toVal(t valType, v uint64) wasmtime.Val {
	switch t {
	case i64:
		return wasmtime.ValI64(int64(v))
	case f32:
		return wasmtime.ValF32(math.Float32frombits(uint32(v)))
	case f64:
		return wasmtime.ValF64(math.Float64frombits(v))
	}
	return wasmtime.ValI32(int32(uint32(v)))
}

// toBits is the bit pattern of a numeric wasmtime value, an i32 zero-extended (as wazero's stacks hold it).
func toBits(v wasmtime.Val) uint64 {
	switch v.Kind() {
	case wasmtime.KindI32:
		return uint64(uint32(v.I32()))
	case wasmtime.KindI64:
		return uint64(v.I64())
	case wasmtime.KindF32:
		return uint64(math.Float32bits(v.F32()))
	case wasmtime.KindF64:
		return math.Float64bits(v.F64())
	}
	return 0
}
