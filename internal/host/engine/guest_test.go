package engine

import (
	"os"
	"path/filepath"
)

// guestABI is what every policy guest written in these tests needs of ABI v1 besides its ctl_ exports:
// the marker and the allocator. buildTestGuest appends it to the guest's main.go (which imports unsafe).
const guestABI = `
var allocs = map[uint32][]uint64{}

func ptr[T any](b []T) uint32 { return uint32(uintptr(unsafe.Pointer(&b[0]))) }

func main() {}

//go:wasmexport wasmoe_abi_v1
func marker() {}

//go:wasmexport wasmoe_alloc
func alloc(n uint32) uint32 {
	b := make([]uint64, n/8+1)
	allocs[ptr(b)] = b
	return ptr(b)
}

//go:wasmexport wasmoe_free
func free(p uint32) { delete(allocs, p) }
`

// buildTestGuest builds a Go policy guest, module name, from the source of its main.go plus guestABI.
func buildTestGuest(name, main string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "wasmoe-"+name)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	for file, text := range map[string]string{"go.mod": "module " + name + "\n\ngo 1.24\n", "main.go": main + guestABI} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(text), 0o644); err != nil {
			return nil, err
		}
	}
	return buildGuest(dir, ".")
}
