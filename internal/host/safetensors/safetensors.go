// Package safetensors reads and writes Hugging Face safetensors files (spec §6.1), the checkpoint format of
// DeepSeek-V3/R1 and the R1-Distill models, and opens a model directory whole, sharded or not.
//
// A file is an 8-byte little-endian header length N, N bytes of JSON (tensor name → dtype, shape and the
// tensor's [begin, end) byte range in the data section; an optional "__metadata__" string map; padding
// spaces), then the data section. Open maps the file into memory; tensors are zero-copy views of the
// mapping. The header is checked before anything is sliced: its length (at most MaxHeader, within the file),
// its JSON (UTF-8, no duplicate keys, nothing but spaces after it), every dtype, shape and byte range
// (overflow-checked), and that no two tensors overlap, so a truncated or corrupt file yields an error naming
// the file, the byte offset and the field, never a panic. Unused bytes between or after tensors are
// allowed (the Hugging Face library refuses them; Write never makes them).
package safetensors

import (
	"fmt"
	"math/bits"
)

// DType is a safetensors element type. The constants are in the order of the Hugging Face library's Dtype
// enum (increasing alignment), which Write uses to lay out the data as that library does.
type DType uint8

// The dtypes of the safetensors format. DeepSeek-V3 uses BF16, F32 and F8_E4M3.
const (
	BOOL DType = iota + 1
	U8
	I8
	F8_E5M2
	F8_E4M3 // torch.float8_e4m3fn; see kernels.F8E4M3ToF32
	I16
	U16
	F16
	BF16
	I32
	U32
	F32
	F64
	I64
	U64
)

var dtypeNames = [...]string{BOOL: "BOOL", U8: "U8", I8: "I8", F8_E5M2: "F8_E5M2", F8_E4M3: "F8_E4M3",
	I16: "I16", U16: "U16", F16: "F16", BF16: "BF16", I32: "I32", U32: "U32", F32: "F32", F64: "F64",
	I64: "I64", U64: "U64"}

var dtypeSizes = [...]int{BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2,
	I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8}

// parseDType returns the dtype named s.
func parseDType(s string) (DType, bool) {
	for t, name := range dtypeNames {
		if name != "" && name == s {
			return DType(t), true
		}
	}
	return 0, false
}

// valid reports whether t is one of the constants.
func (t DType) valid() bool { return t >= BOOL && t <= U64 }

// String is the dtype's name in safetensors headers ("F32", "F8_E4M3", …).
func (t DType) String() string {
	if t.valid() {
		return dtypeNames[t]
	}
	return fmt.Sprintf("dtype(%d)", uint8(t))
}

// Size is the number of bytes of one element (0 for an invalid dtype).
func (t DType) Size() int {
	if t.valid() {
		return dtypeSizes[t]
	}
	return 0
}

// Tensor describes one tensor and views its bytes.
type Tensor struct {
	Name  string
	DType DType
	Shape []int  // outermost first, as PyTorch lists it (row-major data)
	Data  []byte // view into the mapped file: exactly Elements()·DType.Size() bytes, little-endian
	Path  string // the file holding the tensor, for error messages
}

// Elements is the number of elements of the tensor (1 for a scalar, whose shape is empty).
func (t *Tensor) Elements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// FormatError reports a malformed file: where, which field, and what is wrong.
type FormatError struct {
	Path   string
	Offset int64 // byte offset in the file
	Field  string
	Msg    string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("safetensors: %s: offset %d: %s: %s", e.Path, e.Offset, e.Field, e.Msg)
}

// byteSize returns prod(shape)·size, or false if a dimension is negative or the product overflows an int.
func byteSize(shape []int, size int) (int, bool) {
	n := uint64(size)
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > uint64(maxInt) {
			return 0, false
		}
		n = lo
	}
	return int(n), true
}

const maxInt = int(^uint(0) >> 1)
