package meter

import "encoding/binary"

// A tiny wasm binary builder for the tests. It encodes on its own (encoding/binary's unsigned varint is
// LEB128; sleb is written out here) so that the tests do not check the package against itself.

// Value types and other bytes of the binary format.
const (
	tI32     = 0x7f
	tI64     = 0x7e
	tF32     = 0x7d
	tV128    = 0x7b
	tFuncref = 0x70
)

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func uleb(v uint64) []byte { return binary.AppendUvarint(nil, v) }

func sleb(v int64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func str(s string) []byte { return cat(uleb(uint64(len(s))), []byte(s)) }

// vec is a vector: the count, then the items.
func vec(items ...[]byte) []byte { return cat(uleb(uint64(len(items))), cat(items...)) }

// sec is a section.
func sec(id byte, content ...[]byte) []byte {
	c := cat(content...)
	return cat([]byte{id}, uleb(uint64(len(c))), c)
}

// mod is a module of the given sections.
func mod(secs ...[]byte) []byte { return cat([]byte("\x00asm\x01\x00\x00\x00"), cat(secs...)) }

func functype(params, results []byte) []byte { return cat([]byte{0x60}, vec1(params), vec1(results)) }

// vec1 is a vector of single bytes.
func vec1(b []byte) []byte { return cat(uleb(uint64(len(b))), b) }

// fn is a code section entry: locals as (count, type) pairs, then the code, which must end with 0x0b.
func fn(locals [][2]byte, code ...[]byte) []byte {
	var ls [][]byte
	for _, l := range locals {
		ls = append(ls, cat(uleb(uint64(l[0])), []byte{l[1]}))
	}
	b := cat(vec(ls...), cat(code...))
	return cat(uleb(uint64(len(b))), b)
}

// Instruction helpers.
func op(b ...byte) []byte       { return b }
func i32c(v int32) []byte       { return cat([]byte{0x41}, sleb(int64(v))) }
func i64c(v int64) []byte       { return cat([]byte{0x42}, sleb(v)) }
func lget(i uint32) []byte      { return cat([]byte{0x20}, uleb(uint64(i))) }
func lset(i uint32) []byte      { return cat([]byte{0x21}, uleb(uint64(i))) }
func ltee(i uint32) []byte      { return cat([]byte{0x22}, uleb(uint64(i))) }
func gget(i uint32) []byte      { return cat([]byte{0x23}, uleb(uint64(i))) }
func gset(i uint32) []byte      { return cat([]byte{0x24}, uleb(uint64(i))) }
func call(f uint32) []byte      { return cat([]byte{0x10}, uleb(uint64(f))) }
func refFunc(f uint32) []byte   { return cat([]byte{0xd2}, uleb(uint64(f))) }
func br(l uint32) []byte        { return cat([]byte{0x0c}, uleb(uint64(l))) }
func brIf(l uint32) []byte      { return cat([]byte{0x0d}, uleb(uint64(l))) }
func misc(sub uint32) []byte    { return cat([]byte{0xfc}, uleb(uint64(sub))) }
func simd(sub uint32) []byte    { return cat([]byte{0xfd}, uleb(uint64(sub))) }
func memarg(a, o uint32) []byte { return cat(uleb(uint64(a)), uleb(uint64(o))) }
func export(name string, kind byte, idx uint32) []byte {
	return cat(str(name), []byte{kind}, uleb(uint64(idx)))
}
func importFn(m, name string, typ uint32) []byte {
	return cat(str(m), str(name), []byte{0}, uleb(uint64(typ)))
}

// Opcodes the test modules use.
const (
	end      = 0x0b
	block    = 0x02
	loop     = 0x03
	ifOp     = 0x04
	elseOp   = 0x05
	void     = 0x40
	ret      = 0x0f
	drop     = 0x1a
	i32Eqz   = 0x45
	i32LtS   = 0x48
	i32LtU   = 0x49
	i32GeU   = 0x4f
	i32Add   = 0x6a
	i32Sub   = 0x6b
	i32Mul   = 0x6c
	i32RemU  = 0x70
	i64Add   = 0x7c
	i32Load8 = 0x2d
)
