package main

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/wasmoe/wasmoe/guest/sdk"
)

// The modes of the config's byte 0.
const (
	modeFree = iota
	modeMask
	modeBias
	modeSplice
	modeFork
	modePick
	modeHide
	modeBacktrack
	numModes
)

// pickK is how many candidates mode 5 asks for.
const pickK = 4

// state is one sequence's.
type state struct {
	mode      byte
	x, y      int32
	steps     int // ctl_step calls so far
	generated int // generated steps so far
}

// Guest is the conformance policy. Its zero value is not usable: call New.
type Guest struct {
	config func() ([]byte, error)
	mask   []uint32
	seqs   map[int32]*state
}

// New returns the conformance policy; config reads the request's config bytes (sdk.Config in the guest).
func New(config func() ([]byte, error)) *Guest {
	return &Guest{config: config, seqs: map[int32]*state{}}
}

// Init sizes the mask for the model's logits.
func (g *Guest) Init(info sdk.ModelInfo) error {
	g.mask = make([]uint32, sdk.MaskWords(info.NLogits))
	return nil
}

// Open reads the config for a new request, or copies the parent's state for a fork.
func (g *Guest) Open(seq, parent int32) error {
	if parent >= 0 {
		s := *g.seqs[parent]
		g.seqs[seq] = &s
		return nil
	}
	cfg, err := g.config()
	if err != nil {
		return err
	}
	var b [12]byte
	copy(b[:], cfg)
	s := &state{mode: b[0], x: int32(binary.LittleEndian.Uint32(b[4:])), y: int32(binary.LittleEndian.Uint32(b[8:]))}
	if s.mode >= numModes {
		return fmt.Errorf("conformance: unknown mode %d (config byte 0; modes are 0 to %d): %w", s.mode, numModes-1, sdk.ErrBadInput)
	}
	g.seqs[seq] = s
	return nil
}

// Step answers as the sequence's mode says.
func (g *Guest) Step(seq int32, ids []int32) sdk.Action {
	s := g.seqs[seq]
	first := s.steps == 0
	s.steps++
	if !first && len(ids) > 0 {
		s.generated++
	}
	switch s.mode {
	case modeMask:
		clear(g.mask)
		if s.x >= 0 && int(s.x) < 32*len(g.mask) {
			sdk.Allow(g.mask, s.x)
		}
		return sdk.Sample().Mask(g.mask)
	case modeBias:
		return sdk.Sample().Bias(s.x, float32(math.Inf(1)))
	case modeSplice:
		if first {
			return sdk.Splice(0, s.x, s.y)
		}
		return sdk.Stop()
	case modeFork:
		switch {
		case first:
			return sdk.Fork(2)
		case len(ids) == 0:
			return sdk.Sample()
		}
		return sdk.Stop()
	case modePick:
		return sdk.Sample().Pick(pickK)
	case modeHide:
		if !first && len(ids) > 0 {
			switch s.generated {
			case 1:
				return sdk.Sample().Hold()
			case 2:
				return sdk.Sample().Hide()
			}
		}
		return sdk.Sample()
	case modeBacktrack:
		switch s.steps {
		case 1:
			return sdk.Splice(0, s.x)
		case 2:
			return sdk.Splice(1, s.y)
		}
		return sdk.Stop()
	}
	return sdk.Sample()
}

// Pick chooses the last (worst) of the candidates.
func (g *Guest) Pick(seq int32, cands []sdk.Candidate) int { return len(cands) - 1 }

// Close forgets the sequence.
func (g *Guest) Close(seq int32) { delete(g.seqs, seq) }
