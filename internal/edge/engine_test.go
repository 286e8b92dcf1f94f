package edge

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/builtin"
	"github.com/wasmoe/wasmoe/internal/host/engine"
	"github.com/wasmoe/wasmoe/internal/host/modelgen"
	"github.com/wasmoe/wasmoe/internal/host/wasm"
	"github.com/wasmoe/wasmoe/internal/kernels"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// openEngine opens the real engine on a tiny random-weight qwen2 model, with the conformance guest as
// the plugin "conf", a file that is no wasm as the plugin "broken", and the hostile guests "trap" and
// "badaction" (internal/host/wasm/testdata/hostile).
func openEngine(t *testing.T) *engine.Engine {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "tiny.gguf")
	if err := modelgen.WriteFile(modelgen.Tiny("qwen2", kernels.Q8_0), testutil.Vocab(t, "ggml-vocab-qwen2.gguf"), path); err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile(filepath.Join(testutil.Root(), "guest", "examples", "conformance", "conformance.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	plugins := filepath.Join(dir, "plugins")
	os.Mkdir(plugins, 0o755)
	os.WriteFile(filepath.Join(plugins, "conf.wasm"), conf, 0o644)
	os.WriteFile(filepath.Join(plugins, "broken.wasm"), []byte("\x00asm not really"), 0o644)
	for _, name := range []string{"trap", "badaction"} {
		bin, err := os.ReadFile(filepath.Join(testutil.Root(), "internal/host/wasm/testdata/hostile", name+".wasm"))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(plugins, name+".wasm"), bin, 0o644)
	}
	ctx := context.Background()
	rt, err := wasm.NewRuntime(ctx, wasm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	prt, err := wasm.NewRuntime(ctx, wasm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.Open(engine.Config{ModelPath: path, ID: "tiny", Context: 512, Threads: 1, Runtime: rt, PluginRuntime: prt,
		TokenizerWasm: builtin.Tokenizer, SamplerWasm: builtin.Sampler, PluginDir: plugins})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// TestRealEngine runs plugins through the real engine: structured output with the built-in policy,
// a fork into two choices and hidden tokens with the conformance guest, and the errors of a broken
// plugin and a failing one. On the same engine (opening one takes seconds), another server's metrics
// are checked (testMetricsRealEngine), and /tokenize and /detokenize (testTokenizeRealEngine).
func TestRealEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a model and compiles the policy guests")
	}
	e := openEngine(t)
	t.Run("metrics", func(t *testing.T) { testMetricsRealEngine(t, e) })
	t.Run("tokenize", func(t *testing.T) { testTokenizeRealEngine(t, e) })
	t.Run("tools", func(t *testing.T) { testToolsRealEngine(t, e, modelgen.DefaultOptions().ChatTemplate) })
	s := newTestServer(e)
	const ask = `"messages":[{"role":"user","content":"Give me a color as JSON"}],"temperature":0`

	// Structured output: the answer parses as JSON and follows the schema, whole or streamed, on chat and
	// on completions.
	schema := `{"type":"object","properties":{"color":{"enum":["red","green","blue"]},"n":{"type":"boolean"}},` +
		`"required":["color","n"],"additionalProperties":false}`
	format := `"max_tokens":100,"response_format":{"type":"json_schema","json_schema":{"name":"c","strict":true,"schema":` + schema + `}}`
	check := func(how, text string) {
		var v struct {
			Color *string `json:"color"`
			N     *bool   `json:"n"`
		}
		dec := json.NewDecoder(strings.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil || v.Color == nil || v.N == nil || !strings.Contains("red green blue", *v.Color) {
			t.Errorf("%s: content %q does not follow the schema: %v", how, text, err)
		}
	}
	c := post(s, "/v1/chat/completions", `{`+ask+`,`+format+`}`).completion(t)
	check("whole", c.Choices[0].Message.Content)
	if c.Choices[0].FinishReason != "stop" {
		t.Errorf("finish %q: the schema was complete, only end of generation was allowed", c.Choices[0].FinishReason)
	}
	_, content, _ := streamed(t, post(s, "/v1/chat/completions", `{`+ask+`,"stream":true,`+format+`}`).chunks(t))
	check("streamed", content)
	c = post(s, "/v1/completions", `{"prompt":"A color as JSON:","temperature":0,`+format+`}`).completion(t)
	check("completion", *c.Choices[0].Text)
	t.Run("grammar", func(t *testing.T) { testGrammarRealEngine(t, s) })
	// Any object: random weights write strings until max_tokens, so only the start is sure.
	c = post(s, "/v1/chat/completions", `{`+ask+`,"max_tokens":8,"response_format":{"type":"json_object"}}`).completion(t)
	if !strings.HasPrefix(c.Choices[0].Message.Content, `{`) {
		t.Errorf("json_object: content %q is no JSON object", c.Choices[0].Message.Content)
	}

	// The conformance guest's mode 4 forks at once into two sequences that sample one token each: greedy,
	// both are the first token of a plain greedy generation.
	const greedy = `"prompt":"The sky is","temperature":0,"ignore_eos":true`
	plain := post(s, "/v1/completions", `{`+greedy+`,"max_tokens":1}`).completion(t)
	fork := post(s, "/v1/completions", `{`+greedy+`,"max_tokens":4,"plugin":"conf","plugin_config":"\u0004"}`).completionN(t, 2)
	for i, ch := range fork.Choices {
		if *ch.Text != *plain.Choices[0].Text || ch.FinishReason != "stop" {
			t.Errorf("fork choice %d: %q %s, want %q stop", i, *ch.Text, ch.FinishReason, *plain.Choices[0].Text)
		}
	}
	if fork.Usage.CompletionTokens != 2 {
		t.Errorf("fork usage %+v", fork.Usage)
	}
	// OpenAI's n: three greedy choices, each the plain greedy answer.
	plain = post(s, "/v1/completions", `{`+greedy+`,"max_tokens":3}`).completion(t)
	three := post(s, "/v1/completions", `{`+greedy+`,"max_tokens":3,"n":3}`).completionN(t, 3)
	for i, ch := range three.Choices {
		if *ch.Text != *plain.Choices[0].Text || ch.FinishReason != "length" {
			t.Errorf("n=3 choice %d: %q %s, want %q length", i, *ch.Text, ch.FinishReason, *plain.Choices[0].Text)
		}
	}
	if three.Usage.CompletionTokens != 9 {
		t.Errorf("n=3 usage %+v", three.Usage)
	}
	// Mode 6 holds the first token and hides it with the second: the text lacks them, the usage counts them.
	plain = post(s, "/v1/completions", `{`+greedy+`,"max_tokens":5}`).completion(t)
	hid := post(s, "/v1/completions", `{`+greedy+`,"max_tokens":5,"plugin":"conf","plugin_config":"\u0006"}`).completion(t)
	if h, p := *hid.Choices[0].Text, *plain.Choices[0].Text; !strings.HasSuffix(p, h) || len(h) >= len(p) || hid.Usage.CompletionTokens != 5 {
		t.Errorf("hidden: %q (%d tokens), plain %q", h, hid.Usage.CompletionTokens, p)
	}

	// A plugin that does not load, one that does not exist, and a config the built-in policy refuses
	// (its ctl_open fails: the error quotes its log).
	for _, name := range []string{"broken", "absent"} {
		e := post(s, "/v1/completions", `{"prompt":"x","plugin":"`+name+`"}`).apiErr(t, 400)
		if *e.Param != "plugin" || !strings.Contains(e.Message, `"`+name+`"`) {
			t.Errorf("plugin %s: %+v", name, e)
		}
	}
	for _, stream := range []string{"false", "true"} {
		e := post(s, "/v1/chat/completions", `{`+ask+`,"stream":`+stream+`,"plugin":"wasmoe","plugin_config":{"colour":1}}`).apiErr(t, 400)
		if e.Type != typePlugin || !strings.Contains(e.Message, "colour") {
			t.Errorf("stream %s: bad config: %+v", stream, e)
		}
	}
}
