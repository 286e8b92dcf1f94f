package chat

import (
	"bytes"
	"encoding/json"
	"strings"
)

// ParsedCall is a tool call read from a model's answer: the function's name and its arguments, the JSON
// object the model wrote (a JSON string holding one is unwrapped).
type ParsedCall struct {
	Name, Arguments string
}

// ToolEvent is what a ToolParser releases: text outside calls, or a call.
type ToolEvent struct {
	Text string
	Call *ParsedCall
}

// ToolParser splits a model's answer, given piece by piece, into text and tool calls of one format. A
// call is released once it is complete and parses; a call that does not parse is released as text, as
// it came. Whitespace between text and a call, and between calls, is dropped. Text that may be the start
// of a call is held back until it is decided.
type ToolParser struct {
	f      ToolFormat
	open   string // the marker that starts calls ("" for Llama: the answer's first character)
	close  string // the marker that ends them ("": the end of the answer)
	buf    string // held: a possible opening marker in text, or the calls being read
	inCall bool
	ws     string // whitespace at the end of the text so far, held until text follows
	skipWS bool   // after calls: whitespace is dropped
	begun  bool   // Llama: the answer's first non-space character is seen
	calls  int
	out    []ToolEvent
}

// NewToolParser returns a parser for answers in format f (not ToolsNone).
func NewToolParser(f ToolFormat) *ToolParser {
	p := &ToolParser{f: f}
	switch f {
	case ToolsQwen:
		p.open, p.close = qwenOpen, qwenClose
	case ToolsDeepSeek:
		p.open, p.close = dsCallsBegin, dsCallsEnd
	}
	return p
}

// Calls is how many calls the parser has released.
func (p *ToolParser) Calls() int { return p.calls }

// Push takes the next piece of the answer and returns what it decides.
func (p *ToolParser) Push(s string) []ToolEvent {
	p.out = p.out[:0]
	p.buf += s
	if p.f == ToolsLlama {
		p.llama()
		return p.out
	}
	for p.buf != "" {
		if !p.inCall {
			i := strings.Index(p.buf, p.open)
			if i < 0 {
				keep := heldPrefix(p.buf, p.open)
				p.text(p.buf[:len(p.buf)-keep])
				p.buf = p.buf[len(p.buf)-keep:]
				break
			}
			p.text(p.buf[:i])
			p.buf, p.inCall = p.buf[i:], true
			continue
		}
		j := strings.Index(p.buf[len(p.open):], p.close)
		if j < 0 {
			break
		}
		end := len(p.open) + j + len(p.close)
		p.block(p.buf[:end], p.buf[len(p.open):end-len(p.close)])
		p.buf, p.inCall = p.buf[end:], false
	}
	return p.out
}

// Flush ends the answer: held text is text, and calls still open are read as they are.
func (p *ToolParser) Flush() []ToolEvent {
	p.out = p.out[:0]
	switch {
	case p.f == ToolsLlama && p.inCall:
		p.block(p.buf, p.buf)
	case p.inCall:
		p.block(p.buf, p.buf[len(p.open):])
	default:
		p.text(p.buf)
	}
	p.buf, p.inCall = "", false
	if p.calls == 0 && p.ws != "" {
		p.out = append(p.out, ToolEvent{Text: p.ws})
	}
	p.ws = ""
	return p.out
}

// llama decides, at the answer's first non-space character, whether the answer is calls ('{' or the
// python tag), which are then read at its end, or text.
func (p *ToolParser) llama() {
	if p.inCall {
		return
	}
	if !p.begun {
		t := strings.TrimLeft(p.buf, " \t\r\n")
		switch {
		case t == "" || strings.HasPrefix(pythonTag, t) && t != pythonTag:
			return // undecided
		case t[0] == '{' || strings.HasPrefix(t, pythonTag):
			p.begun, p.inCall = true, true // read whole at the end, leading whitespace and all
			return
		}
		p.begun = true
	}
	p.text(p.buf)
	p.buf = ""
}

// text releases text outside calls, holding its trailing whitespace.
func (p *ToolParser) text(s string) {
	if p.skipWS {
		if s = strings.TrimLeft(s, " \t\r\n"); s == "" {
			return
		}
		p.skipWS = false
	}
	body := strings.TrimRight(s, " \t\r\n")
	if body == "" {
		p.ws += s
		return
	}
	p.out = append(p.out, ToolEvent{Text: p.ws + body})
	p.ws = s[len(body):]
}

