package abi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Token types of tokenizer.ggml.token_type, as llama.cpp numbers them.
const (
	TokenUndefined   int32 = 0
	TokenNormal      int32 = 1
	TokenUnknown     int32 = 2
	TokenControl     int32 = 3
	TokenUserDefined int32 = 4
	TokenUnused      int32 = 5
	TokenByte        int32 = 6
)

// Vocab is a model's tokenizer as read from its GGUF metadata: what the host hands the tokenizer guest.
type Vocab struct {
	Model  string   // tokenizer.ggml.model, e.g. "gpt2"
	Pre    string   // tokenizer.ggml.pre, e.g. "qwen2", "llama-bpe", "deepseek-v3"; "" when absent
	Tokens []string // index = id; byte-level-encoded text (GPT-2 byte map) for normal tokens
	Types  []int32  // tokenizer.ggml.token_type per token (TokenNormal …); empty means all normal
	Merges []string // "left right", index = rank

	// Special token ids, -1 when absent.
	BOS, EOS, EOT, EOM, PAD, UNK int32

	AddBOS, AddEOS bool // tokenizer.ggml.add_bos_token, add_eos_token
}

// The vocab blob, all integers little-endian:
//
//	magic    [4]byte  "WVOC"
//	version  uint32   1
//	flags    uint32   bit 0 AddBOS, bit 1 AddEOS; other bits must be 0
//	ids      6×int32  BOS, EOS, EOT, EOM, PAD, UNK; each -1 or a valid token index
//	model    string
//	pre      string
//	tokens   uint32 count, then count strings
//	types    uint32 count (0 or the token count), then count int32
//	merges   uint32 count, then count strings
//
// A string is a uint32 byte length followed by the bytes. Nothing may follow the merges.
const (
	vocabMagic   = "WVOC"
	vocabVersion = 1
	vocabHeader  = 4 + 4 + 4 + 6*4
)

const (
	flagAddBOS = 1 << iota
	flagAddEOS
)

// ErrVocab is wrapped by every error UnmarshalBinary and MarshalBinary return.
var ErrVocab = errors.New("vocab blob")

func vocabErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrVocab, fmt.Sprintf(format, args...))
}

// specialIDs lists the special-token fields in blob order.
func (v *Vocab) specialIDs() [6]*int32 {
	return [6]*int32{&v.BOS, &v.EOS, &v.EOT, &v.EOM, &v.PAD, &v.UNK}
}

var specialNames = [6]string{"BOS", "EOS", "EOT", "EOM", "PAD", "UNK"}

// check reports the first inconsistency between the fields of v.
func (v *Vocab) check() error {
	if len(v.Types) != 0 && len(v.Types) != len(v.Tokens) {
		return vocabErr("%d token types for %d tokens", len(v.Types), len(v.Tokens))
	}
	for i, p := range v.specialIDs() {
		if *p < -1 || int64(*p) >= int64(len(v.Tokens)) {
			return vocabErr("%s id %d out of range (%d tokens)", specialNames[i], *p, len(v.Tokens))
		}
	}
	return nil
}

// MarshalBinary encodes v in the vocab blob format.
func (v *Vocab) MarshalBinary() ([]byte, error) {
	if err := v.check(); err != nil {
		return nil, err
	}
	size := vocabHeader + 4 + len(v.Model) + 4 + len(v.Pre) + 4 + 4 + 4*len(v.Types) + 4
	for _, lists := range [][]string{v.Tokens, v.Merges} {
		if uint64(len(lists)) > math.MaxUint32 {
			return nil, vocabErr("%d strings in one section", len(lists))
		}
		for _, s := range lists {
			size += 4 + len(s)
		}
	}
	b := make([]byte, 0, size)
	b = append(b, vocabMagic...)
	b = binary.LittleEndian.AppendUint32(b, vocabVersion)
	var flags uint32
	if v.AddBOS {
		flags |= flagAddBOS
	}
	if v.AddEOS {
		flags |= flagAddEOS
	}
	b = binary.LittleEndian.AppendUint32(b, flags)
	for _, p := range v.specialIDs() {
		b = binary.LittleEndian.AppendUint32(b, uint32(*p))
	}
	var err error
	appendStr := func(s string) {
		if uint64(len(s)) > math.MaxUint32 {
			err = vocabErr("string of %d bytes", len(s))
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	appendStr(v.Model)
	appendStr(v.Pre)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(v.Tokens)))
	for _, s := range v.Tokens {
		appendStr(s)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(v.Types)))
	for _, t := range v.Types {
		b = binary.LittleEndian.AppendUint32(b, uint32(t))
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(v.Merges)))
	for _, s := range v.Merges {
		appendStr(s)
	}
	if err != nil {
		return nil, err
	}
	return b, nil
}

