package bpe

import "github.com/wasmoe/wasmoe/guest/abi"

// pieceKind says how a token decodes.
type pieceKind uint8

const (
	pieceEmpty   pieceKind = iota // UNUSED, BYTE and undefined types: nothing, as in llama.cpp
	pieceText                     // normal tokens (byte-level text reversed) and USER_DEFINED (literal)
	pieceSpecial                  // CONTROL and UNKNOWN: the literal text, only when asked for
)

// pieceTable holds the bytes of every token, concatenated.
type pieceTable struct {
	bytes []byte
	off   []uint32 // token id's bytes are bytes[off[id]:off[id+1]]
	kind  []pieceKind
}

func newPieceTable(tokens []string, types []int32) pieceTable {
	p := pieceTable{off: make([]uint32, 1, len(tokens)+1), kind: make([]pieceKind, len(tokens))}
	for id, s := range tokens {
		typ := abi.TokenNormal
		if len(types) != 0 {
			typ = types[id]
		}
		switch typ {
		case abi.TokenNormal:
			p.kind[id] = pieceText
			p.bytes = decodeByteLevel(p.bytes, s)
		case abi.TokenUserDefined:
			p.kind[id] = pieceText
			p.bytes = append(p.bytes, s...)
		case abi.TokenControl, abi.TokenUnknown:
			p.kind[id] = pieceSpecial
			p.bytes = append(p.bytes, s...)
		}
		p.off = append(p.off, uint32(len(p.bytes)))
	}
	return p
}

// appendPiece appends the bytes of id to dst.
func (p *pieceTable) appendPiece(dst []byte, id int32, special bool) []byte {
	if id < 0 || int(id) >= len(p.kind) || p.kind[id] == pieceSpecial && !special {
		return dst
	}
	return append(dst, p.bytes[p.off[id]:p.off[id+1]]...)
}

// Piece returns the bytes of token id: for a normal token the bytes its byte-level text spells, for a
// USER_DEFINED token its text, for a CONTROL or UNKNOWN token its text if special is set and nothing
// otherwise; UNUSED and BYTE tokens give nothing. An id out of range gives nil.
func (t *Tokenizer) Piece(id int32, special bool) []byte {
	if id < 0 || int(id) >= len(t.pieces.kind) {
		return nil
	}
	return t.pieces.appendPiece([]byte{}, id, special)
}

// Decode concatenates the pieces of ids (see Piece), skipping ids out of range. The result may end in
// the middle of a UTF-8 sequence; stream decoders must hold such bytes back.
func (t *Tokenizer) Decode(ids []int32, special bool) []byte {
	var out []byte
	for _, id := range ids {
		out = t.pieces.appendPiece(out, id, special)
	}
	return out
}
