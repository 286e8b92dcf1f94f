package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Supported reports whether the kernels can dequantize and multiply tensors of type t.
func Supported(t DType) bool {
	switch t {
	case F32, F16, BF16, Q8_0:
		return true
	}
	return false
}

// DequantizeRow expands len(dst) elements of type t from src into dst. It returns an error, and writes
// nothing, when t is not Supported, len(dst) is not a whole number of t's blocks, or src is shorter than
// those blocks.
func DequantizeRow(t DType, dst []float32, src []byte) error {
	if !Supported(t) {
		return fmt.Errorf("kernels: cannot dequantize %v", t)
	}
	need, err := t.RowBytes(len(dst))
	if err != nil {
		return err
	}
	if len(src) < need {
		return fmt.Errorf("kernels: %v row of %d elements needs %d bytes, have %d", t, len(dst), need, len(src))
	}
	switch t {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case F16:
		f16ToF32Row(dst, src[:need])
	case BF16:
		for i := range dst {
			dst[i] = BF16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case Q8_0:
		for b := 0; b < len(dst)/qk8; b++ {
			blk := src[b*q8BlockSize : (b+1)*q8BlockSize]
			d := F16ToF32(binary.LittleEndian.Uint16(blk))
			for j, q := range blk[2:] {
				dst[b*qk8+j] = d * float32(int8(q))
			}
		}
	}
	return nil
}

// f16ToF32RowRef widens the fp16 values in src (2 bytes each, little-endian) into dst.
func f16ToF32RowRef(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = F16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
	}
}
