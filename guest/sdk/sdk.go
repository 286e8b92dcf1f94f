//go:build wasip1

// Package sdk is the Go side of the wasmoe guest ABI v0 (guest/ABI.md): the marker export, the buffer
// allocator the host writes through, the host's log, and helpers to view guest memory. Import it from a
// `package main` built with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared.
package sdk

import "unsafe"

// buffers keeps every allocation the host was given reachable, so the garbage collector never frees memory
// the host is about to write.
var buffers = map[uint32][]byte{}

//go:wasmexport wasmoe_abi_v0
func marker() {}

// Alloc returns a buffer of size bytes owned by the guest and kept alive until Free.
//
//go:wasmexport wasmoe_alloc
func Alloc(size uint32) uint32 {
	if size == 0 {
		size = 1
	}
	b := make([]byte, size)
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

// Bytes views n bytes of guest memory at ptr.
func Bytes(ptr, n uint32) []byte {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(uintptr(ptr))), n)
}

// Int32s views n int32s of guest memory at ptr.
func Int32s(ptr, n uint32) []int32 {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(uintptr(ptr))), n)
}

// Float32s views n float32s of guest memory at ptr.
func Float32s(ptr, n uint32) []float32 {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(uintptr(ptr))), n)
}

//go:wasmimport wasmoe_v0 log
func hostLog(level, ptr, n uint32)

// Log writes a message to the host's bounded log for this instance.
func Log(level uint32, msg string) {
	if msg == "" {
		return
	}
	b := []byte(msg)
	hostLog(level, Ptr(b), uint32(len(b)))
}
