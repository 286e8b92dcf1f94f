package edge

import "github.com/wasmoe/wasmoe/host/engine"

// pipe turns a generation's pieces into response text: stop strings are cut from the raw text, then, for
// chat, the reasoning is split from the content, and the result goes to a sink (the SSE writer or the
// collector of a whole response).
type pipe struct {
	stop   stopper
	split  bool // chat: split reasoning from content
	think  thinkSplitter
	out    sink
	tokens int // pieces received: the completion tokens
}

func newPipe(j *job, out sink) *pipe {
	return &pipe{stop: stopper{stops: j.gen.stop}, split: j.chat, think: newThinkSplitter(j.opensThinking), out: out}
}

// pump feeds the run's pieces, starting with first (if ok), through the pipe until the generation ends,
// a stop string is reached, or the sink fails; each of the last two cancels the generation. It returns
// the finish reason, the generation's error, or errClientGone when the sink failed.
func (p *pipe) pump(r *run, first engine.Piece, ok bool) (finish string, err error) {
	for piece := first; ok; piece, ok = r.next() {
		p.tokens++
		stopped, err := p.feed(piece.Text)
		if err != nil {
			r.stop(errClientGone)
			return "", errClientGone
		}
		if stopped {
			r.stop(errStopString)
			return engine.FinishStop, nil
		}
	}
	if r.err != nil {
		return "", r.err
	}
	if err := p.release(p.stop.flush()); err != nil {
		return "", errClientGone
	}
	if err := p.flush(); err != nil {
		return "", errClientGone
	}
	if r.res.FinishReason == "" {
		return engine.FinishStop, nil
	}
	return r.res.FinishReason, nil
}

// feed processes one piece's text; stopped reports that a stop string ended the output, and everything
// before it has then been released.
func (p *pipe) feed(text string) (stopped bool, err error) {
	released, stopped := p.stop.push(text)
	if err := p.release(released); err != nil {
		return false, err
	}
	if stopped {
		return true, p.flush()
	}
	return false, nil
}

// release passes text on, through the reasoning splitter for chat.
func (p *pipe) release(text string) error {
	if !p.split {
		return emit(p.out, content, text)
	}
	return p.think.push(text, p.out)
}

// flush releases what the reasoning splitter holds.
func (p *pipe) flush() error {
	if !p.split {
		return nil
	}
	return p.think.flush(p.out)
}

// collector gathers a whole response's text.
type collector struct {
	reasoning, content []byte
}

func (c *collector) text(kind textKind, s string) error {
	if kind == reasoning {
		c.reasoning = append(c.reasoning, s...)
	} else {
		c.content = append(c.content, s...)
	}
	return nil
}
