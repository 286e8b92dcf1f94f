package kernels

import "unsafe"

// The kernels read tensor data in place (it may be an mmap view). GGUF stores it little-endian, and these
// views assume a little-endian host, as every architecture the project targets is.

// f32View returns b viewed as len(b)/4 float32 values.
func f32View(b []byte) []float32 {
	if len(b) < 4 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4)
}

// u16View returns b viewed as len(b)/2 uint16 values.
func u16View(b []byte) []uint16 {
	if len(b) < 2 {
		return nil
	}
	return unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/2)
}
