package policies

import (
	"fmt"

	"github.com/wasmoe/wasmoe/guest/sdk"
)

// Policy is the built-in policy over one model's vocabulary: a sdk.Policy (package doc). One instance
// serves one request at a time and may hold many of its sequences.
type Policy struct {
	v      *vocab
	config func() ([]byte, error)
	seqs   map[int32]*seq
	mask   []uint32
}

// New returns the policy for a model (its model_info record and token table); config reads the current
// request's config bytes (sdk.Config in the guest). It builds the constraint trie and its lookup tables here, once.
func New(info sdk.ModelInfo, vocab *sdk.TokenTable, config func() ([]byte, error)) (*Policy, error) {
	if len(vocab.Tokens) < info.NTokens {
		return nil, fmt.Errorf("policy: %d tokens in the vocabulary, model_info says %d: %w", len(vocab.Tokens), info.NTokens, sdk.ErrBadInput)
	}
	return &Policy{v: newVocab(info, vocab), config: config, seqs: map[int32]*seq{}, mask: make([]uint32, sdk.MaskWords(info.NLogits))}, nil
}

// Open reads and compiles the request's config for a new request (parent -1), or copies the parent's
// state for a fork.
func (p *Policy) Open(id, parent int32) error {
	if parent >= 0 {
		s, ok := p.seqs[parent]
		if !ok {
			return fmt.Errorf("policy: parent sequence %d is not open: %w", parent, sdk.ErrBadInput)
		}
		p.seqs[id] = s.fork()
		return nil
	}
	b, err := p.config()
	if err != nil {
		return err
	}
	c, err := ParseConfig(b)
	if err != nil {
		return err
	}
	r, err := compile(c, p.v)
	if err != nil {
		return err
	}
	p.seqs[id] = newSeq(r)
	return nil
}

// Pick is never asked for: the policy does not use FlagPick. It takes the best candidate.
func (p *Policy) Pick(int32, []sdk.Candidate) int { return 0 }

// Close forgets a sequence.
func (p *Policy) Close(id int32) { delete(p.seqs, id) }
