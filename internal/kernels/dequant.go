package kernels

import (
	"encoding/binary"
	"fmt"
)

// DequantizeRow expands len(dst) elements of type t from src into dst. It returns an error, and writes
// nothing, when t is not Supported, len(dst) is not a whole number of t's blocks, or src is shorter than
// those blocks. F8_E4M3 elements come out as the FP8 values they hold, without block scales, which live
// outside the row: Matrix.DequantizeRow applies them.
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
	typeTable[t].toFloat(dst, src[:need])
	return nil
}

// DequantizeRow writes row r of w into dst[:w.Cols] as float32 values, block scales applied for F8_E4M3
// (one product fp8·scale per element, exactly the weight MatMul multiplies by). It is the way to read an
// embedding row or split a matrix at load time whatever w's type. It returns an error, and writes nothing,
// when w is not valid, r is not a row of w or dst is shorter than a row.
func (w Matrix) DequantizeRow(dst []float32, r int) error {
	rowBytes, err := w.validate()
	if err != nil {
		return err
	}
	if r < 0 || r >= w.Rows || len(dst) < w.Cols {
		return fmt.Errorf("kernels: row %d of a %dx%d matrix into %d values", r, w.Rows, w.Cols, len(dst))
	}
	row := w.Data[r*rowBytes : (r+1)*rowBytes]
	if w.Type == F8_E4M3 {
		dequantizeF8Row(dst, row, w.f8RowScales(r))
		return nil
	}
	return DequantizeRow(w.Type, dst[:w.Cols], row)
}

// f16ToF32RowRef widens the fp16 values in src (2 bytes each, little-endian) into dst.
func f16ToF32RowRef(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = F16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

// QuantizeRow writes src, a whole number of t's blocks, as t's blocks into dst, as llama-quantize writes
// t without an importance matrix. It returns an error, and writes nothing, when t is not Writable, len(src)
// is not a whole number of blocks or dst is short.
func QuantizeRow(t DType, dst []byte, src []float32) error {
	if !Writable(t) {
		return fmt.Errorf("kernels: cannot quantize to %v", t)
	}
	need, err := t.RowBytes(len(src))
	if err != nil {
		return err
	}
	if len(dst) < need {
		return fmt.Errorf("kernels: %v row of %d elements needs %d bytes, have %d", t, len(src), need, len(dst))
	}
	typeTable[t].fromFloat(dst[:need], src)
	return nil
}
