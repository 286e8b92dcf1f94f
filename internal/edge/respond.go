package edge

import (
	"bufio"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wasmoe/wasmoe/internal/host/chat"
	"github.com/wasmoe/wasmoe/internal/host/engine"
)

// job is a validated request, ready to run.
type job struct {
	model         *served
	prompt        []int32
	gen           *generation
	chat          bool             // chat.completion shape with the reasoning split, else text_completion
	opensThinking bool             // the chat prompt leaves the model inside <think>
	param         string           // the request field the prompt comes from, for errors
	tenant        string           // who the request is billed to (engine.Request.Tenant, the metrics' label); "" = none
	echo          string           // completions' echo: the prompt's text, before each choice's
	tools         chat.ToolFormat  // chat: the format its answers' tool calls are read in; ToolsNone: not read
	toolText      map[int32]string // the text of the control tokens of the format's markers, by id
}

// respond runs the job, once its tenant's limits admit it, and writes the response, streamed or whole.
func (s *Server) respond(ctx *fasthttp.RequestCtx, j *job) {
	if n := j.model.info.ContextLength; n > 0 && len(j.prompt) >= n {
		writeError(ctx, promptTooLong(j.param, len(j.prompt), n))
		return
	}
	adm, ok := s.admit(ctx, j)
	if !ok {
		return
	}
	req := j.gen.request(j.prompt)
	if t := tenantOf(ctx); t != nil {
		j.tenant, req.Tenant = t.Name, t.ID() // metrics show the name; the engine keeps incarnations apart
	} else {
		req.Tenant = j.tenant
	}
	r := s.start(j.model, req, s.metrics.track(j.model.info.ID, j.tenant, j.gen.plugin, &req), adm)
	unwatch := watchClient(ctx.Conn(), r) // until the response is written: the stream writer's, else here
	first, ok := r.next()                 // the status waits for the first piece: an error before it gets its own
	if !ok && r.err != nil {
		unwatch()
		writeError(ctx, s.failure(j, r, r.err))
		return
	}
	id, created := newID(j.chat), time.Now().Unix()
	if j.gen.stream {
		s.stream(ctx, j, r, unwatch, first, ok, id, created)
		return
	}
	defer unwatch()
	var out gatherer
	p := newPipe(j, &out)
	if err := p.pump(r, first, ok); err != nil {
		writeError(ctx, s.failure(j, r, err))
		return
	}
	object := "text_completion"
	if j.chat {
		object = "chat.completion"
	}
	b := appendHead(nil, id, object, created, j.model.info.ID)
	b = append(b, `"choices":[`...)
	for i := range out.choices {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendChoice(b, j, i, &out.choices[i], p.choices[i].think.reasoned)
	}
	b = append(b, `],"usage":`...)
	b = appendUsage(b, len(j.prompt), p.tokens, r.res)
	ctx.SetContentType(contentJSON)
	ctx.SetBody(append(b, '}'))
}

// appendChoice appends choice i of j's whole response: a chat message (with reasoning_content and its
// alias reasoning when the choice reasoned) or a completion's text, and its logprobs when asked.
func appendChoice(b []byte, j *job, i int, c *collector, reasoned bool) []byte {
	chat := j.chat
	b = append(b, `{"index":`...)
	b = strconv.AppendInt(b, int64(i), 10)
	if chat {
		b = append(b, `,"message":{"role":"assistant","content":`...)
		if len(c.calls) > 0 && len(c.content) == 0 {
			b = append(b, "null"...) // as OpenAI answers calls without text
		} else {
			b = appendJSONString(b, string(c.content))
		}
		if len(c.calls) > 0 {
			b = append(b, `,"tool_calls":`...)
			b = appendToolCalls(b, c.calls)
		}
		if reasoned { // under DeepSeek's name, and as "reasoning" where vLLM and ollama put it
			b = append(b, `,"reasoning_content":`...)
			b = appendJSONString(b, string(c.reasoning))
			b = append(b, `,"reasoning":`...)
			b = appendJSONString(b, string(c.reasoning))
		}
		b = append(b, '}')
	} else {
		b = append(b, `,"text":`...)
		b = appendJSONString(b, string(c.content))
	}
	b = append(b, `,"logprobs":`...)
	b = appendLogprobs(b, chat, j.gen.logprobs, c.logprobs, &textOffset{})
	b = append(b, `,"finish_reason":`...)
	b = appendJSONString(b, c.finish)
	return append(b, '}')
}

// stream sends the response as Server-Sent Events. fasthttp runs the writer in its own goroutine while it
// copies the writer's output to the connection, after the handler returns; unwatch ends the watch on the
// client once the writer is done. A write that fails (the client left, or did not read for WriteTimeout)
// cancels the generation.
func (s *Server) stream(ctx *fasthttp.RequestCtx, j *job, r *run, unwatch func(), first engine.Piece, ok bool, id string, created int64) {
	ctx.SetContentType("text/event-stream")
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	ctx.Response.Header.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	ctx.Response.ImmediateHeaderFlush = true
	// A write deadline set through ctx is cleared by fasthttp once the response is written, so the next
	// request on the connection starts without one (without a connection there is nothing to set). The
	// writer moves it on before each event through conn itself: ctx is fasthttp's again as soon as a write
	// has failed, while the writer may still be running.
	conn := ctx.Conn()
	ctx.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		defer unwatch()
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("edge: panic streaming a response", "panic", p, "stack", string(debug.Stack()))
				r.stop(errInternal)
			}
		}()
		sse := newSSEWriter(w, j, id, created)
		sse.conn, sse.timeout = conn, s.cfg.WriteTimeout
		p := newPipe(j, sse)
		if err := p.pump(r, first, ok); err != nil {
			if e := s.failure(j, r, err); e != errClientClosed && sse.fail(e) == nil {
				sse.done()
			}
			return
		}
		if j.gen.includeUsage && sse.usage(len(j.prompt), p.tokens, r.res) != nil {
			return
		}
		sse.done()
	})
}

// newID returns a response id: "chatcmpl-" or "cmpl-" and 24 hex digits.
func newID(chat bool) string {
	b := make([]byte, 0, 33)
	if chat {
		b = append(b, "chatcmpl-"...)
	} else {
		b = append(b, "cmpl-"...)
	}
	b = strconv.AppendUint(b, rand.Uint64()|1<<63, 16)
	b = strconv.AppendUint(b, rand.Uint64()>>32|1<<31, 16)
	return string(b)
}
