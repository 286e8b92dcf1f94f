package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"

	"github.com/wasmoe/wasmoe/internal/builtin"
	"github.com/wasmoe/wasmoe/internal/host/wasm"
)

// BuiltinPolicy is the name of the built-in policy guest (JSON schema, regex, stop strings, banned words,
// thinking budget: guest/policy).
const BuiltinPolicy = "wasmoe"

// policyName is what a plugin may be called: a file name in the plugin directory, without ".wasm".
var policyName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// policies loads plugins by name and keeps them, one pool of instances each.
type policies struct {
	mu     sync.Mutex
	byName map[string]*loadedPolicy
	model  func() (*wasm.PolicyModel, error)
}

type loadedPolicy struct {
	p    *wasm.Policy
	size int64 // of the file it came from, to notice a replaced plugin
	mod  int64 // its modification time
}

// Policy returns the policy plugin called name: BuiltinPolicy, or name.wasm in Config.PluginDir. A plugin
// compiles once per content; a file replaced on disk is loaded again.
func (e *Engine) Policy(name string) (*wasm.Policy, error) {
	if !policyName.MatchString(name) {
		return nil, fmt.Errorf("%w: plugin name %q: use letters, digits, '.', '_' and '-'", ErrBadPlugin, name)
	}
	ps := &e.policies
	ps.mu.Lock()
	defer ps.mu.Unlock()
	var bin []byte
	var size, mod int64
	if name == BuiltinPolicy {
		bin = builtin.Policy
	} else {
		if e.pluginDir == "" {
			return nil, fmt.Errorf("%w: plugin %q: this server has no plugin directory", ErrBadPlugin, name)
		}
		path := filepath.Join(e.pluginDir, name+".wasm")
		st, err := os.Stat(path)
		if err != nil { // the message goes to clients: it does not name the server's directory
			return nil, fmt.Errorf("%w: plugin %q: the plugin directory has no %s.wasm", ErrBadPlugin, name, name)
		}
		size, mod = st.Size(), st.ModTime().UnixNano()
		if lp := ps.byName[name]; lp != nil && lp.size == size && lp.mod == mod {
			return lp.p, nil
		}
		if bin, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("%w: plugin %q: cannot read %s.wasm", ErrBadPlugin, name, name)
		}
	}
	if lp := ps.byName[name]; lp != nil && name == BuiltinPolicy {
		return lp.p, nil
	}
	p, err := e.LoadPolicy(bin)
	if err != nil {
		return nil, fmt.Errorf("%w: plugin %q: %v", ErrBadPlugin, name, err)
	}
	if ps.byName == nil {
		ps.byName = map[string]*loadedPolicy{}
	}
	ps.byName[name] = &loadedPolicy{p: p, size: size, mod: mod}
	return p, nil
}

// LoadPolicy compiles a policy guest for this engine's model in the plugin runtime, checks it against the
// ABI and starts one instance.
func (e *Engine) LoadPolicy(bin []byte) (*wasm.Policy, error) {
	m, err := e.policyModel()
	if err != nil {
		return nil, err
	}
	return wasm.NewPolicy(e.pluginRT, bin, m, e.guests)
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
