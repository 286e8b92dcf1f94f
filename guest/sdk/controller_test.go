package sdk

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// scripted is a Policy whose Step returns the next Action of its script and which records every call.
type scripted struct {
	script []Action
	calls  []string
	pick   int
	open   error
	init   error
	info   ModelInfo
}

func (p *scripted) Init(info ModelInfo) error { p.info = info; return p.init }
func (p *scripted) Open(seq, parent int32) error {
	p.calls = append(p.calls, fmt.Sprintf("open %d %d", seq, parent))
	return p.open
}
func (p *scripted) Step(seq int32, ids []int32) Action {
	p.calls = append(p.calls, fmt.Sprintf("step %d %v", seq, ids))
	a := p.script[0]
	p.script = p.script[1:]
	return a
}
func (p *scripted) Pick(seq int32, cands []Candidate) int {
	p.calls = append(p.calls, fmt.Sprintf("pick %d %d", seq, len(cands)))
	return p.pick
}
func (p *scripted) Close(seq int32) { p.calls = append(p.calls, fmt.Sprintf("close %d", seq)) }

var testInfo = ModelInfo{ABIVersion: 1, NLogits: 100, NTokens: 90, NCtx: 64, BOS: -1, EOS: 1, EOT: -1,
	ThinkOpen: -1, ThinkClose: -1, MaxForks: 4, MaxSplice: 8, MaxBias: 3}

func newTestController(t *testing.T, p Policy) (*Controller, *[]string) {
	t.Helper()
	c := NewController(p)
	var logs []string
	c.Log = func(level uint32, msg string) { logs = append(logs, msg) }
	if st := c.Init(testInfo); st != abi.OK {
		t.Fatalf("Init: %d", st)
	}
	return c, &logs
}

func TestControllerBuffers(t *testing.T) {
	c, _ := newTestController(t, &scripted{})
	b := c.Buffers()
	// Sizes from the ABI: ceil(n_logits/32) mask words, MaxPickK candidates, and the model_info limits.
	if len(b.Mask) != 4 || len(b.Cands) != abi.MaxPickK || len(b.Bias) != 3 || len(b.Splice) != 8 {
		t.Fatalf("buffers: %d mask words, %d cands, %d bias, %d splice", len(b.Mask), len(b.Cands), len(b.Bias), len(b.Splice))
	}
	p := &scripted{init: fmt.Errorf("no vocab: %w", ErrNotFound)}
	c = NewController(p)
	if st := c.Init(testInfo); st != abi.ErrNotFound {
		t.Fatalf("Init with a failing policy: %d", st)
	}
	if st := c.Open(0, -1); st != abi.ErrNotReady {
		t.Fatalf("Open after a failed Init: %d", st)
	}
}

func TestControllerActions(t *testing.T) {
	inf := float32(math.Inf(1))
	ownMask := make([]uint32, 4)
	ownMask[2] = 1 << 5 // token 69
	cases := []struct {
		name   string
		action func(c *Controller) Action
		want   abi.Action
		check  func(c *Controller) string
	}{
		{"sample", func(*Controller) Action { return Sample() }, abi.Action{Kind: abi.ActSample}, nil},
		{"zero", func(*Controller) Action { return Action{} }, abi.Action{Kind: abi.ActSample}, nil},
		{"stop", func(*Controller) Action { return Stop() }, abi.Action{Kind: abi.ActStop}, nil},
		{"stop hidden", func(*Controller) Action { return Stop().Hide() }, abi.Action{Kind: abi.ActStop, Flags: abi.FlagHide}, nil},
		{"fork", func(*Controller) Action { return Fork(3) }, abi.Action{Kind: abi.ActFork, Count: 3}, nil},
		{"hold", func(*Controller) Action { return Sample().Hold() }, abi.Action{Flags: abi.FlagHold}, nil},
		{"mask copied", func(*Controller) Action { return Sample().Mask(ownMask) },
			abi.Action{Flags: abi.FlagMask}, func(c *Controller) string {
				if !slices.Equal(c.Buffers().Mask, ownMask) {
					return fmt.Sprintf("mask buffer %v", c.Buffers().Mask)
				}
				return ""
			}},
		{"mask in place", func(c *Controller) Action {
			m := c.Buffers().Mask
			AllowFirst(m, 3)
			return Sample().Mask(m)
		}, abi.Action{Flags: abi.FlagMask}, func(c *Controller) string {
			if !slices.Equal(c.Buffers().Mask, []uint32{7, 0, 0, 0}) {
				return fmt.Sprintf("mask buffer %v", c.Buffers().Mask)
			}
			return ""
		}},
		{"bias", func(*Controller) Action { return Sample().Bias(5, inf).Bias(7, -2) },
			abi.Action{Flags: abi.FlagBias, Count: 2}, func(c *Controller) string {
				if got := c.Buffers().Bias[:2]; !slices.Equal(got, []BiasPair{{5, inf}, {7, -2}}) {
					return fmt.Sprintf("bias buffer %v", got)
				}
				return ""
			}},
		{"pick", func(*Controller) Action { return Sample().Pick(4).Hide() },
			abi.Action{Flags: abi.FlagPick | abi.FlagHide, Arg: 4}, nil},
		{"splice", func(*Controller) Action { return Splice(2, 10, 11, 12) },
			abi.Action{Kind: abi.ActSplice, Count: 3, Arg: 2}, func(c *Controller) string {
				if got := c.Buffers().Splice[:3]; !slices.Equal(got, []int32{10, 11, 12}) {
					return fmt.Sprintf("splice buffer %v", got)
				}
				return ""
			}},
		{"take back only", func(*Controller) Action { return Splice(1) }, abi.Action{Kind: abi.ActSplice, Arg: 1}, nil},
		{"fail", func(*Controller) Action { return Fail(fmt.Errorf("config: %w", ErrBadInput)) },
			abi.Action{Err: abi.ErrBadInput}, nil},
		{"fail plain", func(*Controller) Action { return Fail(errors.New("boom")) }, abi.Action{Err: abi.ErrInternal}, nil},
		{"too much bias", func(*Controller) Action { return Sample().Bias(1, 1).Bias(2, 1).Bias(3, 1).Bias(4, 1) },
			abi.Action{Err: abi.ErrLimit}, nil},
		{"splice too long", func(*Controller) Action { return Splice(0, make([]int32, 9)...) }, abi.Action{Err: abi.ErrLimit}, nil},
		{"take back too much", func(*Controller) Action { return Splice(abi.MaxArg + 1) }, abi.Action{Err: abi.ErrLimit}, nil},
		{"too many forks", func(*Controller) Action { return Fork(5) }, abi.Action{Err: abi.ErrLimit}, nil},
		{"no fork", func(*Controller) Action { return Fork(0) }, abi.Action{Err: abi.ErrLimit}, nil},
		{"short mask", func(*Controller) Action { return Sample().Mask(make([]uint32, 3)) }, abi.Action{Err: abi.ErrInternal}, nil},
		{"pick 0", func(*Controller) Action { return Sample().Pick(0) }, abi.Action{Err: abi.ErrInternal}, nil},
		{"pick too many", func(*Controller) Action { return Sample().Pick(abi.MaxPickK + 1) }, abi.Action{Err: abi.ErrInternal}, nil},
		{"mask on stop", func(*Controller) Action { return Stop().Mask(ownMask) }, abi.Action{Err: abi.ErrInternal}, nil},
		{"bias on splice", func(*Controller) Action { return Splice(0, 1).Bias(1, 1) }, abi.Action{Err: abi.ErrInternal}, nil},
	}
	for _, tc := range cases {
		p := &scripted{}
		c, logs := newTestController(t, p)
		if st := c.Open(7, -1); st != abi.OK {
			t.Fatal(st)
		}
		p.script = []Action{tc.action(c)}
		got := abi.UnpackAction(c.Step(7, []int32{1, 2}))
		if got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
		if (got.Err != 0) != (len(*logs) > 0) {
			t.Errorf("%s: status %d with log %q", tc.name, got.Err, *logs)
		}
		if tc.check != nil {
			if msg := tc.check(c); msg != "" {
				t.Errorf("%s: %s", tc.name, msg)
			}
		}
	}
}

