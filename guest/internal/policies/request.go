package policies

import (
	"bytes"

	"github.com/wasmoe/wasmoe/guest/constraint"
	"github.com/wasmoe/wasmoe/guest/sdk"
)

// request is what a request's config compiles to; its sequences share it and never change it.
type request struct {
	proto     constraint.Matcher // the constraint before any byte; nil = none
	hostMask  hostMask           // proto's masks as the host computes them (a grammar, a schema); nil = none
	specials  []int32            // control tokens the constraint reads as their text (tool_calls)
	stop      [][]byte
	ban       [][]byte
	banned    []int32 // tokens whose text contains a banned word (some more than once)
	budget    int     // think_budget; -1 = none
	closeToks []int32 // the think-close splice when budget >= 0
	keep      int     // bytes of streamed text a sequence keeps: enough to see any stop string or word end
}

// hostMask sets mask to the tokens a request's constraint takes after text, computed by the host: the
// SDK's GBNFMask or JSONSchemaMask.
type hostMask func(text []byte, mask []uint32) (sdk.GrammarState, error)

// compile turns a checked config into a request over v.
func compile(c *Config, v *vocab) (*request, error) {
	r := &request{budget: -1}
	var err error
	switch {
	case c.JSONSchema != nil:
		if r.proto, err = constraint.JSONSchema(c.JSONSchema); err != nil {
			return nil, badConfig("json_schema: %v", err)
		}
		schema := c.JSONSchema
		r.hostMask = func(text []byte, mask []uint32) (sdk.GrammarState, error) {
			return sdk.JSONSchemaMask(schema, text, mask)
		}
	case c.Regex != nil:
		if r.proto, err = constraint.Regex(*c.Regex); err != nil {
			return nil, badConfig("regex: %v", err)
		}
	case c.ToolCalls != nil:
		if r.proto, err = c.ToolCalls.matcher(); err != nil {
			return nil, err
		}
		r.specials = v.specialsIn(c.ToolCalls.literals())
	case c.Grammar != nil:
		if r.proto, err = constraint.GBNF(*c.Grammar); err != nil {
			return nil, badConfig("%v", err) // the error starts with "grammar: "
		}
		grammar := *c.Grammar
		r.hostMask = func(text []byte, mask []uint32) (sdk.GrammarState, error) {
			return sdk.GBNFMask(grammar, text, mask)
		}
	}
	for _, s := range c.Stop {
		r.stop = append(r.stop, []byte(s))
		r.keep = max(r.keep, len(s)-1)
	}
	for _, w := range c.Ban {
		r.ban = append(r.ban, []byte(w))
		r.keep = max(r.keep, len(w)-1)
	}
	for _, w := range r.ban {
		v.containing(w, func(id int32) { r.banned = append(r.banned, id) })
	}
	if c.ThinkBudget != nil {
		r.budget = *c.ThinkBudget
		if r.closeToks, err = v.thinkClose(); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// stopAt reports whether a stop string occurs in text with its end past the first old bytes.
func (r *request) stopAt(text []byte, old int) bool {
	for _, s := range r.stop {
		from := max(0, old-len(s)+1)
		if bytes.Contains(text[from:], s) {
			return true
		}
	}
	return false
}

// holding reports whether text ends in a proper prefix of a stop string.
func (r *request) holding(text []byte) bool {
	for _, s := range r.stop {
		for i := 1; i < len(s); i++ {
			if bytes.HasSuffix(text, s[:i]) {
				return true
			}
		}
	}
	return false
}
