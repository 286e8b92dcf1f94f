package main

import "strings"

const (
	thinkOpen  = "<think>"
	thinkClose = "</think>"
)

// thinkSplitter tells an R1-style model's reasoning from its answer as the text streams in, as the
// server's reasoning_content does: the output starts inside the reasoning when the prompt opened <think>
// (R1 templates end with "<think>\n"), or when it starts with <think> after whitespace; text up to
// </think> is reasoning, the rest the answer; the newlines that start either are dropped. Text that may be
// part of a tag is held back until it is decided.
type thinkSplitter struct {
	decided   bool   // whether the output may still open with <think>
	reasoning bool   // inside <think>…</think>
	trimNL    bool   // drop newlines: a part has just begun
	held      string // the start of what may be a tag
}

// newThinkSplitter starts a splitter on one answer; promptOpensThinking is chat.OpensThinking of the prompt.
func newThinkSplitter(promptOpensThinking bool) *thinkSplitter {
	return &thinkSplitter{decided: promptOpensThinking, reasoning: promptOpensThinking, trimNL: promptOpensThinking}
}

// push splits the next text, calling emit with each non-empty part.
func (t *thinkSplitter) push(text string, emit func(reasoning bool, s string)) {
	buf := t.held + text
	t.held = ""
	for buf != "" {
		if t.trimNL {
			if buf = strings.TrimLeft(buf, "\n"); buf == "" {
				return
			}
			t.trimNL = false
		}
		if !t.decided {
			trimmed := strings.TrimLeft(buf, " \t\r\n")
			switch {
			case strings.HasPrefix(trimmed, thinkOpen):
				t.decided, t.reasoning, t.trimNL, buf = true, true, true, trimmed[len(thinkOpen):]
				continue
			case strings.HasPrefix(thinkOpen, trimmed): // whitespace, or what may still become <think>
				t.held = buf
				return
			}
			t.decided = true
		}
		if !t.reasoning {
			emit(false, buf)
			return
		}
		if i := strings.Index(buf, thinkClose); i >= 0 {
			if i > 0 {
				emit(true, buf[:i])
			}
			t.reasoning, t.trimNL, buf = false, true, buf[i+len(thinkClose):]
			continue
		}
		keep := partialSuffix(buf, thinkClose)
		if keep < len(buf) {
			emit(true, buf[:len(buf)-keep])
		}
		t.held = buf[len(buf)-keep:]
		return
	}
}

// flush releases what is held back at the end of the answer: a partial tag is text after all.
func (t *thinkSplitter) flush(emit func(reasoning bool, s string)) {
	if t.held != "" {
		emit(t.reasoning, t.held)
		t.held = ""
	}
}

// partialSuffix is the length of the longest suffix of s that is a proper prefix of tag.
func partialSuffix(s, tag string) int {
	for n := min(len(s), len(tag)-1); n > 0; n-- {
		if strings.HasSuffix(s, tag[:n]) {
			return n
		}
	}
	return 0
}
