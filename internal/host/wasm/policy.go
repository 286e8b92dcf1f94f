package wasm

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"sync"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// PolicyModel describes a model to policy guests: the model_info record and the vocab import.
type PolicyModel struct {
	NLogits int      // logits per step
	NCtx    int      // tokens of context per sequence
	Pieces  [][]byte // each token's bytes (control tokens carry their text); len = tokens in the tokenizer
	Types   []int32  // each token's abi.Token* type; empty = all normal
	// Special ids, -1 when absent.
	BOS, EOS, EOT, ThinkOpen, ThinkClose int32
}

// Policy runs a policy guest (ABI v1) for one model: a pool of instances, each initialised with ctl_init.
type Policy struct {
	p       *pool
	info    []byte // the ModelInfo record
	vocab   []byte // the TokenTable blob
	nLogits int
	hasPick bool
	limits  Limits
	trie    *grammarTrie // the mask imports', for a guest that imports one (grammar.go); nil = none

	closeTrie sync.Once
}

// control is a policy instance's host-side state: its registered buffers and the request it serves.
type control struct {
	policy  *Policy
	bufs    [5]region // by abi.Buf* kind
	config  []byte    // the request's plugin config
	kernels Kernels   // the request's host kernels; nil = none
}

// region is a guest buffer registered with buf_register.
type region struct{ ptr, n uint32 }

// NewPolicy compiles a policy guest, checks it against the ABI and starts one instance (running
// _initialize and ctl_init) to fail early; more start on demand, up to poolSize.
func NewPolicy(r *Runtime, bin []byte, m *PolicyModel, poolSize int) (*Policy, error) {
	ctx := context.Background()
	cm, err := r.compile(ctx, bin, policyKind)
	if err != nil {
		return nil, err
	}
	if m.NLogits <= 0 || len(m.Pieces) > m.NLogits {
		return nil, fmt.Errorf("wasm: policy model: %d tokens for %d logits", len(m.Pieces), m.NLogits)
	}
	_, hasPick := cm.exports()[abi.ExportCtlPick]
	p := &Policy{info: modelInfoRecord(m, r.cfg.Limits), vocab: tokenTable(m), nLogits: m.NLogits, hasPick: hasPick, limits: r.cfg.Limits}
	if importsHostMasks(cm) && !r.cfg.guestGrammars {
		p.trie = acquireGrammarTrie(m, p.vocab)
	}
	p.p = newPool(r, cm, poolSize, func(ctx context.Context, inst *instance) error {
		inst.ctl = &control{policy: p}
		res, err := inst.start(ctx, abi.ExportCtlInit)
		if err == nil {
			_, err = inst.status(abi.ExportCtlInit, res)
		}
		return err
	})
	inst, err := p.p.get(ctx)
	if err != nil {
		p.Close()
		return nil, err
	}
	p.p.put(inst)
	return p, nil
}

