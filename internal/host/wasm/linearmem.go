package wasm

import (
	"github.com/tetratelabs/wazero/experimental"
	"golang.org/x/sys/unix"
)

// touchChunk is how many bytes of newly opened memory are touched between two looks at the deadline.
const touchChunk = 1 << 20

// osPage is the stride of the touch: no system wasmoe runs on has smaller pages.
const osPage = 4096

// mappedMemory backs a wazero guest's linear memory with its own mapping instead of a Go slice.
//
// wazero v1.12 keeps linear memory in a []byte that memory.grow reallocates with append: every grow past
// the capacity allocates, zeroes and copies the whole memory inside that one instruction, which the meter
// cannot interrupt (seconds for hundreds of MiB), and the old buffers pile up on the Go heap, which keeps
// them mapped long after the instance is gone. Here the memory's whole maximum is reserved at once without
// access; memory.grow opens the new pages (mprotect: no copy) and touches each of them once, a chunk at a
// time, stopping at the running call's deadline; and closing the instance unmaps it, so its pages go back
// to the OS at once.
//
// The touch is what keeps a deadline: the first access to a fresh page costs a page fault (a few µs; 6 to
// 25 µs in a VM, where even a page the kernel populated in advance costs that much on its first access),
// and a guest touching fresh pages itself makes one per store, which the meter counts as one instruction:
// its loop would run seconds between two ticks over a few hundred MiB. Touched here, the cost falls where
// the deadline is checked, and the guest's own accesses are cheap.
type mappedMemory struct {
	reserved []byte      // the whole mapping, max bytes
	open     int         // bytes readable and writable from its start
	stop     func() bool // whether the running call is past its deadline
}

// mappedAllocator is the wazero memory allocator of an instance's mappedMemory, for the instantiation
// context (experimental.WithMemoryAllocator); stop says whether the instance's running call should stop.
func mappedAllocator(stop func() bool) experimental.MemoryAllocator {
	return experimental.MemoryAllocatorFunc(func(_, maxBytes uint64) experimental.LinearMemory {
		m := &mappedMemory{stop: stop}
		if maxBytes > 0 {
			// Without access: a reservation of address space only (the kernel commits memory to the pages
			// Reallocate opens). When it fails (address space or mappings exhausted), Reallocate has nothing
			// to give and the instance does not start.
			m.reserved, _ = unix.Mmap(-1, 0, int(maxBytes), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANON)
		}
		return m
	})
}

// Reallocate opens and touches the memory up to size bytes (a whole number of wasm pages) and returns
// it. It returns nil, which memory.grow reports as failure, when size is past the reservation, the pages
// cannot be opened, or the call's deadline passes while it touches them (the guest is then stopped at
// its next tick).
func (m *mappedMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.reserved)) {
		return nil
	}
	if n := int(size); n > m.open {
		old := m.open
		if unix.Mprotect(m.reserved[old:n], unix.PROT_READ|unix.PROT_WRITE) != nil {
			return nil
		}
		for done := old; done < n; done += touchChunk {
			if m.stop() {
				m.close(old, n)
				return nil
			}
			touch(m.reserved[done:min(done+touchChunk, n)])
		}
		m.open = n
	}
	return m.reserved[:size:size]
}

// touch writes a zero to each page of b, so that the kernel maps it now.
func touch(b []byte) {
	for off := 0; off < len(b); off += osPage {
		b[off] = 0
	}
}

// close gives back the pages of [from, to) and makes them inaccessible again: a grow that failed leaves
// the memory as it was.
func (m *mappedMemory) close(from, to int) {
	unix.Madvise(m.reserved[from:to], unix.MADV_DONTNEED)
	unix.Mprotect(m.reserved[from:to], unix.PROT_NONE)
}

// Free unmaps the memory: its pages go back to the OS.
func (m *mappedMemory) Free() {
	if m.reserved != nil {
		unix.Munmap(m.reserved)
		m.reserved, m.open = nil, 0
	}
}
