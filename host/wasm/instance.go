package wasm

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// instance is one initialised guest. It is used by one goroutine at a time (a pool hands it out).
type instance struct {
	r          *Runtime
	mod        api.Module
	fns        map[string]api.Function
	stack      []uint64 // reused by every call: no allocation per call
	scratch    uint32   // a guest buffer for inputs, from wasmoe_alloc
	scratchLen uint32
	broken     bool // a call failed: the instance's state is unknown, never reuse it
	log        guestLog
}

// instantiate creates an instance of cm with nothing of WASI but a random source seeded with seed (no
// filesystem, environment, arguments or real clock), its stdout and stderr going to its log, and runs
// its _initialize.
func (r *Runtime) instantiate(ctx context.Context, cm wazero.CompiledModule, seed uint64) (*instance, error) {
	var seedBytes [32]byte
	for i := range 8 {
		seedBytes[i] = byte(seed >> (8 * i))
	}
	inst := &instance{r: r, fns: map[string]api.Function{}, stack: make([]uint64, 4), log: guestLog{limit: r.cfg.LogLimit}}
	cfg := wazero.NewModuleConfig().
		WithName(""). // anonymous: the same module can be instantiated many times
		WithStartFunctions().
		WithRandSource(rand.NewChaCha8(seedBytes)).
		WithStdout(&inst.log).
		WithStderr(&inst.log)
	mod, err := r.rt.InstantiateModule(ctx, cm, cfg)
	if err != nil {
		return nil, fmt.Errorf("wasm: instantiate: %w", err)
	}
	inst.mod = mod
	r.register(mod, inst)
	if init := mod.ExportedFunction("_initialize"); init != nil {
		if err := init.CallWithStack(ctx, inst.stack); err != nil {
			inst.close(ctx)
			return nil, fmt.Errorf("wasm: _initialize: %w%s", err, inst.log.tail())
		}
	}
	for name := range cm.ExportedFunctions() {
		inst.fns[name] = mod.ExportedFunction(name)
	}
	return inst, nil
}

// call invokes an export with up to four i32 arguments and returns its first result. Any error (a trap,
// an exit, a cancelled context with CloseOnContextDone) marks the instance broken.
func (inst *instance) call(ctx context.Context, name string, args ...uint64) (uint64, error) {
	if inst.broken {
		return 0, fmt.Errorf("wasm: %s: the guest failed earlier in this request", name)
	}
	fn := inst.fns[name]
	if fn == nil {
		return 0, fmt.Errorf("wasm: guest has no export %q", name)
	}
	stack := inst.stack[:max(len(args), 1)]
	copy(stack, args)
	if err := fn.CallWithStack(ctx, stack); err != nil {
		inst.broken = true
		return 0, fmt.Errorf("wasm: %s failed: %w%s", name, err, inst.log.tail())
	}
	return stack[0], nil
}

// status turns a negative i32 status into an error naming the export and quoting the guest's log.
func (inst *instance) status(name string, v uint64) (int32, error) {
	n := int32(uint32(v))
	if n >= 0 {
		return n, nil
	}
	var msg string
	switch n {
	case abi.ErrBadInput:
		msg = "bad input"
	case abi.ErrNotReady:
		msg = "not initialised"
	case abi.ErrInternal:
		msg = "internal error"
	case abi.ErrNoMemory:
		msg = "out of memory"
	case abi.ErrNoToken:
		msg = "no token can be sampled: every logit is -Inf or NaN"
	default:
		msg = fmt.Sprintf("error %d", n)
	}
	return n, fmt.Errorf("wasm: %s: %s%s", name, msg, inst.log.tail())
}

// buffer returns the address of the instance's scratch buffer for inputs, grown with wasmoe_alloc to at
// least n bytes.
func (inst *instance) buffer(ctx context.Context, n int) (uint32, error) {
	if n > math.MaxUint32 {
		return 0, fmt.Errorf("wasm: %d bytes do not fit a guest buffer", n)
	}
	if uint32(n) > inst.scratchLen || inst.scratch == 0 {
		if inst.scratch != 0 {
			if _, err := inst.call(ctx, abi.ExportFree, uint64(inst.scratch)); err != nil {
				return 0, err
			}
			inst.scratch, inst.scratchLen = 0, 0
		}
		size := max(uint32(n), 4096)
		p, err := inst.call(ctx, abi.ExportAlloc, uint64(size))
		if err != nil {
			return 0, err
		}
		inst.scratch, inst.scratchLen = uint32(p), size
	}
	return inst.scratch, nil
}

// write copies b into the scratch buffer and returns its address.
func (inst *instance) write(ctx context.Context, b []byte) (uint32, error) {
	ptr, err := inst.buffer(ctx, len(b))
	if err != nil {
		return 0, err
	}
	dst, err := inst.view(ptr, uint32(len(b)))
	if err != nil {
		return 0, err
	}
	copy(dst, b)
	return ptr, nil
}

// writeInt32s copies ids into the scratch buffer as little-endian int32s and returns its address.
func (inst *instance) writeInt32s(ctx context.Context, ids []int32) (uint32, error) {
	ptr, err := inst.buffer(ctx, 4*len(ids))
	if err != nil {
		return 0, err
	}
	dst, err := inst.view(ptr, uint32(4*len(ids)))
	if err != nil {
		return 0, err
	}
	for i, id := range ids {
		binary.LittleEndian.PutUint32(dst[4*i:], uint32(id))
	}
	return ptr, nil
}

// view returns the guest's memory [ptr, ptr+n) in place, valid until the next call into the guest.
func (inst *instance) view(ptr, n uint32) ([]byte, error) {
	b, ok := inst.mod.Memory().Read(ptr, n)
	if !ok {
		inst.broken = true
		return nil, fmt.Errorf("wasm: guest result [%d, +%d) lies outside its memory", ptr, n)
	}
	return b, nil
}

// close closes the instance's module.
func (inst *instance) close(ctx context.Context) {
	inst.r.unregister(inst.mod)
	inst.mod.Close(ctx)
}
