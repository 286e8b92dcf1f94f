package edge

import (
	"fmt"

	"github.com/wasmoe/wasmoe/internal/host/chat"
	"github.com/wasmoe/wasmoe/internal/host/engine"
)

// maxChoices bounds the choice index a generation may emit (a policy forks into a handful).
const maxChoices = 1024

// output receives a response's choices as the pipe releases them: the SSE writer, or the gatherer of a
// whole response. A choice opens before its first text and finishes once; a token's logprobs go with the
// choice's next text or its finish.
type output interface {
	open(index int) error
	logprobs(index int, lp *engine.Logprobs)
	text(index int, kind textKind, s string) error
	toolCall(index int, call toolCall) error
	finish(index int, reason string) error
}

// pipe turns a generation's pieces into response text, one state per choice (a policy may fork the
// request into several): stop strings are cut from each choice's raw text, then, for chat, its reasoning
// is split from its content, and the result goes to the output.
type pipe struct {
	stops          []string
	split          bool               // chat: split reasoning from content
	echo           bool               // completions' echo: each choice starts with the prompt
	prompt         string             // the prompt's text, for echo
	promptLogprobs []*engine.Logprobs // the prompt's tokens' logprobs, for echo with logprobs
	opens          bool               // the prompt leaves the model inside <think>
	tools          chat.ToolFormat    // chat: the format tool calls are read in; ToolsNone: not read
	toolText       map[int32]string   // the text of control tokens the tool-call parser must see
	out            output
	choices        []*choiceText // by index; nil for one not seen yet
	seen           int           // choices opened
	stopped        int           // choices a stop string ended
	tokens         int           // pieces of a token received: the completion tokens the edge saw
}

// choiceText is one choice on its way through the pipe.
type choiceText struct {
	stop    stopper
	think   thinkSplitter
	to      choiceSink
	calls   *toolSink // the tool-call parser between the reasoning splitter and to; nil when calls are not read
	stopped bool      // a stop string ended it; later pieces are dropped
}

// sink is where the reasoning splitter sends the choice's text.
func (c *choiceText) sink() sink {
	if c.calls != nil {
		return c.calls
	}
	return &c.to
}

// choiceSink sends one choice's text to the output; it is the reasoning splitter's sink.
type choiceSink struct {
	out   output
	index int
}

func (c *choiceSink) text(kind textKind, s string) error { return c.out.text(c.index, kind, s) }

func newPipe(j *job, out output) *pipe {
	return &pipe{stops: j.gen.stop, split: j.chat, opens: j.opensThinking, out: out, echo: j.gen.echo, prompt: j.echo,
		tools: j.tools, toolText: j.toolText}
}

// choice returns choice i, opening it on first use (with echo, the prompt and its logprobs come first).
// A fork's choice starts as the output does: its text is what it generates after the fork.
func (p *pipe) choice(i int) (*choiceText, error) {
	if err := checkIndex(i); err != nil {
		return nil, err
	}
	if i < len(p.choices) && p.choices[i] != nil {
		return p.choices[i], nil
	}
	for len(p.choices) <= i {
		p.choices = append(p.choices, nil)
	}
	c := &choiceText{stop: stopper{stops: p.stops}, think: newThinkSplitter(p.opens), to: choiceSink{out: p.out, index: i}}
	if p.tools != chat.ToolsNone {
		c.calls = newToolSink(p.tools, &c.to)
	}
	p.choices[i] = c
	p.seen++
	if err := p.out.open(i); err != nil || !p.echo {
		return c, err
	}
	for _, lp := range p.promptLogprobs {
		p.out.logprobs(i, lp)
	}
	return c, p.out.text(i, content, p.prompt)
}

// checkIndex refuses a choice index the engine cannot have emitted.
func checkIndex(i int) error {
	if i < 0 || i >= maxChoices {
		return fmt.Errorf("edge: the model emitted choice index %d", i)
	}
	return nil
}

