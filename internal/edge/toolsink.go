package edge

import (
	"math/rand/v2"

	"github.com/wasmoe/wasmoe/internal/host/chat"
)

// finishToolCalls is the finish reason of a choice that ended with tool calls.
const finishToolCalls = "tool_calls"

// toolCall is a tool call of a choice, as the response shows it.
type toolCall struct {
	index           int // among the choice's calls
	id              string
	name, arguments string
}

// toolSink reads a choice's content for tool calls (chat.ToolParser): text outside calls goes on as
// content, each call to the output's toolCall; reasoning passes through.
type toolSink struct {
	p  *chat.ToolParser
	to *choiceSink
	n  int // calls released
}

func newToolSink(f chat.ToolFormat, to *choiceSink) *toolSink {
	return &toolSink{p: chat.NewToolParser(f), to: to}
}

func (t *toolSink) text(kind textKind, s string) error {
	if kind != content {
		return t.to.text(kind, s)
	}
	return t.release(t.p.Push(s))
}

// flush releases what the parser holds at the end of the choice.
func (t *toolSink) flush() error { return t.release(t.p.Flush()) }

func (t *toolSink) release(evs []chat.ToolEvent) error {
	for _, e := range evs {
		if e.Call == nil {
			if err := emit(t.to, content, e.Text); err != nil {
				return err
			}
			continue
		}
		c := toolCall{index: t.n, id: newCallID(), name: e.Call.Name, arguments: e.Call.Arguments}
		t.n++
		if err := t.to.out.toolCall(t.to.index, c); err != nil {
			return err
		}
	}
	return nil
}

// newCallID returns a tool call's id: "call_" and 24 letters and digits, as OpenAI's look.
func newCallID() string {
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := []byte("call_000000000000000000000000")
	for i := 5; i < len(b); i++ {
		b[i] = alnum[rand.IntN(len(alnum))]
	}
	return string(b)
}

// appendToolCalls appends a message's tool_calls array.
func appendToolCalls(b []byte, calls []toolCall) []byte {
	b = append(b, '[')
	for i, c := range calls {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendJSONString(b, c.id)
		b = append(b, `,"type":"function","function":{"name":`...)
		b = appendJSONString(b, c.name)
		b = append(b, `,"arguments":`...)
		b = appendJSONString(b, c.arguments)
		b = append(b, "}}"...)
	}
	return append(b, ']')
}
