package sdk

import "github.com/wasmoe/wasmoe/guest/abi"

// Action is what Policy.Step returns: build it with Sample, Stop, Fork, Splice or Fail and the methods
// that add flags. The zero Action samples the next token with no flags. A Controller copies the mask,
// bias pairs and splice tokens into the registered buffers when the step returns.
type Action struct {
	kind   int
	flags  int
	mask   []uint32
	bias   []BiasPair
	splice []int32
	back   int // tokens a splice takes back
	forks  int
	k      int // candidates for a custom pick
	err    error
}

// Sample samples the next token (ActSample); add Mask, Bias or Pick to steer it.
func Sample() Action { return Action{} }

// Stop ends the sequence (ActStop).
func Stop() Action { return Action{kind: abi.ActStop} }

// Fork turns the sequence into n sequences (ActFork): the host opens n-1 children with
// Policy.Open(child, seq), then steps all n with no tokens.
func Fork(n int) Action { return Action{kind: abi.ActFork, forks: n} }

// Splice takes back the last backtrack tokens, then appends ids without sampling (ActSplice).
func Splice(backtrack int, ids ...int32) Action {
	return Action{kind: abi.ActSplice, back: backtrack, splice: ids}
}

// Fail makes ctl_step fail with err's status (StatusOf); the Controller logs err.
func Fail(err error) Action { return Action{err: err} }

// Mask lets the sampler pick only the tokens whose bit is set in words (bit i%32 of word i/32; at least
// MaskWords(NLogits) words). words may be the Controller's own mask buffer (no copy then).
func (a Action) Mask(words []uint32) Action {
	a.flags |= abi.FlagMask
	a.mask = words
	return a
}

// Bias adds v to token id's logit before sampling (-Inf bans it, +Inf forces it).
func (a Action) Bias(id int32, v float32) Action {
	a.flags |= abi.FlagBias
	a.bias = append(a.bias[:len(a.bias):len(a.bias)], BiasPair{id, v})
	return a
}

// Pick asks the host for the k best candidates and lets Policy.Pick choose among them.
func (a Action) Pick(k int) Action {
	a.flags |= abi.FlagPick
	a.k = k
	return a
}

// Hide drops the tokens this step reported, and any held ones, from the client's stream (FlagHide).
func (a Action) Hide() Action {
	a.flags |= abi.FlagHide
	return a
}

// Hold keeps the tokens this step reported out of the client's stream until a later step releases them
// (one with neither Hold nor Hide) or drops them (Hide) (FlagHold).
func (a Action) Hold() Action {
	a.flags |= abi.FlagHold
	return a
}
