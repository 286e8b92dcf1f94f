package wasm

import (
	"fmt"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// kind is a kind of guest: the exports it must have, beyond those of every guest.
type kind struct {
	name    string
	exports map[string]signature
	v1Only  bool // the kind exists only in ABI v1
}

var (
	everyGuest = map[string]signature{abi.ExportAlloc: sig(1, 1), abi.ExportFree: sig(1, 0)}

	tokenizerKind = kind{name: "tokenizer", exports: map[string]signature{
		abi.ExportTokInit: sig(2, 1), abi.ExportTokEncode: sig(3, 1), abi.ExportTokResult: sig(0, 1),
		abi.ExportTokPiece: sig(2, 1), abi.ExportTokDecode: sig(3, 1)}}
	samplerKind = kind{name: "sampler", exports: map[string]signature{
		abi.ExportSmpConfig: sig(2, 1), abi.ExportSmpAccept: sig(2, 1), abi.ExportSmpLogits: sig(1, 1),
		abi.ExportSmpSample: sig(1, 1)}}
	policyKind = kind{name: "policy", v1Only: true, exports: map[string]signature{
		abi.ExportCtlInit: sig(0, 1), abi.ExportCtlOpen: sig(2, 1),
		abi.ExportCtlStep: {[]valType{i32, i32, i32}, []valType{i64}}, abi.ExportCtlClose: sig(1, 1)}}

	// optionalExports are checked when present.
	optionalExports = map[string]signature{"_initialize": sig(0, 0), abi.ExportCtlPick: sig(2, 1)}
)

// check validates a compiled module against the ABI before any instance runs: the marker of v1 (or v0,
// for tokenizers and samplers), the exports of its kind with their signatures, an exported memory, and
// imports only of functions the host has, with their signatures: its ABI version's host module and the
// WASI subset of wasiFuncs.
func check(cm compiledModule, k kind) error {
	defs := cm.exports()
	host := hostModuleV1
	if _, ok := defs[abi.MarkerV1]; !ok {
		if _, v0 := defs[abi.Marker]; !v0 || k.v1Only {
			return fmt.Errorf("wasm: module does not export %s: not a wasmoe ABI v1 %s guest (see guest/ABI.md)", abi.MarkerV1, k.name)
		}
		host = hostModuleV0
	}
	for _, want := range []map[string]signature{everyGuest, k.exports} {
		for name, s := range want {
			def, ok := defs[name]
			if !ok {
				return fmt.Errorf("wasm: module does not export %s: not a %s guest (see guest/ABI.md)", name, k.name)
			}
			if !s.equal(def) {
				return fmt.Errorf("wasm: export %s%s, want %s", name, def, s)
			}
		}
	}
	for name, s := range optionalExports {
		if def, ok := defs[name]; ok && !s.equal(def) {
			return fmt.Errorf("wasm: export %s%s, want %s", name, def, s)
		}
	}
	if !cm.exportsMemory() {
		return fmt.Errorf("wasm: module does not export its memory as \"memory\"")
	}
	for _, imp := range cm.imports() {
		var table map[string]signature
		switch imp.module {
		case wasiModule:
			table = wasiTable
		case host:
			table = hostTables[host]
		default:
			return fmt.Errorf("wasm: module imports %s.%s; guests may import only %s and %s", imp.module, imp.name, host, wasiModule)
		}
		s, ok := table[imp.name]
		if !ok {
			return fmt.Errorf("wasm: module imports %s.%s, which the host does not have", imp.module, imp.name)
		}
		if !s.equal(imp.sig) {
			return fmt.Errorf("wasm: module imports %s.%s%s, want %s", imp.module, imp.name, imp.sig, s)
		}
	}
	return nil
}
