//go:build !wasip1

package sdk

import "github.com/wasmoe/wasmoe/guest/abi"

// gbnfMask has no host to ask in a native build.
func gbnfMask(string, []byte, []uint32) (int32, error) {
	return 0, callErr(abi.ImportGBNFMask, int32(ErrNotReady))
}

// jsonSchemaMask has no host to ask in a native build.
func jsonSchemaMask([]byte, []byte, []uint32) (int32, error) {
	return 0, callErr(abi.ImportJSONSchemaMask, int32(ErrNotReady))
}
