package wasm

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// wazeroBackend runs guests on wazero. Its host functions are GoModuleFunctions (no reflection) that learn
// the calling instance from the module.
type wazeroBackend struct {
	rt        wazero.Runtime
	cache     wazero.CompilationCache // an on-disk cache this backend opened, closed with it
	interrupt bool                    // deadlines stop guests through WithCloseOnContextDone
	instances sync.Map                // api.Module → *instance
}

// memoryCache is the compilation cache of wazero runtimes without a CacheDir: a guest compiles once per
// process.
var memoryCache = sync.OnceValue(wazero.NewCompilationCache)

func newWazero(ctx context.Context, cfg Config, host []hostFunc) (*wazeroBackend, error) {
	b := &wazeroBackend{interrupt: cfg.StepTimeout > 0 || cfg.CPUBudget > 0}
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
		WithCompilationCache(cache).
		WithCloseOnContextDone(b.interrupt)
	b.rt = wazero.NewRuntimeWithConfig(ctx, rc)
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

func (b *wazeroBackend) compile(ctx context.Context, bin []byte) (compiledModule, error) {
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
	for _, def := range c.cm.ImportedFunctions() {
		mod, name, _ := def.Import()
		out = append(out, importDef{mod, name, signature{fromWazero(def.ParamTypes()), fromWazero(def.ResultTypes())}})
	}
	return out
}

func (c *wazeroCompiled) exportsMemory() bool {
	_, ok := c.cm.ExportedMemories()["memory"]
	return ok
}

func (c *wazeroCompiled) instantiate(ctx context.Context, inst *instance) (guestModule, error) {
	cfg := wazero.NewModuleConfig().
		WithName(""). // anonymous: the same module can be instantiated many times
		WithStartFunctions()
	m, err := c.b.rt.InstantiateModule(ctx, c.cm, cfg)
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
}

func (g *wazeroModule) call(ctx context.Context, name string, stack []uint64, deadline time.Time) error {
	fn := g.fns[name]
	if fn == nil {
		return fmt.Errorf("no export %q", name)
	}
	if g.b.interrupt && !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	return fn.CallWithStack(ctx, stack)
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
