package main

import (
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/guest/sdk"
)

const nLogits = 70 // 3 mask words

// config encodes a conformance config: mode, then X and Y as little-endian i32 at offsets 4 and 8.
func config(mode byte, x, y int32) []byte {
	b := make([]byte, 12)
	b[0] = mode
	binary.LittleEndian.PutUint32(b[4:], uint32(x))
	binary.LittleEndian.PutUint32(b[8:], uint32(y))
	return b
}

// host drives the guest through an sdk.Controller the way the host calls the exports.
type host struct {
	t    *testing.T
	c    *sdk.Controller
	cfg  []byte
	logs []string
}

func newHost(t *testing.T, cfg []byte) *host {
	h := &host{t: t, cfg: cfg}
	h.c = sdk.NewController(New(func() ([]byte, error) { return h.cfg, nil }))
	h.c.Log = func(_ uint32, msg string) { h.logs = append(h.logs, msg) }
	info := sdk.ModelInfo{ABIVersion: 1, NLogits: nLogits, NTokens: nLogits, NCtx: 100, BOS: -1, EOS: -1, EOT: -1,
		ThinkOpen: -1, ThinkClose: -1, MaxForks: 4, MaxSplice: 16, MaxBias: 16}
	if st := h.c.Init(info); st != abi.OK {
		t.Fatalf("ctl_init: %d", st)
	}
	return h
}

func (h *host) open(seq, parent int32) {
	h.t.Helper()
	if st := h.c.Open(seq, parent); st != abi.OK {
		h.t.Fatalf("ctl_open(%d, %d) = %d, log %q", seq, parent, st, h.logs)
	}
}

// step checks ctl_step's action against the spec's, given as abi.PackAction arguments.
func (h *host) step(seq int32, ids []int32, kind, flags, count, arg int) {
	h.t.Helper()
	if got, want := h.c.Step(seq, ids), abi.PackAction(kind, flags, count, arg); got != want {
		h.t.Fatalf("ctl_step(%d, %v) = %+v, want %+v (log %q)", seq, ids, abi.UnpackAction(got), abi.UnpackAction(want), h.logs)
	}
}

func TestFree(t *testing.T) {
	for _, cfg := range [][]byte{nil, config(0, 5, 6), {0}} {
		h := newHost(t, cfg)
		h.open(0, -1)
		h.step(0, []int32{1, 2, 3}, abi.ActSample, 0, 0, 0)
		for id := range int32(5) {
			h.step(0, []int32{id}, abi.ActSample, 0, 0, 0)
		}
	}
}

func TestMask(t *testing.T) {
	for _, x := range []int32{0, 31, 32, 69} {
		h := newHost(t, config(1, x, 0))
		h.open(0, -1)
		for i, ids := range [][]int32{{1, 2}, {x}, {x}} {
			h.step(0, ids, abi.ActSample, abi.FlagMask, 0, 0)
			mask := h.c.Buffers().Mask
			if len(mask) != 3 {
				t.Fatalf("mask of %d words for %d logits", len(mask), nLogits)
			}
			for id := range int32(nLogits) {
				if bit := mask[id/32]>>(id%32)&1 == 1; bit != (id == x) {
					t.Fatalf("x=%d step %d: token %d allowed = %v", x, i, id, bit)
				}
			}
		}
	}
}

func TestBias(t *testing.T) {
	h := newHost(t, config(2, 17, 0))
	h.open(0, -1)
	for _, ids := range [][]int32{{1}, {17}, {17}} {
		h.step(0, ids, abi.ActSample, abi.FlagBias, 1, 0)
		if got := h.c.Buffers().Bias[0]; got.ID != 17 || !math.IsInf(float64(got.Value), 1) {
			t.Fatalf("bias pair %+v, want (17, +Inf)", got)
		}
	}
}

func TestSplice(t *testing.T) {
	h := newHost(t, config(3, 11, 12))
	h.open(0, -1)
	h.step(0, []int32{1, 2}, abi.ActSplice, 0, 2, 0)
	if got := h.c.Buffers().Splice[:2]; !slices.Equal(got, []int32{11, 12}) {
		t.Fatalf("splice buffer %v, want [11 12]", got)
	}
	h.step(0, []int32{11, 12}, abi.ActStop, 0, 0, 0)
}

