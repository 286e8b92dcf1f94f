package policies

import (
	"bytes"
	"encoding/json"

	"github.com/wasmoe/wasmoe/guest/constraint"
)

// ToolCalls is the tool_calls option: the answer is Begin, one or more calls (at most Max; 0 = any
// number) separated by Sep, then End. Each call is one of Calls: its Prefix, JSON arguments valid
// against its Schema, its Suffix. The caller (internal/edge) spells a model family's call syntax this way.
type ToolCalls struct {
	Begin string     `json:"begin"`
	End   string     `json:"end"`
	Sep   string     `json:"sep"`
	Max   int        `json:"max"`
	Calls []ToolCall `json:"calls"`
}

// ToolCall is one function's call syntax around its arguments.
type ToolCall struct {
	Prefix string          `json:"prefix"`
	Schema json.RawMessage `json:"schema"`
	Suffix string          `json:"suffix"`
}

// maxToolCalls bounds a config's functions.
const maxToolCalls = 128

// check validates the option's shape.
func (tc *ToolCalls) check() error {
	switch {
	case len(tc.Calls) == 0:
		return badConfig("tool_calls: calls: at least one call is needed")
	case len(tc.Calls) > maxToolCalls:
		return badConfig("tool_calls: calls: %d, at most %d", len(tc.Calls), maxToolCalls)
	case tc.Max < 0:
		return badConfig("tool_calls: max: %d is negative", tc.Max)
	}
	return nil
}

// matcher compiles the option into a constraint.Grammar.
func (tc *ToolCalls) matcher() (constraint.Matcher, error) {
	alts := make([]*constraint.Pattern, len(tc.Calls))
	for i, c := range tc.Calls {
		args, err := constraint.JSONSchema(c.Schema)
		if err != nil {
			return nil, badConfig("tool_calls: calls[%d]: schema: %v", i, err)
		}
		alts[i] = constraint.Seq(constraint.Lit(c.Prefix), constraint.Sub(args), constraint.Lit(c.Suffix))
	}
	most := tc.Max
	if most == 0 {
		most = -1
	}
	calls := constraint.Repeat(constraint.Alt(alts...), constraint.Lit(tc.Sep), 1, most)
	m, err := constraint.Grammar(constraint.Seq(constraint.Lit(tc.Begin), calls, constraint.Lit(tc.End)))
	if err != nil {
		return nil, badConfig("tool_calls: %v", err)
	}
	return m, nil
}

// literals are the option's fixed texts.
func (tc *ToolCalls) literals() [][]byte {
	out := [][]byte{[]byte(tc.Begin), []byte(tc.End), []byte(tc.Sep)}
	for _, c := range tc.Calls {
		out = append(out, []byte(c.Prefix), []byte(c.Suffix))
	}
	return out
}

// specialsIn returns the control tokens whose text occurs in one of texts: the constraint lets the model
// write such a text as that token (DeepSeek's <｜tool▁calls▁begin｜>) as well as spelled out.
func (v *vocab) specialsIn(texts [][]byte) []int32 {
	var ids []int32
	for _, id := range v.control {
		for _, t := range texts {
			if bytes.Contains(t, v.raw[id]) {
				ids = append(ids, id)
				break
			}
		}
	}
	return ids
}

// accepts reports whether m can consume all of b, leaving m as it was.
func accepts(m constraint.Matcher, b []byte) bool {
	if s, ok := m.(constraint.Snapshotter); ok {
		h := s.Snapshot()
		defer s.Restore(h)
		m = s
	} else {
		m = m.Clone()
	}
	for _, c := range b {
		if !m.Advance(c) {
			return false
		}
	}
	return true
}
