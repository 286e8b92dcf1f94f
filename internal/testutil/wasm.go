package testutil

import "encoding/binary"

// InitLoopPolicy is a policy guest (ABI v1: every export with its signature, an exported memory) whose
// ctl_init never returns; salt is a custom section's content, so that each salt gives a distinct module.
// Only a deadline stops it.
func InitLoopPolicy(salt string) []byte {
	// Function types: 0 () -> i32, 1 (i32, i32) -> i32, 2 (i32, i32, i32) -> i64, 3 (i32) -> i32,
	// 4 (i32) -> (), 5 () -> ().
	const i32, i64 = 0x7f, 0x7e
	types := [][2][]byte{{nil, {i32}}, {{i32, i32}, {i32}}, {{i32, i32, i32}, {i64}}, {{i32}, {i32}}, {{i32}, nil}, {nil, nil}}
	var typeSec []byte
	typeSec = binary.AppendUvarint(typeSec, uint64(len(types)))
	for _, ft := range types {
		typeSec = append(typeSec, 0x60, byte(len(ft[0])))
		typeSec = append(typeSec, ft[0]...)
		typeSec = append(typeSec, byte(len(ft[1])))
		typeSec = append(typeSec, ft[1]...)
	}
	funcs := []struct {
		name string
		typ  byte
		body []byte // instructions, without the locals and the final end
	}{
		{"ctl_init", 0, []byte{0x03, 0x40, 0x0c, 0x00, 0x0b, 0x00}}, // loop br 0 end unreachable
		{"ctl_open", 1, []byte{0x41, 0x00}},                         // i32.const 0
		{"ctl_step", 2, []byte{0x42, 0x00}},                         // i64.const 0
		{"ctl_close", 3, []byte{0x41, 0x00}},
		{"wasmoe_alloc", 3, []byte{0x41, 0x00}},
		{"wasmoe_free", 4, nil},
		{"wasmoe_abi_v1", 5, nil},
	}
	funcSec := []byte{byte(len(funcs))}
	exportSec := []byte{byte(len(funcs) + 1)}
	codeSec := []byte{byte(len(funcs))}
	for i, f := range funcs {
		funcSec = append(funcSec, f.typ)
		exportSec = append(exportSec, byte(len(f.name)))
		exportSec = append(exportSec, f.name...)
		exportSec = append(exportSec, 0x00, byte(i))
		body := append([]byte{0x00}, f.body...) // no locals
		body = append(body, 0x0b)
		codeSec = append(codeSec, byte(len(body)))
		codeSec = append(codeSec, body...)
	}
	exportSec = append(exportSec, 6)
	exportSec = append(exportSec, "memory"...)
	exportSec = append(exportSec, 0x02, 0x00)
	memSec := []byte{0x01, 0x00, 0x01} // one memory, at least 1 page
	custom := append([]byte{4}, "salt"...)
	custom = append(custom, salt...)
	mod := []byte("\x00asm\x01\x00\x00\x00")
	for _, sec := range []struct {
		id   byte
		body []byte
	}{{1, typeSec}, {3, funcSec}, {5, memSec}, {7, exportSec}, {10, codeSec}, {0, custom}} {
		mod = append(mod, sec.id)
		mod = binary.AppendUvarint(mod, uint64(len(sec.body)))
		mod = append(mod, sec.body...)
	}
	return mod
}
