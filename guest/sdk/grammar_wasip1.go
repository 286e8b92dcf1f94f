//go:build wasip1

package sdk

import "github.com/wasmoe/wasmoe/guest/abi"

//go:wasmimport wasmoe_v1 gbnf_mask
func hostGBNFMask(grammar, grammarLen, text, textLen, mask, words uint32) int32

func gbnfMask(grammar string, text []byte, mask []uint32) (int32, error) {
	r := hostGBNFMask(strPtr(grammar), uint32(len(grammar)), ptrOrZero(text), uint32(len(text)), ptrOrZero(mask),
		uint32(len(mask)))
	return r, callErr(abi.ImportGBNFMask, r)
}

//go:wasmimport wasmoe_v1 json_schema_mask
func hostJSONSchemaMask(schema, schemaLen, text, textLen, mask, words uint32) int32

func jsonSchemaMask(schema, text []byte, mask []uint32) (int32, error) {
	r := hostJSONSchemaMask(ptrOrZero(schema), uint32(len(schema)), ptrOrZero(text), uint32(len(text)), ptrOrZero(mask),
		uint32(len(mask)))
	return r, callErr(abi.ImportJSONSchemaMask, r)
}
