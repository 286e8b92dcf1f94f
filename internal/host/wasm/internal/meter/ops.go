package meter

import "fmt"

// imm is the shape of an instruction's immediates. The zero value marks an opcode the decoder does not
// know, which Instrument rejects.
type imm uint8

const (
	immInvalid    imm = iota
	immNone           // no immediates
	immBlock          // a block type: 0x40, a value type, or a type index (s33)
	immIdx            // one u32 index (labels, locals, globals, tables, types, segments, memories)
	immIdx2           // two u32 indices
	immBrTable        // vec(label) label
	immFunc           // a function index: rewritten by Instrument
	immSelect         // vec(value type)
	immMemarg         // align u32, offset u32
	immMemargLane     // memarg, then a lane index byte
	immI32            // s32
	immI64            // s64
	immF32            // 4 bytes
	immF64            // 8 bytes
	immHeapType       // ref.null's s33 heap type
	immLane           // one lane index byte
	immV128           // 16 bytes (v128.const, i8x16.shuffle)
)

// Opcodes the rewriter looks at.
const (
	opBlock   = 0x02
	opLoop    = 0x03
	opIf      = 0x04
	opElse    = 0x05
	opEnd     = 0x0b
	opCall    = 0x10
	opGlobGet = 0x23
	opGlobSet = 0x24
	opI64     = 0x42
	opI64LtS  = 0x53
	opI64Sub  = 0x7d
	opRefFunc = 0xd2
	opMisc    = 0xfc // prefix of the saturating truncations and the bulk memory and table instructions
	opSIMD    = 0xfd // prefix of the SIMD instructions
	opGC      = 0xfb // prefix of the GC instructions (rejected)
	opThreads = 0xfe // prefix of the atomic instructions (rejected)
	blockVoid = 0x40 // the empty block type
)

// ops are the single-byte opcodes: MVP, sign extension and reference types.
var ops = func() (t [256]imm) {
	fill(t[:], 0x00, 0x01, immNone) // unreachable nop
	fill(t[:], opBlock, opIf, immBlock)
	t[opElse], t[opEnd] = immNone, immNone
	fill(t[:], 0x0c, 0x0d, immIdx) // br br_if
	t[0x0e] = immBrTable
	t[0x0f] = immNone // return
	t[opCall] = immFunc
	t[0x11] = immIdx2               // call_indirect type table
	fill(t[:], 0x1a, 0x1b, immNone) // drop select
	t[0x1c] = immSelect
	fill(t[:], 0x20, 0x26, immIdx) // local.get … global.set, table.get table.set
	fill(t[:], 0x28, 0x3e, immMemarg)
	fill(t[:], 0x3f, 0x40, immIdx) // memory.size memory.grow
	t[0x41], t[0x42], t[0x43], t[0x44] = immI32, immI64, immF32, immF64
	fill(t[:], 0x45, 0xc4, immNone) // numeric, then the sign-extension operators
	t[0xd0], t[0xd1], t[0xd2] = immHeapType, immNone, immFunc
	return t
}()

// miscOps are the 0xFC instructions: saturating float-to-int (0–7), bulk memory and tables (8–17).
var miscOps = []imm{
	0: immNone, 1: immNone, 2: immNone, 3: immNone, 4: immNone, 5: immNone, 6: immNone, 7: immNone,
	8:  immIdx2, // memory.init data memory
	9:  immIdx,  // data.drop
	10: immIdx2, // memory.copy
	11: immIdx,  // memory.fill
	12: immIdx2, // table.init elem table
	13: immIdx,  // elem.drop
	14: immIdx2, // table.copy
	15: immIdx,  // table.grow
	16: immIdx,  // table.size
	17: immIdx,  // table.fill
}

// simdOps are the 0xFD instructions of the fixed-width SIMD proposal (relaxed SIMD is not supported).
var simdOps = func() (t [256]imm) {
	fill(t[:], 0x00, 0x0b, immMemarg)   // v128.load … v128.store
	t[0x0c], t[0x0d] = immV128, immV128 // v128.const i8x16.shuffle
	fill(t[:], 0x0e, 0x14, immNone)     // i8x16.swizzle, splats
	fill(t[:], 0x15, 0x22, immLane)     // extract_lane, replace_lane
	fill(t[:], 0x23, 0x53, immNone)     // comparisons, bitwise
	fill(t[:], 0x54, 0x5b, immMemargLane)
	fill(t[:], 0x5c, 0x5d, immMemarg) // v128.load32_zero v128.load64_zero
	fill(t[:], 0x5e, 0xff, immNone)
	for _, unassigned := range []int{0x9a, 0xa2, 0xa5, 0xa6, 0xaf, 0xb0, 0xb2, 0xb3, 0xb4, 0xbb, 0xc2, 0xc5,
		0xc6, 0xcf, 0xd0, 0xd2, 0xd3, 0xd4, 0xe2, 0xee} {
		t[unassigned] = immInvalid
	}
	return t
}()

func fill(t []imm, lo, hi int, k imm) {
	for i := lo; i <= hi; i++ {
		t[i] = k
	}
}

// instr is one decoded instruction.
type instr struct {
	op          byte   // the opcode, or the prefix byte of a prefixed one
	sub         uint32 // the opcode after a prefix
	start       int    // offset of the opcode
	immAt, next int    // offsets of the immediates and of the following instruction
	fn          uint32 // the function index of immFunc
}

// decode reads one instruction; an unknown opcode is an error naming it.
func (r *reader) decode() (in instr) {
	in.start = r.off
	in.op = r.byte()
	k := ops[in.op]
	switch in.op {
	case opMisc:
		in.sub = r.u32()
		k = immInvalid
		if in.sub < uint32(len(miscOps)) {
			k = miscOps[in.sub]
		}
	case opSIMD:
		in.sub = r.u32()
		k = immInvalid
		if in.sub < uint32(len(simdOps)) {
			k = simdOps[in.sub]
		}
	case opGC, opThreads:
		in.sub = r.u32() // for the error message
	}
	in.immAt = r.off
	switch k {
	case immInvalid:
		if r.err == nil {
			r.fail("unsupported opcode %s", opName(in.op, in.sub))
		}
	case immBlock, immHeapType:
		r.leb(33, true)
	case immIdx:
		r.u32()
	case immIdx2, immMemarg:
		r.u32()
		r.u32()
	case immBrTable:
		for n := r.count(); n > 0 && r.err == nil; n-- {
			r.u32()
		}
		r.u32()
	case immFunc:
		in.fn = r.u32()
	case immSelect:
		r.bytes(uint64(r.count()))
	case immMemargLane:
		r.u32()
		r.u32()
		r.byte()
	case immI32:
		r.leb(32, true)
	case immI64:
		r.leb(64, true)
	case immF32:
		r.bytes(4)
	case immF64:
		r.bytes(8)
	case immLane:
		r.byte()
	case immV128:
		r.bytes(16)
	}
	in.next = r.off
	return in
}

// opName spells an opcode for errors: 0x06, or 0xfe 0x10 for a prefixed one.
func opName(op byte, sub uint32) string {
	switch op {
	case opMisc, opSIMD, opGC, opThreads:
		return fmt.Sprintf("%#02x %#02x", op, sub)
	}
	return fmt.Sprintf("%#02x", op)
}
