package wasm

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// Instance is one initialised guest. It is used by one goroutine at a time (a pool hands it out).
type Instance struct {
	mod        api.Module
	fns        map[string]api.Function
	stack      []uint64
	scratch    uint32 // a guest buffer for inputs, from wasmoe_alloc
	scratchLen uint32
	broken     bool // a call failed: the instance's state is unknown, never reuse it

	log        []byte
	logLimit   int
	logDropped int
}

// instantiate creates an instance of cm with WASI's capabilities stripped down to nothing but a seeded
// random source.
func (r *Runtime) instantiate(ctx context.Context, cm wazero.CompiledModule, seed uint64) (*Instance, error) {
	var seedBytes [32]byte
	for i := range 8 {
		seedBytes[i] = byte(seed >> (8 * i))
	}
	cfg := wazero.NewModuleConfig().
		WithName(""). // anonymous: the same module can be instantiated many times
		WithStartFunctions().
		WithRandSource(rand.NewChaCha8(seedBytes))
	inst := &Instance{fns: map[string]api.Function{}, stack: make([]uint64, 4), logLimit: r.cfg.LogLimit}
	ctx = context.WithValue(ctx, instanceKey{}, inst)
	mod, err := r.rt.InstantiateModule(ctx, cm, cfg)
	if err != nil {
		return nil, fmt.Errorf("wasm: instantiate: %w", err)
	}
	inst.mod = mod
	if init := mod.ExportedFunction("_initialize"); init != nil {
		if _, err := init.Call(ctx); err != nil {
			mod.Close(ctx)
			return nil, fmt.Errorf("wasm: _initialize: %w%s", err, inst.logTail())
		}
	}
	for name := range cm.ExportedFunctions() {
		inst.fns[name] = mod.ExportedFunction(name)
	}
	return inst, nil
}

// call invokes an export with up to four i32/i64 arguments and returns its first result. A trap marks the
// instance broken.
func (inst *Instance) call(ctx context.Context, name string, args ...uint64) (uint64, error) {
	fn := inst.fns[name]
	if fn == nil {
		return 0, fmt.Errorf("wasm: guest has no export %q", name)
	}
	stack := inst.stack[:max(len(args), 1)]
	copy(stack, args)
	ctx = context.WithValue(ctx, instanceKey{}, inst)
	if err := fn.CallWithStack(ctx, stack); err != nil {
		inst.broken = true
		return 0, fmt.Errorf("wasm: %s trapped: %w%s", name, err, inst.logTail())
	}
	return stack[0], nil
}

// status turns a negative i32 status into an error naming the export and quoting the guest's log.
func (inst *Instance) status(name string, v uint64) (int32, error) {
	n := int32(uint32(v))
	if n >= 0 {
		return n, nil
	}
	msg := map[int32]string{abi.ErrBadInput: "bad input", abi.ErrNotReady: "not initialised",
		abi.ErrInternal: "internal error", abi.ErrNoMemory: "out of memory"}[n]
	if msg == "" {
		msg = fmt.Sprintf("error %d", n)
	}
	return n, fmt.Errorf("wasm: %s: %s%s", name, msg, inst.logTail())
}

// write copies b into the instance's scratch buffer (grown with wasmoe_alloc as needed) and returns its
// address.
func (inst *Instance) write(ctx context.Context, b []byte) (uint32, error) {
	if uint32(len(b)) > inst.scratchLen || inst.scratch == 0 {
		if inst.scratch != 0 {
			if _, err := inst.call(ctx, abi.ExportFree, uint64(inst.scratch)); err != nil {
				return 0, err
			}
		}
		size := max(uint32(len(b)), 4096)
		p, err := inst.call(ctx, abi.ExportAlloc, uint64(size))
		if err != nil {
			return 0, err
		}
		inst.scratch, inst.scratchLen = uint32(p), size
	}
	if len(b) > 0 && !inst.mod.Memory().Write(inst.scratch, b) {
		inst.broken = true
		return 0, errors.New("wasm: guest buffer lies outside its memory")
	}
	return inst.scratch, nil
}

// read copies n bytes at ptr out of guest memory.
func (inst *Instance) read(ptr, n uint32) ([]byte, error) {
	b, ok := inst.mod.Memory().Read(ptr, n)
	if !ok {
		inst.broken = true
		return nil, fmt.Errorf("wasm: guest result [%d, +%d) lies outside its memory", ptr, n)
	}
	return append([]byte(nil), b...), nil
}

// logTail returns the end of the guest's log, for error messages.
func (inst *Instance) logTail() string {
	if len(inst.log) == 0 {
		return ""
	}
	s := strings.TrimSpace(string(inst.log))
	if len(s) > 500 {
		s = "…" + s[len(s)-500:]
	}
	return " (guest log: " + s + ")"
}

func (inst *Instance) close(ctx context.Context) { inst.mod.Close(ctx) }
