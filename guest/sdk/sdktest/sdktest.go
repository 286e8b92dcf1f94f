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
	Name   string // the model's name
	Tokens []int32
	Freed  bool
	Calls  int // SeqForward and SeqForwardAll calls that ran the model
}

// Sequences is sdk.Sequences over toy models by name. Its fields are for the test to set and inspect.
type Sequences struct {
	Models    map[string]Model
	Room      int    // tokens a sequence holds; 0 = any number
	Forwarded int    // tokens run, all sequences together
	Seqs      []*Seq // by handle, freed ones included

	handles []string
}

// Model opens a model by name; an unknown name is sdk.ErrNotFound.
func (f *Sequences) Model(name string) (sdk.ModelHandle, error) {
	if _, ok := f.Models[name]; !ok {
		return 0, fmt.Errorf("model %q: %w", name, sdk.ErrNotFound)
	}
	f.handles = append(f.handles, name)
	return sdk.ModelHandle(len(f.handles) - 1), nil
}

// SeqNew opens an empty sequence on a model.
func (f *Sequences) SeqNew(m sdk.ModelHandle) (sdk.SeqHandle, error) {
	if int(m) < 0 || int(m) >= len(f.handles) {
		return 0, sdk.ErrHandle
	}
	f.Seqs = append(f.Seqs, &Seq{Model: f.Models[f.handles[m]], Name: f.handles[m]})
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
	s.Calls++
	n := s.Model.Vocab
	if n > len(logits) {
		return n, fmt.Errorf("%d logits do not fit in %d", n, len(logits))
	}
	copy(logits, s.Model.Logits(s.Tokens, n))
	return n, nil
}

// SeqForwardAll answers as the host does: SeqForward's errors, and sdk.ErrBadInput with nothing appended
// when logits is short of a row per id; otherwise the logits after every id, row by row.
func (f *Sequences) SeqForwardAll(h sdk.SeqHandle, ids []int32, logits []float32) (int, error) {
	s, err := f.seq(h)
	if err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		return 0, sdk.ErrBadInput
	}
	for _, id := range ids {
		if id < 0 || int(id) >= s.Model.Vocab {
			return 0, sdk.ErrBadInput
		}
	}
	if f.Room > 0 && len(s.Tokens)+len(ids) > f.Room {
		return 0, sdk.ErrLimit
	}
	n := s.Model.Vocab
	if len(ids)*n > len(logits) {
		return n, fmt.Errorf("%d rows of %d logits do not fit in %d: %w", len(ids), n, len(logits), sdk.ErrBadInput)
	}
	for i, id := range ids {
		s.Tokens = append(s.Tokens, id)
		copy(logits[i*n:(i+1)*n], s.Model.Logits(s.Tokens, n))
	}
	f.Forwarded += len(ids)
	s.Calls++
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
