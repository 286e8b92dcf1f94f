//go:build wasip1

package sdk

import (
	"fmt"
	"unsafe"

	"github.com/wasmoe/wasmoe/guest/abi"
)

//go:wasmimport wasmoe_v1 model_info
func hostModelInfo(ptr, capacity uint32) int32

//go:wasmimport wasmoe_v1 vocab
func hostVocab(ptr, capacity uint32) int32

//go:wasmimport wasmoe_v1 buf_register
func hostBufRegister(kind int32, ptr, n uint32) int32

//go:wasmimport wasmoe_v1 config
func hostConfig(ptr, capacity uint32) int32

// fetchImport reads a (ptr, cap) -> len | error import into a fresh buffer.
func fetchImport(name string, guess int, f func(ptr, capacity uint32) int32) ([]byte, error) {
	return fetch(name, guess, func(b []byte) int32 { return f(ptrOrZero(b), uint32(len(b))) })
}

// ReadModelInfo reads and checks the model_info record (a policy guest, from ctl_init on).
func ReadModelInfo() (ModelInfo, error) {
	b, err := fetchImport(abi.ImportModelInfo, abi.ModelInfoSize, hostModelInfo)
	if err != nil {
		return ModelInfo{}, err
	}
	return ParseModelInfo(b)
}

// Vocab reads the model's token table (a policy guest, from ctl_init on). The tokens alias one buffer the
// table keeps.
func Vocab() (*TokenTable, error) {
	b, err := fetchImport(abi.ImportVocab, 0, hostVocab)
	if err != nil {
		return nil, err
	}
	return ParseTokenTable(b)
}

// Config reads the request's plugin config bytes (in ctl_open and later; empty when the request gave
// none).
func Config() ([]byte, error) { return fetchImport(abi.ImportConfig, 256, hostConfig) }

// RegisterBuffer tells the host that b (of element type uint32, int32, BiasPair, Candidate, byte …) is
// the buffer of a kind (abi.BufMask …) it reads or writes in place. b must stay reachable and unmoved (a
// package-level or Controller-owned slice) for the instance's life.
func RegisterBuffer[T any](kind int32, b []T) error {
	if len(b) == 0 {
		return fmt.Errorf("sdk: %s: empty buffer: %w", abi.ImportBufRegister, ErrBadInput)
	}
	var zero T
	return callErr(abi.ImportBufRegister, hostBufRegister(kind, Ptr(b), uint32(len(b))*uint32(unsafe.Sizeof(zero))))
}
