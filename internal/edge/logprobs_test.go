package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// The logprobs objects as OpenAI's API reference names their fields (decoded strictly: a field of
// another name fails the test).
type (
	chatLogprobsJSON struct {
		Content []chatTokenJSON `json:"content"`
		Refusal any             `json:"refusal"`
	}
	chatTokenJSON struct {
		Token       string         `json:"token"`
		Logprob     float64        `json:"logprob"`
		Bytes       []int          `json:"bytes"`
		TopLogprobs []topTokenJSON `json:"top_logprobs"`
	}
	topTokenJSON struct {
		Token   string  `json:"token"`
		Logprob float64 `json:"logprob"`
		Bytes   []int   `json:"bytes"`
	}
	completionLogprobsJSON struct {
		Tokens        []string             `json:"tokens"`
		TokenLogprobs []float64            `json:"token_logprobs"`
		TopLogprobs   []map[string]float64 `json:"top_logprobs"`
		TextOffset    []int                `json:"text_offset"`
	}
)

// strictly re-decodes v (a decoded "logprobs" value) into out, refusing unknown fields.
func strictly(t *testing.T, v any, out any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		t.Fatalf("logprobs %s: %v", b, err)
	}
}

// checkChatTokens checks chat logprobs against the choice's text and themselves: one entry per
// generated token whose bytes make up the content, token = its bytes as text, top_logprobs of the asked
// length sorted from the likeliest, and (greedy) the chosen token the likeliest.
func checkChatTokens(t *testing.T, what string, lp chatLogprobsJSON, content string, tokens, top int) {
	t.Helper()
	if len(lp.Content) != tokens {
		t.Fatalf("%s: %d logprobs entries, %d tokens generated", what, len(lp.Content), tokens)
	}
	var all []byte
	for i, c := range lp.Content {
		b := make([]byte, len(c.Bytes))
		for k, v := range c.Bytes {
			b[k] = byte(v)
		}
		all = append(all, b...)
		if utf8.Valid(b) && c.Token != string(b) {
			t.Errorf("%s token %d: %q, bytes %q", what, i, c.Token, b)
		}
		if c.Logprob > 0 || len(c.TopLogprobs) != top {
			t.Errorf("%s token %d: logprob %g, %d top logprobs (want %d)", what, i, c.Logprob, len(c.TopLogprobs), top)
		}
		for k := 1; k < len(c.TopLogprobs); k++ {
			if c.TopLogprobs[k].Logprob > c.TopLogprobs[k-1].Logprob {
				t.Errorf("%s token %d: top logprobs out of order: %+v", what, i, c.TopLogprobs)
			}
		}
		if top > 0 && (c.TopLogprobs[0].Logprob != c.Logprob || !reflect.DeepEqual(c.TopLogprobs[0].Bytes, c.Bytes)) {
			t.Errorf("%s token %d: greedy chose %q (%g), the likeliest is %+v", what, i, c.Token, c.Logprob, c.TopLogprobs[0])
		}
	}
	if string(all) != content {
		t.Errorf("%s: tokens' bytes %q, content %q", what, all, content)
	}
}

