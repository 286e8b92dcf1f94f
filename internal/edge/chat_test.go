package edge

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmoe/wasmoe/internal/host/engine"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

const hi = `"messages":[{"role":"user","content":"Hi"}]`

func TestChatCompletion(t *testing.T) {
	m := &fakeModel{info: engine.ModelInfo{AddBOS: true}, pieces: []string{"Hello", " there", "!"}, finish: engine.FinishStop}
	s := newTestServer(m)
	c := post(s, "/v1/chat/completions", `{"model":"fake",`+hi+`}`).completion(t)
	if !strings.HasPrefix(c.ID, "chatcmpl-") || len(c.ID) != len("chatcmpl-")+24 || c.Object != "chat.completion" || c.Model != "fake" {
		t.Errorf("id %q object %q model %q", c.ID, c.Object, c.Model)
	}
	if d := time.Now().Unix() - c.Created; d < 0 || d > 5 {
		t.Errorf("created %d", c.Created)
	}
	ch := c.Choices[0]
	if ch.Index != 0 || ch.Message == nil || ch.Message.Role != "assistant" || ch.Message.Content != "Hello there!" ||
		ch.Message.ReasoningContent != nil || ch.FinishReason != "stop" || ch.Logprobs != nil {
		t.Errorf("choice %+v message %+v", ch, ch.Message)
	}
	// No template: the plain format, with the tokenizer's BOS. One token per word plus BOS.
	if text, bos := m.lastText(); text != "user: Hi\n\nassistant:" || !bos {
		t.Errorf("prompt %q, BOS %v", text, bos)
	}
	u := c.Usage
	if u.PromptTokens != 4 || u.CompletionTokens != 3 || u.TotalTokens != 7 || u.PromptTokensDetails.CachedTokens == nil {
		t.Errorf("usage %+v", u)
	}
	// An empty model name picks the only model; the engine's length finish comes through.
	m.finish = engine.FinishLength
	if c := post(s, "/v1/chat/completions", `{`+hi+`}`).completion(t); c.Choices[0].FinishReason != "length" {
		t.Errorf("finish %q", c.Choices[0].FinishReason)
	}
}

func TestChatStream(t *testing.T) {
	m := &fakeModel{pieces: []string{"a\"b", "\n", "ü€"}}
	s := newTestServer(m)
	r := post(s, "/v1/chat/completions", `{`+hi+`,"stream":true}`)
	if r.status != 200 || string(r.header.Peek("Cache-Control")) != "no-cache" {
		t.Fatalf("status %d, headers %s", r.status, r.header.String())
	}
	cs := r.chunks(t)
	if len(cs) != 5 {
		t.Fatalf("%d chunks: %s", len(cs), r.body)
	}
	for i, c := range cs {
		if c.ID != cs[0].ID || !strings.HasPrefix(c.ID, "chatcmpl-") || c.Object != "chat.completion.chunk" || c.Model != "fake" ||
			c.Created != cs[0].Created || len(c.Choices) != 1 || c.Choices[0].Index != 0 {
			t.Errorf("chunk %d: %+v", i, c)
		}
	}
	if d := cs[0].Choices[0].Delta; len(d) != 2 || d["role"] != "assistant" || d["content"] != "" || cs[0].Choices[0].FinishReason != nil {
		t.Errorf("first chunk %+v", cs[0])
	}
	for i, want := range []string{"a\"b", "\n", "ü€"} {
		if d := cs[1+i].Choices[0].Delta; len(d) != 1 || d["content"] != want || cs[1+i].Choices[0].FinishReason != nil {
			t.Errorf("chunk %d delta %q, want content %q", 1+i, d, want)
		}
	}
	if last := cs[4].Choices[0]; len(last.Delta) != 0 || last.FinishReason == nil || *last.FinishReason != "stop" {
		t.Errorf("last chunk %+v", last)
	}
	if strings.Contains(string(r.body), `"usage"`) {
		t.Errorf("usage without stream_options.include_usage: %s", r.body)
	}

	// include_usage: every chunk has "usage":null, then one more chunk has no choices and the usage.
	r = post(s, "/v1/chat/completions", `{`+hi+`,"stream":true,"stream_options":{"include_usage":true}}`)
	cs = r.chunks(t)
	evs := r.events(t)
	if len(cs) != 6 {
		t.Fatalf("%d chunks: %s", len(cs), r.body)
	}
	for i, ev := range evs[:5] {
		if !strings.Contains(ev, `"usage":null`) {
			t.Errorf("chunk %d has no \"usage\":null: %s", i, ev)
		}
	}
	if u := cs[5]; len(u.Choices) != 0 || !strings.Contains(evs[5], `"choices":[]`) || u.Usage == nil ||
		u.Usage.PromptTokens != 3 || u.Usage.CompletionTokens != 3 || u.Usage.TotalTokens != 6 {
		t.Errorf("usage chunk %s", evs[5])
	}
}

