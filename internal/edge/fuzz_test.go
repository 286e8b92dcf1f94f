package edge

import (
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/engine"
)

// FuzzRequest sends arbitrary bodies to both generation endpoints of a model whose plugins fork every
// request into two choices: the answer must be a success, a 4xx with an OpenAI error body, never a 500
// (the recover middleware's answer to a panic).
func FuzzRequest(f *testing.F) {
	for _, body := range []string{
		`{"messages":[{"role":"user","content":"hi"}],"temperature":0.5,"stop":["x"],"logit_bias":{"1":2}}`,
		`{"messages":[{"role":"user","content":[{"type":"text","text":"a"}]}],"max_tokens":3,"stream":true}`,
		`{"messages":[{"role":"assistant","content":null,"tool_calls":[{"function":{"name":"f","arguments":"{}"}}]}],"chat_template_kwargs":{"enable_thinking":false}}`,
		`{"prompt":[1,2,3],"stream":true,"stream_options":{"include_usage":true},"stop":"b"}`,
		`{"prompt":["x"],"top_k":-1,"seed":-5,"n":1,"thinking":{"type":"enabled"}}`,
		`{"model":"fake","prompt":[[7]],"max_completion_tokens":1}`,
		`{"messages":[{"role":"user","content":"hi"}],"plugin":"wasmoe","plugin_config":{"stop":["x"]},"stop":"a"}`,
		`{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{"type":"object"}}}}`,
		`{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_object"},"plugin":"good","stream":true}`,
		`{"prompt":"x","plugin":"nope","plugin_config":"s"}`,
		`{"prompt":"x","plugin_config":[1]}`,
		`{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"required"}`,
		`{"prompt":"x","grammar":"root ::= (\"a\" | [b-z]{1,3})+ # c\nx ::= root"}`,
	} {
		f.Add(body)
	}
	// A policy's output: two choices, interleaved.
	m := &fakeModel{info: engine.ModelInfo{ChatTemplate: "{% for m in messages %}{{ m['role'] }}{{ m['content'] }}{% endfor %}<think>\n"},
		script: []engine.Piece{{Index: 0, Text: "<th"}, {Index: 1, Text: "ink>a</thi"}, {Index: 0, Text: "nk>\n"}, {Index: 1, Text: "b"},
			{Index: 0, Text: "x"}},
		choices: []engine.Choice{{FinishReason: engine.FinishStop}, {FinishReason: engine.FinishLength}}}
	s, _ := newPluginServer(m)
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{"/v1/chat/completions", "/v1/completions"} {
			r := post(s, path, body)
			switch {
			case r.status == 200 && strings.HasPrefix(string(r.header.ContentType()), "text/event-stream"):
				// Go's JSON decoding matches keys case-insensitively ("streAm" streams), so the reply decides.
				r.chunks(t)
			case r.status == 200:
				r.completionN(t, 2)
			case r.status == 400 || r.status == 404 || r.status == 413:
				r.apiErr(t, r.status)
			default:
				t.Fatalf("%s: status %d: %s", path, r.status, r.body)
			}
		}
	})
}

// FuzzPipe checks that the response text does not depend on how the generated text is cut into pieces,
// and that a stop string never reaches the client.
func FuzzPipe(f *testing.F) {
	f.Add("Let me think</think>\n\nThe answer END", "END", true, uint8(3), uint8(17))
	f.Add("<think>plan</think>done", "an", false, uint8(1), uint8(9))
	f.Add("€uro€!", "€!", false, uint8(2), uint8(4))
	f.Fuzz(func(t *testing.T, text, stop string, opened bool, cut1, cut2 uint8) {
		run := func(pieces []string) (string, string, bool) {
			var g gatherer
			j := &job{gen: &generation{}, chat: true, opensThinking: opened}
			if stop != "" {
				j.gen.stop = []string{stop}
			}
			p := newPipe(j, &g)
			stopped := false
			for _, piece := range pieces {
				if stopped, _ = p.feed(0, piece, nil); stopped {
					break
				}
			}
			if !stopped {
				p.end(0, engine.FinishLength)
			}
			if c := g.choices[0]; c.finish != map[bool]string{true: engine.FinishStop, false: engine.FinishLength}[stopped] {
				t.Fatalf("finish %q, stopped %v", c.finish, stopped)
			}
			return string(g.choices[0].reasoning), string(g.choices[0].content), stopped
		}
		i, j := min(int(cut1), len(text)), min(int(cut2), len(text))
		if i > j {
			i, j = j, i
		}
		r1, c1, s1 := run([]string{text})
		r2, c2, s2 := run([]string{text[:i], text[i:j], text[j:]})
		if r1 != r2 || c1 != c2 || s1 != s2 {
			t.Fatalf("whole: %q %q %v; cut at %d,%d: %q %q %v", r1, c1, s1, i, j, r2, c2, s2)
		}
		if stop != "" && (strings.Contains(r1, stop) || strings.Contains(c1, stop)) {
			t.Fatalf("stop string %q in the output %q %q", stop, r1, c1)
		}
	})
}