// block releases a calls block: its calls when all of body parses, else raw as text.
func (p *ToolParser) block(raw, body string) {
	var calls []ParsedCall
	var ok bool
	switch p.f {
	case ToolsQwen:
		var c ParsedCall
		c, ok = parseNameArgs(strings.TrimSpace(body), "arguments")
		calls = []ParsedCall{c}
	case ToolsDeepSeek:
		calls, ok = parseDeepSeek(body)
	case ToolsLlama:
		calls, ok = parseLlama(body)
	}
	if !ok {
		p.text(raw)
		return
	}
	p.ws = "" // whitespace before calls is dropped
	for i := range calls {
		p.out = append(p.out, ToolEvent{Call: &calls[i]})
	}
	p.calls += len(calls)
	p.skipWS = true
}

// parseNameArgs reads {"name": N, key: A} (Llama also writes "arguments" for key); A must be an
// object, or a string holding one.
func parseNameArgs(s string, key string) (ParsedCall, bool) {
	var v map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(s))
	if dec.Decode(&v) != nil || dec.More() {
		return ParsedCall{}, false
	}
	var name string
	if json.Unmarshal(v["name"], &name) != nil || name == "" {
		return ParsedCall{}, false
	}
	args, ok := v[key]
	if !ok && key == "parameters" {
		args = v["arguments"]
	}
	a, ok := argumentsText(args)
	return ParsedCall{Name: name, Arguments: a}, ok
}

// argumentsText returns a call's arguments as JSON object text.
func argumentsText(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		raw = bytes.TrimSpace([]byte(s))
	}
	var obj map[string]json.RawMessage
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &obj) != nil {
		return "", false
	}
	return string(raw), true
}

// parseDeepSeek reads the calls between DeepSeek's calls markers: each
// <｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\nARGS\n```<｜tool▁call▁end｜>, whitespace between.
func parseDeepSeek(body string) ([]ParsedCall, bool) {
	var calls []ParsedCall
	for {
		body = strings.TrimLeft(body, " \t\r\n")
		if body == "" {
			return calls, len(calls) > 0
		}
		rest, ok := strings.CutPrefix(body, dsCallBegin)
		end := strings.Index(rest, dsCallEnd)
		if !ok || end < 0 {
			return nil, false
		}
		call := rest[:end]
		body = rest[end+len(dsCallEnd):]
		typ, call, ok := strings.Cut(call, dsSep)
		name, args, ok2 := strings.Cut(call, "\n")
		if !ok || !ok2 || typ != "function" || name == "" {
			return nil, false
		}
		args, ok = strings.CutPrefix(strings.TrimSpace(args), "```json")
		args, ok2 = strings.CutSuffix(args, "```")
		a, ok3 := argumentsText(json.RawMessage(args))
		if !ok || !ok2 || !ok3 {
			return nil, false
		}
		calls = append(calls, ParsedCall{Name: name, Arguments: a})
	}
}

// parseLlama reads an answer of calls: after an optional python tag, JSON objects {"name": N,
// "parameters": A} separated by ';' (vLLM's reading of several).
func parseLlama(body string) ([]ParsedCall, bool) {
	body = strings.TrimPrefix(strings.TrimSpace(body), pythonTag)
	var calls []ParsedCall
	for {
		body = strings.TrimLeft(body, " \t\r\n")
		if body == "" {
			return calls, len(calls) > 0
		}
		dec := json.NewDecoder(strings.NewReader(body))
		var raw json.RawMessage
		if dec.Decode(&raw) != nil {
			return nil, false
		}
		c, ok := parseNameArgs(string(raw), "parameters")
		if !ok {
			return nil, false
		}
		calls = append(calls, c)
		body = strings.TrimLeft(body[dec.InputOffset():], " \t\r\n")
		if body != "" {
			if body[0] != ';' {
				return nil, false
			}
			body = body[1:]
		}
	}
}

// heldPrefix returns the length of the longest suffix of s that is a proper prefix of marker.
func heldPrefix(s, marker string) int {
	for n := min(len(s), len(marker)-1); n > 0; n-- {
		if strings.HasSuffix(s, marker[:n]) {
			return n
		}
	}
	return 0
}
