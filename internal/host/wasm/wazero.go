package wasm

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/wasmoe/wasmoe/internal/host/wasm/internal/meter"
)

// wazeroBackend runs guests on wazero. Its host functions are GoModuleFunctions (no reflection) that learn
// the calling instance from the module.
//
// With deadlines (Config.StepTimeout or CPUBudget) every module is metered before it compiles
// (internal/meter): it calls wasmoe_meter.tick every so often, and the tick traps the guest once its call's
// deadline has passed or its context is done. This is wazero's cheapest sound way to stop a guest:
// WithCloseOnContextDone costs loop-heavy code 5–26× and misses call trees without loops (BENCHMARKS.md,
// RATIONALE.md).
type wazeroBackend struct {
	rt        wazero.Runtime
	cache     wazero.CompilationCache // an on-disk cache this backend opened, closed with it
	metered   bool                    // modules are metered, so deadlines can stop them
	instances sync.Map                // api.Module → *instance
}

// memoryCache is the compilation cache of wazero runtimes without a CacheDir: a guest compiles once per
// process.
var memoryCache = sync.OnceValue(wazero.NewCompilationCache)

func newWazero(ctx context.Context, cfg Config, host []hostFunc) (*wazeroBackend, error) {
	b := &wazeroBackend{metered: cfg.StepTimeout > 0 || cfg.CPUBudget > 0}
	cache := memoryCache()
	if cfg.CacheDir != "" {
		var err error
		if cache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir); err != nil {
			return nil, fmt.Errorf("wasm: compilation cache %s: %w", cfg.CacheDir, err)
		}
		b.cache = cache
	}
	rc := wazero.NewRuntimeConfig().
		WithMemoryLimitPages(cfg.MemoryLimitPages).
		WithCompilationCache(cache)
	b.rt = wazero.NewRuntimeWithConfig(ctx, rc)
	if b.metered {
		host = append(host, hostFunc{meter.ImportModule, meter.ImportName, signature{}, tick})
	}
	byModule := map[string]wazero.HostModuleBuilder{}
	var order []string
	for _, h := range host {
		mb, ok := byModule[h.module]
		if !ok {
			mb = b.rt.NewHostModuleBuilder(h.module)
			byModule[h.module] = mb
			order = append(order, h.module)
		}
		fn := h.fn
		mb.NewFunctionBuilder().
			WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, m api.Module, stack []uint64) {
				inst, _ := b.instances.Load(m)
				if inst == nil {
					panic(&trap{"host function called by a module the host does not know"})
				}
				fn(inst.(*instance), stack)
			}), wazeroTypes(h.sig.params), wazeroTypes(h.sig.results)).
			Export(h.name)
	}
	for _, name := range order {
		if _, err := byModule[name].Instantiate(ctx); err != nil {
			b.close(ctx)
			return nil, fmt.Errorf("wasm: host module %s: %w", name, err)
		}
	}
	return b, nil
}

func (b *wazeroBackend) close(ctx context.Context) error {
	err := b.rt.Close(ctx)
	if b.cache != nil {
		if cerr := b.cache.Close(ctx); err == nil {
			err = cerr
		}
	}
	return err
}

// compile meters the module when deadlines are on. Either way the meter's decoder reads it first: it
// rejects truncated and malformed modules cheaply, where wazero v1.12 can panic or allocate gigabytes on
// some of them; a panic in wazero's compiler is turned into an error too.
func (b *wazeroBackend) compile(ctx context.Context, bin []byte) (_ compiledModule, err error) {
	metered, err := meter.Instrument(bin)
	if err != nil {
		return nil, err
	}
	if b.metered {
		bin = metered
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the module makes wazero's compiler fail: %v", p)
		}
	}()
	cm, err := b.rt.CompileModule(ctx, bin)
	if err != nil {
		return nil, err
	}
	return &wazeroCompiled{b: b, cm: cm}, nil
}

type wazeroCompiled struct {
	b  *wazeroBackend
	cm wazero.CompiledModule
}

func (c *wazeroCompiled) exports() map[string]signature {
	out := map[string]signature{}
	for name, def := range c.cm.ExportedFunctions() {
		out[name] = signature{fromWazero(def.ParamTypes()), fromWazero(def.ResultTypes())}
	}
	return out
}

func (c *wazeroCompiled) imports() []importDef {
	var out []importDef
	defs := c.cm.ImportedFunctions()
	for i, def := range defs {
		mod, name, _ := def.Import()
		if c.b.metered && i == len(defs)-1 && mod == meter.ImportModule && name == meter.ImportName {
			continue // the meter's own, the last import; a guest's own import of it is refused by check
		}
		out = append(out, importDef{mod, name, signature{fromWazero(def.ParamTypes()), fromWazero(def.ResultTypes())}})
	}
	return out
}

func (c *wazeroCompiled) exportsMemory() bool {
	_, ok := c.cm.ExportedMemories()["memory"]
	return ok
}

// instantiate starts an instance whose linear memory is a mappedMemory. wazero panics when the allocator
// cannot give the memory's initial size (the mapping failed): that is an error too.
func (c *wazeroCompiled) instantiate(ctx context.Context, inst *instance) (_ guestModule, err error) {
	cfg := wazero.NewModuleConfig().
		WithName(""). // anonymous: the same module can be instantiated many times
		WithStartFunctions()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("no memory for the instance: %v", p)
		}
	}()
	m, err := c.b.rt.InstantiateModule(experimental.WithMemoryAllocator(ctx, mappedAllocator(inst.pastDeadline)), c.cm, cfg)
	if err != nil {
		return nil, err
	}
	g := &wazeroModule{b: c.b, m: m, fns: map[string]api.Function{}}
	c.b.instances.Store(m, inst)
	for name := range c.cm.ExportedFunctions() {
		g.fns[name] = m.ExportedFunction(name)
	}
	return g, nil
}

type wazeroModule struct {
	b   *wazeroBackend
	m   api.Module
	fns map[string]api.Function

	// The running call's, for tick.
	ctx      context.Context
	deadline time.Time
}

func (g *wazeroModule) call(ctx context.Context, name string, stack []uint64, deadline time.Time) error {
	fn := g.fns[name]
	if fn == nil {
		return fmt.Errorf("no export %q", name)
	}
	g.ctx, g.deadline = ctx, deadline
	err := fn.CallWithStack(ctx, stack)
	g.ctx = nil
	return err
}

// tick is the meter's host function: it stops a metered guest whose call is past its deadline or whose
// context is done.
func tick(inst *instance, _ []uint64) {
	g := inst.mod.(*wazeroModule)
	if !g.deadline.IsZero() && !time.Now().Before(g.deadline) {
		trapf("deadline passed")
	}
	if g.ctx != nil && g.ctx.Err() != nil {
		trapf("%v", g.ctx.Err())
	}
}

func (g *wazeroModule) memory() []byte {
	mem := g.m.Memory()
	if mem == nil {
		return nil
	}
	b, _ := mem.Read(0, mem.Size())
	return b
}

func (g *wazeroModule) close(ctx context.Context) {
	g.b.instances.Delete(g.m)
	g.m.Close(ctx)
}

func wazeroTypes(ts []valType) []api.ValueType {
	out := make([]api.ValueType, len(ts))
	for i, t := range ts {
		out[i] = api.ValueType(t)
	}
	return out
}

func fromWazero(ts []api.ValueType) []valType {
	out := make([]valType, len(ts))
	for i, t := range ts {
		out[i] = valType(t)
	}
	return out
}
