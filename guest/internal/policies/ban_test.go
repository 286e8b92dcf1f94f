package policies

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/wasmoe/wasmoe/guest/abi"
)

func banModel() *testModel {
	return syntheticModel(rand.New(rand.NewPCG(9, 9)), []string{"bad", "ba", "ad", "dab", "abba", "xbad", "b a"}, "abdx ", 200, true)
}

// TestBanMask checks every step's mask against brute force: a token is allowed iff the text so far
// followed by the token's text contains no banned word (control tokens stream nothing, so they stay
// allowed), over random runs.
func TestBanMask(t *testing.T) {
	m := banModel()
	steps := 0
	var cfg []byte
	h := newHost(t, m, &cfg)
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 2))
		var words []string
		for range 1 + rng.IntN(3) {
			b := make([]byte, 1+rng.IntN(4))
			for i := range b {
				b[i] = "abdx "[rng.IntN(5)]
			}
			words = append(words, string(b))
		}
		b, _ := json.Marshal(map[string]any{"ban": words})
		s := h.stepper(string(b))
		var text []byte
		for range 30 {
			mask := s.h.c.Buffers().Mask
			var allowed []int32
			var buf []byte
			for id := range int32(m.info.NLogits) {
				got := mask[id/32]>>(id%32)&1 == 1
				want := id < int32(m.info.NTokens)
				if want {
					buf = append(append(buf[:0], text...), m.text(id)...)
				}
				for _, w := range words {
					want = want && !bytes.Contains(buf, []byte(w))
				}
				if got != want {
					t.Fatalf("seed %d: ban %q after %q: token %d %q allowed = %v, want %v", seed, words, text, id, m.text(id), got, want)
				}
				if want && m.text(id) != nil {
					allowed = append(allowed, id)
				}
			}
			steps++
			if len(allowed) == 0 {
				break
			}
			id := allowed[rng.IntN(len(allowed))]
			text = append(text, m.text(id)...)
			if a := s.step(id); a.Kind != abi.ActSample || a.Flags&abi.FlagMask == 0 {
				t.Fatalf("seed %d: %+v, want a masked sample", seed, a)
			}
		}
	}
	if steps < 2000 {
		t.Fatalf("only %d steps checked", steps)
	}
}

func TestBanProperty(t *testing.T) {
	m := banModel()
	var cfg []byte
	h := newHost(t, m, &cfg)
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 3))
		words := []string{"bad", "b a", string("abdx"[rng.IntN(4)]) + string("abdx"[rng.IntN(4)])}
		cfg, _ = json.Marshal(map[string]any{"ban": words})
		out := h.run(rng, []int32{m.tok(t, "bad")}, 80, uniformModel(0.2))
		full := m.textOf(out.tokens)
		for _, w := range words {
			if bytes.Contains(full, []byte(w)) {
				t.Fatalf("seed %d: banned %q in %q", seed, w, full)
			}
		}
		if !bytes.Equal(out.streamed, full) {
			t.Fatalf("seed %d: streamed %q, text %q", seed, out.streamed, full)
		}
	}
}