// modelInfoRecord is the 48-byte record of model_info.
func modelInfoRecord(m *PolicyModel, l Limits) []byte {
	b := make([]byte, 0, abi.ModelInfoSize)
	for _, v := range []int32{abi.Version, int32(m.NLogits), int32(len(m.Pieces)), int32(m.NCtx), m.BOS, m.EOS, m.EOT,
		m.ThinkOpen, m.ThinkClose, int32(l.MaxForks), int32(l.MaxSplice), int32(l.MaxBias)} {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	return b
}

// tokenTable is the TokenTable blob of the vocab import.
func tokenTable(m *PolicyModel) []byte {
	n := len(m.Pieces)
	b := binary.LittleEndian.AppendUint32([]byte(abi.TokenTableMagic), uint32(n))
	off := 0
	for i := 0; i <= n; i++ {
		b = binary.LittleEndian.AppendUint32(b, uint32(off))
		if i < n {
			off += len(m.Pieces[i])
		}
	}
	for i := range n {
		t := abi.TokenNormal
		if i < len(m.Types) {
			t = m.Types[i]
		}
		b = append(b, byte(t))
	}
	for _, p := range m.Pieces {
		b = append(b, p...)
	}
	return b
}

// Close releases the policy's instances: the idle ones now, those requests hold when they give them back.
// A request that acquires the policy after Close still runs, on an instance started for it and closed
// after it.
func (p *Policy) Close() {
	p.p.close()
	if p.trie != nil {
		p.closeTrie.Do(p.trie.release)
	}
}

// Limits are the limits the policy's requests run under.
func (p *Policy) Limits() Limits { return p.limits }

// PolicySession is one request's hold on a policy instance, from Acquire to Release. One instance serves
// one request at a time and may hold many of its sequences (forks).
type PolicySession struct {
	p      *Policy
	inst   *instance
	ctx    context.Context
	splice []int32        // the last splice, copied out of the guest
	open   map[int32]bool // sequences opened and not closed yet
}

// Acquire takes an instance for a request with its plugin config and, if not nil, the host kernels the
// guest may call.
func (p *Policy) Acquire(ctx context.Context, config []byte, k Kernels) (*PolicySession, error) {
	inst, err := p.p.get(ctx)
	if err != nil {
		return nil, err
	}
	inst.ctl.config, inst.ctl.kernels = config, k
	return &PolicySession{p: p, inst: inst, ctx: ctx, open: map[int32]bool{}}, nil
}

// Open tells the guest about a new sequence: parent -1 for the request's first, else the sequence it
// forks from.
func (s *PolicySession) Open(seq, parent int32) error {
	res, err := s.inst.call(s.ctx, abi.ExportCtlOpen, uint64(uint32(seq)), uint64(uint32(parent)))
	if err == nil {
		_, err = s.inst.status(abi.ExportCtlOpen, res)
	}
	if err == nil {
		s.open[seq] = true
	}
	return err
}

// Close tells the guest a sequence has ended.
func (s *PolicySession) Close(seq int32) error { return s.close(s.ctx, seq) }

func (s *PolicySession) close(ctx context.Context, seq int32) error {
	delete(s.open, seq)
	res, err := s.inst.call(ctx, abi.ExportCtlClose, uint64(uint32(seq)))
	if err == nil {
		_, err = s.inst.status(abi.ExportCtlClose, res)
	}
	return err
}

// Release gives the instance back (or discards it if it failed). Sequences a failed or cancelled request
// left open are closed first, outside its context, so the next request finds a clean guest; an instance
// that fails that is discarded. It may be called more than once.
func (s *PolicySession) Release() {
	if s.inst != nil {
		for seq := range s.open {
			if !s.inst.broken && s.close(context.Background(), seq) != nil {
				s.inst.broken = true
			}
		}
		s.inst.ctl.config, s.inst.ctl.kernels = nil, nil
		s.p.p.put(s.inst)
		s.inst = nil
	}
}

// Step is a policy's answer for one sequence step. Its mask and bias are views of guest memory: use them
// (Apply) before the next call into the session.
type Step struct {
	abi.Action
	Splice []int32 // ActSplice: the tokens to append, valid until the next Step
	mask   []byte
	bias   []byte
}

// Step reports the tokens appended to seq since its last step (the prompt, a sampled token, a splice;
// none after a fork) and returns the guest's action, checked against the ABI and the limits.
func (s *PolicySession) Step(seq int32, ids []int32) (Step, error) {
	inst := s.inst
	ptr, err := inst.writeInt32s(s.ctx, ids)
	if err != nil {
		return Step{}, err
	}
	res, err := inst.call(s.ctx, abi.ExportCtlStep, uint64(uint32(seq)), uint64(ptr), uint64(len(ids)))
	if err != nil {
		return Step{}, err
	}
	st := Step{Action: abi.UnpackAction(int64(res))}
	if st.Err != 0 {
		_, err := inst.status(abi.ExportCtlStep, uint64(uint32(st.Err)))
		return st, err
	}
	bad := func(format string, args ...any) (Step, error) {
		inst.broken = true
		return st, fmt.Errorf("wasm: ctl_step: "+format+"%s", append(args, inst.log.tail())...)
	}
	l := s.p.limits
	if st.Flags&^(abi.FlagMask|abi.FlagBias|abi.FlagPick|abi.FlagHide|abi.FlagHold) != 0 {
		return bad("unknown action flags %#x", st.Flags)
	}
	switch st.Kind {
	case abi.ActSample:
		if st.Flags&abi.FlagMask != 0 {
			words := (s.p.nLogits + 31) / 32
			if st.mask, err = s.region(abi.BufMask, 4*words); err != nil {
				return bad("mask: %v", err)
			}
		}
		if st.Flags&abi.FlagBias != 0 {
			if st.Count > l.MaxBias {
				return bad("%d bias pairs, the limit is %d", st.Count, l.MaxBias)
			}
			if st.bias, err = s.region(abi.BufBias, 8*st.Count); err != nil {
				return bad("bias: %v", err)
			}
		}
		if st.Flags&abi.FlagPick != 0 {
			if !s.p.hasPick {
				return bad("asked for a custom pick but the guest has no %s", abi.ExportCtlPick)
			}
			if st.Arg < 1 || st.Arg > abi.MaxPickK {
				return bad("pick from %d candidates, want 1 to %d", st.Arg, abi.MaxPickK)
			}
			if _, err := s.region(abi.BufCands, abi.CandidateSize*st.Arg); err != nil {
				return bad("candidates: %v", err)
			}
		}
	case abi.ActSplice:
		if st.Count > l.MaxSplice {
			return bad("splice of %d tokens, the limit is %d", st.Count, l.MaxSplice)
		}
		b, err := s.region(abi.BufSplice, 4*st.Count)
		if err != nil {
			return bad("splice: %v", err)
		}
		s.splice = s.splice[:0]
		for i := range st.Count {
			id := int32(binary.LittleEndian.Uint32(b[4*i:]))
			if id < 0 || int(id) >= s.p.nLogits {
				return bad("splice token %d out of range [0, %d)", id, s.p.nLogits)
			}
			s.splice = append(s.splice, id)
		}
		st.Splice = s.splice
	case abi.ActStop:
	case abi.ActFork:
		if st.Count < 1 || st.Count > l.MaxForks {
			return bad("fork into %d sequences, want 1 to %d", st.Count, l.MaxForks)
		}
	default:
		return bad("unknown action kind %d", st.Kind)
	}
	return st, nil
}

// region returns the registered buffer of a kind, which must hold at least n bytes.
func (s *PolicySession) region(kind int, n int) ([]byte, error) {
	r := s.inst.ctl.bufs[kind]
	if r.n == 0 && n > 0 {
		return nil, fmt.Errorf("no buffer registered")
	}
	if uint64(n) > uint64(r.n) {
		return nil, fmt.Errorf("needs %d bytes, the registered buffer has %d", n, r.n)
	}
	mem := s.inst.mod.memory()
	if uint64(r.ptr)+uint64(n) > uint64(len(mem)) {
		return nil, fmt.Errorf("buffer lies outside the guest's memory")
	}
	return mem[r.ptr : r.ptr+uint32(n)], nil
}

// Apply masks and biases logits in place as the step asks: tokens outside the mask become -Inf, biases
// are added (NaN biases and ids out of range are errors).
func (st *Step) Apply(logits []float32) error {
	if st.mask != nil {
		applyMask(logits, st.mask)
	}
	for i := 0; i+8 <= len(st.bias); i += 8 {
		id := int32(binary.LittleEndian.Uint32(st.bias[i:]))
		v := math.Float32frombits(binary.LittleEndian.Uint32(st.bias[i+4:]))
		if id < 0 || int(id) >= len(logits) || v != v {
			return fmt.Errorf("wasm: ctl_step: bias pair %d: token %d, bias %v", i/8, id, v)
		}
		logits[id] += v
	}
	return nil
}

// applyMask sets every logit whose bit is clear to -Inf. Whole words of allowed tokens are skipped.
func applyMask(logits []float32, mask []byte) {
	inf := float32(math.Inf(-1))
	for w := 0; 32*w < len(logits); w++ {
		bits := binary.LittleEndian.Uint32(mask[4*w:])
		if bits == math.MaxUint32 {
			continue
		}
		base := 32 * w
		word := logits[base:min(base+32, len(logits))]
		if bits == 0 {
			for j := range word {
				word[j] = inf
			}
			continue
		}
		for j := range word {
			if bits&(1<<j) == 0 {
				word[j] = inf
			}
		}
	}
}

// Candidate is a token offered to ctl_pick.
type Candidate struct {
	ID      int32
	Logit   float32
	LogProb float32
}

// Pick writes the candidates (best first) into the guest's candidates buffer and returns the index
// ctl_pick chooses.
func (s *PolicySession) Pick(seq int32, cands []Candidate) (int, error) {
	b, err := s.region(abi.BufCands, abi.CandidateSize*len(cands))
	if err != nil {
		s.inst.broken = true
		return 0, fmt.Errorf("wasm: ctl_pick: candidates: %v", err)
	}
	for i, c := range cands {
		r := b[abi.CandidateSize*i:]
		binary.LittleEndian.PutUint32(r, uint32(c.ID))
		binary.LittleEndian.PutUint32(r[4:], math.Float32bits(c.Logit))
		binary.LittleEndian.PutUint32(r[8:], math.Float32bits(c.LogProb))
	}
	res, err := s.inst.call(s.ctx, abi.ExportCtlPick, uint64(uint32(seq)), uint64(len(cands)))
	if err != nil {
		return 0, err
	}
	i, err := s.inst.status(abi.ExportCtlPick, res)
	if err != nil {
		return 0, err
	}
	if int(i) >= len(cands) {
		s.inst.broken = true
		return 0, fmt.Errorf("wasm: ctl_pick chose candidate %d of %d", i, len(cands))
	}
	return int(i), nil
}
