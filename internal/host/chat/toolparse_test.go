package chat

import (
	"math/rand"
	"strings"
	"testing"
)

// parsed is a ToolParser's output with consecutive texts joined: text, or "CALL name args".
func parsed(p *ToolParser, pieces []string) []string {
	var out []string
	add := func(evs []ToolEvent) {
		for _, e := range evs {
			if e.Call != nil {
				out = append(out, "CALL "+e.Call.Name+" "+e.Call.Arguments)
			} else if n := len(out); n > 0 && !strings.HasPrefix(out[n-1], "CALL ") {
				out[n-1] += e.Text
			} else {
				out = append(out, e.Text)
			}
		}
	}
	for _, s := range pieces {
		add(p.Push(s))
	}
	add(p.Flush())
	return out
}

// TestToolParser reads hand-written answers of each format, whole and cut into random pieces: calls come
// out with their arguments, malformed calls stay text as written.
func TestToolParser(t *testing.T) {
	const (
		dsCall1 = "<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Paris\"}\n```<｜tool▁call▁end｜>"
		dsCall2 = "<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_time\n```json\n{}\n```<｜tool▁call▁end｜>"
	)
	cases := []struct {
		name string
		f    ToolFormat
		in   string
		want []string
	}{
		{"qwen/one", ToolsQwen, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
			[]string{`CALL get_weather {"city": "Paris"}`}},
		{"qwen/text-and-two", ToolsQwen, "Let me check.\n\n<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n</tool_call>\n<tool_call>\n{\"name\": \"b\", \"arguments\": \"{\\\"x\\\": 1}\"}\n</tool_call>\n",
			[]string{"Let me check.", "CALL a {}", `CALL b {"x": 1}`}},
		{"qwen/unclosed-at-end", ToolsQwen, "<tool_call>\n{\"name\": \"a\", \"arguments\": {\"k\": [1, 2]}}",
			[]string{`CALL a {"k": [1, 2]}`}},
		{"qwen/malformed-json", ToolsQwen, "x <tool_call>\n{\"name\": \"a\", \"arguments\": {\"k\": }\n</tool_call> y",
			[]string{"x <tool_call>\n{\"name\": \"a\", \"arguments\": {\"k\": }\n</tool_call> y"}},
		{"qwen/no-name", ToolsQwen, "<tool_call>{\"arguments\": {}}</tool_call>", []string{"<tool_call>{\"arguments\": {}}</tool_call>"}},
		{"qwen/args-not-object", ToolsQwen, "<tool_call>{\"name\": \"a\", \"arguments\": [1]}</tool_call>",
			[]string{"<tool_call>{\"name\": \"a\", \"arguments\": [1]}</tool_call>"}},
		{"qwen/cut-off", ToolsQwen, "ok <tool_call>\n{\"name\": \"a\", \"argu", []string{"ok <tool_call>\n{\"name\": \"a\", \"argu"}},
		{"qwen/lookalike", ToolsQwen, "a <tool_cal> b <tool", []string{"a <tool_cal> b <tool"}},
		{"qwen/text-only", ToolsQwen, "Hello\n\n", []string{"Hello\n\n"}},

		{"llama/one", ToolsLlama, "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}",
			[]string{`CALL get_weather {"city": "Paris"}`}},
		{"llama/python-tag", ToolsLlama, "<|python_tag|>{\"name\": \"f\", \"arguments\": {\"a\": true}}",
			[]string{`CALL f {"a": true}`}},
		{"llama/two", ToolsLlama, " {\"name\": \"f\", \"parameters\": {}}; {\"name\": \"g\", \"parameters\": {\"x\": \"y\"}}",
			[]string{"CALL f {}", `CALL g {"x": "y"}`}},
		{"llama/text", ToolsLlama, "The weather is {nice}.", []string{"The weather is {nice}."}},
		{"llama/json-not-call", ToolsLlama, "{\"answer\": 42}", []string{"{\"answer\": 42}"}},
		{"llama/trailing-text", ToolsLlama, "{\"name\": \"f\", \"parameters\": {}} and more", []string{"{\"name\": \"f\", \"parameters\": {}} and more"}},
		{"llama/tag-lookalike", ToolsLlama, "<|python", []string{"<|python"}},

		{"deepseek/one", ToolsDeepSeek, "<｜tool▁calls▁begin｜>" + dsCall1 + "<｜tool▁calls▁end｜>",
			[]string{`CALL get_weather {"city": "Paris"}`}},
		{"deepseek/two-after-text", ToolsDeepSeek, "Checking.<｜tool▁calls▁begin｜>" + dsCall1 + "\n" + dsCall2 + "<｜tool▁calls▁end｜>",
			[]string{"Checking.", `CALL get_weather {"city": "Paris"}`, "CALL get_time {}"}},
		{"deepseek/no-calls-end", ToolsDeepSeek, "<｜tool▁calls▁begin｜>" + dsCall1, []string{`CALL get_weather {"city": "Paris"}`}},
		{"deepseek/bad-type", ToolsDeepSeek, "<｜tool▁calls▁begin｜>" + strings.Replace(dsCall1, "function", "fn", 1) + "<｜tool▁calls▁end｜>",
			[]string{"<｜tool▁calls▁begin｜>" + strings.Replace(dsCall1, "function", "fn", 1) + "<｜tool▁calls▁end｜>"}},
		{"deepseek/bad-json", ToolsDeepSeek, "<｜tool▁calls▁begin｜>" + strings.Replace(dsCall1, "}", "", 1) + "<｜tool▁calls▁end｜>",
			[]string{"<｜tool▁calls▁begin｜>" + strings.Replace(dsCall1, "}", "", 1) + "<｜tool▁calls▁end｜>"}},
		{"deepseek/junk-between", ToolsDeepSeek, "<｜tool▁calls▁begin｜>" + dsCall1 + "x" + dsCall2 + "<｜tool▁calls▁end｜>",
			[]string{"<｜tool▁calls▁begin｜>" + dsCall1 + "x" + dsCall2 + "<｜tool▁calls▁end｜>"}},
	}
	rng := rand.New(rand.NewSource(1))
	for _, c := range cases {
		whole := parsed(NewToolParser(c.f), []string{c.in})
		if strings.Join(whole, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s: got %q, want %q", c.name, whole, c.want)
		}
		for range 20 {
			var pieces []string
			for s := c.in; s != ""; {
				n := min(len(s), 1+rng.Intn(6))
				pieces, s = append(pieces, s[:n]), s[n:]
			}
			if got := parsed(NewToolParser(c.f), pieces); strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Fatalf("%s in pieces %q: got %q, want %q", c.name, pieces, got, c.want)
			}
		}
	}
}