// blobReader walks a vocab blob; the first error sticks and names the section being read.
type blobReader struct {
	s       string // the whole blob: strings are substrings of one copy
	off     int
	section string
	err     error
}

func (r *blobReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = vocabErr("%s at byte %d: %s", r.section, r.off, fmt.Sprintf(format, args...))
	}
}

func (r *blobReader) u32() uint32 {
	if r.err != nil {
		return 0
	}
	if len(r.s)-r.off < 4 {
		r.fail("truncated: need 4 bytes, %d left", len(r.s)-r.off)
		return 0
	}
	x := uint32(r.s[r.off]) | uint32(r.s[r.off+1])<<8 | uint32(r.s[r.off+2])<<16 | uint32(r.s[r.off+3])<<24
	r.off += 4
	return x
}

func (r *blobReader) str() string {
	n := r.u32()
	if r.err != nil {
		return ""
	}
	if uint64(n) > uint64(len(r.s)-r.off) {
		r.fail("string of %d bytes, %d left", n, len(r.s)-r.off)
		return ""
	}
	s := r.s[r.off : r.off+int(n)]
	r.off += int(n)
	return s
}

// count reads an element count and checks that that many elements of at least minSize bytes fit.
func (r *blobReader) count(minSize int) int {
	n := r.u32()
	if r.err != nil {
		return 0
	}
	if uint64(n) > uint64(len(r.s)-r.off)/uint64(minSize) {
		r.fail("count %d does not fit in the %d bytes left", n, len(r.s)-r.off)
		return 0
	}
	return int(n)
}

func (r *blobReader) strs() []string {
	n := r.count(4)
	if r.err != nil {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.str()
	}
	return out
}

// UnmarshalBinary decodes a vocab blob into v. It checks every count and length against len(b) before
// allocating, validates the special ids and the token-type count, and never panics; on error v is unchanged.
func (v *Vocab) UnmarshalBinary(b []byte) error {
	if len(b) < vocabHeader {
		return vocabErr("%d bytes, too short for the %d-byte header", len(b), vocabHeader)
	}
	if string(b[:4]) != vocabMagic {
		return vocabErr("bad magic %q, want %q", b[:4], vocabMagic)
	}
	r := &blobReader{s: string(b), off: 4, section: "header"}
	if ver := r.u32(); ver != vocabVersion {
		return vocabErr("version %d, want %d", ver, vocabVersion)
	}
	var out Vocab
	flags := r.u32()
	if flags&^(flagAddBOS|flagAddEOS) != 0 {
		return vocabErr("unknown flags %#x", flags)
	}
	out.AddBOS = flags&flagAddBOS != 0
	out.AddEOS = flags&flagAddEOS != 0
	for _, p := range out.specialIDs() {
		*p = int32(r.u32())
	}
	r.section = "model"
	out.Model = r.str()
	r.section = "pre"
	out.Pre = r.str()
	r.section = "tokens"
	out.Tokens = r.strs()
	r.section = "types"
	if n := r.count(4); n > 0 {
		out.Types = make([]int32, n)
		for i := range out.Types {
			out.Types[i] = int32(r.u32())
		}
	}
	r.section = "merges"
	out.Merges = r.strs()
	if r.err != nil {
		return r.err
	}
	if r.off != len(r.s) {
		return vocabErr("%d trailing bytes after the merges", len(r.s)-r.off)
	}
	if err := out.check(); err != nil {
		return err
	}
	*v = out
	return nil
}
