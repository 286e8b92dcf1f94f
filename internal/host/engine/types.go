// Package engine runs generation: it turns prompt token ids into a stream of sampled tokens by driving the
// model forward pass (host) and the sampler guest (wasm), one sequence step at a time.
package engine

import (
	"errors"
	"time"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/internal/host/wasm"
)

// MaxChoices is the most choices a request may ask for (Request.N).
const MaxChoices = 16

// MaxLogitBias is the most logit_bias entries a request may give (SamplingParams.LogitBias): what the
// sampler guest's parameters can carry.
const MaxLogitBias = abi.MaxLogitBias

// Errors callers map to protocol responses.
var (
	// ErrOverloaded means the engine's queue is full; retry later (HTTP 503 with Retry-After).
	ErrOverloaded = errors.New("engine: overloaded, queue is full")
	// ErrPromptTooLong means the prompt does not fit the model's context (HTTP 413).
	ErrPromptTooLong = errors.New("engine: prompt does not fit the context window")
	// ErrClosed means the engine is shutting down (HTTP 503).
	ErrClosed = errors.New("engine: closed")
	// ErrWriteTimeout means the request's reader did not take its output within Config.WriteTimeout: the
	// request was cut off and its sequences freed.
	ErrWriteTimeout = errors.New("engine: the client did not read the output in time")
	// ErrBadSpeculation means a request asked for a drafting mode or length the engine cannot serve
	// (HTTP 400).
	ErrBadSpeculation = errors.New("engine: bad speculative decoding request")
	// ErrBadPlugin means a request named a plugin that does not exist or does not load (HTTP 400).
	ErrBadPlugin = errors.New("engine: bad plugin")
)

// Finish reasons, as OpenAI names them.
const (
	FinishStop   = "stop"   // an end-of-generation token was sampled (or the caller stopped on a stop string)
	FinishLength = "length" // max_tokens or the context window was reached
)

// ModelInfo describes a loaded model to the serving layer.
type ModelInfo struct {
	ID            string // name clients use in "model"
	Arch          string // GGUF architecture, e.g. "qwen2"
	ContextLength int    // tokens of context the engine serves
	VocabSize     int    // logits width
	ChatTemplate  string // Jinja source from tokenizer.chat_template; "" if none
	BOSToken      string // text of the BOS token ("" if none), for templates
	EOSToken      string // text of the EOS token ("" if none), for templates
	AddBOS        bool   // whether raw completions get a BOS prepended
}

// SamplingParams selects how the sampler guest picks each token. Zero values mean "off" except where noted;
// use DefaultSampling for llama.cpp-like defaults.
type SamplingParams struct {
	Temperature      float32           // <= 0 means greedy
	TopK             int               // 0 = off
	TopP             float32           // 1 = off
	MinP             float32           // 0 = off
	RepeatPenalty    float32           // 1 = off; llama.cpp semantics over the last RepeatLastN tokens
	RepeatLastN      int               // window for the three penalties (prompt included); 0 = 64
	PresencePenalty  float32           // OpenAI semantics, 0 = off
	FrequencyPenalty float32           // OpenAI semantics, 0 = off
	LogitBias        map[int32]float32 // added to the logits before sampling
	Seed             uint64            // PRNG seed; same seed, same output
}

// DefaultSampling returns OpenAI's defaults: temperature 1, no truncation, no penalties.
func DefaultSampling() SamplingParams {
	return SamplingParams{Temperature: 1, TopP: 1, RepeatPenalty: 1}
}

// Request is one generation on one sequence.
type Request struct {
	Prompt    []int32        // token ids, BOS included when wanted
	MaxTokens int            // <= 0 means until the context is full
	Sampling  SamplingParams // how to pick tokens
	IgnoreEOS bool           // keep going past end-of-generation tokens (benchmarks)
	N         int            // choices (OpenAI's n): the prompt's sequence forks into N after prefill; 0 = 1

	// Policy, when set, steers every step of the request (guest/ABI.md v1): masks, biases, splices, forks,
	// hidden output, custom picks. PolicyConfig is handed to it as the request's config.
	Policy       *wasm.Policy
	PolicyConfig []byte

	// PolicyStepTimer, when set, is called by the request's worker after each policy step (ctl_step)
	// with the time it took, for metrics. It runs on the decode path: it must return at once (an atomic
	// update, no lock, no allocation).
	PolicyStepTimer func(time.Duration)

	// NoPromptCache skips the prefix cache (OpenAI-compatible servers' cache_prompt: false): the whole
	// prompt is computed and none of it is kept for later requests.
	NoPromptCache bool

	// Logprobs asks for each generated token's Logprobs on its Piece, with the TopLogprobs (0 to
	// MaxTopLogprobs) most likely alternatives. Tokens a policy spliced in were not sampled and have none.
	Logprobs    bool
	TopLogprobs int

	// PromptLogprobs asks for the prompt's tokens' Logprobs (with TopLogprobs alternatives), for echo: one
	// piece of Index 0 and Token -1 carries them before any generated piece. The model then computes the
	// logits of every prompt position, and the prefix cache gives the request none of its prompt.
	PromptLogprobs bool

	// Tenant is who the request is billed to ("" = no tenant): the scheduler shares the model fairly
	// across tenants, and each tenant's prompts are cached in a namespace of its own.
	Tenant string

	// Speculation chooses how the request's tokens are drafted for verification (spec.go); the zero
	// value takes the engine's Config.Spec. It changes the speed, never the tokens.
	Speculation Speculation
}

// Piece is one generated token and the text it completes. Text holds only whole UTF-8 characters: bytes of a
// character split across tokens are held back until it is complete, so Text may be empty.
type Piece struct {
	Index    int // which sequence (choice): 0, or a fork's number
	Token    int32
	Text     string
	Logprobs *Logprobs // with Request.Logprobs, for a sampled token; nil otherwise

	// PromptLogprobs, with Request.PromptLogprobs, on one piece before the generated ones: one per prompt
	// token, the first with NoContext set.
	PromptLogprobs []*Logprobs
}

// Result summarises a finished generation.
type Result struct {
	PromptTokens     int
	CachedTokens     int    // prompt tokens reused from the prefix cache (usage.prompt_tokens_details.cached_tokens)
	CompletionTokens int    // all sequences together, hidden tokens included
	FinishReason     string // sequence 0's: FinishStop or FinishLength
	Choices          []Choice

	// DraftTokens were proposed by speculative decoding and verified by the model; AcceptedDraftTokens
	// of them were the tokens the request's sampler picked (OpenAI's accepted_prediction_tokens).
	DraftTokens, AcceptedDraftTokens int
}

// Choice is how one sequence of a request ended; a request has more than one when its policy forks.
type Choice struct {
	CompletionTokens int
	FinishReason     string
}
