package wasm

import (
	"context"
	"encoding/binary"
	"unsafe"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// Tokenizer runs a tokenizer guest: text to token ids and back, one pooled instance per call.
type Tokenizer struct{ p *pool }

// NewTokenizer compiles the guest and starts one instance built from v, to fail early on a bad guest or
// vocabulary; more start on demand, up to poolSize.
func NewTokenizer(r *Runtime, wasm []byte, v *abi.Vocab, poolSize int) (*Tokenizer, error) {
	ctx := context.Background()
	cm, err := r.compile(ctx, wasm, abi.ExportTokInit, abi.ExportTokEncode, abi.ExportTokResult, abi.ExportTokPiece, abi.ExportTokDecode)
	if err != nil {
		return nil, err
	}
	blob, err := v.MarshalBinary()
	if err != nil {
		return nil, err
	}
	t := &Tokenizer{p: newPool(r, cm, poolSize, func(ctx context.Context, inst *Instance) error {
		ptr, err := inst.write(ctx, blob)
		if err != nil {
			return err
		}
		res, err := inst.call(ctx, abi.ExportTokInit, uint64(ptr), uint64(len(blob)))
		if err != nil {
			return err
		}
		_, err = inst.status(abi.ExportTokInit, res)
		return err
	})}
	inst, err := t.p.get(ctx)
	if err != nil {
		return nil, err
	}
	t.p.put(inst)
	return t, nil
}

// Encode tokenizes text; addSpecial adds BOS/EOS as the vocabulary asks, parseSpecial matches control
// tokens written in the text.
func (t *Tokenizer) Encode(ctx context.Context, text string, addSpecial, parseSpecial bool) ([]int32, error) {
	inst, err := t.p.get(ctx)
	if err != nil {
		return nil, err
	}
	defer t.p.put(inst)
	ptr, err := inst.write(ctx, unsafe.Slice(unsafe.StringData(text), len(text)))
	if err != nil {
		return nil, err
	}
	var flags uint64
	if addSpecial {
		flags |= abi.FlagAddSpecial
	}
	if parseSpecial {
		flags |= abi.FlagParseSpecial
	}
	res, err := inst.call(ctx, abi.ExportTokEncode, uint64(ptr), uint64(len(text)), flags)
	if err != nil {
		return nil, err
	}
	n, err := inst.status(abi.ExportTokEncode, res)
	if err != nil || n == 0 {
		return []int32{}, err
	}
	b, err := t.result(ctx, inst, uint32(n)*4)
	if err != nil {
		return nil, err
	}
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return ids, nil
}

// Piece returns the bytes of one token (special: control tokens give their text, else nothing).
func (t *Tokenizer) Piece(ctx context.Context, id int32, special bool) ([]byte, error) {
	inst, err := t.p.get(ctx)
	if err != nil {
		return nil, err
	}
	defer t.p.put(inst)
	res, err := inst.call(ctx, abi.ExportTokPiece, uint64(uint32(id)), boolArg(special))
	if err != nil {
		return nil, err
	}
	return t.bytes(ctx, inst, abi.ExportTokPiece, res)
}

// Decode turns token ids into bytes.
func (t *Tokenizer) Decode(ctx context.Context, ids []int32, special bool) ([]byte, error) {
	inst, err := t.p.get(ctx)
	if err != nil {
		return nil, err
	}
	defer t.p.put(inst)
	ptr, err := inst.write(ctx, int32Bytes(ids))
	if err != nil {
		return nil, err
	}
	res, err := inst.call(ctx, abi.ExportTokDecode, uint64(ptr), uint64(len(ids)), boolArg(special))
	if err != nil {
		return nil, err
	}
	return t.bytes(ctx, inst, abi.ExportTokDecode, res)
}

func (t *Tokenizer) bytes(ctx context.Context, inst *Instance, name string, res uint64) ([]byte, error) {
	n, err := inst.status(name, res)
	if err != nil || n == 0 {
		return nil, err
	}
	return t.result(ctx, inst, uint32(n))
}

// result copies n bytes of the guest's last result.
func (t *Tokenizer) result(ctx context.Context, inst *Instance, n uint32) ([]byte, error) {
	ptr, err := inst.call(ctx, abi.ExportTokResult)
	if err != nil {
		return nil, err
	}
	return inst.read(uint32(ptr), n)
}

func boolArg(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// int32Bytes views ids as little-endian bytes (wasm and every host wasmoe runs on are little-endian).
func int32Bytes(ids []int32) []byte {
	if len(ids) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&ids[0])), 4*len(ids))
}
