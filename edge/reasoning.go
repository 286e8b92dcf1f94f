package edge

import "strings"

const (
	thinkOpen  = "<think>"
	thinkClose = "</think>"
)

// thinkSplitter separates a reasoning model's output into reasoning_content and content, as the DeepSeek API
// returns them. Output starts inside the reasoning when the prompt opened <think> (R1 templates); otherwise
// a <think> at the very start of the output opens it. Text up to </think> is reasoning; the newlines right
// after </think> are dropped; the rest is content.
type thinkSplitter struct {
	state int    // one of the states below
	held  string // text that may be the start of a tag
}

const (
	thinkUndecided = iota // output has not yet shown whether it starts with <think>
	thinkInside
	thinkAfter // just after </think>: leading newlines are dropped
	thinkContent
)

func newThinkSplitter(promptOpensThinking bool) *thinkSplitter {
	if promptOpensThinking {
		return &thinkSplitter{state: thinkInside}
	}
	return &thinkSplitter{state: thinkUndecided}
}

// push splits the next piece of text.
func (t *thinkSplitter) push(text string) (reasoning, content string) {
	buf := t.held + text
	t.held = ""
	var r, c strings.Builder
	for buf != "" {
		switch t.state {
		case thinkUndecided:
			trimmed := strings.TrimLeft(buf, " \n")
			switch {
			case strings.HasPrefix(trimmed, thinkOpen):
				t.state, buf = thinkInside, trimmed[len(thinkOpen):]
			case strings.HasPrefix(thinkOpen, trimmed): // still could be <think>
				t.held, buf = buf, ""
			default:
				t.state = thinkContent
			}
		case thinkInside:
			if i := strings.Index(buf, thinkClose); i >= 0 {
				r.WriteString(buf[:i])
				t.state, buf = thinkAfter, buf[i+len(thinkClose):]
				continue
			}
			keep := partialSuffix(buf, thinkClose)
			r.WriteString(buf[:len(buf)-keep])
			t.held, buf = buf[len(buf)-keep:], ""
		case thinkAfter:
			buf = strings.TrimLeft(buf, "\n")
			if buf != "" {
				t.state = thinkContent
			}
		case thinkContent:
			c.WriteString(buf)
			buf = ""
		}
	}
	return r.String(), c.String()
}

// flush returns what is held at the end of generation.
func (t *thinkSplitter) flush() (reasoning, content string) {
	h := t.held
	t.held = ""
	if t.state == thinkInside {
		return h, ""
	}
	return "", h
}

// partialSuffix is the length of the longest suffix of s that is a proper prefix of tag.
func partialSuffix(s, tag string) int {
	for n := min(len(tag)-1, len(s)); n > 0; n-- {
		if strings.HasSuffix(s, tag[:n]) {
			return n
		}
	}
	return 0
}
