package edge

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/engine"
)

// TestModelAliases checks Config.Aliases: /v1/models lists each model's ID then its aliases, a request
// naming an alias reaches its model, and aliases of no model or equal to a model's ID are left out.
func TestModelAliases(t *testing.T) {
	a := &fakeModel{info: engine.ModelInfo{ID: "org/a", ContextLength: 99}, pieces: []string{"from-a"}}
	b := &fakeModel{info: engine.ModelInfo{ID: "b"}, pieces: []string{"from-b"}}
	cfg := DefaultConfig()
	cfg.Logger = quiet
	cfg.Aliases = map[string]string{"y": "org/a", "x": "org/a", "lost": "nope", "b": "org/a", "": "b"}
	s := NewServer(cfg, b, a)

	var list struct {
		Data []modelCard `json:"data"`
	}
	if err := json.Unmarshal(call(s, "GET", "/v1/models", "").body, &list); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range list.Data {
		names = append(names, c.ID)
		if c.Object != "model" || c.OwnedBy != "wasmoe" || c.Created <= 0 {
			t.Errorf("card %+v", c)
		}
	}
	if want := []string{"b", "org/a", "x", "y"}; !slices.Equal(names, want) {
		t.Errorf("/v1/models lists %q, want %q", names, want)
	}
	for name, want := range map[string]string{"x": "from-a", "org/a": "from-a", "b": "from-b"} {
		c := post(s, "/v1/chat/completions", `{"model":"`+name+`",`+hi+`}`).completion(t)
		if c.Choices[0].Message.Content != want {
			t.Errorf("model %q answered %q, want %q", name, c.Choices[0].Message.Content, want)
		}
	}
	if e := post(s, "/v1/completions", `{"model":"lost","prompt":"x"}`).apiErr(t, 404); *e.Code != "model_not_found" {
		t.Errorf("an alias of no model: %+v", e)
	}
}

// TestRetrieveModel checks GET /v1/models/{id}, OpenAI's retrieve: the model's card for an ID (one with
// a slash too) or an alias, and 404 model_not_found in OpenAI's shape otherwise.
func TestRetrieveModel(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Logger = quiet
	cfg.Aliases = map[string]string{"short": "org/m"}
	s := NewServer(cfg, &fakeModel{info: engine.ModelInfo{ID: "org/m", ContextLength: 77}})
	for _, c := range []struct{ path, id string }{{"/v1/models/org/m", "org/m"}, {"/models/org/m", "org/m"}, {"/v1/models/short", "short"}} {
		r := call(s, "GET", c.path, "")
		var card map[string]any
		if err := json.Unmarshal(r.body, &card); err != nil || r.status != 200 {
			t.Fatalf("%s: %d %s", c.path, r.status, r.body)
		}
		if card["id"] != c.id || card["object"] != "model" || card["owned_by"] != "wasmoe" || card["created"].(float64) <= 0 ||
			card["context_length"] != 77.0 {
			t.Errorf("%s: card %v", c.path, card)
		}
	}
	for _, path := range []string{"/v1/models/org", "/v1/models/org/m/", "/v1/models/nope"} {
		if e := call(s, "GET", path, "").apiErr(t, 404); e.Code == nil || *e.Code != "model_not_found" || *e.Param != "model" {
			t.Errorf("%s: %+v", path, e)
		}
	}
	call(s, "POST", "/v1/models/org/m", "").apiErr(t, 405)
	ts, _ := tenantServer(t)
	if r := callAs(ts, "", "GET", "/v1/models/fake", ""); r.status != 401 {
		t.Errorf("retrieve without a key: %d %s", r.status, r.body)
	}
	if r := callAs(ts, "Bearer acme-key", "GET", "/v1/models/fake", ""); r.status != 200 {
		t.Errorf("retrieve with a tenant key: %d %s", r.status, r.body)
	}
}

// TestReasoningInput checks that an assistant message's reasoning (vLLM's and ollama's name) reaches the
// template as reasoning_content, and that reasoning_content wins when both are given.
func TestReasoningInput(t *testing.T) {
	m := &fakeModel{info: engine.ModelInfo{ChatTemplate: "{% for m in messages %}[{{ m['reasoning_content'] }}]{{ m['content'] }}{% endfor %}"},
		pieces: []string{"ok"}}
	s := newTestServer(m)
	for _, c := range []struct{ fields, want string }{
		{`"reasoning":"r1"`, "[r1]b"},
		{`"reasoning_content":"r2"`, "[r2]b"},
		{`"reasoning":"r1","reasoning_content":"r2"`, "[r2]b"},
	} {
		body := `{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b",` + c.fields + `},{"role":"user","content":"c"}]}`
		if r := post(s, "/v1/chat/completions", body); r.status != 200 {
			t.Fatalf("%s: %d %s", c.fields, r.status, r.body)
		}
		if text, _ := m.lastText(); text != "[]a"+c.want+"[]c" {
			t.Errorf("%s: rendered %q, want %q", c.fields, text, "[]a"+c.want+"[]c")
		}
	}
}
