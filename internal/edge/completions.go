package edge

import (
	"encoding/json"

	"github.com/valyala/fasthttp"

	"github.com/wasmoe/wasmoe/internal/host/engine"
)

// completionRequest is the body of POST /v1/completions.
type completionRequest struct {
	commonRequest
	Prompt json.RawMessage `json:"prompt"` // a string, an array of token ids, or a one-element array of either
	Echo   bool            `json:"echo"`
	Suffix string          `json:"suffix"`
	BestOf *int            `json:"best_of"`
}

// parsePrompt reads a prompt: a string (text), an array of token ids (ids), or, unless nested, a
// one-element array of either.
func parsePrompt(raw json.RawMessage, nested bool) (text string, ids []int32, isIDs bool, e *apiError) {
	if len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &text) == nil {
		return text, nil, false, nil
	}
	if len(raw) > 0 && raw[0] == '[' {
		if json.Unmarshal(raw, &ids) == nil {
			return "", ids, true, nil
		}
		var many []json.RawMessage
		if !nested && json.Unmarshal(raw, &many) == nil {
			if len(many) != 1 {
				return "", nil, false, badRequest("prompt", "only one prompt per request is supported, got %d", len(many))
			}
			return parsePrompt(many[0], true)
		}
	}
	return "", nil, false, badRequest("prompt", "prompt must be a string or an array of token ids")
}

// check validates the completion fields that come before the plugin loads: echo, suffix and best_of,
// which are not supported, and logprobs in the completions' form.
func (r *completionRequest) check(g *generation) *apiError {
	switch {
	case r.Echo:
		return badRequest("echo", "echo is not supported")
	case r.Suffix != "":
		return badRequest("suffix", "suffix is not supported")
	case r.BestOf != nil && *r.BestOf != 1:
		return badRequest("best_of", "only best_of = 1 is supported, got %d", *r.BestOf)
	case g.logprobs && !g.logprobsInt:
		return badRequest("logprobs", "logprobs must be an integer from 0 to %d for completions", engine.MaxTopLogprobs)
	case r.TopLogprobs != nil:
		return badRequest("top_logprobs", "top_logprobs is a chat field; completions take logprobs: N")
	}
	return nil
}

// completions answers POST /v1/completions.
func (s *Server) completions(ctx *fasthttp.RequestCtx) { s.serveJob(ctx, s.completionJob) }

// completionJob builds the job of a completion request: its prompt's token ids, given or tokenized.
func (s *Server) completionJob(ctx *fasthttp.RequestCtx) (*job, *apiError) {
	var req completionRequest
	sv, gen, e := s.open(ctx, &req)
	if e != nil {
		return nil, e
	}
	text, prompt, isIDs, e := parsePrompt(req.Prompt, false)
	if e != nil {
		return nil, e
	}
	if isIDs {
		for i, id := range prompt {
			if id < 0 || (sv.info.VocabSize > 0 && int(id) >= sv.info.VocabSize) {
				return nil, badRequest("prompt", "prompt[%d] = %d is not a token id in [0, %d)", i, id, sv.info.VocabSize)
			}
		}
	} else if prompt, e = s.tokenize(sv, text, sv.info.AddBOS, "prompt"); e != nil {
		return nil, e
	}
	if len(prompt) == 0 {
		return nil, badRequest("prompt", "the prompt is empty")
	}
	return &job{model: sv, prompt: prompt, gen: gen, param: "prompt"}, nil
}
