package wasm

import (
	"context"
	"encoding/binary"
	"unsafe"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// Tokenizer runs a tokenizer guest: text to token ids and back, one pooled instance per call.
type Tokenizer struct{ p *pool }

// NewTokenizer compiles the guest, checks it against the ABI, and starts one instance built from v (each
// instance reads v in its tok_init), to fail early on a bad guest or vocabulary; more start on demand, up
// to poolSize.
func NewTokenizer(r *Runtime, wasm []byte, v *abi.Vocab, poolSize int) (*Tokenizer, error) {
	ctx := context.Background()
	cm, err := r.compile(ctx, wasm, tokenizerKind)
	if err != nil {
		return nil, err
	}
	blob, err := v.MarshalBinary()
	if err != nil {
		return nil, err
	}
	t := &Tokenizer{p: newPool(r, cm, poolSize, func(ctx context.Context, inst *instance) error {
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
	b, err := t.result(ctx, inst, abi.ExportTokEncode, 4, uint64(ptr), uint64(len(text)), flags)
	if err != nil {
		return nil, err
	}
	ids := make([]int32, len(b)/4)
	for i := range ids {
		ids[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return ids, nil
}

// Piece returns the bytes of one token (special: control tokens give their text, else nothing). The
// engine calls it once per generated token.
func (t *Tokenizer) Piece(ctx context.Context, id int32, special bool) ([]byte, error) {
	inst, err := t.p.get(ctx)
	if err != nil {
		return nil, err
	}
	defer t.p.put(inst)
	b, err := t.result(ctx, inst, abi.ExportTokPiece, 1, uint64(uint32(id)), boolArg(special))
	if err != nil {
		return nil, err
	}
	return clone(b), nil
}

// Decode turns token ids into bytes.
func (t *Tokenizer) Decode(ctx context.Context, ids []int32, special bool) ([]byte, error) {
	inst, err := t.p.get(ctx)
	if err != nil {
		return nil, err
	}
	defer t.p.put(inst)
	ptr, err := inst.writeInt32s(ctx, ids)
	if err != nil {
		return nil, err
	}
	b, err := t.result(ctx, inst, abi.ExportTokDecode, 1, uint64(ptr), uint64(len(ids)), boolArg(special))
	if err != nil {
		return nil, err
	}
	return clone(b), nil
}

// result calls an export that returns a count of size-byte items (or a negative status) and leaves them
// at tok_result, and returns a view of them in guest memory, valid until the next call into the guest.
func (t *Tokenizer) result(ctx context.Context, inst *instance, name string, size uint32, args ...uint64) ([]byte, error) {
	res, err := inst.call(ctx, name, args...)
	if err != nil {
		return nil, err
	}
	n, err := inst.status(name, res)
	if err != nil || n == 0 {
		return nil, err
	}
	ptr, err := inst.call(ctx, abi.ExportTokResult)
	if err != nil {
		return nil, err
	}
	return inst.view(uint32(ptr), uint32(n)*size)
}

// clone copies a view out of guest memory.
func clone(b []byte) []byte { return append([]byte{}, b...) }

func boolArg(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// Warm starts instances until n exist (at most the pool's size): a burst of requests then finds them
// ready.
func (t *Tokenizer) Warm(ctx context.Context, n int) error { return t.p.warm(ctx, n) }
