package chat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/ardanlabs/jinja"
)

// messagesValue converts msgs to the list of dicts templates index as message['role'] and message.content.
// Optional keys are left out when empty, so that templates see them as undefined, as they do with
// transformers when a client omits them.
func messagesValue(msgs []Message) jinja.Value {
	items := make([]jinja.Value, len(msgs))
	for i, m := range msgs {
		d := jinja.NewDict()
		dd := d.AsDict()
		dd.Set("role", jinja.NewString(m.Role))
		if m.Content == "" && len(m.ToolCalls) > 0 {
			dd.Set("content", jinja.None())
		} else {
			dd.Set("content", jinja.NewString(m.Content))
		}
		if m.ReasoningContent != "" {
			dd.Set("reasoning_content", jinja.NewString(m.ReasoningContent))
		}
		if m.Name != "" {
			dd.Set("name", jinja.NewString(m.Name))
		}
		if m.ToolCallID != "" {
			dd.Set("tool_call_id", jinja.NewString(m.ToolCallID))
		}
		if len(m.ToolCalls) > 0 {
			dd.Set("tool_calls", toolCallsValue(m.ToolCalls))
		}
		items[i] = d
	}
	return jinja.NewList(items)
}

func toolCallsValue(calls []ToolCall) jinja.Value {
	items := make([]jinja.Value, len(calls))
	for i, c := range calls {
		fn := jinja.NewDict()
		fn.AsDict().Set("name", jinja.NewString(c.Function.Name))
		fn.AsDict().Set("arguments", jinja.NewString(c.Function.Arguments))
		d := jinja.NewDict()
		if c.ID != "" {
			d.AsDict().Set("id", jinja.NewString(c.ID))
		}
		typ := c.Type
		if typ == "" {
			typ = "function"
		}
		d.AsDict().Set("type", jinja.NewString(typ))
		d.AsDict().Set("function", fn)
		items[i] = d
	}
	return jinja.NewList(items)
}

// toValue converts one Options.Vars value.
func toValue(v any) (jinja.Value, error) {
	if raw, ok := v.(json.RawMessage); ok {
		return decodeJSON(raw)
	}
	jv := jinja.FromGoValue(v)
	if v != nil && jv.IsUndefined() {
		return jv, fmt.Errorf("unsupported type %T", v)
	}
	return jv, nil
}

// decodeJSON decodes one JSON value, keeping object key order (Python's json.loads does, and tojson in a
// template prints keys in that order) and integers as integers.
func decodeJSON(raw []byte) (jinja.Value, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	v, err := readJSON(dec)
	if err != nil {
		return v, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return jinja.Undefined(), errors.New("trailing data after JSON value")
	}
	return v, nil
}

func readJSON(dec *json.Decoder) (jinja.Value, error) {
	tok, err := dec.Token()
	if err != nil {
		return jinja.Undefined(), err
	}
	switch t := tok.(type) {
	case nil:
		return jinja.None(), nil
	case bool:
		return jinja.NewBool(t), nil
	case string:
		return jinja.NewString(t), nil
	case json.Number:
		if n, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return jinja.NewInt(n), nil
		}
		f, err := t.Float64()
		if err != nil {
			return jinja.Undefined(), err
		}
		return jinja.NewFloat(f), nil
	case json.Delim:
		if t == '[' {
			var items []jinja.Value
			for dec.More() {
				item, err := readJSON(dec)
				if err != nil {
					return item, err
				}
				items = append(items, item)
			}
			_, err := dec.Token() // ']'
			return jinja.NewList(items), err
		}
		d := jinja.NewDict()
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				return jinja.Undefined(), err
			}
			val, err := readJSON(dec)
			if err != nil {
				return val, err
			}
			d.AsDict().Set(key.(string), val) // the decoder only yields string keys inside an object
		}
		_, err := dec.Token() // '}'
		return d, err
	}
	return jinja.Undefined(), fmt.Errorf("unexpected JSON token %v", tok)
}

// boundedRange is Python's range() that fails once the render has produced more than budget items in all.
func boundedRange(budget int64) jinja.Value {
	return jinja.NewCallable("range", func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
		var start, stop, step int64 = 0, 0, 1
		for _, a := range args {
			if !a.IsInt() {
				return jinja.Undefined(), fmt.Errorf("range: integer arguments expected, got %s", a.String())
			}
		}
		switch len(args) {
		case 1:
			stop = args[0].AsInt()
		case 2:
			start, stop = args[0].AsInt(), args[1].AsInt()
		case 3:
			start, stop, step = args[0].AsInt(), args[1].AsInt(), args[2].AsInt()
		default:
			return jinja.Undefined(), fmt.Errorf("range: expected 1 to 3 arguments, got %d", len(args))
		}
		if step == 0 {
			return jinja.Undefined(), errors.New("range: step must not be zero")
		}
		var items []jinja.Value
		for i := start; (step > 0 && i < stop) || (step < 0 && i > stop); i += step {
			if budget--; budget < 0 {
				return jinja.Undefined(), fmt.Errorf("range: more than %d items in one render", maxRangeItems)
			}
			items = append(items, jinja.NewInt(i))
			if (step > 0 && i > stop-step) || (step < 0 && i < stop-step) {
				break // i+step would overflow or pass stop
			}
		}
		return jinja.NewList(items), nil
	})
}
