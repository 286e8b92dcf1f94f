package edge

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wasmoe/wasmoe/host/engine"
)

// usage is OpenAI's token accounting.
type usage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	TotalTokens         int `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

func newUsage(prompt, completion int) usage {
	return usage{PromptTokens: prompt, CompletionTokens: completion, TotalTokens: prompt + completion}
}

// job is one validated request ready to run: its prompt, parameters and response shape.
type job struct {
	model         Model
	modelID       string
	prompt        []int32
	gen           *generation
	chat          bool // chat.completion(.chunk) shape with reasoning split, else text_completion
	opensThinking bool // the chat prompt leaves the model inside <think>
}

// outcome is a finished generation as the response reports it.
type outcome struct {
	reasoning, content strings.Builder
	tokens             int
	finish             string
}

func (j *job) pipe() *textPipe {
	p := &textPipe{stop: stopper{stops: j.gen.stop}}
	if j.chat {
		p.think = newThinkSplitter(j.opensThinking)
	}
	return p
}

func (j *job) request() engine.Request {
	return engine.Request{Prompt: j.prompt, MaxTokens: j.gen.maxTokens, Sampling: j.gen.sampling, IgnoreEOS: j.gen.ignoreEOS}
}

func newID(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// respond runs the job and writes the whole response, streamed or not.
func (s *Server) respond(ctx *fasthttp.RequestCtx, j *job) {
	if len(j.prompt) >= j.model.Info().ContextLength {
		writeError(ctx, engineError(engine.ErrPromptTooLong))
		return
	}
	r := s.start(j.model, j.request())
	first := <-r.events // wait for the first token: errors before it get a proper status
	if first.done && first.err != nil {
		writeError(ctx, engineError(first.err))
		return
	}
	if j.gen.stream {
		s.stream(ctx, j, r, first)
		return
	}
	var out outcome
	pipe := j.pipe()
	for ev := first; ; ev = <-r.events {
		if ev.done {
			if ev.err != nil {
				writeError(ctx, engineError(ev.err))
				return
			}
			rs, cs := pipe.finish()
			out.reasoning.WriteString(rs)
			out.content.WriteString(cs)
			out.finish, out.tokens = ev.res.FinishReason, ev.res.CompletionTokens
			break
		}
		out.tokens += countToken(ev.piece)
		rs, cs, stopped := pipe.feed(ev.piece.Text)
		out.reasoning.WriteString(rs)
		out.content.WriteString(cs)
		if stopped {
			r.stop()
			out.finish = engine.FinishStop
			break
		}
	}
	s.writeFinal(ctx, j, &out)
}

func countToken(p engine.Piece) int {
	if p.Token >= 0 {
		return 1
	}
	return 0
}

func (s *Server) writeFinal(ctx *fasthttp.RequestCtx, j *job, out *outcome) {
	u := newUsage(len(j.prompt), out.tokens)
	created := time.Now().Unix()
	if !j.chat {
		writeJSON(ctx, map[string]any{"id": newID("cmpl-"), "object": "text_completion", "created": created, "model": j.modelID,
			"choices": []any{map[string]any{"index": 0, "text": out.content.String(), "logprobs": nil, "finish_reason": out.finish}},
			"usage":   u})
		return
	}
	msg := map[string]any{"role": "assistant", "content": out.content.String()}
	if out.reasoning.Len() > 0 {
		msg["reasoning_content"] = out.reasoning.String()
	}
	writeJSON(ctx, map[string]any{"id": newID("chatcmpl-"), "object": "chat.completion", "created": created, "model": j.modelID,
		"choices": []any{map[string]any{"index": 0, "message": msg, "logprobs": nil, "finish_reason": out.finish}},
		"usage":   u})
}

// stream sends the response as Server-Sent Events. A failed write means the client left: the generation
// is cancelled.
func (s *Server) stream(ctx *fasthttp.RequestCtx, j *job, r *run, first event) {
	ctx.SetContentType("text/event-stream")
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	ctx.Response.Header.Set("X-Accel-Buffering", "no")
	id, object := newID("cmpl-"), "text_completion"
	if j.chat {
		id, object = newID("chatcmpl-"), "chat.completion.chunk"
	}
	created := time.Now().Unix()
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		sse := newSSEWriter(w, id, object, j.modelID, created, j.chat, j.gen.includeUsage)
		if j.chat {
			if sse.chunk("assistant", "", "", "") != nil {
				r.stop()
				return
			}
		}
		pipe := j.pipe()
		tokens, finish := 0, ""
		for ev := first; ; ev = <-r.events {
			if ev.done {
				if ev.err != nil {
					sse.failure(engineError(ev.err))
					sse.done()
					return
				}
				rs, cs := pipe.finish()
				if (rs != "" || cs != "") && sse.chunk("", rs, cs, "") != nil {
					return
				}
				finish, tokens = ev.res.FinishReason, ev.res.CompletionTokens
				break
			}
			tokens += countToken(ev.piece)
			rs, cs, stopped := pipe.feed(ev.piece.Text)
			if (rs != "" || cs != "") && sse.chunk("", rs, cs, "") != nil {
				r.stop()
				return
			}
			if stopped {
				r.stop()
				finish = engine.FinishStop
				break
			}
		}
		if sse.chunk("", "", "", finish) != nil {
			return
		}
		if j.gen.includeUsage && sse.usage(newUsage(len(j.prompt), tokens)) != nil {
			return
		}
		sse.done()
	})
}
