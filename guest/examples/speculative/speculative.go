package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/guest/sdk"
)

// Defaults and bounds of the config.
const (
	defaultK = 4
	maxK     = 64
)

// config is the request's plugin config.
type config struct {
	Draft string `json:"draft"`
	K     int    `json:"k"`
}

// modelSeq is a sequence the policy runs on one model: the tokens in its cache and the logits after them.
type modelSeq struct {
	model  sdk.ModelHandle
	h      sdk.SeqHandle
	open   bool
	toks   []int32   // the tokens in the cache
	logits []float32 // the logits after toks when valid; its capacity is the buffer
	valid  bool
}

// state is one request sequence's.
type state struct {
	k       int
	history []int32  // every token the host reported: the prompt, then the spliced and sampled ones
	target  modelSeq // the request's model
	draft   modelSeq // the draft model
	drafts  []int32  // scratch
}

// Guest is the speculative policy. Its zero value is not usable: call New.
type Guest struct {
	k       sdk.Sequences
	config  func() ([]byte, error)
	vocab   func() (*sdk.TokenTable, error)
	info    sdk.ModelInfo
	special []bool // tokens the policy never splices: EOS, EOT, control and user-defined tokens
	seqs    map[int32]*state
}

// New returns the policy on host kernels k; config reads the request's config bytes and vocab the token
// table (sdk.Config and sdk.Vocab in the guest).
func New(k sdk.Sequences, config func() ([]byte, error), vocab func() (*sdk.TokenTable, error)) *Guest {
	return &Guest{k: k, config: config, vocab: vocab, seqs: map[int32]*state{}}
}

// Init reads the vocabulary's special tokens.
func (g *Guest) Init(info sdk.ModelInfo) error {
	g.info = info
	g.special = make([]bool, info.NLogits)
	for _, id := range []int32{info.EOS, info.EOT} {
		if id >= 0 && int(id) < len(g.special) {
			g.special[id] = true
		}
	}
	t, err := g.vocab()
	if err != nil {
		return err
	}
	for id, ty := range t.Types {
		if (int32(ty) == abi.TokenControl || int32(ty) == abi.TokenUserDefined) && id < len(g.special) {
			g.special[id] = true
		}
	}
	return nil
}

// Open reads the config of a new request (forgetting any earlier request's sequences, whose handles are
// gone with it), or copies a parent's tokens for a fork (its own sequences open on its first step).
func (g *Guest) Open(seq, parent int32) error {
	if parent >= 0 {
		p := g.seqs[parent]
		g.seqs[seq] = &state{k: p.k, history: append([]int32(nil), p.history...),
			target: modelSeq{model: p.target.model}, draft: modelSeq{model: p.draft.model}}
		return nil
	}
	clear(g.seqs)
	b, err := g.config()
	if err != nil {
		return err
	}
	var c config
	if err := json.Unmarshal(b, &c); err != nil {
		return fmt.Errorf("speculative: config %q: %v: %w", b, err, sdk.ErrBadInput)
	}
	if c.K == 0 {
		c.K = defaultK
	}
	if c.K < 1 || c.K > maxK || c.Draft == "" {
		return fmt.Errorf("speculative: config %q: want a draft model and k from 1 to %d: %w", b, maxK, sdk.ErrBadInput)
	}
	target, err := g.k.Model("")
	if err != nil {
		return err
	}
	draft, err := g.k.Model(c.Draft)
	if err != nil {
		return err
	}
	g.seqs[seq] = &state{k: min(c.K, g.info.MaxSplice-1), target: modelSeq{model: target}, draft: modelSeq{model: draft}}
	return nil
}

// Step drafts, verifies and splices what the request's model agrees with.
func (g *Guest) Step(seq int32, ids []int32) sdk.Action {
	s := g.seqs[seq]
	s.history = append(s.history, ids...)
	a, err := g.step(s)
	switch {
	case errors.Is(err, sdk.ErrLimit): // a sequence is full: let the host go on alone
		return sdk.Sample()
	case err != nil:
		return sdk.Fail(err)
	}
	return a
}

