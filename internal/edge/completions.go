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
	// ResponseFormat is chat's structured outputs, which vLLM takes on completions too.
	ResponseFormat *responseFormat `json:"response_format"`
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

// check validates the completion fields that come before the plugin loads: suffix and best_of, which are
// not supported, logprobs in the completions' form, and response_format, whose schema it puts in the
// built-in plugin's config; it takes echo.
func (r *completionRequest) check(g *generation) *apiError {
	g.echo = r.Echo
	switch {
	case r.Suffix != "":
		return badRequest("suffix", "suffix is not supported")
	case r.BestOf != nil && *r.BestOf != 1:
		return badRequest("best_of", "only best_of = 1 is supported, got %d", *r.BestOf)
	case g.logprobs && !g.logprobsInt:
		return badRequest("logprobs", "logprobs must be an integer from 0 to %d for completions", engine.MaxTopLogprobs)
	case r.TopLogprobs != nil:
		return badRequest("top_logprobs", "top_logprobs is a chat field; completions take logprobs: N")
	}
	schema, e := r.ResponseFormat.schema()
	if e == nil {
		e = g.useSchema(schema, r.ResponseFormat)
	}
	if e == nil && schema != nil {
		g.pluginConfig = structuredConfig(schema, false, 0)
	}
	return e
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
	j := &job{model: sv, prompt: prompt, gen: gen, param: "prompt"}
	if gen.echo {
		if j.echo, e = s.echoText(sv, text, prompt, isIDs); e != nil {
			return nil, e
		}
	}
	return j, nil
}

// echoText is the prompt as echo shows it before each choice's text: as given, or the text of its ids.
func (s *Server) echoText(sv *served, text string, ids []int32, isIDs bool) (string, *apiError) {
	if !isIDs {
		return text, nil
	}
	d, ok := sv.Model.(detokenizer)
	if !ok {
		return "", badRequest("echo", "echo of a prompt of token ids is not supported by model %q", sv.info.ID)
	}
	out, err := d.Detokenize(s.base, ids)
	if err != nil {
		return "", s.engineError(err, "prompt")
	}
	return out, nil
}
