package edge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/wasmoe/wasmoe/host/engine"
)

// commonRequest holds the fields /v1/chat/completions and /v1/completions share.
type commonRequest struct {
	Model               string             `json:"model"`
	MaxTokens           *int               `json:"max_tokens"`
	MaxCompletionTokens *int               `json:"max_completion_tokens"`
	Temperature         *float64           `json:"temperature"`
	TopP                *float64           `json:"top_p"`
	TopK                *int               `json:"top_k"`
	MinP                *float64           `json:"min_p"`
	PresencePenalty     *float64           `json:"presence_penalty"`
	FrequencyPenalty    *float64           `json:"frequency_penalty"`
	RepetitionPenalty   *float64           `json:"repetition_penalty"`
	RepeatPenalty       *float64           `json:"repeat_penalty"` // llama.cpp's name
	LogitBias           map[string]float64 `json:"logit_bias"`
	Seed                *int64             `json:"seed"`
	Stop                json.RawMessage    `json:"stop"`
	N                   *int               `json:"n"`
	Stream              bool               `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	IgnoreEOS bool `json:"ignore_eos"` // llama.cpp's extension: generate past end-of-generation tokens
}

// generation is a validated request, ready for the engine.
type generation struct {
	maxTokens    int
	sampling     engine.SamplingParams
	stop         []string
	stream       bool
	includeUsage bool
	ignoreEOS    bool
}

// decodeJSON decodes a request body strictly enough to report the first problem.
func decodeJSON(body []byte, v any) *apiError {
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("", "request body is empty; send a JSON object")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return badRequest("", "request body is not valid JSON for this endpoint: "+err.Error())
	}
	return nil
}

// validate checks ranges as OpenAI documents them and builds the engine parameters. vocab bounds logit_bias.
func (r *commonRequest) validate(defaultMax, vocab int, randomSeed func() uint64) (*generation, *apiError) {
	g := &generation{stream: r.Stream, ignoreEOS: r.IgnoreEOS, maxTokens: defaultMax}
	if r.StreamOptions != nil {
		if !r.Stream {
			return nil, badRequest("stream_options", "stream_options is only allowed when stream is true")
		}
		g.includeUsage = r.StreamOptions.IncludeUsage
	}
	for _, mt := range []struct {
		name string
		v    *int
	}{{"max_tokens", r.MaxTokens}, {"max_completion_tokens", r.MaxCompletionTokens}} {
		if mt.v != nil {
			if *mt.v < 1 {
				return nil, badRequest(mt.name, fmt.Sprintf("%s must be at least 1, got %d", mt.name, *mt.v))
			}
			g.maxTokens = *mt.v
		}
	}
	if r.N != nil && *r.N != 1 {
		return nil, badRequest("n", "only n = 1 is supported")
	}
	// llama-server's defaults for what the request leaves out.
	sp := engine.SamplingParams{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1}
	floatIn := func(name string, v *float64, lo, hi float64, dst *float32) *apiError {
		if v == nil {
			return nil
		}
		if math.IsNaN(*v) || *v < lo || *v > hi {
			return badRequest(name, fmt.Sprintf("%s must be between %g and %g, got %g", name, lo, hi, *v))
		}
		*dst = float32(*v)
		return nil
	}
	for _, f := range []struct {
		name   string
		v      *float64
		lo, hi float64
		dst    *float32
	}{
		{"temperature", r.Temperature, 0, 2, &sp.Temperature},
		{"top_p", r.TopP, 0, 1, &sp.TopP},
		{"min_p", r.MinP, 0, 1, &sp.MinP},
		{"presence_penalty", r.PresencePenalty, -2, 2, &sp.PresencePenalty},
		{"frequency_penalty", r.FrequencyPenalty, -2, 2, &sp.FrequencyPenalty},
		{"repetition_penalty", r.RepetitionPenalty, 0.01, 10, &sp.RepeatPenalty},
		{"repeat_penalty", r.RepeatPenalty, 0.01, 10, &sp.RepeatPenalty},
	} {
		if err := floatIn(f.name, f.v, f.lo, f.hi, f.dst); err != nil {
			return nil, err
		}
	}
	if r.TopK != nil {
		if *r.TopK < 0 {
			return nil, badRequest("top_k", fmt.Sprintf("top_k must be 0 (off) or positive, got %d", *r.TopK))
		}
		sp.TopK = *r.TopK
	}
	if len(r.LogitBias) > 0 {
		sp.LogitBias = make(map[int32]float32, len(r.LogitBias))
		for k, v := range r.LogitBias {
			id, err := strconv.Atoi(k)
			if err != nil || id < 0 || id >= vocab {
				return nil, badRequest("logit_bias", fmt.Sprintf("logit_bias key %q is not a token id in [0, %d)", k, vocab))
			}
			if math.IsNaN(v) || v < -100 || v > 100 {
				return nil, badRequest("logit_bias", fmt.Sprintf("logit_bias of token %d must be between -100 and 100", id))
			}
			sp.LogitBias[int32(id)] = float32(v)
		}
	}
	if r.Seed != nil {
		sp.Seed = uint64(*r.Seed)
	} else {
		sp.Seed = randomSeed()
	}
	g.sampling = sp
	stop, err := parseStop(r.Stop)
	if err != nil {
		return nil, err
	}
	g.stop = stop
	return g, nil
}

// parseStop accepts null, a string, or an array of up to 4 strings.
func parseStop(raw json.RawMessage) ([]string, *apiError) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		if one == "" {
			return nil, nil
		}
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, badRequest("stop", "stop must be a string or an array of strings")
	}
	if len(many) > 4 {
		return nil, badRequest("stop", fmt.Sprintf("at most 4 stop sequences, got %d", len(many)))
	}
	out := many[:0]
	for _, s := range many {
		if s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}
