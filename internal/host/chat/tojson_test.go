package chat

import (
	"encoding/json"
	"testing"
)

// TestTojson checks the tojson filter against outputs of Python's json.dumps (noted beside each case).
func TestTojson(t *testing.T) {
	for _, c := range []struct{ tmpl, want string }{
		// json.dumps([1e16, 100000.0, 1e-05, 0.0001, -0.0, 1.5e300, 123456789012345.6, 2.5e-7, 1e15])
		{`{{ floats | tojson }}`, `[1e+16, 100000.0, 1e-05, 0.0001, -0.0, 1.5e+300, 123456789012345.6, 2.5e-07, 1000000000000000.0]`},
		// json.dumps({'a':[],'b':{},'c':[1,{'d':'é\u2028\x7f<'}]}, indent=-1, ensure_ascii=True)
		{`{{ obj | tojson(indent=-1, ensure_ascii=true) }}`, "{\n\"a\": [],\n\"b\": {},\n\"c\": [\n1,\n{\n\"d\": \"\\u00e9\\u2028\\u007f<\"\n}\n]\n}"},
		// json.dumps(..., separators=(',', ':'), sort_keys=True)
		{`{{ obj | tojson(separators=[',', ':'], sort_keys=true) }}`, `{"a":[],"b":{},"c":[1,{"d":"é` + "\u2028\x7f" + `<"}]}`},
		// filters before it, a call after an attribute, a subscript and a literal operand
		{`{{ ('x' ~ 'y') | tojson }} {{ obj['c'] | last | tojson }} {{ 'a"' | tojson }} {{ obj.c[1].d | length | tojson }}`,
			`"xy" {"d": "é` + "\u2028\x7f" + `<"} "a\"" 4`},
	} {
		got, err := Render(c.tmpl, nil, Options{Vars: map[string]any{
			"floats": json.RawMessage(`[1e16, 100000.0, 1e-05, 0.0001, -0.0, 1.5e300, 123456789012345.6, 2.5e-7, 1e15]`),
			"obj":    json.RawMessage(`{"a":[],"b":{},"c":[1,{"d":"é\u2028\u007f<"}]}`),
		}})
		if err != nil || got != c.want {
			t.Errorf("%s:\n got %q, %v\nwant %q", c.tmpl, got, err, c.want)
		}
	}
}
