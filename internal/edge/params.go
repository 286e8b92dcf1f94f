package edge

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"

	"github.com/wasmoe/wasmoe/internal/host/engine"
	"github.com/wasmoe/wasmoe/internal/host/wasm"
)

// commonRequest holds the fields /v1/chat/completions and /v1/completions share. Pointers tell a field
// that is absent (or null) from a zero.
type commonRequest struct {
	Model               string             `json:"model"`
	MaxTokens           *int               `json:"max_tokens"`
	MaxCompletionTokens *int               `json:"max_completion_tokens"` // wins over max_tokens
	Temperature         *float64           `json:"temperature"`
	TopP                *float64           `json:"top_p"`
	TopK                *int               `json:"top_k"`
	MinP                *float64           `json:"min_p"`
	PresencePenalty     *float64           `json:"presence_penalty"`
	FrequencyPenalty    *float64           `json:"frequency_penalty"`
	RepetitionPenalty   *float64           `json:"repetition_penalty"` // vLLM's name
	RepeatPenalty       *float64           `json:"repeat_penalty"`     // llama.cpp's name
	LogitBias           map[string]float64 `json:"logit_bias"`
	Seed                *int64             `json:"seed"`
	Stop                json.RawMessage    `json:"stop"`
	N                   *int               `json:"n"`
	Stream              bool               `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Logprobs    json.RawMessage `json:"logprobs"`     // a bool for chat, an int (0 to engine.MaxTopLogprobs) for completions
	TopLogprobs *int            `json:"top_logprobs"` // chat: alternatives per token, with logprobs: true
	IgnoreEOS   bool            `json:"ignore_eos"`   // llama.cpp's extension: generate past end-of-generation tokens
	CachePrompt *bool           `json:"cache_prompt"` // llama.cpp's extension: false skips the prefix cache
	Grammar     *string         `json:"grammar"`      // llama.cpp's extension: a GBNF grammar (useGrammar)

	// wasmoe's extension: the policy plugin that steers the generation, and its config (any JSON value;
	// a string is passed as its contents).
	Plugin       string          `json:"plugin"`
	PluginConfig json.RawMessage `json:"plugin_config"`

	// wasmoe's extension: speculative decoding's drafting for this request (speculative.go).
	Speculative json.RawMessage `json:"speculative"`
}

// generation is a validated request's engine parameters and response options.
type generation struct {
	maxTokens    int
	sampling     engine.SamplingParams
	stop         []string
	stream       bool
	includeUsage bool
	ignoreEOS    bool
	noCache      bool // cache_prompt: false
	n            int  // choices; 0 = 1

	logprobs    bool // each token's log-probability, with topLogprobs alternatives
	topLogprobs int
	logprobsInt bool // logprobs came as an integer (completions' form), not a boolean (chat's)
	echo        bool // completions: each choice's text starts with the prompt (and its logprobs, when asked)

	plugin       string       // the policy plugin's name; "" for none
	pluginConfig []byte       // its config
	pluginParam  string       // the request field that asked for it: "plugin", "response_format" or "grammar"
	policy       *wasm.Policy // the plugin, once resolved
	grammar      string       // the request's GBNF grammar; "" for none

	speculation engine.Speculation // the "speculative" field
}

// maxStops is OpenAI's limit on stop sequences.
const maxStops = 4

// decodeJSON decodes a request body, naming the field at fault when a type is wrong.
func decodeJSON(body []byte, v any) *apiError {
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("", "the request body is empty; send a JSON object")
	}
	err := json.Unmarshal(body, v)
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te) && te.Field == "":
		return badRequest("", "the request body must be a JSON object, not %s", te.Value)
	case errors.As(err, &te):
		field := strings.TrimPrefix(strings.TrimPrefix(te.Field, "commonRequest."), "toolRequest.") // embedded structs' names are no JSON fields
		return badRequest(field, "%s must be %s, not %s", field, kindName(te.Type), te.Value)
	case errors.As(err, &se):
		return badRequest("", "the request body is not valid JSON: %v (byte %d)", se, se.Offset)
	}
	return badRequest("", "the request body is not valid JSON: %v", err)
}

// kindName names the JSON kind a Go type decodes from.
func kindName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer in range"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}

// validate checks the shared fields (ranges as OpenAI documents them) and builds the engine parameters.
// defaultMax is the server's max_tokens; vocab (0: unknown) bounds logit_bias ids.
func (r *commonRequest) validate(defaultMax, vocab int) (*generation, *apiError) {
	g := &generation{stream: r.Stream, ignoreEOS: r.IgnoreEOS, maxTokens: max(defaultMax, 0),
		noCache: r.CachePrompt != nil && !*r.CachePrompt}
	if r.StreamOptions != nil {
		if !r.Stream {
			return nil, badRequest("stream_options", "stream_options is only allowed when stream is true")
		}
		g.includeUsage = r.StreamOptions.IncludeUsage
	}
	for _, f := range []struct {
		name string
		v    *int
	}{{"max_tokens", r.MaxTokens}, {"max_completion_tokens", r.MaxCompletionTokens}} {
		if f.v != nil {
			if *f.v < 1 {
				return nil, badRequest(f.name, "%s must be at least 1, got %d", f.name, *f.v)
			}
			g.maxTokens = *f.v
		}
	}
	if r.N != nil {
		if *r.N < 1 || *r.N > engine.MaxChoices {
			return nil, badRequest("n", "n must be from 1 to %d, got %d", engine.MaxChoices, *r.N)
		}
		g.n = *r.N
	}
	if e := r.parseLogprobs(g); e != nil {
		return nil, e
	}

	sp := engine.DefaultSampling()
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
		{"repeat_penalty", r.RepeatPenalty, 0.01, 10, &sp.RepeatPenalty},
		{"repetition_penalty", r.RepetitionPenalty, 0.01, 10, &sp.RepeatPenalty},
	} {
		if f.v == nil {
			continue
		}
		if *f.v < f.lo || *f.v > f.hi {
			return nil, badRequest(f.name, "%s must be between %g and %g, got %g", f.name, f.lo, f.hi, *f.v)
		}
		*f.dst = float32(*f.v)
	}
	if r.TopK != nil {
		if *r.TopK < -1 {
			return nil, badRequest("top_k", "top_k must be -1 or 0 (off) or positive, got %d", *r.TopK)
		}
		sp.TopK = max(*r.TopK, 0)
	}
	if len(r.LogitBias) > engine.MaxLogitBias {
		return nil, badRequest("logit_bias", "logit_bias has %d entries; at most %d are allowed", len(r.LogitBias), engine.MaxLogitBias)
	}
	if len(r.LogitBias) > 0 {
		sp.LogitBias = make(map[int32]float32, len(r.LogitBias))
		for k, v := range r.LogitBias {
			id, err := strconv.ParseInt(k, 10, 32)
			if err != nil || id < 0 || (vocab > 0 && int(id) >= vocab) {
				return nil, badRequest("logit_bias", "logit_bias key %q is not a token id in [0, %d)", k, vocab)
			}
			if math.IsNaN(v) || v < -100 || v > 100 {
				return nil, badRequest("logit_bias", "logit_bias of token %d must be between -100 and 100, got %g", id, v)
			}
			sp.LogitBias[int32(id)] = float32(v)
		}
	}
	if r.Seed != nil {
		sp.Seed = uint64(*r.Seed)
	} else {
		sp.Seed = rand.Uint64()
	}
	g.sampling = sp
	stop, e := parseStop(r.Stop)
	if e != nil {
		return nil, e
	}
	g.stop = stop
	if g.speculation, e = parseSpeculative(r.Speculative); e != nil {
		return nil, e
	}
	config, e := pluginConfig(r.PluginConfig)
	switch {
	case e != nil:
		return nil, e
	case r.Plugin == "" && config != nil:
		return nil, badRequest("plugin_config", "plugin_config needs a plugin")
	case r.Plugin != "":
		g.usePlugin(r.Plugin, config, "plugin")
	}
	if e := r.useGrammar(g); e != nil {
		return nil, e
	}
	return g, nil
}

// parseLogprobs reads logprobs (a boolean, or an integer from 0 to engine.MaxTopLogprobs: OpenAI allows 5
// for completions, vLLM 20) and top_logprobs (0 to engine.MaxTopLogprobs, only with logprobs: true). The
// endpoint's check refuses the other endpoint's form.
func (r *commonRequest) parseLogprobs(g *generation) *apiError {
	switch raw := string(r.Logprobs); raw {
	case "", "null", "false":
	case "true":
		g.logprobs = true
	default:
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 || n > engine.MaxTopLogprobs {
			return badRequest("logprobs", "logprobs must be a boolean or an integer from 0 to %d, got %s", engine.MaxTopLogprobs, raw)
		}
		g.logprobs, g.topLogprobs, g.logprobsInt = true, n, true
	}
	if r.TopLogprobs == nil {
		return nil
	}
	switch n := *r.TopLogprobs; {
	case n < 0 || n > engine.MaxTopLogprobs:
		return badRequest("top_logprobs", "top_logprobs must be from 0 to %d, got %d", engine.MaxTopLogprobs, n)
	case !g.logprobs:
		return badRequest("top_logprobs", "top_logprobs needs logprobs: true")
	case !g.logprobsInt: // with an integer, the endpoint's check says which form it takes
		g.topLogprobs = n
	}
	return nil
}

// parseStop accepts null, a string, or an array of up to 4 strings; empty strings are dropped.
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
	if len(many) > maxStops {
		return nil, badRequest("stop", "at most %d stop sequences are allowed, got %d", maxStops, len(many))
	}
	out := many[:0]
	for _, s := range many {
		if s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// request is the engine request of a validated generation over prompt.
func (g *generation) request(prompt []int32) engine.Request {
	return engine.Request{Prompt: prompt, MaxTokens: g.maxTokens, Sampling: g.sampling, IgnoreEOS: g.ignoreEOS, N: g.n,
		Policy: g.policy, PolicyConfig: g.pluginConfig, NoPromptCache: g.noCache, Logprobs: g.logprobs, TopLogprobs: g.topLogprobs,
		PromptLogprobs: g.echo && g.logprobs, Speculation: g.speculation}
}
