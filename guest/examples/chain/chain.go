package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/guest/sdk"
)

// defaultTokens is the config's tokens when it gives none (or fewer, to fit in one splice).
const defaultTokens = 256

// config is the request's plugin config.
type config struct {
	First  string `json:"first"`
	Tokens *int   `json:"tokens"`
	Open   string `json:"open"`
}

// request is what the policy keeps of the request in progress.
type request struct {
	name   string        // the first model's
	tokens int           // the most tokens the first model writes
	open   []int32       // the encoded open text
	seq    sdk.SeqHandle // the first model's sequence
	live   bool          // seq is open
}

// Guest is the chain policy. Its zero value is not usable: call New.
type Guest struct {
	k      sdk.Sequences
	config func() ([]byte, error)
	vocab  func() (*sdk.TokenTable, error)
	log    func(level uint32, msg string)
	info   sdk.ModelInfo
	enc    *encoder
	logits []float32      // NLogits floats
	req    request        // the request in progress
	seqs   map[int32]bool // open sequences: whether each has had its splice
}

// New returns the policy on host kernels k; config reads the request's config bytes, vocab the token table
// and log writes to the host's log (sdk.Config, sdk.Vocab and sdk.Log in the guest; log may be nil).
func New(k sdk.Sequences, config func() ([]byte, error), vocab func() (*sdk.TokenTable, error), log func(uint32, string)) *Guest {
	if log == nil {
		log = func(uint32, string) {}
	}
	return &Guest{k: k, config: config, vocab: vocab, log: log, seqs: map[int32]bool{}}
}

// BufferSizes asks for no bias buffer and a splice buffer of model_info's max_splice tokens.
func (g *Guest) BufferSizes(info sdk.ModelInfo) (int, int) { return 0, info.MaxSplice }

// Init builds the encoder of the open text over the vocabulary.
func (g *Guest) Init(info sdk.ModelInfo) error {
	t, err := g.vocab()
	if err != nil {
		return err
	}
	g.info, g.enc, g.logits = info, newEncoder(t), make([]float32, info.NLogits)
	return nil
}

// Open reads the config of a new request and opens the first model (forgetting any earlier request's
// state, whose handles are gone with it), or copies a parent's state for a fork.
func (g *Guest) Open(seq, parent int32) error {
	if parent >= 0 {
		g.seqs[seq] = g.seqs[parent]
		return nil
	}
	clear(g.seqs)
	g.req = request{}
	b, err := g.config()
	if err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	var c config
	if err := d.Decode(&c); err != nil {
		return fmt.Errorf("chain: config %q: %v: %w", b, err, sdk.ErrBadInput)
	}
	open, err := g.enc.encode(c.Open)
	if err != nil {
		return fmt.Errorf("chain: config open: %w", err)
	}
	n := min(defaultTokens, g.info.MaxSplice-len(open))
	if c.Tokens != nil {
		n = *c.Tokens
	}
	if c.First == "" || n < 1 {
		return fmt.Errorf("chain: config %q: want a first model and at least 1 token: %w", b, sdk.ErrBadInput)
	}
	if len(open)+n > g.info.MaxSplice {
		return fmt.Errorf("chain: config %q: %d open tokens and %d of the first model do not fit in one splice of %d: %w",
			b, len(open), n, g.info.MaxSplice, sdk.ErrBadInput)
	}
	m, err := g.k.Model(c.First)
	if err != nil {
		return fmt.Errorf("chain: first model: %w", err)
	}
	s, err := g.k.SeqNew(m)
	if err != nil {
		return fmt.Errorf("chain: first model %q: %w", c.First, err)
	}
	g.req = request{name: c.First, tokens: n, open: open, seq: s, live: true}
	// Probe the vocabulary with token 0, which every model has.
	if _, err := g.forward(0); err != nil {
		g.free()
		return err
	}
	if err := g.k.SeqTrim(s, 0); err != nil {
		g.free()
		return err
	}
	g.seqs[seq] = false
	return nil
}

// forward appends ids to the first model's sequence and returns the logits after them, checking that the
// model has as many logits as the request's.
func (g *Guest) forward(ids ...int32) ([]float32, error) {
	n, err := g.k.SeqForward(g.req.seq, ids, g.logits)
	if n > 0 && n != g.info.NLogits {
		return nil, fmt.Errorf("chain: model %q has %d logits, the request's model %d: the two models must share a vocabulary: %w",
			g.req.name, n, g.info.NLogits, sdk.ErrBadInput)
	}
	if err != nil {
		return nil, fmt.Errorf("chain: first model %q: %w", g.req.name, err)
	}
	return g.logits, nil
}

// Step splices the open text and the first model's greedy continuation of the prompt at a request's first
// step, and samples freely after that.
func (g *Guest) Step(seq int32, ids []int32) sdk.Action {
	if g.seqs[seq] || len(ids) == 0 {
		return sdk.Sample()
	}
	g.seqs[seq] = true
	out, err := g.first(ids)
	g.free()
	if err != nil {
		return sdk.Fail(err)
	}
	if len(out) == 0 {
		return sdk.Sample()
	}
	return sdk.Splice(0, out...)
}

// first is the open tokens followed by the first model's greedy continuation of prompt.
func (g *Guest) first(prompt []int32) ([]int32, error) {
	out := append([]int32(nil), g.req.open...)
	logits, err := g.forward(prompt...)
	if errors.Is(err, sdk.ErrLimit) {
		return nil, fmt.Errorf("chain: the prompt's %d tokens do not fit in a sequence of the first model: %w", len(prompt), err)
	}
	for made := 0; err == nil; made++ {
		tok := sdk.Argmax(logits[:min(g.info.NTokens, len(logits))])
		if tok < 0 || tok == g.info.EOS || tok == g.info.EOT {
			break
		}
		out = append(out, tok)
		if made+1 == g.req.tokens {
			break
		}
		logits, err = g.forward(tok)
	}
	if errors.Is(err, sdk.ErrLimit) {
		g.log(abi.LogWarn, fmt.Sprintf("chain: the first model stopped after %d tokens: %v", len(out)-len(g.req.open), err))
		err = nil
	}
	return out, err
}

// free releases the first model's sequence, once.
func (g *Guest) free() {
	if g.req.live {
		g.req.live = false
		if err := g.k.SeqFree(g.req.seq); err != nil {
			g.log(abi.LogWarn, "chain: "+err.Error())
		}
	}
}

// Pick is never asked for (the policy makes no custom picks): it takes the best candidate.
func (g *Guest) Pick(seq int32, cands []sdk.Candidate) int { return 0 }

// Close forgets the sequence, and frees the first model's sequence if the request ends before its splice.
func (g *Guest) Close(seq int32) {
	delete(g.seqs, seq)
	if len(g.seqs) == 0 {
		g.free()
	}
}