func TestControllerSequences(t *testing.T) {
	p := &scripted{script: []Action{Fork(2), Sample(), Sample(), Sample().Pick(2)}, pick: 1}
	c, logs := newTestController(t, p)
	steps := []struct {
		name string
		call func() int64
		want int64
	}{
		{"step before open", func() int64 { return c.Step(1, nil) }, abi.ErrBadInput},
		{"open child of nothing", func() int64 { return int64(c.Open(2, 1)) }, abi.ErrBadInput},
		{"open", func() int64 { return int64(c.Open(1, -1)) }, abi.OK},
		{"open twice", func() int64 { return int64(c.Open(1, -1)) }, abi.ErrBadInput},
		{"fork", func() int64 { return c.Step(1, []int32{5, 6}) }, abi.PackAction(abi.ActFork, 0, 2, 0)},
		{"open child", func() int64 { return int64(c.Open(2, 1)) }, abi.OK},
		{"step parent", func() int64 { return c.Step(1, nil) }, 0},
		{"step child", func() int64 { return c.Step(2, nil) }, 0},
		{"step with pick", func() int64 { return c.Step(2, []int32{9}) }, abi.PackAction(abi.ActSample, abi.FlagPick, 0, 2)},
		{"pick", func() int64 { return int64(c.Pick(2, 2)) }, 1},
		{"pick 0", func() int64 { return int64(c.Pick(2, 0)) }, abi.ErrBadInput},
		{"pick too many", func() int64 { return int64(c.Pick(2, abi.MaxPickK+1)) }, abi.ErrBadInput},
		{"pick out of range", func() int64 { return int64(c.Pick(2, 1)) }, abi.ErrInternal},
		{"pick closed", func() int64 { return int64(c.Pick(3, 2)) }, abi.ErrBadInput},
		{"close", func() int64 { return int64(c.Close(1)) }, abi.OK},
		{"close again", func() int64 { return int64(c.Close(1)) }, abi.OK},
		{"step closed", func() int64 { return c.Step(1, nil) }, abi.ErrBadInput},
	}
	for _, s := range steps {
		if got := s.call(); got != s.want {
			t.Fatalf("%s: %d, want %d (log %q)", s.name, got, s.want, *logs)
		}
	}
	want := []string{"open 1 -1", "step 1 [5 6]", "open 2 1", "step 1 []", "step 2 []", "step 2 [9]", "pick 2 2",
		"pick 2 1", "close 1"}
	if !slices.Equal(p.calls, want) {
		t.Fatalf("policy calls\n%q\nwant\n%q", p.calls, want)
	}
	p.pick = abi.ErrNoToken
	if got := c.Pick(2, 3); got != abi.ErrNoToken {
		t.Fatalf("a policy's negative pick: %d", got)
	}
	p.open = errors.New("no")
	if got := c.Open(5, -1); got != abi.ErrInternal || !strings.Contains((*logs)[len(*logs)-1], "no") {
		t.Fatalf("a failing Open: %d, log %q", got, *logs)
	}
	if got := c.Step(5, nil); got != abi.ErrBadInput {
		t.Fatalf("step after a failed Open: %d", got)
	}
}
