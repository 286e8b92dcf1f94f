package edge

import (
	"regexp"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/engine"
)

// TestGrammarRequest: a grammar on either endpoint runs the built-in plugin with the grammar in its
// config (and, on chat, a thinking budget when the prompt opens a thinking block); an empty one is none.
func TestGrammarRequest(t *testing.T) {
	const g = `root ::= "yes" | "no"`
	for _, c := range []struct {
		path, template, body string
		config               string // "": no plugin
	}{
		{"/v1/completions", "", `{"prompt":"Hi","grammar":"root ::= \"yes\" | \"no\""}`, `{"grammar":` + jsonString(g) + `}`},
		{"/completions", "", `{"prompt":"Hi","grammar":"root ::= \"yes\" | \"no\""}`, `{"grammar":` + jsonString(g) + `}`},
		{"/v1/chat/completions", "", `{` + hi + `,"grammar":"root ::= \"yes\" | \"no\""}`, `{"grammar":` + jsonString(g) + `}`},
		{"/v1/chat/completions", "<think>\n", `{` + hi + `,"max_tokens":9,"grammar":"root ::= \"yes\" | \"no\""}`,
			`{"grammar":` + jsonString(g) + `,"think_budget":9}`},
		{"/v1/chat/completions", "", `{` + hi + `,"grammar":"","response_format":{"type":"text"}}`, ""},
		{"/v1/completions", "", `{"prompt":"Hi","grammar":null}`, ""},
	} {
		s, m := newPluginServer(&fakeModel{info: engine.ModelInfo{ChatTemplate: c.template}, pieces: []string{"yes"}})
		if r := post(s, c.path, c.body); r.status != 200 {
			t.Fatalf("%s %s: %d %s", c.path, c.body, r.status, r.body)
		}
		req := m.lastRequest()
		switch {
		case c.config == "" && (req.Policy != nil || req.PolicyConfig != nil):
			t.Errorf("%s: plugin %p config %q", c.body, req.Policy, req.PolicyConfig)
		case c.config != "" && req.Policy != m.policies[engine.BuiltinPolicy]:
			t.Errorf("%s: policy %p, want the built-in one", c.body, req.Policy)
		case c.config != "" && !sameJSON(t, req.PolicyConfig, c.config):
			t.Errorf("%s: config %s, want %s", c.body, req.PolicyConfig, c.config)
		}
	}
}

// jsonString quotes s as a JSON string (the grammars here need no escapes beyond quotes).
func jsonString(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// TestGrammarBadRequests: a grammar that does not compile is a 400 on param grammar with the error's
// line and column, as is a grammar beside response_format's schema or another plugin.
func TestGrammarBadRequests(t *testing.T) {
	s, _ := newPluginServer(&fakeModel{pieces: []string{"x"}})
	schema := `"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"object"}}}`
	for _, c := range []struct {
		path, body, want string
	}{
		{"/v1/completions", `{"prompt":"x","grammar":"root ::= \"a\"\nb ::= c"}`, `grammar: line 2, column 7: undefined rule "c"`},
		{"/v1/chat/completions", `{` + hi + `,"grammar":"root ::= (\"a\""}`, "line 1, column 14: expecting ')'"},
		{"/v1/chat/completions", `{` + hi + `,"grammar":"root ::= root \"a\" | \"b\""}`, `rule "root" is left-recursive`},
		{"/v1/completions", `{"prompt":"x","grammar":"expr ::= \"a\""}`, "no root rule"},
		{"/v1/completions", `{"prompt":"x","grammar":"root ::= <[11]>"}`, "token references"},
		{"/v1/completions", `{"prompt":"x","grammar":7}`, "string"},
		{"/v1/chat/completions", `{` + hi + `,"grammar":"root ::= \"{}\"",` + schema + `}`, "one constraint at most"},
		{"/v1/chat/completions", `{` + hi + `,"grammar":"root ::= \"{}\"","response_format":{"type":"json_object"}}`, "one constraint at most"},
		{"/v1/completions", `{"prompt":"x","grammar":"root ::= \"a\"","plugin":"good"}`, `plugin "good"`},
	} {
		e := post(s, c.path, c.body).apiErr(t, 400)
		if e.Param == nil || *e.Param != "grammar" || !strings.Contains(e.Message, c.want) || e.Type != typeInvalidRequest {
			t.Errorf("%s: param %v type %q message %q; want param grammar and %q", c.body, e.Param, e.Type, e.Message, c.want)
		}
	}
}

// testGrammarRealEngine (from TestRealEngine, whose engine has compiled the policy guest): on the
// random-weight model with the built-in policy guest, sampled answers under a grammar are words of its
// language (checked by Go's regexp with a pattern of the same language; an answer cut by max_tokens
// must be a prefix of one), on both endpoints; a bad grammar is a 400.
func testGrammarRealEngine(t *testing.T, s *Server) {
	grammar := `root ::= answer \" \" [0-9]{1,3} (\",\" [0-9]{1,3})*\nanswer ::= \"yes\" | \"no\" | \"maybe\"`
	re := regexp.MustCompile(`^(yes|no|maybe) [0-9]{1,3}(,[0-9]{1,3})*$`)
	for seed := range 3 {
		sd := string(rune('1' + seed))
		c := post(s, "/v1/completions", `{"prompt":"Is the sky blue?","max_tokens":40,"temperature":1,"seed":`+sd+
			`,"grammar":"`+grammar+`"}`).completion(t)
		if text := *c.Choices[0].Text; !re.MatchString(text) && !(c.Choices[0].FinishReason == "length" && re.MatchString(strings.TrimRight(text, ",")+"0")) {
			t.Errorf("completion seed %s: %q (%s) is no word of the grammar", sd, text, c.Choices[0].FinishReason)
		}
		ch := post(s, "/v1/chat/completions", `{"messages":[{"role":"user","content":"Is the sky blue?"}],"max_tokens":40,`+
			`"temperature":1,"seed":`+sd+`,"grammar":"`+grammar+`"}`).completion(t)
		if text := ch.Choices[0].Message.Content; !re.MatchString(text) && !(ch.Choices[0].FinishReason == "length" && re.MatchString(strings.TrimRight(text, ",")+"0")) {
			t.Errorf("chat seed %s: %q (%s) is no word of the grammar", sd, text, ch.Choices[0].FinishReason)
		}
	}
	e := post(s, "/v1/completions", `{"prompt":"x","grammar":"root ::= [a-"}`).apiErr(t, 400)
	if e.Param == nil || *e.Param != "grammar" || !strings.Contains(e.Message, "line 1, column 13") {
		t.Errorf("bad grammar: %+v", e)
	}
}