// step is Step once the reported tokens are in s.history.
func (g *Guest) step(s *state) (sdk.Action, error) {
	if len(s.history) == 0 || s.k < 1 {
		return sdk.Sample(), nil
	}
	logits, err := g.sync(&s.target, s.history)
	if err != nil {
		return sdk.Action{}, err
	}
	out := []int32{sdk.Argmax(logits)}
	if g.isSpecial(out[0]) {
		return sdk.Sample(), nil
	}

	// Draft k tokens greedily on the draft model.
	s.drafts = s.drafts[:0]
	logits, err = g.sync(&s.draft, s.history)
	for err == nil {
		s.drafts = append(s.drafts, sdk.Argmax(logits))
		if len(s.drafts) == s.k {
			break
		}
		if err = g.forward(&s.draft, s.drafts[len(s.drafts)-1:]); err == nil {
			logits = s.draft.logits
		}
	}
	if err != nil && !errors.Is(err, sdk.ErrLimit) {
		return sdk.Action{}, err
	}

	// Verify: out[i] is the request's model's own choice after history + out[:i]; a draft token is
	// accepted while it equals it, and then gives the next choice.
	for i, d := range s.drafts {
		if d != out[i] {
			break
		}
		if err := g.forward(&s.target, []int32{d}); err != nil {
			if errors.Is(err, sdk.ErrLimit) {
				break
			}
			return sdk.Action{}, err
		}
		next := sdk.Argmax(s.target.logits)
		if g.isSpecial(next) {
			break
		}
		out = append(out, next)
	}
	return sdk.Splice(0, out...), nil
}

// sync brings ms to hold exactly toks and returns the logits after them: it trims what no longer matches
// and runs the rest (at least the last token, when the logits after toks are not at hand).
func (g *Guest) sync(ms *modelSeq, toks []int32) ([]float32, error) {
	if !ms.open {
		h, err := g.k.SeqNew(ms.model)
		if err != nil {
			return nil, err
		}
		ms.h, ms.open, ms.toks, ms.valid = h, true, ms.toks[:0], false
	}
	c := 0
	for c < len(ms.toks) && c < len(toks) && ms.toks[c] == toks[c] {
		c++
	}
	if c == len(toks) && c == len(ms.toks) && ms.valid {
		return ms.logits, nil
	}
	c = min(c, len(toks)-1)
	if c < len(ms.toks) {
		if err := g.k.SeqTrim(ms.h, c); err != nil {
			return nil, err
		}
		ms.toks, ms.valid = ms.toks[:c], false
	}
	if err := g.forward(ms, toks[c:]); err != nil {
		return nil, err
	}
	return ms.logits, nil
}

// forward appends ids to ms and leaves the logits after them in ms.logits, growing the buffer (and running
// the tokens again) when the model has more logits than it holds.
func (g *Guest) forward(ms *modelSeq, ids []int32) error {
	if cap(ms.logits) == 0 {
		ms.logits = make([]float32, max(g.info.NLogits, 1))
	}
	ms.valid = false
	n, err := g.k.SeqForward(ms.h, ids, ms.logits[:cap(ms.logits)])
	if n > cap(ms.logits) {
		if err := g.k.SeqTrim(ms.h, len(ms.toks)); err != nil {
			return err
		}
		ms.logits = make([]float32, n)
		n, err = g.k.SeqForward(ms.h, ids, ms.logits)
	}
	if err != nil {
		return err
	}
	ms.toks = append(ms.toks, ids...)
	ms.logits, ms.valid = ms.logits[:n], true
	return nil
}

// isSpecial reports a token the policy leaves to the host's sampler.
func (g *Guest) isSpecial(id int32) bool { return int(id) < len(g.special) && g.special[id] }

// Pick is never asked for (the policy makes no custom picks): it takes the best candidate.
func (g *Guest) Pick(seq int32, cands []sdk.Candidate) int { return 0 }

// Close frees the sequence's model sequences.
func (g *Guest) Close(seq int32) {
	if s := g.seqs[seq]; s != nil {
		for _, ms := range []*modelSeq{&s.target, &s.draft} {
			if ms.open {
				g.k.SeqFree(ms.h)
			}
		}
	}
	delete(g.seqs, seq)
}
