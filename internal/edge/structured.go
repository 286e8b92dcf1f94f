package edge

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/wasmoe/wasmoe/guest/constraint"
	"github.com/wasmoe/wasmoe/internal/host/engine"
)

// responseFormat is a request's response_format, OpenAI's structured outputs (on chat, and on completions
// as vLLM takes it): "text" (the default), "json_object" (any JSON object) or "json_schema" (JSON valid
// against a schema). The JSON formats run the built-in policy (engine.BuiltinPolicy), which masks every
// token that would leave the schema.
type responseFormat struct {
	Type       string `json:"type"`
	JSONSchema *struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Schema      json.RawMessage `json:"schema"`
		Strict      *bool           `json:"strict"` // the answer always follows the schema: strict or not
	} `json:"json_schema"`
}

// schema returns the JSON schema the answer must follow, or nil when any text goes.
func (f *responseFormat) schema() (json.RawMessage, *apiError) {
	if f == nil {
		return nil, nil
	}
	switch f.Type {
	case "", "text":
		return nil, nil
	case "json_object":
		return json.RawMessage(`{"type":"object"}`), nil
	case "json_schema":
		if f.JSONSchema == nil {
			return nil, badRequest("response_format.json_schema", `response_format of type "json_schema" needs a json_schema object`)
		}
		s := f.JSONSchema.Schema
		if len(s) == 0 || s[0] != '{' {
			return nil, badRequest("response_format.json_schema.schema", "response_format.json_schema.schema must be a JSON Schema object")
		}
		if e := checkSchema(s); e != nil {
			return nil, e
		}
		return s, nil
	}
	return nil, badRequest("response_format.type", `response_format.type must be "text", "json_object" or "json_schema", got %q`, f.Type)
}

// useSchema makes schema, the JSON schema of response_format f (nil: any text goes), the answer's
// constraint: the built-in plugin, which a grammar or another plugin cannot join. The caller sets the
// plugin's config (structuredConfig).
func (g *generation) useSchema(schema json.RawMessage, f *responseFormat) *apiError {
	switch {
	case schema == nil:
		return nil
	case g.grammar != "":
		return badRequest("grammar", "grammar and response_format %q: one constraint at most", f.Type)
	case g.plugin != "":
		return badRequest("response_format", "response_format %q runs the built-in plugin; it cannot be combined with plugin %q",
			f.Type, g.plugin)
	}
	g.usePlugin(engine.BuiltinPolicy, nil, "response_format")
	return nil
}

// structuredConfig is the built-in policy's config that holds the answer to schema. When the prompt
// leaves the model inside a thinking block, the config also sets a thinking budget of budget tokens (no
// earlier end than the request's own limit): with one, the policy applies the schema after </think>
// rather than to the reasoning.
func structuredConfig(schema json.RawMessage, opensThinking bool, budget int) []byte {
	b := append([]byte(`{"json_schema":`), schema...)
	if opensThinking {
		b = append(b, `,"think_budget":`...)
		b = strconv.AppendInt(b, int64(max(budget, 1)), 10)
	}
	return append(b, '}')
}

// checkSchema compiles schema as the built-in policy will (guest/constraint runs natively too), so a
// schema it refuses is the client's 400 before any work is queued: the message names the keyword and
// its location as a JSON pointer, or says that no JSON value satisfies the schema.
func checkSchema(schema json.RawMessage) *apiError {
	const param = "response_format.json_schema.schema"
	_, err := constraint.JSONSchema(schema)
	var se *constraint.SchemaError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		return badRequest(param, "JSON Schema at %s: %s", se.Pointer, se.Reason)
	case errors.Is(err, constraint.ErrEmpty):
		return badRequest(param, "no JSON value satisfies this schema (or none can be written within the structured-output rules)")
	}
	return badRequest(param, "not a valid JSON Schema: %s", strings.TrimPrefix(err.Error(), "constraint: json schema: "))
}
