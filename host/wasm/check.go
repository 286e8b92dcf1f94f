package wasm

import (
	"fmt"
	"slices"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// signature is the parameter and result types of a function.
type signature struct{ params, results []api.ValueType }

// sig is the signature of a function with np i32 parameters and nr i32 results: all of ABI v0.
func sig(np, nr int) signature {
	return signature{slices.Repeat([]api.ValueType{api.ValueTypeI32}, np), slices.Repeat([]api.ValueType{api.ValueTypeI32}, nr)}
}

// kind is a kind of guest: the exports it must have, beyond those of every guest.
type kind struct {
	name    string
	exports map[string]signature
}

var (
	everyGuest = map[string]signature{abi.Marker: sig(0, 0), abi.ExportAlloc: sig(1, 1), abi.ExportFree: sig(1, 0)}
	hostFuncs  = map[string]signature{abi.ImportLog: sig(3, 0)}

	tokenizerKind = kind{"tokenizer", map[string]signature{
		abi.ExportTokInit: sig(2, 1), abi.ExportTokEncode: sig(3, 1), abi.ExportTokResult: sig(0, 1),
		abi.ExportTokPiece: sig(2, 1), abi.ExportTokDecode: sig(3, 1)}}
	samplerKind = kind{"sampler", map[string]signature{
		abi.ExportSmpConfig: sig(2, 1), abi.ExportSmpAccept: sig(2, 1), abi.ExportSmpLogits: sig(1, 1),
		abi.ExportSmpSample: sig(1, 1)}}
)

// check validates a compiled module against the ABI before any instance runs: the marker, the exports of
// its kind with their signatures, an exported memory, and imports only from the host module (functions
// it has, with their signatures) and WASI.
func check(cm wazero.CompiledModule, k kind) error {
	defs := cm.ExportedFunctions()
	if _, ok := defs[abi.Marker]; !ok {
		return fmt.Errorf("wasm: module does not export %s: not a wasmoe ABI v0 guest (see guest/ABI.md)", abi.Marker)
	}
	for _, want := range []map[string]signature{everyGuest, k.exports} {
		for name, sig := range want {
			def, ok := defs[name]
			if !ok {
				return fmt.Errorf("wasm: module does not export %s: not a %s guest (see guest/ABI.md)", name, k.name)
			}
			if !sig.matches(def) {
				return fmt.Errorf("wasm: export %s%s, want %s", name, signatureOf(def), sig)
			}
		}
	}
	if _, ok := cm.ExportedMemories()["memory"]; !ok {
		return fmt.Errorf("wasm: module does not export its memory")
	}
	for _, imp := range cm.ImportedFunctions() {
		mod, name, _ := imp.Import()
		switch mod {
		case wasi_snapshot_preview1.ModuleName:
		case abi.HostModule:
			sig, ok := hostFuncs[name]
			if !ok {
				return fmt.Errorf("wasm: module imports %s.%s, which the host does not have", mod, name)
			}
			if !sig.matches(imp) {
				return fmt.Errorf("wasm: module imports %s.%s%s, want %s", mod, name, signatureOf(imp), sig)
			}
		default:
			return fmt.Errorf("wasm: module imports %s.%s; guests may import only %s and WASI", mod, name, abi.HostModule)
		}
	}
	return nil
}

func (s signature) matches(def api.FunctionDefinition) bool {
	return slices.Equal(s.params, def.ParamTypes()) && slices.Equal(s.results, def.ResultTypes())
}

func signatureOf(def api.FunctionDefinition) signature {
	return signature{def.ParamTypes(), def.ResultTypes()}
}

// String formats s as (i32, i32) -> i32.
func (s signature) String() string {
	names := func(ts []api.ValueType) string {
		out := ""
		for i, t := range ts {
			if i > 0 {
				out += ", "
			}
			out += api.ValueTypeName(t)
		}
		return out
	}
	str := "(" + names(s.params) + ")"
	if len(s.results) > 0 {
		str += " -> " + names(s.results)
	}
	return str
}
