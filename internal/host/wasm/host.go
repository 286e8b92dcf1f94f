package wasm

import (
	"fmt"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// notReady is ErrNotReady as an i32 result.
var notReady int32 = abi.ErrNotReady

// Host module names by ABI version.
const (
	hostModuleV0 = abi.HostModule
	hostModuleV1 = abi.HostModuleV1
)

// hostFuncs is every function the host provides: the v0 and v1 host modules and the WASI subset.
func hostFuncs() []hostFunc {
	fs := []hostFunc{
		{hostModuleV0, abi.ImportLog, sig(3, 0), hostLog},
		{hostModuleV1, abi.ImportLog, sig(3, 0), hostLog},
		{hostModuleV1, abi.ImportModelInfo, sig(2, 1), ctlFunc(modelInfo)},
		{hostModuleV1, abi.ImportVocab, sig(2, 1), ctlFunc(vocabBlob)},
		{hostModuleV1, abi.ImportBufRegister, sig(3, 1), ctlFunc(bufRegister)},
		{hostModuleV1, abi.ImportConfig, sig(2, 1), ctlFunc(configBytes)},
	}
	fs = append(fs, kernelFuncs()...)
	fs = append(fs, grammarFuncs()...)
	return append(fs, wasiFuncs()...)
}

// wasiTable and hostTables are the signatures of hostFuncs by module, for check.
var wasiTable, hostTables = func() (map[string]signature, map[string]map[string]signature) {
	tables := map[string]map[string]signature{}
	for _, f := range hostFuncs() {
		if tables[f.module] == nil {
			tables[f.module] = map[string]signature{}
		}
		tables[f.module][f.name] = f.sig
	}
	return tables[wasiModule], tables
}()

// hostLog appends a guest message to the calling instance's bounded log.
func hostLog(inst *instance, stack []uint64) {
	level, ptr, n := int32(stack[0]), uint32(stack[1]), uint32(stack[2])
	mem := inst.mod.memory()
	n = min(n, uint32(inst.log.room()))
	if uint64(ptr)+uint64(n) > uint64(len(mem)) {
		inst.log.printf("[%s] (message outside the guest's memory)\n", levelName(level))
		return
	}
	inst.log.printf("[%s] %s\n", levelName(level), mem[ptr:ptr+n])
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

// ctlFunc adapts a policy host function: it gets the instance's policy state and guest memory and returns
// an i32 status or length; a guest that is not a policy gets ErrNotReady.
func ctlFunc(f func(c *control, mem []byte, stack []uint64) int32) func(*instance, []uint64) {
	return func(inst *instance, stack []uint64) {
		if inst.ctl == nil {
			stack[0] = uint64(uint32(notReady))
			return
		}
		for i := range stack { // i32 arguments: an engine may leave garbage in the upper half
			stack[i] = uint64(uint32(stack[i]))
		}
		stack[0] = uint64(uint32(f(inst.ctl, inst.mod.memory(), stack)))
	}
}

// probe answers a (ptr, cap) -> len import: it writes b at ptr when it fits cap and returns len(b).
func probe(mem []byte, ptr, capacity uint32, b []byte) int32 {
	if len(b) <= int(capacity) {
		if uint64(ptr)+uint64(len(b)) > uint64(len(mem)) {
			return abi.ErrBadInput
		}
		copy(mem[ptr:], b)
	}
	return int32(len(b))
}

func modelInfo(c *control, mem []byte, stack []uint64) int32 {
	return probe(mem, uint32(stack[0]), uint32(stack[1]), c.policy.info)
}

func vocabBlob(c *control, mem []byte, stack []uint64) int32 {
	return probe(mem, uint32(stack[0]), uint32(stack[1]), c.policy.vocab)
}

func configBytes(c *control, mem []byte, stack []uint64) int32 {
	return probe(mem, uint32(stack[0]), uint32(stack[1]), c.config)
}

// bufRegister records a guest region the host reads (mask, bias, splice) or writes (candidates) in place.
func bufRegister(c *control, mem []byte, stack []uint64) int32 {
	k, ptr, n := int32(stack[0]), uint32(stack[1]), uint32(stack[2])
	if !abi.ValidBufKind(k) || uint64(ptr)+uint64(n) > uint64(len(mem)) || ptr%4 != 0 {
		return abi.ErrBadInput
	}
	c.bufs[k] = region{ptr, n}
	return abi.OK
}
