package engine

import "fmt"

// Drafting modes of speculative decoding (Config.Spec, Speculation.Mode).
const (
	SpecOff   = "off"   // no drafts: one token a step
	SpecNgram = "ngram" // prompt lookup: the continuation of the latest earlier match of the context's end
	SpecDraft = "draft" // a smaller model with the same vocabulary drafts greedily (Config.DraftModel)
	SpecMTP   = "mtp"   // deepseek2's multi-token-prediction block drafts one token a step (spec_mtp.go)
)

// DefaultSpecTokens is the most tokens drafted per step when Config.SpecTokens is 0; MaxSpecTokens bounds
// both it and Speculation.MaxTokens.
const (
	DefaultSpecTokens = 5
	MaxSpecTokens     = 16
)

// Speculation is a request's choice of drafting: Mode "" takes the engine's (Config.Spec), MaxTokens 0 its
// Config.SpecTokens.
//
// Whatever the mode, the tokens are those the request gets without speculation: each drafted token is
// checked by drawing the position's token from the target's logits with the request's own sampler (and
// policy), and kept only when the draw is the draft (spec_verify.go).
type Speculation struct {
	Mode      string
	MaxTokens int
}

// drafter proposes tokens for sequences about to decode, in the scheduler goroutine. propose sets s.draft
// of each sequence to at most s.spec.k tokens that may follow s.tokens (none is fine); forget drops what it
// keeps for a sequence that ends.
type drafter interface {
	propose(seqs []*sequence)
	forget(s *sequence)
}

// specState is the scheduler's speculation state of one sequence.
type specState struct {
	mode  string // resolved: "" (off), SpecNgram, SpecDraft or SpecMTP
	max   int    // draft tokens per step at most
	k     int    // draft tokens wanted per step, adapted to the acceptance (adapt)
	pause int    // steps left without drafts, after single drafts that were rejected (adapt)
	wait  int    // the next pause's length
	want  int    // draft tokens wanted this step: k, less where the budget or the sequence's room end
	draft draftSeq
	mtp   mtpSeq
}

// initSpeculation checks the node's drafting mode, loads the draft model with a cache of cacheTokens
// positions, and returns the scheduler's drafters. A draft model without a mode makes SpecDraft the mode.
func (e *Engine) initSpeculation(cfg Config, tokens []string, cacheTokens int) (map[string]*modeDrafter, error) {
	e.specMode, e.specTokens = cfg.Spec, orDefault(cfg.SpecTokens, DefaultSpecTokens)
	if e.specMode == "" {
		e.specMode = SpecOff
		if cfg.DraftModel != "" {
			e.specMode = SpecDraft
		}
	}
	if e.specTokens > MaxSpecTokens {
		return nil, fmt.Errorf("engine: %d speculative tokens per step, want 1 to %d", e.specTokens, MaxSpecTokens)
	}
	drafters := map[string]*modeDrafter{SpecNgram: {drafter: ngramDrafter{}}}
	if cfg.DraftModel != "" {
		d, err := openDraftModel(cfg.DraftModel, cfg.ModelPath, e.model, tokens, e.pool, cacheTokens)
		if err != nil {
			return nil, err
		}
		e.drafts = d
		drafters[SpecDraft] = &modeDrafter{drafter: d}
	}
	if len(e.model.MTP) > 0 {
		e.mtp = &mtpDrafter{m: e.model, pool: e.pool}
		drafters[SpecMTP] = &modeDrafter{drafter: e.mtp}
	}
	return drafters, e.checkSpeculation(Speculation{Mode: e.specMode})
}

// checkSpeculation refuses a drafting mode or length the engine cannot serve.
func (e *Engine) checkSpeculation(sp Speculation) error {
	switch sp.Mode {
	case "", SpecOff, SpecNgram:
	case SpecDraft:
		if e.drafts == nil {
			return fmt.Errorf("%w: speculative mode %q needs a draft model (serve --draft-model)", ErrBadSpeculation, sp.Mode)
		}
	case SpecMTP:
		if e.mtp == nil {
			return fmt.Errorf("%w: speculative mode %q needs a model with an MTP block (deepseek2 with nextn_predict_layers)", ErrBadSpeculation, sp.Mode)
		}
	default:
		return fmt.Errorf("%w: unknown speculative mode %q (want %s, %s, %s or %s)", ErrBadSpeculation, sp.Mode, SpecOff, SpecNgram, SpecDraft, SpecMTP)
	}
	if sp.MaxTokens < 0 || sp.MaxTokens > MaxSpecTokens {
		return fmt.Errorf("%w: %d speculative tokens asked, want 1 to %d", ErrBadSpeculation, sp.MaxTokens, MaxSpecTokens)
	}
	return nil
}

