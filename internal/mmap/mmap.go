// Package mmap maps model files read-only into memory, so that tensors can be zero-copy views.
package mmap

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// Map maps the whole regular file at path read-only. An empty file gives an empty slice. Unmap releases
// the mapping; slices of it are invalid afterwards.
func Map(path string) ([]byte, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	size := st.Size()
	if size == 0 {
		return []byte{}, nil
	}
	if int64(int(size)) != size {
		return nil, fmt.Errorf("%s: file too large to map", path)
	}
	data, err := syscall.Mmap(int(fd.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap %s: %w", path, err)
	}
	return data, nil
}

// Unmap releases a mapping made by Map (an empty one needs none).
func Unmap(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	return syscall.Munmap(b)
}

// Release drops the whole pages inside b from this process's resident memory (madvise MADV_DONTNEED)
// without changing what b reads: b must lie inside a mapping made by Map, a read-only shared mapping of
// a file, whose dropped pages come back from the page cache (or the file) on the next access. For a
// loader that has copied part of a mapped file elsewhere, so that the copy is not counted twice.
func Release(b []byte) error {
	page := uintptr(os.Getpagesize())
	if len(b) == 0 {
		return nil
	}
	lo := uintptr(unsafe.Pointer(&b[0]))
	hi := lo + uintptr(len(b))
	lo = (lo + page - 1) &^ (page - 1)
	hi &^= page - 1
	if lo >= hi {
		return nil
	}
	off := lo - uintptr(unsafe.Pointer(&b[0]))
	return syscall.Madvise(b[off:off+(hi-lo)], syscall.MADV_DONTNEED)
}
