// Package gguf reads and writes GGUF v3 files, the container llama.cpp uses for model weights and metadata.
//
// Open maps the file into memory; tensors are zero-copy views of the mapping. Every length, count and offset is
// checked against the file before use, so a truncated or corrupt file yields an error naming the file, the byte
// offset and the field, never a panic. A model split by llama-gguf-split opens from any of its parts as one
// File whose tensors view their own parts (split.go).
package gguf

import (
	"fmt"

	"github.com/wasmoe/wasmoe/internal/kernels"
)

// Magic is "GGUF" read as a little-endian uint32.
const Magic = 0x46554747

// DefaultAlignment is the data alignment when general.alignment is absent.
const DefaultAlignment = 32

// ValueType is the type tag of a metadata value.
type ValueType uint32

// The metadata value types of GGUF.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

var valueTypeNames = [...]string{"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool",
	"string", "array", "uint64", "int64", "float64"}

func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// scalarSize is the encoded size of a fixed-width value type, or 0 for string, array and unknown types.
func (t ValueType) scalarSize() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	}
	return 0
}

// Value is a decoded metadata value. Scalars are held as the Go type named by Type (uint8 … float64, bool,
// string); arrays as a typed slice ([]uint32, []string, …) with Elem naming the element type.
type Value struct {
	Type ValueType
	Elem ValueType // element type when Type is TypeArray
	V    any
}

// KV is one metadata entry.
type KV struct {
	Key   string
	Value Value
}

// Tensor describes one tensor and views its bytes.
type Tensor struct {
	Name   string
	Dims   []uint64      // ne, innermost first
	Type   kernels.DType // element type
	Offset uint64        // from the start of the data section (of a split model, of its own part's)
	Data   []byte        // view into the mapped file; nil for files opened without data
	Part   int           // which part of a split model holds the tensor (0-based); 0 for a single file
}

// Elements is the number of elements of the tensor.
func (t *Tensor) Elements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// Dim returns ne[i], or 1 past the tensor's rank.
func (t *Tensor) Dim(i int) int {
	if i < len(t.Dims) {
		return int(t.Dims[i])
	}
	return 1
}
