package policies

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// TestFork: a child starts from its parent's state (constraint, text for stop strings and banned words)
// and the two go on independently.
func TestFork(t *testing.T) {
	m := syntheticModel(rand.New(rand.NewPCG(2, 2)), []string{"ab", "cd", "bx"}, "abcdx", 50, true)
	cfg := []byte(`{"regex": "(ab|cd)x", "stop": ["bx"], "ban": ["cdd"]}`)
	h := newHost(t, m, &cfg)
	c := h.c
	if c.Open(0, -1) != abi.OK {
		t.Fatal(h.logs)
	}
	step := func(seq int32, ids ...int32) (abi.Action, []uint32) {
		a := abi.UnpackAction(c.Step(seq, ids))
		if a.Err != 0 {
			t.Fatalf("seq %d: %d %q", seq, a.Err, h.logs)
		}
		return a, slices.Clone(c.Buffers().Mask)
	}
	allowed := func(mask []uint32) (texts []string) {
		for id := range int32(m.info.NTokens) {
			if mask[id/32]>>(id%32)&1 == 1 {
				texts = append(texts, string(m.table.Tokens[id]))
			}
		}
		slices.Sort(texts)
		return texts
	}
	step(0)
	_, parent := step(0, m.tok(t, "a"))
	if c.Open(1, 0) != abi.OK {
		t.Fatal(h.logs)
	}
	_, child := step(1)
	onlyB := func(texts []string) bool {
		for _, s := range texts {
			if s != "b" && s != "bx" {
				return false
			}
		}
		return slices.Contains(texts, "b")
	}
	if !slices.Equal(allowed(child), allowed(parent)) || !onlyB(allowed(child)) {
		t.Fatalf("after a: parent allows %q, child %q; want b and bx", allowed(parent), allowed(child))
	}
	if a, _ := step(1, m.tok(t, "b")); a.Flags&abi.FlagHold == 0 { // "ab" ends in "b", a prefix of the stop "bx"
		t.Fatalf("child after ab: %+v, want a hold", a)
	}
	if a, _ := step(1, m.tok(t, "x")); a.Kind != abi.ActStop || a.Flags&abi.FlagHide == 0 {
		t.Fatalf("child after abx: %+v, want a hidden stop", a)
	}
	c.Close(1)
	// The parent is still after "a".
	if _, mask := step(0); !onlyB(allowed(mask)) {
		t.Fatalf("parent after the child's steps allows %q", allowed(mask))
	}
}
