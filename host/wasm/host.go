package wasm

import (
	"context"
	"fmt"

	"github.com/tetratelabs/wazero/api"

	"github.com/wasmoe/wasmoe/guest/abi"
)

type instanceKey struct{}

// instantiateHost provides the wasmoe_v0 host module.
func (r *Runtime) instantiateHost(ctx context.Context) error {
	_, err := r.rt.NewHostModuleBuilder(abi.HostModule).
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(hostLog), []api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32}, nil).
		WithParameterNames("level", "ptr", "len").
		Export("log").
		Instantiate(ctx)
	if err != nil {
		return fmt.Errorf("wasm: host module: %w", err)
	}
	return nil
}

// hostLog appends a guest message to the calling instance's bounded log. Messages past the limit are
// counted, not kept.
func hostLog(ctx context.Context, m api.Module, stack []uint64) {
	inst, _ := ctx.Value(instanceKey{}).(*Instance)
	if inst == nil {
		return
	}
	level, ptr, n := uint32(stack[0]), uint32(stack[1]), uint32(stack[2])
	room := inst.logLimit - len(inst.log)
	if room <= 0 {
		inst.logDropped++
		return
	}
	b, ok := m.Memory().Read(ptr, min(n, uint32(room)))
	if !ok {
		inst.logDropped++
		return
	}
	inst.log = fmt.Appendf(inst.log, "[%d] %s\n", level, b)
}