// resolveSpeculation fills in a request's drafting from the engine's defaults.
func (e *Engine) resolveSpeculation(sp Speculation) specState {
	mode := sp.Mode
	if mode == "" {
		mode = e.specMode
	}
	if mode == SpecOff {
		mode = ""
	}
	n := sp.MaxTokens
	if n == 0 {
		n = e.specTokens
	}
	if mode == SpecMTP { // one MTP block drafts one token
		n = 1
	}
	return specState{mode: mode, max: n, k: max(1, (n+1)/2)}
}

// maxSpecPause is the longest a sequence whose drafts keep failing goes without drafting, in steps.
const maxSpecPause = 32

// adapt sets the next draft length from the last one's outcome: one more after all were accepted, at most
// one past the accepted ones after a rejection, within [1, max]. A single drafted token that is rejected
// pauses drafting for a number of steps that doubles with each such miss in a row (1, 3, 7, … up to
// maxSpecPause), so that a drafter that never agrees with the model (another text, a useless draft model)
// costs a verified row and a draft pass only now and then.
func (sp *specState) adapt(proposed, accepted int) {
	switch {
	case proposed == 0:
	case accepted == proposed:
		sp.k, sp.wait = min(sp.k+1, sp.max), 0
	case accepted == 0 && proposed == 1:
		sp.wait = min(2*sp.wait+1, maxSpecPause)
		sp.k, sp.pause = 1, sp.wait
	default:
		sp.k, sp.wait = max(1, min(sp.k-1, accepted+1)), 0
	}
}

// speculate drafts tokens for the step's decoding sequences (plan's chunks, each of one token) within
// budget and returns how many it drafted. A draft never makes the step longer than the sequence may
// grow: the drafts and the token after them fit its max_tokens and the context.
func (sc *scheduler) speculate(plan []chunk, budget int) int {
	for _, d := range sc.drafters {
		d.want = d.want[:0]
	}
	for _, c := range plan {
		s := c.s
		s.draft, s.spec.want = s.draft[:0], 0
		d := sc.drafters[s.spec.mode]
		if d == nil || budget <= 0 {
			continue
		}
		if s.spec.pause > 0 {
			s.spec.pause--
			continue
		}
		room := sc.e.context - len(s.tokens) - 1
		if mt := s.req.req.MaxTokens; mt > 0 {
			room = min(room, mt-s.generated-1)
		}
		if s.spec.want = min(s.spec.k, room, budget); s.spec.want > 0 {
			budget -= s.spec.want
			d.want = append(d.want, s)
		}
	}
	for _, d := range sc.drafters {
		if len(d.want) > 0 {
			d.propose(d.want)
		}
	}
	drafted := 0
	for i := range plan {
		plan[i].n += len(plan[i].s.draft)
		drafted += len(plan[i].s.draft)
	}
	return drafted
}

// modeDrafter is a drafter and the sequences it drafts for in this step.
type modeDrafter struct {
	drafter
	want []*sequence
}

// settle takes a sequence's verified draft back from its worker: it counts the proposed and accepted
// tokens (s.row: the worker moved one row on per accepted token) and adapts the next draft's length.
func (sc *scheduler) settle(s *sequence) {
	if len(s.draft) > 0 {
		sc.e.specDrafts.Add(1)
		sc.e.specDrafted.Add(int64(len(s.draft)))
		sc.e.specAccepted.Add(int64(s.row))
		s.spec.adapt(len(s.draft), s.row)
	}
	s.draft, s.row = s.draft[:0], 0
}

// dropDraft takes a chunk's draft out: its sequence decodes its one token.
func dropDraft(c *chunk) {
	c.n -= len(c.s.draft)
	c.s.draft = c.s.draft[:0]
}

// forgetSpec drops what the drafters keep for s.
func (sc *scheduler) forgetSpec(s *sequence) {
	for _, d := range sc.drafters {
		d.forget(s)
	}
}
