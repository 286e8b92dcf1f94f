package sdk

import (
	"fmt"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// Controller runs a Policy behind the ctl_* exports: it owns the registered buffers, keeps track of the
// open sequences, checks and packs each Action, and turns errors into statuses (logged through Log).
// guest/sdk/policy wires one to the exports; a native test drives one the way the host would.
type Controller struct {
	// Log receives the reason of every failed call (level abi.LogError); nil discards it.
	Log func(level uint32, msg string)

	p    Policy
	info ModelInfo
	bufs Buffers
	open map[int32]bool
	init bool
}

// NewController returns a Controller for p; call Init before anything else.
func NewController(p Policy) *Controller { return &Controller{p: p, open: map[int32]bool{}} }

// Buffers returns the buffers Init allocated (register each non-empty one with the host).
func (c *Controller) Buffers() *Buffers { return &c.bufs }

// Info returns the ModelInfo Init was given.
func (c *Controller) Info() ModelInfo { return c.info }

func (c *Controller) fail(status int32, format string, args ...any) int32 {
	if c.Log != nil {
		c.Log(abi.LogError, fmt.Sprintf(format, args...))
	}
	return status
}

func (c *Controller) failErr(export string, err error) int32 {
	return c.fail(StatusOf(err), "%s: %v", export, err)
}

// Init is ctl_init: it sizes the buffers from info (the mask for NLogits tokens, abi.MaxPickK candidates,
// bias and splice buffers as BufferSizer asks or the defaults, within the model_info limits), then calls
// the policy's Init if it has one. It returns a status.
func (c *Controller) Init(info ModelInfo) int32 {
	bias, splice := DefaultBias, DefaultSplice
	if s, ok := c.p.(BufferSizer); ok {
		bias, splice = s.BufferSizes(info)
	}
	c.info = info
	c.bufs = Buffers{
		Mask:   make([]uint32, MaskWords(info.NLogits)),
		Bias:   make([]BiasPair, max(0, min(bias, info.MaxBias))),
		Splice: make([]int32, max(0, min(splice, info.MaxSplice, abi.MaxCount))),
		Cands:  make([]Candidate, abi.MaxPickK),
	}
	if in, ok := c.p.(Initializer); ok {
		if err := in.Init(info); err != nil {
			return c.failErr(abi.ExportCtlInit, err)
		}
	}
	c.init = true
	return abi.OK
}

// Open is ctl_open: seq must not be open, and parent must be -1 or an open sequence.
func (c *Controller) Open(seq, parent int32) int32 {
	switch {
	case !c.init:
		return c.fail(abi.ErrNotReady, "%s before %s", abi.ExportCtlOpen, abi.ExportCtlInit)
	case c.open[seq]:
		return c.fail(abi.ErrBadInput, "%s: sequence %d is already open", abi.ExportCtlOpen, seq)
	case parent != -1 && !c.open[parent]:
		return c.fail(abi.ErrBadInput, "%s: parent sequence %d is not open", abi.ExportCtlOpen, parent)
	}
	if err := c.p.Open(seq, parent); err != nil {
		return c.failErr(abi.ExportCtlOpen, err)
	}
	c.open[seq] = true
	return abi.OK
}

// Close is ctl_close. Closing a sequence that is not open is not an error (its Open may have failed).
func (c *Controller) Close(seq int32) int32 {
	if c.open[seq] {
		delete(c.open, seq)
		c.p.Close(seq)
	}
	return abi.OK
}

// Pick is ctl_pick: the policy chooses among the first k records of the candidates buffer.
func (c *Controller) Pick(seq, k int32) int32 {
	if !c.open[seq] {
		return c.fail(abi.ErrBadInput, "%s: sequence %d is not open", abi.ExportCtlPick, seq)
	}
	if k < 1 || int(k) > len(c.bufs.Cands) {
		return c.fail(abi.ErrBadInput, "%s: %d candidates, want 1 to %d", abi.ExportCtlPick, k, len(c.bufs.Cands))
	}
	i := c.p.Pick(seq, c.bufs.Cands[:k])
	switch {
	case i < 0 && i >= -1<<31:
		return c.fail(int32(i), "%s: the policy failed with status %d", abi.ExportCtlPick, i)
	case i < 0 || i >= int(k):
		return c.fail(abi.ErrInternal, "%s: the policy chose candidate %d of %d", abi.ExportCtlPick, i, k)
	}
	return int32(i)
}

// Step is ctl_step: the policy's Action for the tokens ids appended to seq, packed as abi.PackAction, or a
// negative status.
func (c *Controller) Step(seq int32, ids []int32) int64 {
	if !c.open[seq] {
		return int64(c.fail(abi.ErrBadInput, "%s: sequence %d is not open", abi.ExportCtlStep, seq))
	}
	v, err := c.pack(c.p.Step(seq, ids))
	if err != nil {
		return int64(c.failErr(abi.ExportCtlStep, err))
	}
	return v
}

// pack checks an Action against the buffers and limits, copies its data into the buffers and packs it.
func (c *Controller) pack(a Action) (int64, error) {
	if a.err != nil {
		return 0, a.err
	}
	steer := a.flags & (abi.FlagMask | abi.FlagBias | abi.FlagPick)
	if a.kind != abi.ActSample && steer != 0 {
		return 0, fmt.Errorf("%w: mask, bias or pick on an action that does not sample", ErrInternal)
	}
	count, arg := 0, 0
	switch a.kind {
	case abi.ActSample:
		if a.flags&abi.FlagMask != 0 {
			if len(a.mask) < len(c.bufs.Mask) {
				return 0, fmt.Errorf("%w: mask of %d words, want %d", ErrInternal, len(a.mask), len(c.bufs.Mask))
			}
			if len(c.bufs.Mask) > 0 && &a.mask[0] != &c.bufs.Mask[0] {
				copy(c.bufs.Mask, a.mask)
			}
		}
		if a.flags&abi.FlagBias != 0 {
			if len(a.bias) > len(c.bufs.Bias) {
				return 0, fmt.Errorf("%w: %d bias pairs, the buffer holds %d", ErrLimit, len(a.bias), len(c.bufs.Bias))
			}
			count = copy(c.bufs.Bias, a.bias)
		}
		if a.flags&abi.FlagPick != 0 {
			if a.k < 1 || a.k > len(c.bufs.Cands) {
				return 0, fmt.Errorf("%w: pick from %d candidates, want 1 to %d", ErrInternal, a.k, len(c.bufs.Cands))
			}
			arg = a.k
		}
	case abi.ActSplice:
		if len(a.splice) > len(c.bufs.Splice) {
			return 0, fmt.Errorf("%w: splice of %d tokens, the buffer holds %d", ErrLimit, len(a.splice), len(c.bufs.Splice))
		}
		if a.back < 0 || a.back > abi.MaxArg {
			return 0, fmt.Errorf("%w: splice takes back %d tokens, want 0 to %d", ErrLimit, a.back, abi.MaxArg)
		}
		count, arg = copy(c.bufs.Splice, a.splice), a.back
	case abi.ActStop:
	case abi.ActFork:
		if a.forks < 1 || a.forks > c.info.MaxForks {
			return 0, fmt.Errorf("%w: fork into %d sequences, want 1 to %d", ErrLimit, a.forks, c.info.MaxForks)
		}
		count = a.forks
	}
	return abi.PackAction(a.kind, a.flags, count, arg), nil
}
