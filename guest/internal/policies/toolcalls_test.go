package policies

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"regexp"
	"testing"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// The tool-call syntax of the test: DeepSeek's shape, with control tokens for the markers.
const (
	tcBegin = "<|calls|>"
	tcEnd   = "<|/calls|>"
	tcCall  = "<|call|>"
	tcClose = "<|/call|>"
)

var toolSchemas = map[string]string{
	"get_weather": `{"type": "object", "properties": {"city": {"type": "string", "maxLength": 6}, "unit": {"enum": ["c", "f"]}},
	  "required": ["city"], "additionalProperties": false}`,
	"get_time": `{"type": "object", "properties": {"tz": {"type": "integer"}}, "required": ["tz"], "additionalProperties": false}`,
}

// callPattern reads one call of the test syntax: the function's name and its arguments.
// The arguments may be pretty-printed over several lines.
var callPattern = regexp.MustCompile("(?s)^" + regexp.QuoteMeta(tcCall) + "function:([a-z_]+)\n```json\n(.*)\n```" + regexp.QuoteMeta(tcClose) + "$")

// TestToolCallsProperty: over many seeds, a random model under the tool_calls constraint (which may write
// the markers as control tokens or spell them out) ends with text that splits into calls of the listed
// functions, each with arguments valid against that function's schema (an independent validator), and
// one call at most when max is 1.
func TestToolCallsProperty(t *testing.T) {
	m := syntheticModel(rand.New(rand.NewPCG(5, 15)), []string{"{\"", "\":", "\"}", "\",", "function:", "get_", "weather",
		"time", "```json\n", "\n```", "city", "unit", "tz", "12", "<|", "|>"}, "{}\":,0123456789abcfgtz_<|>/", 200, true)
	for _, s := range []string{tcBegin, tcEnd, tcCall, tcClose} {
		m.table.Tokens = append(m.table.Tokens, []byte(s))
		m.table.Types = append(m.table.Types, uint8(abi.TokenControl))
	}
	m.info.NTokens = len(m.table.Tokens)
	m.info.NLogits = m.info.NTokens + 3
	var cfg []byte
	h := newHost(t, m, &cfg)
	w := func(rng *rand.Rand, m *testModel, id int32) float64 {
		if int(id) >= len(m.table.Tokens)-4 {
			return 30 // the markers' own tokens
		}
		return closingModel(rng, m, id)
	}
	finished, asControl := 0, 0
	for seed := range uint64(120) {
		rng := rand.New(rand.NewPCG(seed, 16))
		tc := ToolCalls{Begin: tcBegin, End: tcEnd, Sep: "\n", Max: int(seed % 2)}
		for _, name := range []string{"get_weather", "get_time"} {
			tc.Calls = append(tc.Calls, ToolCall{Prefix: tcCall + "function:" + name + "\n```json\n",
				Schema: json.RawMessage(toolSchemas[name]), Suffix: "\n```" + tcClose})
		}
		cfg, _ = json.Marshal(map[string]any{"tool_calls": tc})
		out := h.run(rng, []int32{m.tok(t, "a")}, 200, w)
		if out.end == "length" {
			continue
		}
		finished++
		text := m.rawOf(out.tokens)
		if !bytes.Equal(text, m.textOf(out.tokens)) {
			asControl++ // some marker came as its control token
		}
		body, ok := bytes.CutPrefix(text, []byte(tcBegin))
		body, ok2 := bytes.CutSuffix(body, []byte(tcEnd))
		if !ok || !ok2 {
			t.Fatalf("seed %d: %q is not framed by the markers", seed, text)
		}
		calls := bytes.Split(body, []byte("\n"+tcCall))
		if tc.Max == 1 && len(calls) > 1 {
			t.Fatalf("seed %d: %d calls, max 1: %q", seed, len(calls), text)
		}
		for i, c := range calls {
			if i > 0 {
				c = append([]byte(tcCall), c...)
			}
			sm := callPattern.FindSubmatch(c)
			if sm == nil || toolSchemas[string(sm[1])] == "" {
				t.Fatalf("seed %d: call %q of %q", seed, c, text)
			}
			v, err := decodeJSON(sm[2])
			var schema any
			json.Unmarshal([]byte(toolSchemas[string(sm[1])]), &schema)
			if err != nil {
				t.Fatalf("seed %d: arguments %q: %v", seed, sm[2], err)
			}
			if err := validate(v, schema); err != nil {
				t.Fatalf("seed %d: arguments %q: %v", seed, sm[2], err)
			}
		}
	}
	if finished < 80 || asControl == 0 {
		t.Fatalf("%d of 120 runs finished, %d with control-token markers", finished, asControl)
	}
}

func TestToolCallsConfig(t *testing.T) {
	for in, want := range map[string]string{
		`{"tool_calls": {"calls": []}}`: "at least one call",
		`{"tool_calls": {"calls": [{"prefix": "x", "schema": {"type": "object"}}], "max": -1}}`: "negative",
		`{"tool_calls": {"calls": [{"schema": {}}]}, "regex": "a"}`:                             "one constraint at most",
		`{"tool_calls": {"calls": [{"schema": {}}], "begin": 1}}`:                               "tool_calls",
	} {
		if _, err := ParseConfig([]byte(in)); err == nil || !bytes.Contains([]byte(err.Error()), []byte(want)) {
			t.Errorf("%s: %v, want %q", in, err, want)
		}
	}
}
