package edge

import (
	"encoding/json"

	"github.com/valyala/fasthttp"
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

// completions answers POST /v1/completions.
func (s *Server) completions(ctx *fasthttp.RequestCtx) {
	var req completionRequest
	if e := decodeJSON(ctx.PostBody(), &req); e != nil {
		writeError(ctx, e)
		return
	}
	sv, e := s.model(req.Model)
	if e != nil {
		writeError(ctx, e)
		return
	}
	gen, e := req.validate(s.cfg.DefaultMaxTokens, sv.info.VocabSize)
	if e != nil {
		writeError(ctx, e)
		return
	}
	switch {
	case req.Echo:
		e = badRequest("echo", "echo is not supported")
	case req.Suffix != "":
		e = badRequest("suffix", "suffix is not supported")
	case req.BestOf != nil && *req.BestOf != 1:
		e = badRequest("best_of", "only best_of = 1 is supported, got %d", *req.BestOf)
	default:
		e = s.resolvePlugin(sv, gen)
	}
	if e != nil {
		writeError(ctx, e)
		return
	}
	text, prompt, isIDs, e := parsePrompt(req.Prompt, false)
	if e != nil {
		writeError(ctx, e)
		return
	}
	if isIDs {
		for i, id := range prompt {
			if id < 0 || (sv.info.VocabSize > 0 && int(id) >= sv.info.VocabSize) {
				writeError(ctx, badRequest("prompt", "prompt[%d] = %d is not a token id in [0, %d)", i, id, sv.info.VocabSize))
				return
			}
		}
	} else {
		var err error
		if prompt, err = sv.Tokenize(s.base, text, sv.info.AddBOS, true); err != nil {
			writeError(ctx, s.engineError(err, "prompt"))
			return
		}
	}
	if len(prompt) == 0 {
		writeError(ctx, badRequest("prompt", "the prompt is empty"))
		return
	}
	s.respond(ctx, &job{model: sv, prompt: prompt, gen: gen, param: "prompt"})
}