// pump feeds the run's pieces, starting with first (if ok), through the pipe until the generation ends,
// every choice it has shown has reached a stop string (which cancels it), or the output fails (which
// cancels it too), then finishes every choice. It returns the generation's error, or errClientGone when
// the output failed.
func (p *pipe) pump(r *run, first engine.Piece, ok bool) error {
	if ok && first.PromptLogprobs != nil { // echo's: the engine sends them first
		p.promptLogprobs = first.PromptLogprobs
		first, ok = r.next()
	}
	if _, err := p.choice(0); err != nil {
		r.stop(errClientGone)
		return errClientGone
	}
	for piece := first; ok; piece, ok = r.next() {
		if piece.Token >= 0 {
			p.tokens++
		}
		if err := checkIndex(piece.Index); err != nil {
			r.stop(err)
			return err
		}
		text := piece.Text
		if t, ok := p.toolText[piece.Token]; ok && text == "" {
			text = t // a control token of the tool-call syntax: the parser needs its text
		}
		stopped, err := p.feed(piece.Index, text, piece.Logprobs)
		if err != nil {
			r.stop(errClientGone)
			return errClientGone
		}
		if stopped && p.stopped == p.seen {
			r.stop(errStopString)
			<-r.done // for its token count: the generation ends at its next piece
			p.tokens = max(p.tokens, r.res.CompletionTokens)
			return nil
		}
	}
	if r.err != nil {
		return r.err
	}
	p.tokens = max(p.tokens, r.res.CompletionTokens)
	for i := range max(len(p.choices), len(r.res.Choices)) {
		c, err := p.choice(i)
		if err == nil && !c.stopped {
			err = p.end(i, finishReason(r.res, i))
		}
		if err != nil {
			return errClientGone
		}
	}
	return nil
}

// finishReason is how choice i of a generation ended.
func finishReason(res engine.Result, i int) string {
	switch {
	case i < len(res.Choices) && res.Choices[i].FinishReason != "":
		return res.Choices[i].FinishReason
	case i == 0 && res.FinishReason != "":
		return res.FinishReason
	}
	return engine.FinishStop
}

// feed processes one piece's text and logprobs (nil if none) of choice i; stopped reports that a stop
// string ended the choice (now or before), which is then finished.
func (p *pipe) feed(i int, text string, lp *engine.Logprobs) (stopped bool, err error) {
	c, err := p.choice(i)
	if err != nil || c.stopped {
		return c != nil && c.stopped, err
	}
	if lp != nil {
		p.out.logprobs(i, lp)
	}
	released, stopped := c.stop.push(text)
	if err := p.release(c, released); err != nil {
		return false, err
	}
	if !stopped {
		return false, nil
	}
	c.stopped = true
	p.stopped++
	if err := p.flush(c); err != nil {
		return true, err
	}
	return true, p.out.finish(i, c.finishReason(engine.FinishStop))
}

// end releases what choice i holds back and finishes it with reason.
func (p *pipe) end(i int, reason string) error {
	c := p.choices[i]
	if err := p.release(c, c.stop.flush()); err != nil {
		return err
	}
	if err := p.flush(c); err != nil {
		return err
	}
	return p.out.finish(i, c.finishReason(reason))
}

// finishReason is OpenAI's for a choice that ended for reason: "tool_calls" when it stopped with calls.
func (c *choiceText) finishReason(reason string) string {
	if reason == engine.FinishStop && c.calls != nil && c.calls.n > 0 {
		return finishToolCalls
	}
	return reason
}

// release passes a choice's text on, through the reasoning splitter for chat.
func (p *pipe) release(c *choiceText, text string) error {
	if !p.split {
		return emit(&c.to, content, text)
	}
	return c.think.push(text, c.sink())
}

// flush releases what a choice's reasoning splitter holds.
func (p *pipe) flush(c *choiceText) error {
	if !p.split {
		return nil
	}
	if err := c.think.flush(c.sink()); err != nil || c.calls == nil {
		return err
	}
	return c.calls.flush()
}

// collector gathers one choice's text and its tokens' logprobs.
type collector struct {
	reasoning, content []byte
	calls              []toolCall
	logprobs           []*engine.Logprobs
	finish             string
}

func (c *collector) text(kind textKind, s string) error {
	if kind == reasoning {
		c.reasoning = append(c.reasoning, s...)
	} else {
		c.content = append(c.content, s...)
	}
	return nil
}

// gatherer gathers a whole response's choices.
type gatherer struct {
	choices []collector
}

func (g *gatherer) open(i int) error {
	for len(g.choices) <= i {
		g.choices = append(g.choices, collector{})
	}
	return nil
}

func (g *gatherer) text(i int, kind textKind, s string) error { return g.choices[i].text(kind, s) }

// toolCall keeps a call of choice i.
func (g *gatherer) toolCall(i int, c toolCall) error {
	g.choices[i].calls = append(g.choices[i].calls, c)
	return nil
}

// logprobs keeps a token's logprobs with choice i.
func (g *gatherer) logprobs(i int, lp *engine.Logprobs) {
	g.choices[i].logprobs = append(g.choices[i].logprobs, lp)
}

func (g *gatherer) finish(i int, reason string) error {
	g.choices[i].finish = reason
	return nil
}