// TestLogprobsHTTP runs logprobs through the real engine on both endpoints, whole and streamed, with
// n = 2: the shapes OpenAI's reference gives, entries that agree with the text and with each other, the
// stream's entries equal to the whole response's, and top_logprobs that do not move with the sampling
// parameters (the model's raw distribution).
func TestLogprobsHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a model")
	}
	s := newTestServer(openEngine(t))
	const ask = `"messages":[{"role":"user","content":"Name a colour"}],"temperature":0,"max_tokens":5,"ignore_eos":true,"n":2`

	// Chat, whole: each of the two choices has its own five entries.
	c := post(s, "/v1/chat/completions", `{`+ask+`,"logprobs":true,"top_logprobs":3}`).completionN(t, 2)
	var whole [2]chatLogprobsJSON
	for i, ch := range c.Choices {
		strictly(t, ch.Logprobs, &whole[i])
		checkChatTokens(t, "chat choice "+string(rune('0'+i)), whole[i], ch.Message.Content, 5, 3)
	}
	// Chat, streamed: the chunks' entries, in order, are the whole response's.
	var got [2]chatLogprobsJSON
	var content [2]string
	for _, ch := range post(s, "/v1/chat/completions", `{`+ask+`,"logprobs":true,"top_logprobs":3,"stream":true}`).chunks(t) {
		for _, c := range ch.Choices {
			content[c.Index] += c.Delta["content"]
			if c.Logprobs != nil {
				var lp chatLogprobsJSON
				strictly(t, c.Logprobs, &lp)
				got[c.Index].Content = append(got[c.Index].Content, lp.Content...)
			}
		}
	}
	for i := range got {
		checkChatTokens(t, "streamed chat choice "+string(rune('0'+i)), got[i], content[i], 5, 3)
		if !reflect.DeepEqual(got[i].Content, whole[i].Content) {
			t.Errorf("choice %d: streamed logprobs %+v, whole %+v", i, got[i].Content, whole[i].Content)
		}
	}
	// Without logprobs, none; logprobs without top_logprobs gives empty alternatives.
	if c := post(s, "/v1/chat/completions", `{`+ask+`}`).completionN(t, 2); c.Choices[0].Logprobs != nil {
		t.Errorf("logprobs %v, none asked", c.Choices[0].Logprobs)
	}
	c = post(s, "/v1/chat/completions", `{`+ask+`,"logprobs":true}`).completionN(t, 2)
	var bare chatLogprobsJSON
	strictly(t, c.Choices[0].Logprobs, &bare)
	checkChatTokens(t, "no top", bare, c.Choices[0].Message.Content, 5, 0)

	// Completions, whole and streamed.
	const prompt = `"prompt":"The sky is","max_tokens":6,"ignore_eos":true,"logprobs":4`
	cc := post(s, "/v1/completions", `{`+prompt+`,"temperature":0}`).completion(t)
	var lp completionLogprobsJSON
	strictly(t, cc.Choices[0].Logprobs, &lp)
	text := *cc.Choices[0].Text
	if len(lp.Tokens) != 6 || len(lp.TokenLogprobs) != 6 || len(lp.TopLogprobs) != 6 || len(lp.TextOffset) != 6 {
		t.Fatalf("completion logprobs %+v: want 6 of each", lp)
	}
	if joined := strings.Join(lp.Tokens, ""); !strings.ContainsRune(joined, utf8.RuneError) && joined != text {
		t.Errorf("tokens %q, text %q", lp.Tokens, text)
	}
	off := 0
	for i, tok := range lp.Tokens {
		top := lp.TopLogprobs[i]
		if len(top) < 1 || len(top) > 5 || top[tok] != lp.TokenLogprobs[i] {
			t.Errorf("token %d %q (%g): top logprobs %v", i, tok, lp.TokenLogprobs[i], top)
		}
		for _, v := range top { // greedy: the chosen token is the likeliest
			if v > lp.TokenLogprobs[i] {
				t.Errorf("token %d %q (%g): a likelier one in %v", i, tok, lp.TokenLogprobs[i], top)
			}
		}
		if lp.TextOffset[i] != off {
			t.Errorf("text_offset[%d] = %d, want %d", i, lp.TextOffset[i], off)
		}
		off += utf8.RuneCountInString(tok)
	}
	var st completionLogprobsJSON
	for _, ch := range post(s, "/v1/completions", `{`+prompt+`,"temperature":0,"stream":true}`).chunks(t) {
		if ch.Choices[0].Logprobs != nil {
			var part completionLogprobsJSON
			strictly(t, ch.Choices[0].Logprobs, &part)
			st.Tokens, st.TokenLogprobs = append(st.Tokens, part.Tokens...), append(st.TokenLogprobs, part.TokenLogprobs...)
			st.TopLogprobs, st.TextOffset = append(st.TopLogprobs, part.TopLogprobs...), append(st.TextOffset, part.TextOffset...)
		}
	}
	if !reflect.DeepEqual(st, lp) {
		t.Errorf("streamed completion logprobs %+v, whole %+v", st, lp)
	}
	// The first token's alternatives come from the model, before temperature, top_k and penalties.
	hot := post(s, "/v1/completions", `{`+prompt+`,"temperature":2,"top_k":3,"presence_penalty":2,"seed":7}`).completion(t)
	var hlp completionLogprobsJSON
	strictly(t, hot.Choices[0].Logprobs, &hlp)
	for tok, v := range lp.TopLogprobs[0] { // hot's may have the token it chose besides
		if hv, ok := hlp.TopLogprobs[0][tok]; !ok || hv != v {
			t.Errorf("first token's top logprobs: %v sampled hot, %v greedy", hlp.TopLogprobs[0], lp.TopLogprobs[0])
		}
	}

	// Out of range, and the other endpoint's form.
	for _, bad := range []struct{ path, body, param string }{
		{"/v1/chat/completions", `{` + ask + `,"logprobs":true,"top_logprobs":21}`, "top_logprobs"},
		{"/v1/chat/completions", `{` + ask + `,"logprobs":2}`, "logprobs"},
		{"/v1/completions", `{"prompt":"x","logprobs":21}`, "logprobs"},
		{"/v1/completions", `{"prompt":"x","logprobs":true}`, "logprobs"},
	} {
		if e := post(s, bad.path, bad.body).apiErr(t, 400); e.Param == nil || *e.Param != bad.param {
			t.Errorf("%s %s: %+v", bad.path, bad.body, e)
		}
	}
}