func TestFork(t *testing.T) {
	h := newHost(t, config(4, 0, 0))
	h.open(0, -1)
	h.step(0, []int32{1, 2}, abi.ActFork, 0, 2, 0)
	h.open(1, 0)
	h.step(0, nil, abi.ActSample, 0, 0, 0)
	h.step(1, nil, abi.ActSample, 0, 0, 0)
	h.step(1, []int32{7}, abi.ActStop, 0, 0, 0)
	h.step(0, []int32{8}, abi.ActStop, 0, 0, 0)
	h.c.Close(0)
	h.c.Close(1)
}

func TestPick(t *testing.T) {
	h := newHost(t, config(5, 0, 0))
	h.open(0, -1)
	for _, ids := range [][]int32{{1, 2}, {3}} {
		h.step(0, ids, abi.ActSample, abi.FlagPick, 0, 4)
		for k := int32(1); k <= 4; k++ {
			if got := h.c.Pick(0, k); got != k-1 {
				t.Fatalf("ctl_pick(0, %d) = %d, want %d", k, got, k-1)
			}
		}
	}
}

func TestHide(t *testing.T) {
	h := newHost(t, config(6, 0, 0))
	h.open(0, -1)
	h.step(0, []int32{1, 2}, abi.ActSample, 0, 0, 0)         // the prompt
	h.step(0, []int32{3}, abi.ActSample, abi.FlagHold, 0, 0) // generated step 1
	h.step(0, []int32{4}, abi.ActSample, abi.FlagHide, 0, 0) // generated step 2
	h.step(0, []int32{5}, abi.ActSample, 0, 0, 0)
	h.step(0, []int32{6}, abi.ActSample, 0, 0, 0)

	// A fork's step with no tokens is not a generated step, and the child copies the count.
	h = newHost(t, config(6, 0, 0))
	h.open(0, -1)
	h.step(0, []int32{1}, abi.ActSample, 0, 0, 0)
	h.step(0, []int32{3}, abi.ActSample, abi.FlagHold, 0, 0)
	h.open(1, 0)
	h.step(1, nil, abi.ActSample, 0, 0, 0)
	h.step(1, []int32{4}, abi.ActSample, abi.FlagHide, 0, 0)
	h.step(0, []int32{4}, abi.ActSample, abi.FlagHide, 0, 0)
}

func TestBacktrack(t *testing.T) {
	h := newHost(t, config(7, 21, 22))
	h.open(0, -1)
	h.step(0, []int32{1, 2}, abi.ActSplice, 0, 1, 0)
	if got := h.c.Buffers().Splice[0]; got != 21 {
		t.Fatalf("splice buffer [%d], want [21]", got)
	}
	h.step(0, []int32{21}, abi.ActSplice, 0, 1, 1)
	if got := h.c.Buffers().Splice[0]; got != 22 {
		t.Fatalf("splice buffer [%d], want [22]", got)
	}
	h.step(0, []int32{22}, abi.ActStop, 0, 0, 0)
}

func TestPerSequenceState(t *testing.T) {
	// Two requests' sequences on one instance keep their own modes and counts.
	h := newHost(t, config(3, 11, 12))
	h.open(0, -1)
	h.cfg = config(7, 21, 22)
	h.open(1, -1)
	h.step(1, []int32{1}, abi.ActSplice, 0, 1, 0)
	h.step(0, []int32{1}, abi.ActSplice, 0, 2, 0)
	h.step(1, []int32{21}, abi.ActSplice, 0, 1, 1)
	h.c.Close(0)
	h.cfg = config(0, 0, 0)
	h.open(0, -1)
	h.step(0, []int32{1}, abi.ActSample, 0, 0, 0)
	h.step(1, []int32{22}, abi.ActStop, 0, 0, 0)
}

func TestUnknownMode(t *testing.T) {
	for _, mode := range []byte{8, 255} {
		h := newHost(t, config(mode, 0, 0))
		if st := h.c.Open(0, -1); st != abi.ErrBadInput {
			t.Fatalf("mode %d: ctl_open = %d, want %d", mode, st, abi.ErrBadInput)
		}
		if len(h.logs) != 1 || !strings.Contains(h.logs[0], "unknown mode") {
			t.Fatalf("mode %d: log %q", mode, h.logs)
		}
	}
}

func TestShortConfig(t *testing.T) {
	// Missing bytes read as 0: X = 0x0201 from two bytes at offset 4, Y = 0.
	h := newHost(t, []byte{3, 0, 0, 0, 1, 2})
	h.open(0, -1)
	h.step(0, []int32{1}, abi.ActSplice, 0, 2, 0)
	if got := h.c.Buffers().Splice[:2]; !slices.Equal(got, []int32{0x0201, 0}) {
		t.Fatalf("splice %v", got)
	}
}
