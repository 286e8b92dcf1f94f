package edge

import (
	"encoding/json"

	"github.com/valyala/fasthttp"
)

type completionRequest struct {
	commonRequest
	Prompt json.RawMessage `json:"prompt"`
}

func (s *Server) completions(ctx *fasthttp.RequestCtx) {
	var req completionRequest
	if e := decodeJSON(ctx.PostBody(), &req); e != nil {
		writeError(ctx, e)
		return
	}
	m, e := s.model(req.Model)
	if e != nil {
		writeError(ctx, e)
		return
	}
	info := m.Info()
	gen, e := req.validate(s.cfg.DefaultMaxTokens, info.VocabSize, randomSeed)
	if e != nil {
		writeError(ctx, e)
		return
	}
	var prompt []int32
	var text string
	switch {
	case json.Unmarshal(req.Prompt, &text) == nil:
		var err error
		if prompt, err = m.Tokenize(ctx, text, info.AddBOS, true); err != nil {
			writeError(ctx, engineError(err))
			return
		}
	case json.Unmarshal(req.Prompt, &prompt) == nil:
		for _, id := range prompt {
			if id < 0 || int(id) >= info.VocabSize {
				writeError(ctx, badRequest("prompt", "prompt token ids must lie in [0, vocabulary size)"))
				return
			}
		}
	default:
		writeError(ctx, badRequest("prompt", "prompt must be a string or an array of token ids"))
		return
	}
	if len(prompt) == 0 {
		writeError(ctx, badRequest("prompt", "prompt is empty"))
		return
	}
	s.respond(ctx, &job{model: m, modelID: info.ID, prompt: prompt, gen: gen})
}