// echoLogprobsJSON is completions' logprobs with echo: the first prompt token's logprob and top_logprobs
// are null.
type echoLogprobsJSON struct {
	Tokens        []string             `json:"tokens"`
	TokenLogprobs []*float64           `json:"token_logprobs"`
	TopLogprobs   []map[string]float64 `json:"top_logprobs"`
	TextOffset    []int                `json:"text_offset"`
}

// TestEchoLogprobsHTTP asks completions for echo with logprobs, n = 2, whole and streamed: each choice's
// text starts with the prompt, and its logprobs with the prompt's tokens, the first null and the others
// log_softmax of the model's own forward pass over the prompt (every row), then the generated tokens'
// as a request without echo gives them.
func TestEchoLogprobsHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a model")
	}
	e := openEngine(t)
	s := newTestServer(e)
	const text = "The sky is blue and the grass is"
	prompt, err := e.Tokenize(context.Background(), text, e.Info().AddBOS, true)
	if err != nil {
		t.Fatal(err)
	}
	m := e.Model()
	all, err := m.Forward(e.Pool(), m.NewState(0), prompt, true)
	if err != nil {
		t.Fatal(err)
	}
	const ask = `"prompt":"` + text + `","temperature":0,"max_tokens":3,"ignore_eos":true,"logprobs":2`
	var plain completionLogprobsJSON
	strictly(t, post(s, "/v1/completions", `{`+ask+`}`).completion(t).Choices[0].Logprobs, &plain)

	check := func(how string, got echoLogprobsJSON, choiceText string) {
		t.Helper()
		if !strings.HasPrefix(choiceText, text) {
			t.Errorf("%s: text %q does not start with the prompt", how, choiceText)
		}
		P := len(prompt)
		if len(got.Tokens) != P+3 || len(got.TokenLogprobs) != P+3 || len(got.TopLogprobs) != P+3 || len(got.TextOffset) != P+3 {
			t.Fatalf("%s: %+v, want %d prompt and 3 generated entries", how, got, P)
		}
		if got.TokenLogprobs[0] != nil || got.TopLogprobs[0] != nil || got.TextOffset[0] != 0 {
			t.Errorf("%s: first prompt token %q: logprob %v, top %v, offset %d; want null, null, 0", how, got.Tokens[0],
				got.TokenLogprobs[0], got.TopLogprobs[0], got.TextOffset[0])
		}
		if strings.Join(got.Tokens[:P], "") != text {
			t.Errorf("%s: prompt tokens %q, prompt %q", how, got.Tokens[:P], text)
		}
		V := m.Vocab
		for i := 1; i < P; i++ {
			want := refLogSoftmax(all[(i-1)*V : i*V])[prompt[i]]
			if got.TokenLogprobs[i] == nil || math.Abs(*got.TokenLogprobs[i]-want) > 1e-5 || len(got.TopLogprobs[i]) < 2 {
				t.Errorf("%s: prompt token %d %q: logprob %v top %v, forward's %g", how, i, got.Tokens[i], got.TokenLogprobs[i], got.TopLogprobs[i], want)
			}
		}
		for k := range 3 {
			i := P + k
			if got.Tokens[i] != plain.Tokens[k] || got.TokenLogprobs[i] == nil || *got.TokenLogprobs[i] != plain.TokenLogprobs[k] ||
				!reflect.DeepEqual(got.TopLogprobs[i], plain.TopLogprobs[k]) || got.TextOffset[i] != plain.TextOffset[k]+utf8.RuneCountInString(text) {
				t.Errorf("%s: generated token %d: %q %v %v at %d; without echo %q %g %v at %d", how, k, got.Tokens[i], got.TokenLogprobs[i],
					got.TopLogprobs[i], got.TextOffset[i], plain.Tokens[k], plain.TokenLogprobs[k], plain.TopLogprobs[k], plain.TextOffset[k])
			}
		}
	}
	c := post(s, "/v1/completions", `{`+ask+`,"echo":true,"n":2}`).completionN(t, 2)
	for i, ch := range c.Choices {
		var got echoLogprobsJSON
		strictly(t, ch.Logprobs, &got)
		check("whole choice "+string(rune('0'+i)), got, *ch.Text)
	}
	var got [2]echoLogprobsJSON
	var texts [2]string
	for _, ch := range post(s, "/v1/completions", `{`+ask+`,"echo":true,"n":2,"stream":true}`).chunks(t) {
		for _, c := range ch.Choices {
			texts[c.Index] += *c.Text
			if c.Logprobs != nil {
				var part echoLogprobsJSON
				strictly(t, c.Logprobs, &part)
				g := &got[c.Index]
				g.Tokens, g.TokenLogprobs = append(g.Tokens, part.Tokens...), append(g.TokenLogprobs, part.TokenLogprobs...)
				g.TopLogprobs, g.TextOffset = append(g.TopLogprobs, part.TopLogprobs...), append(g.TextOffset, part.TextOffset...)
			}
		}
	}
	for i := range got {
		check("streamed choice "+string(rune('0'+i)), got[i], texts[i])
	}

	// Echo alone: the prompt's text, no logprobs; a prompt of ids echoes their text.
	c = post(s, "/v1/completions", `{"prompt":"`+text+`","temperature":0,"max_tokens":3,"echo":true}`).completion(t)
	if !strings.HasPrefix(*c.Choices[0].Text, text) || c.Choices[0].Logprobs != nil {
		t.Errorf("echo without logprobs: %q, logprobs %v", *c.Choices[0].Text, c.Choices[0].Logprobs)
	}
	ids, _ := json.Marshal(prompt)
	c = post(s, "/v1/completions", `{"prompt":`+string(ids)+`,"temperature":0,"max_tokens":3,"echo":true}`).completion(t)
	if !strings.HasPrefix(*c.Choices[0].Text, text) {
		t.Errorf("echo of ids %s: %q", ids, *c.Choices[0].Text)
	}
}

// refLogSoftmax is log_softmax of logits computed directly, in float64.
func refLogSoftmax(logits []float32) []float64 {
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v))
	}
	out := make([]float64, len(logits))
	for i, v := range logits {
		out[i] = float64(v) - math.Log(sum)
	}
	return out
}
