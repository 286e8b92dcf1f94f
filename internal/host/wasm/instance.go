package wasm

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// instance is one initialised guest. It is used by one goroutine at a time (a pool hands it out).
type instance struct {
	r          *Runtime
	mod        guestModule
	stack      []uint64 // reused by every call: no allocation per call
	scratch    uint32   // a guest buffer for inputs, from wasmoe_alloc
	scratchLen uint32
	broken     bool // a call failed: the instance's state is unknown, never reuse it
	log        guestLog
	rand       *rand.ChaCha8 // random_get
	clock      int64         // the fake clock, ns
	used       time.Duration // time spent in the guest during this request (Config.CPUBudget)
	ctl        *control      // a policy's per-request state; nil for other guests
	starting   bool          // _initialize or ctl_init is running: InitTimeout applies, not the budget
	deadline   time.Time     // the running call's deadline (zero: none), which host kernels keep too
	startPages uint32        // pages of linear memory once started (_initialize and the pool's init)
	grammars   fedGrammars   // the mask imports' matchers (grammar.go)
}

// instantiate creates an instance of cm whose random source is seeded with seed, and runs its
// _initialize.
func (r *Runtime) instantiate(ctx context.Context, cm compiledModule, seed uint64) (*instance, error) {
	var seedBytes [32]byte
	binary.LittleEndian.PutUint64(seedBytes[:], seed)
	inst := &instance{r: r, stack: make([]uint64, 8), log: guestLog{limit: r.cfg.LogLimit}, rand: rand.NewChaCha8(seedBytes)}
	mod, err := cm.instantiate(ctx, inst)
	if err != nil {
		return nil, fmt.Errorf("wasm: instantiate: %w", err)
	}
	inst.mod = mod
	if _, ok := cm.exports()["_initialize"]; ok {
		if _, err := inst.start(ctx, "_initialize"); err != nil {
			inst.close(ctx)
			return nil, err
		}
	}
	return inst, nil
}

// start calls an export that sets the instance up, under Config.InitTimeout instead of the step deadline
// and outside the CPU budget.
func (inst *instance) start(ctx context.Context, name string) (uint64, error) {
	inst.starting = true
	defer func() { inst.starting, inst.used = false, 0 }()
	return inst.call(ctx, name)
}

// call invokes an export with up to eight arguments and returns its first result. Under Config's
// StepTimeout and CPUBudget the guest is stopped when it runs too long. Any error (a trap, an exit, a
// deadline, a cancelled context) marks the instance broken.
func (inst *instance) call(ctx context.Context, name string, args ...uint64) (uint64, error) {
	if inst.broken {
		return 0, fmt.Errorf("wasm: %s: the guest failed earlier in this request", name)
	}
	stack := inst.stack[:max(len(args), 1)]
	copy(stack, args)
	cfg := &inst.r.cfg
	var start, deadline time.Time
	var budgetBound bool
	limit := cfg.StepTimeout
	if inst.starting && limit > 0 {
		limit = cfg.InitTimeout
	}
	if limit > 0 || cfg.CPUBudget > 0 {
		start = time.Now()
		d := limit
		if cfg.CPUBudget > 0 && !inst.starting {
			left := cfg.CPUBudget - inst.used
			if left <= 0 {
				inst.broken = true
				return 0, fmt.Errorf("wasm: %s: the request used up its guest CPU budget of %v", name, cfg.CPUBudget)
			}
			if d == 0 || left < d {
				d, budgetBound = left, true
			}
		}
		deadline = start.Add(d)
	}
	inst.deadline = deadline
	err := inst.mod.call(ctx, name, stack, deadline) // host functions run inside: their time counts too
	inst.deadline = time.Time{}
	if !start.IsZero() {
		inst.used += time.Since(start)
	}
	if err != nil {
		inst.broken = true
		var t *trap
		switch {
		case !deadline.IsZero() && !time.Now().Before(deadline) && ctx.Err() == nil:
			if budgetBound {
				return 0, fmt.Errorf("wasm: %s stopped: the request used up its guest CPU budget of %v%s", name, cfg.CPUBudget, inst.log.tail())
			}
			return 0, fmt.Errorf("wasm: %s stopped: it ran past its deadline of %v%s", name, limit, inst.log.tail())
		case ctx.Err() != nil:
			return 0, fmt.Errorf("wasm: %s stopped: %w", name, ctx.Err())
		case errors.As(err, &t):
			return 0, fmt.Errorf("wasm: %s failed: %s%s", name, t.msg, inst.log.tail())
		}
		return 0, fmt.Errorf("wasm: %s failed: %s%s", name, brief(err), inst.log.tail())
	}
	return stack[0], nil
}

// stopPastDeadline traps the guest once its call's deadline has passed. Host kernels call it before and
// after they compute: their time is the guest's (step deadline and CPU budget), and a guest that loops
// over kernel calls runs too few of its own instructions between them for the engine's deadline check to
// stop it soon. call then reports the deadline as it does for one the engine enforced.
func (inst *instance) stopPastDeadline() {
	if inst.pastDeadline() {
		trapf("deadline passed")
	}
}

// pastDeadline says whether the running call has a deadline and it has passed.
func (inst *instance) pastDeadline() bool {
	return !inst.deadline.IsZero() && !time.Now().Before(inst.deadline)
}

// brief is an engine's error cut to its first lines: a trap deep in a recursion carries a backtrace of
// thousands of frames.
func brief(err error) string {
	var kept []string
	for _, line := range strings.Split(err.Error(), "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "Stack backtrace:") {
			break // the host's own frames follow
		}
		if t == "" || strings.Contains(t, "wasm function") || strings.HasPrefix(t, "0x") || strings.HasPrefix(t, "at ") {
			continue // a guest backtrace frame
		}
		kept = append(kept, t)
	}
	s := strings.Join(kept, " ")
	if len(s) > 600 {
		s = s[:600] + "… (cut)"
	}
	return s
}

// status turns a negative i32 status into an error naming the export and quoting the guest's log.
func (inst *instance) status(name string, v uint64) (int32, error) {
	n := int32(uint32(v))
	if n >= 0 {
		return n, nil
	}
	return n, fmt.Errorf("wasm: %s: %s%s", name, statusText(n), inst.log.tail())
}

// statusText names an ABI status code.
func statusText(n int32) string {
	switch n {
	case abi.ErrBadInput:
		return "bad input"
	case abi.ErrNotReady:
		return "not initialised"
	case abi.ErrInternal:
		return "internal error"
	case abi.ErrNoMemory:
		return "out of memory"
	case abi.ErrNoToken:
		return "no token can be sampled: every logit is -Inf or NaN"
	case abi.ErrNotFound:
		return "not found"
	case abi.ErrLimit:
		return "over a limit"
	case abi.ErrHandle:
		return "no such handle"
	}
	return fmt.Sprintf("error %d", n)
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
	mem := inst.mod.memory()
	if uint64(ptr)+uint64(n) > uint64(len(mem)) {
		inst.broken = true
		return nil, fmt.Errorf("wasm: guest region [%d, +%d) lies outside its memory", ptr, n)
	}
	return mem[ptr : ptr+n : ptr+n], nil
}

// pages is the size of the instance's linear memory in 64 KiB pages.
func (inst *instance) pages() uint32 { return uint32(len(inst.mod.memory()) >> 16) }

// close closes the instance's module.
func (inst *instance) close(ctx context.Context) { inst.mod.close(ctx) }