// TestDetectToolFormat reads the formats of the real templates.
func TestDetectToolFormat(t *testing.T) {
	for name, want := range map[string]ToolFormat{
		"Qwen-Qwen2.5-7B-Instruct": ToolsQwen, "meta-llama-Llama-3.1-8B-Instruct": ToolsLlama,
		"meta-llama-Llama-3.2-3B-Instruct": ToolsLlama, "meta-llama-Llama-3.3-70B-Instruct": ToolsLlama,
		"deepseek-ai-DeepSeek-R1-Distill-Llama-8B": ToolsDeepSeek, "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B": ToolsDeepSeek,
		"llama-cpp-deepseek-r1": ToolsDeepSeek, "deepseek-ai-DeepSeek-V3.1": ToolsNone,
	} {
		if got := DetectToolFormat(readTemplate(t, name)); got != want {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	if got := DetectToolFormat(""); got != ToolsNone {
		t.Errorf("no template: %v", got)
	}
}

// FuzzToolParser: what the parser makes of an answer does not depend on how it is cut into pieces, and
// no text is lost outside the calls but the whitespace next to them.
func FuzzToolParser(f *testing.F) {
	f.Add(uint8(1), "a <tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call> b", uint8(3), uint8(11))
	f.Add(uint8(2), "{\"name\": \"f\", \"parameters\": {\"x\": 1}}", uint8(1), uint8(2))
	f.Add(uint8(3), "x<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n```json\n{}\n```<｜tool▁call▁end｜>", uint8(5), uint8(40))
	f.Fuzz(func(t *testing.T, format uint8, text string, cut1, cut2 uint8) {
		fm := ToolFormat(1 + format%3)
		whole := parsed(NewToolParser(fm), []string{text})
		a, b := min(int(cut1), len(text)), min(int(cut2), len(text))
		if a > b {
			a, b = b, a
		}
		cut := parsed(NewToolParser(fm), []string{text[:a], text[a:b], text[b:]})
		if strings.Join(whole, "\x00") != strings.Join(cut, "\x00") {
			t.Fatalf("%v %q: whole %q, cut at %d,%d %q", fm, text, whole, a, b, cut)
		}
		var calls int
		for _, s := range whole {
			if strings.HasPrefix(s, "CALL ") {
				calls++
			}
		}
		if calls == 0 && strings.Join(whole, "") != text {
			t.Fatalf("%v %q: no calls, yet the text became %q", fm, text, whole)
		}
	})
}
