package engine

// verify moves s on to its next row of logits when the step it just took (from before tokens, with seqs
// sequences in the request) kept its next drafted token: the step appended one token and it is the draft.
// The drafted token's cache row is then valid, and the next row holds the logits after it, so the next
// step of s is exactly the one it would take without speculation. Otherwise verification ends here: s is
// not fresh (it sampled another token, spliced, or ended) and goes back to the scheduler, which drops the
// cache rows past s.valid, the rejected drafts'.
//
// The draw at each position is the request's own (its sampler's seeded stream, its policy), so the tokens
// are those the request gets without speculation, token for token and seed for seed. In distribution this
// is Leviathan et al.'s rejection sampling for a draft that is one token for sure (q one-hot, as prompt
// lookup's and greedy drafting's are): the draft x is kept with probability p(x) = min(1, p(x)/q(x)), and
// a rejection emits a draw from p without x, which is norm(max(0, p − q)).
func (g *generation) verify(s *sequence, before, seqs int) {
	if s.row >= len(s.draft) || s.finish != "" || s.fresh || len(g.seqs) != seqs ||
		len(s.tokens) != before+1 || s.valid < before || !keepDraft(s.draft[s.row], s.tokens[before]) {
		return
	}
	V := g.e.model.Vocab
	s.row++
	s.valid = len(s.tokens)
	s.logits = s.rows[s.row*V : (s.row+1)*V : (s.row+1)*V]
	s.fresh = true
	g.accepted++
}

// keepDraft is verification's rule: a drafted token is kept when the request's draw at its position is
// the draft. It is a variable only so that the statistical test can show that a wrong rule fails it.
var keepDraft = func(drafted, drawn int32) bool { return drafted == drawn }
