package edge

import "strings"

const (
	thinkOpen  = "<think>"
	thinkClose = "</think>"
)

// textKind tells reasoning from the answer.
type textKind uint8

const (
	content   textKind = iota // content: the answer
	reasoning                 // reasoning_content
)

// sink receives response text as it is released.
type sink interface {
	text(kind textKind, s string) error
}

// thinkSplitter separates a reasoning model's output into reasoning_content and content, as the DeepSeek
// API returns them. The output starts inside the reasoning when the prompt opened <think> (R1 templates
// end with "<think>\n"); otherwise a <think> at the start of the output (after whitespace) opens it. Text
// up to </think> is reasoning, the rest content; the newlines that start either are dropped, as DeepSeek
// drops the "\n\n" after </think>. Text that may be part of a tag is held back until it is decided.
type thinkSplitter struct {
	state    thinkState
	held     string
	reasoned bool // the output had a reasoning part
}

type thinkState uint8

const (
	thinkUndecided      thinkState = iota // the output has not yet shown whether it starts with <think>
	thinkReasoningStart                   // inside, dropping leading newlines
	thinkReasoning
	thinkContentStart // after </think>, dropping leading newlines
	thinkContent
)

func newThinkSplitter(promptOpensThinking bool) thinkSplitter {
	if promptOpensThinking {
		return thinkSplitter{state: thinkReasoningStart, reasoned: true}
	}
	return thinkSplitter{state: thinkUndecided}
}

// push splits the next text and sends the parts to out.
func (t *thinkSplitter) push(text string, out sink) error {
	buf := t.held + text
	t.held = ""
	for buf != "" {
		switch t.state {
		case thinkUndecided:
			trimmed := strings.TrimLeft(buf, " \t\r\n")
			switch {
			case strings.HasPrefix(trimmed, thinkOpen):
				t.state, t.reasoned, buf = thinkReasoningStart, true, trimmed[len(thinkOpen):]
			case strings.HasPrefix(thinkOpen, trimmed): // may still become <think>
				t.held, buf = buf, ""
			default:
				t.state = thinkContent
			}
		case thinkReasoningStart, thinkContentStart:
			if buf = strings.TrimLeft(buf, "\n"); buf != "" {
				t.state++ // to thinkReasoning or thinkContent
			}
		case thinkReasoning:
			if i := strings.Index(buf, thinkClose); i >= 0 {
				if err := emit(out, reasoning, buf[:i]); err != nil {
					return err
				}
				t.state, buf = thinkContentStart, buf[i+len(thinkClose):]
				continue
			}
			keep := partialSuffix(buf, thinkClose)
			t.held = buf[len(buf)-keep:]
			return emit(out, reasoning, buf[:len(buf)-keep])
		case thinkContent:
			return out.text(content, buf)
		}
	}
	return nil
}

// flush releases what is held back at the end of the output: a partial tag is text after all.
func (t *thinkSplitter) flush(out sink) error {
	h := t.held
	t.held = ""
	if t.state == thinkReasoning || t.state == thinkReasoningStart {
		return emit(out, reasoning, h)
	}
	return emit(out, content, h)
}

// emit sends s unless it is empty.
func emit(out sink, kind textKind, s string) error {
	if s == "" {
		return nil
	}
	return out.text(kind, s)
}
