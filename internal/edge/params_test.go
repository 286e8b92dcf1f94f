package edge

import (
	"reflect"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/engine"
)

func TestSamplingParameters(t *testing.T) {
	m := &fakeModel{pieces: []string{"x"}}
	s := newTestServer(m)
	body := `{` + hi + `,"max_tokens":9,"temperature":0.5,"top_p":0.9,"top_k":40,"min_p":0.05,"presence_penalty":-1.5,` +
		`"frequency_penalty":2,"repetition_penalty":1.1,"logit_bias":{"3":-100,"999":5.5},"seed":-1,"n":1,"ignore_eos":true,` +
		`"logprobs":false,"stop":null,"stream":false,"user":"u","response_format":{"type":"text"},"tools":[]}`
	if r := post(s, "/v1/chat/completions", body); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	req := m.lastRequest()
	want := engine.SamplingParams{Temperature: 0.5, TopP: 0.9, TopK: 40, MinP: 0.05, RepeatPenalty: 1.1, PresencePenalty: -1.5,
		FrequencyPenalty: 2, Seed: 1<<64 - 1, LogitBias: map[int32]float32{3: -100, 999: 5.5}}
	if !reflect.DeepEqual(req.Sampling, want) || req.MaxTokens != 9 || !req.IgnoreEOS {
		t.Errorf("request %+v\nwant sampling %+v", req, want)
	}

	// Defaults: OpenAI's sampling, the server's max_tokens, a fresh seed per request.
	post(s, "/v1/chat/completions", `{`+hi+`}`)
	first := m.lastRequest()
	post(s, "/v1/completions", `{"prompt":"x","repeat_penalty":1.3,"top_k":-1,"max_tokens":3,"max_completion_tokens":5}`)
	second := m.lastRequest()
	d := engine.DefaultSampling()
	d.Seed = first.Sampling.Seed
	if first.Sampling.LogitBias != nil || first.MaxTokens != DefaultConfig().DefaultMaxTokens || first.IgnoreEOS {
		t.Errorf("default request %+v", first)
	}
	if !reflect.DeepEqual(first.Sampling, d) {
		t.Errorf("default sampling %+v, want %+v", first.Sampling, d)
	}
	if second.Sampling.Seed == first.Sampling.Seed {
		t.Errorf("two requests without a seed got seed %d", first.Sampling.Seed)
	}
	// llama.cpp's repeat_penalty; top_k -1 is off; max_completion_tokens wins over max_tokens.
	if second.Sampling.RepeatPenalty != 1.3 || second.Sampling.TopK != 0 || second.MaxTokens != 5 {
		t.Errorf("request %+v", second)
	}

	// A server whose default is "until the context is full" sends MaxTokens 0.
	cfg := DefaultConfig()
	cfg.DefaultMaxTokens = -1
	post(NewServer(cfg, m), "/v1/completions", `{"prompt":"x"}`)
	if r := m.lastRequest(); r.MaxTokens != 0 {
		t.Errorf("MaxTokens %d", r.MaxTokens)
	}
}

// TestPromptCache checks cache_prompt (on unless false) and that usage reports the cached prompt tokens,
// whole and streamed.
func TestPromptCache(t *testing.T) {
	m := &fakeModel{pieces: []string{"x"}, cached: 3}
	s := newTestServer(m)
	for _, c := range []struct {
		field   string
		noCache bool
	}{{"", false}, {`,"cache_prompt":true`, false}, {`,"cache_prompt":false`, true}} {
		u := post(s, "/v1/completions", `{"prompt":"a b c d"`+c.field+`}`).completion(t).Usage
		if got := m.lastRequest().NoPromptCache; got != c.noCache {
			t.Errorf("%q: NoPromptCache %v", c.field, got)
		}
		if u.PromptTokens != 4 || u.PromptTokensDetails.CachedTokens == nil || *u.PromptTokensDetails.CachedTokens != 3 {
			t.Errorf("%q: usage %+v", c.field, u)
		}
	}
	cs := post(s, "/v1/chat/completions", `{`+hi+`,"stream":true,"stream_options":{"include_usage":true}}`).chunks(t)
	if u := cs[len(cs)-1].Usage; u == nil || u.PromptTokensDetails.CachedTokens == nil || *u.PromptTokensDetails.CachedTokens != 3 {
		t.Errorf("streamed usage %+v", u)
	}
	post(s, "/v1/completions", `{"prompt":"a","cache_prompt":"no"}`).apiErr(t, 400)
}
