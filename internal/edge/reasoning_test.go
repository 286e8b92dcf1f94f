package edge

import (
	"errors"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/engine"
)

// split runs text through a thinkSplitter in the given pieces.
func split(opened bool, pieces []string) (reasoning, content string, reasoned bool) {
	var c collector
	t := newThinkSplitter(opened)
	for _, p := range pieces {
		t.push(p, &c)
	}
	t.flush(&c)
	return string(c.reasoning), string(c.content), t.reasoned
}

func TestThinkSplitter(t *testing.T) {
	cases := []struct {
		opened             bool
		text               string
		reasoning, content string
		reasoned           bool
	}{
		{true, "Let me think.\n</think>\n\nThe answer is 4.", "Let me think.\n", "The answer is 4.", true},
		{true, "\nfirst</think>answer", "first", "answer", true},
		{true, "</think>\n\n", "", "", true},
		{true, "never closed </th", "never closed </th", "", true},
		{false, "<think>\nplan</think>\n\ndone", "plan", "done", true},
		{false, " \n<think>plan</think>done", "plan", "done", true},
		{false, "plain <think> later</think>", "", "plain <think> later</think>", false},
		{false, "<thi", "", "<thi", false},
		{false, "\n\nHello", "", "\n\nHello", false},
		{false, "", "", "", false},
		{false, "<think>a</think>b</think>c", "a", "b</think>c", true},
	}
	for _, c := range cases {
		// Every way to cut the text into two or three pieces gives the same split.
		for i := 0; i <= len(c.text); i++ {
			for j := i; j <= len(c.text); j++ {
				r, ct, ok := split(c.opened, []string{c.text[:i], c.text[i:j], c.text[j:]})
				if r != c.reasoning || ct != c.content || ok != c.reasoned {
					t.Fatalf("opened %v, %q cut at %d,%d: reasoning %q content %q (%v), want %q %q (%v)",
						c.opened, c.text, i, j, r, ct, ok, c.reasoning, c.content, c.reasoned)
				}
			}
		}
	}
}

// failingSink fails every write.
type failingSink struct{}

func (failingSink) text(textKind, string) error { return errors.New("gone") }

func TestThinkSplitterSinkError(t *testing.T) {
	for _, opened := range []bool{true, false} {
		ts := newThinkSplitter(opened)
		if err := ts.push("<think>a</think>b", failingSink{}); err == nil {
			t.Errorf("opened %v: sink error lost", opened)
		}
	}
}

// TestReasoning checks reasoning_content, and its alias reasoning, in whole and streamed chat responses.
func TestReasoning(t *testing.T) {
	opens := "{% for m in messages %}{{ m['content'] }}{% endfor %}<｜Assistant｜><think>\n"
	cases := []struct {
		name               string
		template           string
		pieces             []string
		maxTokens          int
		reasoning, content string
		reasoned           bool
		finish             string
	}{
		{"prompt-opens", opens, []string{"Let me", " think.\n</th", "ink>\n\n", "The answer", " is 4."}, 0, "Let me think.\n", "The answer is 4.", true, "stop"},
		{"output-opens", "", []string{"<thi", "nk>\n", "plan", "</think>", "\n\ndone"}, 0, "plan", "done", true, "stop"},
		{"no-reasoning", "", []string{"<b>plain", " answer"}, 0, "", "<b>plain answer", false, "stop"},
		{"cut-by-length", opens, []string{"still", " thinking", "</think>", "x"}, 2, "still thinking", "", true, "length"},
		{"closed-at-once", opens, []string{"</think>", "Hi"}, 0, "", "Hi", true, "stop"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := &fakeModel{info: engine.ModelInfo{ChatTemplate: c.template}, pieces: c.pieces}
			s := newTestServer(m)
			body := `{` + hi
			if c.maxTokens > 0 {
				body += `,"max_tokens":2`
			}
			ch := post(s, "/v1/chat/completions", body+`}`).completion(t).Choices[0]
			if ch.Message.Content != c.content || ch.FinishReason != c.finish || (ch.Message.ReasoningContent != nil) != c.reasoned ||
				(ch.Message.Reasoning != nil) != c.reasoned || (c.reasoned && (*ch.Message.ReasoningContent != c.reasoning || *ch.Message.Reasoning != c.reasoning)) {
				t.Errorf("message %+v finish %q", ch.Message, ch.FinishReason)
			}
			cs := post(s, "/v1/chat/completions", body+`,"stream":true}`).chunks(t)
			r, ct, finish := streamed(t, cs)
			if r != c.reasoning || ct != c.content || finish != c.finish {
				t.Errorf("streamed reasoning %q content %q finish %q", r, ct, finish)
			}
			// Between the role and the finish: a non-empty content, or reasoning_content and its alias reasoning.
			for _, ch := range cs[1 : len(cs)-1] {
				d := ch.Choices[0].Delta
				answer := len(d) == 1 && d["content"] != ""
				thought := len(d) == 2 && d["reasoning_content"] != "" && d["reasoning"] == d["reasoning_content"]
				if !answer && !thought {
					t.Errorf("delta %q", d)
				}
			}
		})
	}
	// Completions return the raw text.
	m := &fakeModel{pieces: []string{"<think>a</think>", "b"}}
	if c := post(newTestServer(m), "/v1/completions", `{"prompt":"x"}`).completion(t); *c.Choices[0].Text != "<think>a</think>b" {
		t.Errorf("completion text %q", *c.Choices[0].Text)
	}
}
