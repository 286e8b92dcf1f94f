package edge

import (
	"slices"
	"testing"
	"time"

	"github.com/wasmoe/wasmoe/internal/host/engine"
)

func TestStopper(t *testing.T) {
	cases := []struct {
		stops    []string
		pieces   []string
		released []string // what each push releases (then the flush, if no stop)
		stopped  bool
	}{
		{nil, []string{"ab", "c"}, []string{"ab", "c", ""}, false},
		// "a" and "ab" are held back while they could still start "abd".
		{[]string{"abd"}, []string{"a", "b", "c", "x"}, []string{"", "", "abc", "x", ""}, false},
		{[]string{"abd"}, []string{"xa", "b", "xab", "dz"}, []string{"x", "", "abx", ""}, true},
		{[]string{"END", "zzz"}, []string{"Hello", " wor", "ld! E", "ND more"}, []string{"Hello", " wor", "ld! ", ""}, true},
		// The earliest stop string wins, whichever is listed first.
		{[]string{"cd", "bc"}, []string{"abcd"}, []string{"a"}, true},
		// A tail held at the end of the generation is text after all.
		{[]string{"abd"}, []string{"xab"}, []string{"x", "ab"}, false},
		// Multi-byte characters are held back whole.
		{[]string{"€!"}, []string{"a€", "b"}, []string{"a", "€b", ""}, false},
	}
	for _, c := range cases {
		s := stopper{stops: c.stops}
		var got []string
		stopped := false
		for _, p := range c.pieces {
			r, hit := s.push(p)
			got = append(got, r)
			if hit {
				stopped = true
				break
			}
		}
		if !stopped {
			got = append(got, s.flush())
		}
		if !slices.Equal(got, c.released) || stopped != c.stopped {
			t.Errorf("stops %q pieces %q: released %q stopped %v, want %q %v", c.stops, c.pieces, got, stopped, c.released, c.stopped)
		}
	}
}

// TestStopStrings checks stop strings end the response and the generation, streamed or not.
func TestStopStrings(t *testing.T) {
	pieces := []string{"Hello", " wor", "ld! E", "ND more", " text"}
	for _, stream := range []bool{false, true} {
		m := &fakeModel{pieces: pieces, ended: make(chan struct{})}
		s := newTestServer(m)
		body := `{"prompt":"hi","stop":["END","zzz"]`
		var text, finish string
		var tokens int
		if stream {
			r := post(s, "/v1/completions", body+`,"stream":true,"stream_options":{"include_usage":true}}`)
			cs := r.chunks(t)
			_, text, finish = streamed(t, cs)
			tokens = cs[len(cs)-1].Usage.CompletionTokens
			var got []string
			for _, c := range cs[:len(cs)-2] {
				got = append(got, *c.Choices[0].Text)
			}
			if want := []string{"Hello", " wor", "ld! "}; !slices.Equal(got, want) {
				t.Errorf("streamed pieces %q, want %q: the partial stop string must be held back", got, want)
			}
		} else {
			c := post(s, "/v1/completions", body+`}`).completion(t)
			text, finish, tokens = *c.Choices[0].Text, c.Choices[0].FinishReason, c.Usage.CompletionTokens
		}
		if text != "Hello world! " || finish != "stop" || tokens != 4 {
			t.Errorf("stream %v: text %q finish %q tokens %d", stream, text, finish, tokens)
		}
		select {
		case <-m.ended:
		case <-time.After(5 * time.Second):
			t.Fatal("the generation did not stop at the stop string")
		}
		if n := m.emitted.Load(); n != 4 || m.emitErrs != 1 {
			t.Errorf("stream %v: model emitted %d pieces, %d failed emits; want 4 and 1", stream, n, m.emitErrs)
		}
	}
	// Stop strings apply to the raw text: one after the reasoning cuts the content.
	m := &fakeModel{info: engine.ModelInfo{ChatTemplate: "<think>\n"}, pieces: []string{"th", "ink</think>", "ans", "ST", "OP", "more"}}
	ch := post(newTestServer(m), "/v1/chat/completions", `{`+hi+`,"stop":"STOP"}`).completion(t).Choices[0]
	if *ch.Message.ReasoningContent != "think" || ch.Message.Content != "ans" || ch.FinishReason != "stop" {
		t.Errorf("message %+v finish %q", ch.Message, ch.FinishReason)
	}
	// A stop string that cuts a held-back partial tag releases the tag as text.
	m = &fakeModel{info: engine.ModelInfo{ChatTemplate: "<think>\n"}, pieces: []string{"a</th", "X"}}
	ch = post(newTestServer(m), "/v1/chat/completions", `{`+hi+`,"stop":["X"]}`).completion(t).Choices[0]
	if *ch.Message.ReasoningContent != "a</th" || ch.Message.Content != "" {
		t.Errorf("message %+v", ch.Message)
	}
}
