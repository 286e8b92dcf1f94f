//go:build wasip1

package sdk

import "unsafe"

// buffers keeps every allocation the host was given reachable, so the garbage collector (which never moves
// objects) never frees memory the host is about to write.
var buffers = map[uint32][]uint64{}

//go:wasmexport wasmoe_abi_v1
func marker() {}

// Alloc returns the address of a zeroed, 8-byte aligned buffer of size bytes, owned by the guest and kept
// alive until Free.
//
//go:wasmexport wasmoe_alloc
func Alloc(size uint32) uint32 {
	b := make([]uint64, max((uint64(size)+7)/8, 1))
	p := Ptr(b)
	buffers[p] = b
	return p
}

// Free releases a buffer from Alloc.
//
//go:wasmexport wasmoe_free
func Free(ptr uint32) { delete(buffers, ptr) }

// Ptr is the linear-memory address of b's first byte (b must not be empty).
func Ptr[T any](b []T) uint32 { return uint32(uintptr(unsafe.Pointer(&b[0]))) }

// ptrOrZero is Ptr, or 0 for an empty slice (for imports that read or write nothing then).
func ptrOrZero[T any](b []T) uint32 {
	if len(b) == 0 {
		return 0
	}
	return Ptr(b)
}

// Bytes views n bytes of guest memory at ptr (an address the host passed, e.g. from Alloc). An address
// range outside the memory traps when read.
func Bytes(ptr, n uint32) []byte { return view[byte](ptr, n) }

// Int32s views n int32s of guest memory at ptr.
func Int32s(ptr, n uint32) []int32 { return view[int32](ptr, n) }

// Float32s views n float32s of guest memory at ptr.
func Float32s(ptr, n uint32) []float32 { return view[float32](ptr, n) }

// view turns a linear-memory address into a slice; on wasm an address is a pointer (the Go heap never
// moves, and the host's addresses come from Alloc).
func view[T any](ptr, n uint32) []T {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*T)(unsafe.Add(nil, ptr)), n)
}

//go:wasmimport wasmoe_v1 log
func hostLog(level, ptr, n uint32)

// Log writes a message to the host's bounded log for this instance (level: abi.LogDebug … abi.LogError).
func Log(level uint32, msg string) {
	if msg == "" {
		return
	}
	hostLog(level, uint32(uintptr(unsafe.Pointer(unsafe.StringData(msg)))), uint32(len(msg)))
}
