// Package sdktest is a fake host for testing policy guests natively: sdk.Sequences over toy models,
// answering as the host's kernel imports do.
package sdktest

import (
	"fmt"

	"github.com/wasmoe/wasmoe/guest/sdk"
)

// Model is a toy model: its logits per step and its next-token logits after a sequence's tokens.
type Model struct {
	Vocab  int
	Logits func(toks []int32, n int) []float32
}

// Seq is a sequence a guest opened.
type Seq struct {
	Model  Model
	Tokens []int32
	Freed  bool
}

// Sequences is sdk.Sequences over toy models by name. Its fields are for the test to set and inspect.
type Sequences struct {
	Models    map[string]Model
	Room      int    // tokens a sequence holds; 0 = any number
	Forwarded int    // tokens run, all sequences together
	Seqs      []*Seq // by handle, freed ones included

	handles []Model
}

// Model opens a model by name; an unknown name is sdk.ErrNotFound.
func (f *Sequences) Model(name string) (sdk.ModelHandle, error) {
	m, ok := f.Models[name]
	if !ok {
		return 0, fmt.Errorf("model %q: %w", name, sdk.ErrNotFound)
	}
	f.handles = append(f.handles, m)
	return sdk.ModelHandle(len(f.handles) - 1), nil
}

// SeqNew opens an empty sequence on a model.
func (f *Sequences) SeqNew(m sdk.ModelHandle) (sdk.SeqHandle, error) {
	if int(m) < 0 || int(m) >= len(f.handles) {
		return 0, sdk.ErrHandle
	}
	f.Seqs = append(f.Seqs, &Seq{Model: f.handles[m]})
	return sdk.SeqHandle(len(f.Seqs) - 1), nil
}

func (f *Sequences) seq(h sdk.SeqHandle) (*Seq, error) {
	if int(h) < 0 || int(h) >= len(f.Seqs) || f.Seqs[h].Freed {
		return nil, sdk.ErrHandle
	}
	return f.Seqs[h], nil
}

// SeqForward answers as the host does: ErrBadInput for a token outside the model's vocabulary, ErrLimit
// (appending nothing) past the sequence's room, and the logit count with nothing written when logits is
// too short.
func (f *Sequences) SeqForward(h sdk.SeqHandle, ids []int32, logits []float32) (int, error) {
	s, err := f.seq(h)
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if id < 0 || int(id) >= s.Model.Vocab {
			return 0, sdk.ErrBadInput
		}
	}
	if f.Room > 0 && len(s.Tokens)+len(ids) > f.Room {
		return 0, sdk.ErrLimit
	}
	s.Tokens = append(s.Tokens, ids...)
	f.Forwarded += len(ids)
	n := s.Model.Vocab
	if n > len(logits) {
		return n, fmt.Errorf("%d logits do not fit in %d", n, len(logits))
	}
	copy(logits, s.Model.Logits(s.Tokens, n))
	return n, nil
}

// SeqTrim drops a sequence's tokens past keep.
func (f *Sequences) SeqTrim(h sdk.SeqHandle, keep int) error {
	s, err := f.seq(h)
	if err == nil && keep < len(s.Tokens) {
		s.Tokens = s.Tokens[:keep]
	}
	return err
}

// SeqFree releases a sequence.
func (f *Sequences) SeqFree(h sdk.SeqHandle) error {
	s, err := f.seq(h)
	if err == nil {
		s.Freed = true
	}
	return err
}