// TestChatTemplate checks what the server renders and tokenizes for a model with a chat template.
func TestChatTemplate(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(testutil.Root(), "testdata", "templates", "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja"))
	if err != nil {
		t.Fatal(err)
	}
	const bos = "<｜begin▁of▁sentence｜>"
	m := &fakeModel{info: engine.ModelInfo{ChatTemplate: string(src), BOSToken: bos, AddBOS: true}, pieces: []string{"ok"}}
	s := newTestServer(m)
	cases := []struct{ body, want string }{
		// developer is a system role; content parts are joined; the prompt opens <think> (llama.cpp's default).
		{`{"messages":[{"role":"developer","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"2+"},{"type":"text","text":"2?"}]}]}`,
			bos + "Be brief.<｜User｜>2+2?<｜Assistant｜><think>\n"},
		// Past reasoning is cut by the template; reasoning_content passes through unrendered.
		{`{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"<think>r</think>b","reasoning_content":"r"},{"role":"user","content":"c"}]}`,
			bos + "<｜User｜>a<｜Assistant｜>b<｜end▁of▁sentence｜><｜User｜>c<｜Assistant｜><think>\n"},
		{`{` + hi + `,"chat_template_kwargs":{"enable_thinking":false}}`, bos + "<｜User｜>Hi<｜Assistant｜><think>\n</think>"},
		{`{` + hi + `,"thinking":{"type":"disabled"}}`, bos + "<｜User｜>Hi<｜Assistant｜><think>\n</think>"},
		{`{` + hi + `,"thinking":{"type":"enabled"}}`, bos + "<｜User｜>Hi<｜Assistant｜><think>\n"},
		// A tool-call turn: content null, arguments through tojson.
		{`{"messages":[{"role":"user","content":"w?"},{"role":"assistant","content":null,"tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"1","content":"sun"}]}`,
			bos + "<｜User｜>w?<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n```json\n\"{}\"\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜>" +
				"<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>sun<｜tool▁output▁end｜><｜tool▁outputs▁end｜>"},
	}
	for _, c := range cases {
		if r := post(s, "/v1/chat/completions", c.body); r.status != 200 {
			t.Errorf("%s: status %d %s", c.body, r.status, r.body)
			continue
		}
		if text, addBOS := m.lastText(); text != c.want || addBOS {
			t.Errorf("%s:\nrendered %q (tokenizer BOS %v)\n    want %q", c.body, text, addBOS, c.want)
		}
	}
	// A conversation the template rejects is the client's error.
	m.info.ChatTemplate = "{{ raise_exception('Conversation roles must alternate') }}"
	r := post(newTestServer(m), "/v1/chat/completions", `{`+hi+`}`)
	if e := r.apiErr(t, 400); !strings.Contains(e.Message, "must alternate") || e.Param == nil || *e.Param != "messages" {
		t.Errorf("error %+v", e)
	}
	// A template that does not compile fails chat requests only.
	m.info.ChatTemplate = "{% for %}"
	s = newTestServer(m)
	post(s, "/v1/chat/completions", `{`+hi+`}`).apiErr(t, 500)
	if r := post(s, "/v1/completions", `{"prompt":"x"}`); r.status != 200 {
		t.Errorf("completions with a broken chat template: %d %s", r.status, r.body)
	}
}
