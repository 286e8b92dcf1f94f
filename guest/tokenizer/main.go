//go:build wasip1

// Command tokenizer is the built-in tokenizer guest (ABI v1: marker wasmoe_abi_v1, imports from wasmoe_v1,
// through guest/sdk; exports tok_*, guest/abi): byte-level BPE built from the model's vocabulary blob
// (guest/abi.Vocab), with llama.cpp's pre-tokenizers, special tokens and detokenization.
package main

import (
	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/guest/internal/bpe"
	"github.com/wasmoe/wasmoe/guest/sdk"
)

var (
	tok    *bpe.Tokenizer
	ids    []int32 // result of the last tok_encode
	out    []byte  // result of the last tok_piece / tok_decode
	result uint32  // address of the last result
)

//go:wasmexport tok_init
func initTokenizer(ptr, n uint32) int32 {
	var v abi.Vocab
	if err := v.UnmarshalBinary(sdk.Bytes(ptr, n)); err != nil {
		sdk.Log(abi.LogError, err.Error())
		return abi.ErrBadInput
	}
	t, err := bpe.New(&v)
	if err != nil {
		sdk.Log(abi.LogError, err.Error())
		return abi.ErrBadInput
	}
	tok = t
	return abi.OK
}

//go:wasmexport tok_encode
func encode(ptr, n, flags uint32) int32 {
	if tok == nil {
		return abi.ErrNotReady
	}
	ids = tok.Encode(string(sdk.Bytes(ptr, n)), flags&abi.FlagAddSpecial != 0, flags&abi.FlagParseSpecial != 0)
	if len(ids) > 0 {
		result = sdk.Ptr(ids)
	}
	return int32(len(ids))
}

//go:wasmexport tok_result
func lastResult() uint32 { return result }

//go:wasmexport tok_piece
func piece(id int32, special uint32) int32 {
	if tok == nil {
		return abi.ErrNotReady
	}
	return setBytes(tok.Piece(id, special != 0))
}

//go:wasmexport tok_decode
func decode(ptr, n, special uint32) int32 {
	if tok == nil {
		return abi.ErrNotReady
	}
	return setBytes(tok.Decode(sdk.Int32s(ptr, n), special != 0))
}

func setBytes(b []byte) int32 {
	out = b
	if len(b) > 0 {
		result = sdk.Ptr(b)
	}
	return int32(len(b))
}

func main() {}
