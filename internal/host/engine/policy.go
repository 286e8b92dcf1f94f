package engine

import (
	"cmp"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/wasmoe/wasmoe/internal/builtin"
	"github.com/wasmoe/wasmoe/internal/host/wasm"
)

// BuiltinPolicy is the name of the built-in policy guest (JSON schema, regex, stop strings, banned words,
// thinking budget: guest/policy).
const BuiltinPolicy = "wasmoe"

// policyName is what a plugin may be called: a file name in the plugin directory, without ".wasm".
var policyName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// Bounds of the memory of failed loads: how many are kept, and for how long (a load that ran out of
// time may pass later, on a less busy node).
const (
	maxFailedLoads = 256
	failedLoadTTL  = 10 * time.Minute
)

// maxLoadedPolicies bounds the plugins kept loaded (each with its pool of instances, every owner's and
// version's counted apart): past it, the least recently used is closed, and loads again when named.
const maxLoadedPolicies = 64

// PluginLimits tighten the plugin runtime's limits (Config.PluginRuntime's) for one plugin, e.g. a
// tenant's: each non-zero field that is below the runtime's applies. Zero fields ask for nothing.
type PluginLimits struct {
	MemoryMB    int           // linear memory of one instance
	StepTimeout time.Duration // one call into the plugin
	CPUBudget   time.Duration // one request's calls together
}

// policies loads plugins and keeps them, one pool of instances each. Loads do not wait for each other:
// each module (content and limits) loads once, callers asking for one that is loading wait for that load
// alone, and a module that failed fails again at once (for failedLoadTTL, the last maxFailedLoads).
type policies struct {
	mu       sync.Mutex
	byName   map[string]*namedPolicy         // plugin directory files
	loads    map[loadKey]*policyLoad         // every load, done or running, by content and limits
	failed   []loadKey                       // failed loads, oldest first
	runtimes map[runtimeLimits]*wasm.Runtime // runtimes with tighter limits than the plugin runtime's
	max      int                             // loaded plugins kept; 0 = maxLoadedPolicies (tests set fewer)
}

// namedPolicy is a plugin directory file's policy, with what identified the file's content.
type namedPolicy struct {
	l    *policyLoad // its load, whose use keeps it loaded
	size int64       // of the file it came from, to notice a replaced plugin
	mod  int64       // its modification time
}

// loadKey names one load: a module's content under a runtime's limits, for one owner ("" for the
// operator's plugins). Owners never share instances: a guest's memory outlives a request, and a module
// two tenants both deployed must not carry one's data into the other's requests.
type loadKey struct {
	owner string
	sum   [32]byte
	rl    runtimeLimits
}

// runtimeLimits are the limits a plugin runtime enforces.
type runtimeLimits struct {
	pages      uint32
	step, budg time.Duration
}

// policyLoad is one load: done is closed when p or err is set. p, err and failedAt are written under
// policies.mu.
type policyLoad struct {
	done     chan struct{}
	p        *wasm.Policy
	err      error
	failedAt time.Time
	used     time.Time // when it was last asked for, for evicting the least recently used
}

// Policy returns the policy plugin called name: BuiltinPolicy, or name.wasm in Config.PluginDir, under
// the plugin runtime's limits. A plugin compiles once per content; a file replaced on disk is loaded
// again.
func (e *Engine) Policy(name string) (*wasm.Policy, error) {
	if !policyName.MatchString(name) {
		return nil, fmt.Errorf("%w: plugin name %q: use letters, digits, '.', '_' and '-'", ErrBadPlugin, name)
	}
	if name == BuiltinPolicy {
		p, err := e.load("", builtinSum(), PluginLimits{}, func() ([]byte, error) { return builtin.Policy, nil })
		if err != nil {
			return nil, fmt.Errorf("%w: plugin %q: %v", ErrBadPlugin, name, err)
		}
		return p, nil
	}
	if e.pluginDir == "" {
		return nil, fmt.Errorf("%w: plugin %q: this server has no plugin directory", ErrBadPlugin, name)
	}
	path := filepath.Join(e.pluginDir, name+".wasm")
	st, err := os.Stat(path)
	if err != nil { // the message goes to clients: it does not name the server's directory
		return nil, fmt.Errorf("%w: plugin %q: the plugin directory has no %s.wasm", ErrBadPlugin, name, name)
	}
	size, mod := st.Size(), st.ModTime().UnixNano()
	ps := &e.policies
	ps.mu.Lock()
	np := ps.byName[name]
	if np != nil && np.size == size && np.mod == mod {
		np.l.used = time.Now()
		ps.mu.Unlock()
		return np.l.p, nil
	}
	ps.mu.Unlock()
	bin, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: plugin %q: cannot read %s.wasm", ErrBadPlugin, name, name)
	}
	l, err := e.loadEntry("", sha256.Sum256(bin), PluginLimits{}, func() ([]byte, error) { return bin, nil })
	if err != nil {
		return nil, fmt.Errorf("%w: plugin %q: %v", ErrBadPlugin, name, err)
	}
	ps.mu.Lock()
	if ps.byName == nil {
		ps.byName = map[string]*namedPolicy{}
	}
	ps.byName[name] = &namedPolicy{l: l, size: size, mod: mod}
	ps.mu.Unlock()
	return l.p, nil
}

