package main

import "testing"

// TestThinkSplitter splits R1-style outputs, cut into two pieces at every byte, into reasoning and answer
// as the DeepSeek API's reasoning_content and content hold them.
func TestThinkSplitter(t *testing.T) {
	for _, c := range []struct {
		opens                   bool
		text, reasoning, answer string
	}{
		{false, "<think>\nRayleigh scattering.</think>\n\nBlue light scatters.", "Rayleigh scattering.", "Blue light scatters."},
		{true, "\nShort.</think>\n\nAnswer", "Short.", "Answer"},
		{false, "  Hello <think>x</think>", "", "  Hello <think>x</think>"},
		{true, "cut off at </thi", "cut off at </thi", ""},
		{false, "<thi", "", "<thi"},
	} {
		for cut := 0; cut <= len(c.text); cut++ {
			var r, a string
			emit := func(reasoning bool, s string) {
				if s == "" {
					t.Errorf("%q cut at %d: empty part", c.text, cut)
				}
				if reasoning {
					r += s
				} else {
					a += s
				}
			}
			sp := newThinkSplitter(c.opens)
			sp.push(c.text[:cut], emit)
			sp.push(c.text[cut:], emit)
			sp.flush(emit)
			if r != c.reasoning || a != c.answer {
				t.Errorf("%q cut at %d: reasoning %q, answer %q; want %q, %q", c.text, cut, r, a, c.reasoning, c.answer)
			}
		}
	}
}
