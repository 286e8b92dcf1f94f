package edge

import (
	"encoding/json"

	"github.com/wasmoe/wasmoe/guest/constraint"
	"github.com/wasmoe/wasmoe/internal/host/engine"
)

// useGrammar takes the request's grammar, llama-server's field: a GBNF grammar the whole answer must
// follow, run by the built-in policy (engine.BuiltinPolicy) like response_format. The grammar is compiled
// here first (guest/constraint), so that one that does not parse is a 400 naming its line and column
// before any work. An empty grammar is none, as in llama-server.
func (r *commonRequest) useGrammar(g *generation) *apiError {
	if r.Grammar == nil || *r.Grammar == "" {
		return nil
	}
	if r.Plugin != "" {
		return badRequest("grammar", "grammar runs the built-in plugin; it cannot be combined with plugin %q", r.Plugin)
	}
	if _, err := constraint.GBNF(*r.Grammar); err != nil {
		return badRequest("grammar", "%v", err)
	}
	g.grammar = *r.Grammar
	g.usePlugin(engine.BuiltinPolicy, grammarConfig(g.grammar, false, 0), "grammar")
	return nil
}

// grammarConfig is the built-in policy's config that holds the answer to grammar; with opensThinking it
// also sets a thinking budget, as structuredConfig does for a schema.
func grammarConfig(grammar string, opensThinking bool, budget int) []byte {
	c := map[string]any{"grammar": grammar}
	if opensThinking {
		c["think_budget"] = max(budget, 1)
	}
	b, _ := json.Marshal(c) // a string and an int always encode
	return b
}
