package wasm

import (
	"context"
	"fmt"

	"github.com/tetratelabs/wazero/api"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// instantiateHost provides the wasmoe_v0 host module. Its functions are GoModuleFunctions (no
// reflection): they learn the calling instance from the module.
func (r *Runtime) instantiateHost(ctx context.Context) error {
	_, err := r.rt.NewHostModuleBuilder(abi.HostModule).
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(r.hostLog), sig(3, 0).params, nil).
		WithParameterNames("level", "ptr", "len").
		Export(abi.ImportLog).
		Instantiate(ctx)
	if err != nil {
		return fmt.Errorf("wasm: host module: %w", err)
	}
	return nil
}

// hostLog appends a guest message to the calling instance's bounded log.
func (r *Runtime) hostLog(_ context.Context, m api.Module, stack []uint64) {
	inst := r.instanceOf(m)
	if inst == nil {
		return
	}
	level, ptr, n := int32(stack[0]), uint32(stack[1]), uint32(stack[2])
	b, ok := m.Memory().Read(ptr, min(n, uint32(inst.log.room())))
	if !ok {
		b = []byte("(message outside the guest's memory)")
	}
	inst.log.printf("[%s] %s\n", levelName(level), b)
}

// levelName names a log level of the ABI.
func levelName(level int32) string {
	switch level {
	case abi.LogDebug:
		return "debug"
	case abi.LogInfo:
		return "info"
	case abi.LogWarn:
		return "warn"
	case abi.LogError:
		return "error"
	}
	return fmt.Sprint(level)
}