// builtinSum is the SHA-256 of the built-in policy.
var builtinSum = sync.OnceValue(func() [32]byte { return sha256.Sum256(builtin.Policy) })

// PolicyModule returns owner's policy guest whose module has SHA-256 sum (owner: a tenant; its instances
// serve only it), under the plugin runtime's limits tightened by lim, loading it with module (called only
// when it is not loaded yet) and checking the content against sum. Errors wrap ErrBadPlugin and say why
// the module cannot run (compile, ABI check, ctl_init); a module that failed fails the same way again at
// once for a while.
func (e *Engine) PolicyModule(owner string, sum [32]byte, lim PluginLimits, module func() ([]byte, error)) (*wasm.Policy, error) {
	p, err := e.load(owner, sum, lim, func() ([]byte, error) {
		bin, err := module()
		if err == nil && sha256.Sum256(bin) != sum {
			err = fmt.Errorf("the module's content does not hash to sha256:%x", sum)
		}
		return bin, err
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadPlugin, err)
	}
	return p, nil
}

// load returns owner's policy of the module with SHA-256 sum under lim: the loaded one, the result of the
// load running now (waiting for it), the remembered failure, or a new load with read's bytes.
func (e *Engine) load(owner string, sum [32]byte, lim PluginLimits, read func() ([]byte, error)) (*wasm.Policy, error) {
	l, err := e.loadEntry(owner, sum, lim, read)
	if err != nil {
		return nil, err
	}
	return l.p, nil
}

// loadEntry is load, returning the load itself.
func (e *Engine) loadEntry(owner string, sum [32]byte, lim PluginLimits, read func() ([]byte, error)) (*policyLoad, error) {
	rt, rl, err := e.pluginRuntime(lim)
	if err != nil {
		return nil, err
	}
	key := loadKey{owner, sum, rl}
	ps := &e.policies
	ps.mu.Lock()
	l := ps.loads[key]
	if l != nil && l.err != nil && time.Since(l.failedAt) > failedLoadTTL {
		ps.forget(key)
		l = nil
	}
	if l != nil {
		l.used = time.Now()
		ps.mu.Unlock()
		<-l.done
		return l, l.err
	}
	l = &policyLoad{done: make(chan struct{}), used: time.Now()}
	if ps.loads == nil {
		ps.loads = map[loadKey]*policyLoad{}
	}
	ps.loads[key] = l
	ps.mu.Unlock()

	bin, err := read()
	var p *wasm.Policy
	if err == nil {
		p, err = e.newPolicy(rt, bin)
	}
	ps.mu.Lock() // readers look at l.err under mu
	l.p, l.err = p, err
	if err != nil {
		l.failedAt = time.Now()
		ps.failed = append(ps.failed, key)
		if len(ps.failed) > maxFailedLoads {
			ps.forget(ps.failed[0])
		}
	}
	close(l.done)
	var evicted *wasm.Policy
	if err == nil {
		l.used = time.Now() // a slow load is not the least recently used when it ends
		evicted = ps.evict(key)
	}
	ps.mu.Unlock()
	if evicted != nil {
		evicted.Close() // requests holding its instances finish; they are closed as they come back
	}
	return l, err
}

