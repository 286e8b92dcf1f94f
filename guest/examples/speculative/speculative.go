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
	history []int32   // every token the host reported: the prompt, then the spliced and sampled ones
	target  modelSeq  // the request's model
	draft   modelSeq  // the draft model
	drafts  []int32   // scratch
	rows    []float32 // the verify step's logits, a row per position; its capacity is the buffer
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
	// Draft k tokens greedily on the draft model.
	s.drafts = s.drafts[:0]
	logits, err := g.sync(&s.draft, s.history)
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
	for i, d := range s.drafts { // a token outside the request's model's vocabulary cannot be its choice
		if d < 0 || int(d) >= g.info.NLogits {
			s.drafts = s.drafts[:i]
			break
		}
	}

	// Verify all drafts in one forward of the request's model: row i holds the logits after history +
	// drafts[:i], so out[i], its own choice there, is the argmax of row i. A draft token is accepted
	// while it equals that choice, and then gives the next one.
	V, err := g.verify(s)
	if err != nil {
		return sdk.Action{}, err
	}
	row := func(i int) []float32 { return s.rows[i*V : (i+1)*V] }
	out := []int32{sdk.Argmax(row(0))}
	accepted := 0
	if !g.isSpecial(out[0]) {
		for i, d := range s.drafts {
			if d != out[i] {
				break
			}
			accepted++
			next := sdk.Argmax(row(i + 1))
			if g.isSpecial(next) {
				break
			}
			out = append(out, next)
		}
	}
	// Keep what the request's sequence will hold, history + the accepted drafts, and the logits after it.
	t := &s.target
	if err := g.trim(t, len(s.history)+accepted); err != nil {
		return sdk.Action{}, err
	}
	if cap(t.logits) < V {
		t.logits = make([]float32, V)
	}
	t.logits, t.valid = append(t.logits[:0], row(accepted)...), true
	if g.isSpecial(out[0]) { // the host samples it (greedy picks the same token) and applies its stop rules
		return sdk.Sample(), nil
	}
	return sdk.Splice(0, out...), nil
}

// verify runs history's last token and the drafts through the request's model in one SeqForwardAll (after
// bringing its sequence to hold history but its last token) and leaves the logits after each in s.rows,
// returning the model's logit count per row. The rows buffer grows when the model has more logits than
// it holds (nothing runs then, so the call is made again).
func (g *Guest) verify(s *state) (int, error) {
	t := &s.target
	if err := g.hold(t, s.history[:len(s.history)-1]); err != nil {
		return 0, err
	}
	ids := append(s.history[len(s.history)-1:len(s.history):len(s.history)], s.drafts...)
	if need := len(ids) * max(g.info.NLogits, 1); cap(s.rows) < need {
		s.rows = make([]float32, need)
	}
	V, err := g.k.SeqForwardAll(t.h, ids, s.rows[:cap(s.rows)])
	if err != nil && errors.Is(err, sdk.ErrBadInput) && V*len(ids) > cap(s.rows) {
		s.rows = make([]float32, V*len(ids))
		V, err = g.k.SeqForwardAll(t.h, ids, s.rows)
	}
	if err != nil {
		return 0, err
	}
	t.toks, t.valid = append(t.toks, ids...), false
	return V, nil
}

// sync brings ms to hold exactly toks and returns the logits after them: it trims what no longer matches
// and runs the rest (at least the last token, when the logits after toks are not at hand).
func (g *Guest) sync(ms *modelSeq, toks []int32) ([]float32, error) {
	c, err := g.match(ms, toks)
	if err != nil {
		return nil, err
	}
	if c == len(toks) && ms.valid {
		return ms.logits, nil
	}
	if c == len(toks) {
		c--
		if err := g.trim(ms, c); err != nil {
			return nil, err
		}
	}
	if err := g.forward(ms, toks[c:]); err != nil {
		return nil, err
	}
	return ms.logits, nil
}

// hold brings ms to hold exactly toks, running what it lacks; the logits after them may not be at hand.
func (g *Guest) hold(ms *modelSeq, toks []int32) error {
	c, err := g.match(ms, toks)
	if err != nil || c == len(toks) {
		return err
	}
	return g.forward(ms, toks[c:])
}

// match opens ms's sequence if need be and trims it to its longest common prefix with toks, whose length
// it returns.
func (g *Guest) match(ms *modelSeq, toks []int32) (int, error) {
	if !ms.open {
		h, err := g.k.SeqNew(ms.model)
		if err != nil {
			return 0, err
		}
		ms.h, ms.open, ms.toks, ms.valid = h, true, ms.toks[:0], false
	}
	c := 0
	for c < len(ms.toks) && c < len(toks) && ms.toks[c] == toks[c] {
		c++
	}
	return c, g.trim(ms, c)
}

// trim drops ms's tokens past keep.
func (g *Guest) trim(ms *modelSeq, keep int) error {
	if keep >= len(ms.toks) {
		return nil
	}
	ms.toks, ms.valid = ms.toks[:keep], false
	return g.k.SeqTrim(ms.h, keep)
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
