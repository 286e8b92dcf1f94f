package wasm

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/guest/constraint"
	"github.com/wasmoe/wasmoe/internal/builtin"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// TestPolicyGBNFJapanese: a request under llama.cpp's japanese.gbnf (classes holding some multibyte
// characters, whose first mask used to run past the deadline) on the built-in policy guest at DeepSeek-V3's
// vocabulary, on wazero with the CLI's default 100 ms step deadline: the step at the prompt and those
// after Japanese output each give a mask within the deadline, and each mask allows exactly the streamed
// tokens (end-of-generation ones aside) whose bytes the grammar's native matcher takes one by one.
func TestPolicyGBNFJapanese(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(testutil.Root(), "guest/constraint/testdata/gbnf/japanese.gbnf"))
	if err != nil {
		t.Fatal(err)
	}
	native, err := constraint.GBNF(string(src))
	if err != nil {
		t.Fatal(err)
	}
	m := deepSeekV3PolicyModel(t)
	p, err := NewPolicy(newRuntimeConfig(t, Config{Engine: EngineWazero, StepTimeout: 100 * time.Millisecond}), builtin.Policy, m, 1)
	if err != nil {
		t.Fatal(err)
	}
	config, err := json.Marshal(map[string]string{"grammar": string(src)})
	if err != nil {
		t.Fatal(err)
	}
	s, done := openSequence(t, p, config)
	defer done()
	ids, text := []int32{m.BOS}, ""
	for step := range 4 {
		start := time.Now()
		a, err := s.Step(0, ids)
		if err != nil {
			t.Fatalf("step %d, after %q: %v", step, text, err)
		}
		took := time.Since(start)
		if a.mask == nil {
			t.Fatalf("step %d, after %q: no mask", step, text)
		}
		next, allowed := int32(-1), 0
		for id, piece := range m.Pieces {
			if len(piece) == 0 || !streamed(m.Types[id]) || int32(id) == m.EOS || int32(id) == m.EOT {
				continue
			}
			got, want := a.mask[id/8]&(1<<(id%8)) != 0, takes(native, piece)
			if got != want {
				t.Fatalf("step %d, after %q: token %d %q: mask %v, matcher %v", step, text, id, piece, got, want)
			}
			if got {
				allowed++
				if next < 0 && utf8.RuneCount(piece) >= 2 && utf8.RuneCount(piece) < len(piece)/2 {
					next = int32(id) // the output goes on with a token of two multibyte characters or more
				}
			}
		}
		t.Logf("step %d after %q: %d tokens allowed, %v", step, text, allowed, took)
		for _, b := range m.Pieces[next] {
			native.Advance(b)
		}
		ids, text = []int32{next}, text+string(m.Pieces[next])
	}
}

// streamed reports whether tokens of type t reach the output's text (as the policy guest's vocab counts them).
func streamed(t int32) bool {
	switch t {
	case abi.TokenControl, abi.TokenUnknown, abi.TokenUnused:
		return false
	}
	return true
}

// takes reports whether m takes every byte of piece, leaving m as it was.
func takes(m constraint.Matcher, piece []byte) bool {
	c := m.Clone()
	for _, b := range piece {
		if !c.Advance(b) {
			return false
		}
	}
	return true
}