// evict drops the least recently used loaded plugin when more than the bound (maxLoadedPolicies) are
// loaded, other than the built-in policy and keep (the load just finished), and returns it for closing;
// the caller holds mu.
func (ps *policies) evict(keep loadKey) *wasm.Policy {
	loaded, oldest := 0, loadKey{}
	var lru *policyLoad
	builtinKey := builtinSum()
	for k, l := range ps.loads {
		if l.p == nil || (k.owner == "" && k.sum == builtinKey) {
			continue // loading, failed, or the built-in policy
		}
		if loaded++; k == keep {
			continue // just loaded: counts, but is not the one to go
		}
		if lru == nil || l.used.Before(lru.used) {
			lru, oldest = l, k
		}
	}
	if max := cmp.Or(ps.max, maxLoadedPolicies); loaded <= max {
		return nil
	}
	delete(ps.loads, oldest)
	for name, np := range ps.byName {
		if np.l == lru {
			delete(ps.byName, name)
		}
	}
	return lru.p
}

// forget drops a failed load from the memory; the caller holds mu.
func (ps *policies) forget(key loadKey) {
	delete(ps.loads, key)
	for i, k := range ps.failed {
		if k == key {
			ps.failed = append(ps.failed[:i], ps.failed[i+1:]...)
			break
		}
	}
}

// pluginRuntime returns the runtime that enforces the plugin runtime's limits tightened by lim: the
// plugin runtime itself when lim tightens nothing, else one runtime per distinct set of limits, made on
// first use and kept.
func (e *Engine) pluginRuntime(lim PluginLimits) (*wasm.Runtime, runtimeLimits, error) {
	cfg := e.pluginRT.Config()
	base := runtimeLimits{cfg.MemoryLimitPages, cfg.StepTimeout, cfg.CPUBudget}
	rl := base
	if pages := uint32(lim.MemoryMB) * 16; pages > 0 && pages < rl.pages {
		rl.pages = pages
	}
	rl.step, rl.budg = tighter(rl.step, lim.StepTimeout), tighter(rl.budg, lim.CPUBudget)
	if rl == base {
		return e.pluginRT, rl, nil
	}
	ps := &e.policies
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if rt := ps.runtimes[rl]; rt != nil {
		return rt, rl, nil
	}
	cfg.MemoryLimitPages, cfg.StepTimeout, cfg.CPUBudget = rl.pages, rl.step, rl.budg
	rt, err := wasm.NewRuntime(context.Background(), cfg)
	if err != nil {
		return nil, rl, err
	}
	if ps.runtimes == nil {
		ps.runtimes = map[runtimeLimits]*wasm.Runtime{}
	}
	ps.runtimes[rl] = rt
	return rt, rl, nil
}

// tighter is the runtime's bound have tightened by want: want when it is set and below have (0: none).
func tighter(have, want time.Duration) time.Duration {
	if want > 0 && (have == 0 || want < have) {
		return want
	}
	return have
}

// closeRuntimes closes the runtimes pluginRuntime made.
func (ps *policies) closeRuntimes() {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, rt := range ps.runtimes {
		rt.Close(context.Background())
	}
	ps.runtimes = nil
}

// LoadPolicy compiles a policy guest for this engine's model in the plugin runtime, checks it against the
// ABI and starts one instance.
func (e *Engine) LoadPolicy(bin []byte) (*wasm.Policy, error) {
	return e.newPolicy(e.pluginRT, bin)
}

// newPolicy compiles a policy guest for this engine's model in rt, checks it against the ABI and starts
// one instance.
func (e *Engine) newPolicy(rt *wasm.Runtime, bin []byte) (*wasm.Policy, error) {
	m, err := e.policyModel()
	if err != nil {
		return nil, err
	}
	return wasm.NewPolicy(rt, bin, m, e.guests)
}

// policyModel describes the model to policy guests; it is built once, on first use (it asks the
// tokenizer guest for every token's bytes).
func (e *Engine) policyModel() (*wasm.PolicyModel, error) {
	e.policyModelOnce.Do(func() {
		ctx := context.Background()
		v := e.vocab
		m := &wasm.PolicyModel{NLogits: e.model.Vocab, NCtx: e.context, Pieces: make([][]byte, len(v.Tokens)),
			Types: v.Types, BOS: v.BOS, EOS: v.EOS, EOT: v.EOT, ThinkOpen: -1, ThinkClose: -1}
		for i := range v.Tokens {
			b, err := e.tok.Piece(ctx, int32(i), true)
			if err != nil {
				e.policyModelErr = err
				return
			}
			m.Pieces[i] = b
			switch string(b) {
			case "<think>":
				m.ThinkOpen = int32(i)
			case "</think>":
				m.ThinkClose = int32(i)
			}
		}
		e.policyModelVal = m
	})
	return e.policyModelVal, e.policyModelErr
}
