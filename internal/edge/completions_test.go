package edge

import (
	"slices"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/engine"
)

func TestCompletion(t *testing.T) {
	m := &fakeModel{info: engine.ModelInfo{AddBOS: true}, pieces: []string{"upon", " a", " time"}, finish: engine.FinishLength}
	s := newTestServer(m)
	c := post(s, "/v1/completions", `{"model":"fake","prompt":"Once"}`).completion(t)
	if !strings.HasPrefix(c.ID, "cmpl-") || c.Object != "text_completion" || c.Model != "fake" {
		t.Errorf("id %q object %q model %q", c.ID, c.Object, c.Model)
	}
	if ch := c.Choices[0]; ch.Text == nil || *ch.Text != "upon a time" || ch.Message != nil || ch.FinishReason != "length" {
		t.Errorf("choice %+v", ch)
	}
	if u := c.Usage; u.PromptTokens != 2 || u.CompletionTokens != 3 || u.TotalTokens != 5 {
		t.Errorf("usage %+v", u)
	}
	if text, bos := m.lastText(); text != "Once" || !bos {
		t.Errorf("tokenized %q with BOS %v", text, bos)
	}

	// The prompt forms: token ids go to the engine as they are.
	for body, want := range map[string][]int32{
		`{"prompt":[5,6,7]}`:           {5, 6, 7},
		`{"prompt":[[5,6]]}`:           {5, 6},
		`{"prompt":["a b"]}`:           {1, 7, 7},
		`{"prompt":"<s> x"}`:           {1, 7, 7},
		`{"prompt":[0]}`:               {0},
		`{"prompt":"","max_tokens":1}`: {1},
	} {
		if r := post(s, "/v1/completions", body); r.status != 200 {
			t.Errorf("%s: %d %s", body, r.status, r.body)
		} else if got := m.lastRequest().Prompt; !slices.Equal(got, want) {
			t.Errorf("%s: prompt %v, want %v", body, got, want)
		}
	}
}

func TestCompletionStream(t *testing.T) {
	m := &fakeModel{pieces: []string{"upon", " a", ""}}
	r := post(newTestServer(m), "/v1/completions", `{"prompt":"Once","stream":true,"stream_options":{"include_usage":true}}`)
	cs := r.chunks(t)
	// No role chunk in completions; an empty piece sends nothing but counts as a token.
	if len(cs) != 4 {
		t.Fatalf("%d chunks: %s", len(cs), r.body)
	}
	for i, want := range []string{"upon", " a", ""} {
		c := cs[i]
		if !strings.HasPrefix(c.ID, "cmpl-") || c.Object != "text_completion" || c.ID != cs[0].ID || len(c.Choices) != 1 ||
			c.Choices[0].Text == nil || *c.Choices[0].Text != want || len(c.Choices[0].Delta) != 0 {
			t.Errorf("chunk %d: %+v", i, c)
		}
	}
	if f := cs[2].Choices[0].FinishReason; f == nil || *f != "stop" {
		t.Errorf("finish chunk %+v", cs[2])
	}
	if u := cs[3].Usage; len(cs[3].Choices) != 0 || u == nil || u.PromptTokens != 1 || u.CompletionTokens != 3 {
		t.Errorf("usage chunk %+v", cs[3])
	}
}
