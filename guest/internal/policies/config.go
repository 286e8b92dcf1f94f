package policies

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/wasmoe/wasmoe/guest/sdk"
)

// Limits on a config's lists.
const (
	maxStops   = 64
	maxBans    = 1024
	maxWordLen = 256
)

// Config is a request's options, decoded from its JSON config.
type Config struct {
	JSONSchema  json.RawMessage // nil when absent
	Regex       *string
	Grammar     *string // GBNF, as llama.cpp's grammar field
	Stop        []string
	Ban         []string
	ThinkBudget *int
	ToolCalls   *ToolCalls // nil when absent
}

// fields maps each key a config may have to the field its value decodes into.
func (c *Config) fields() map[string]any {
	return map[string]any{"json_schema": &c.JSONSchema, "regex": &c.Regex, "stop": &c.Stop, "ban": &c.Ban,
		"think_budget": &c.ThinkBudget, "tool_calls": &c.ToolCalls, "grammar": &c.Grammar}
}

// ParseConfig decodes and checks a config (package doc). Errors wrap sdk.ErrBadInput and name the key.
func ParseConfig(b []byte) (*Config, error) {
	c := &Config{}
	if len(bytes.TrimSpace(b)) == 0 {
		return c, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, badConfig("not a JSON object: %v", err)
	}
	fields := c.fields()
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		dst, ok := fields[k]
		if !ok {
			return nil, badConfig("unknown key %q (known: ban, grammar, json_schema, regex, stop, think_budget, tool_calls)", k)
		}
		if string(bytes.TrimSpace(raw[k])) == "null" {
			continue
		}
		if err := json.Unmarshal(raw[k], dst); err != nil {
			return nil, badConfig("%s: %v", k, err)
		}
	}
	return c, c.check()
}

// check validates the decoded options.
func (c *Config) check() error {
	n := 0
	for _, set := range []bool{c.JSONSchema != nil, c.Regex != nil, c.Grammar != nil, c.ToolCalls != nil} {
		if set {
			n++
		}
	}
	if n > 1 {
		return badConfig("json_schema, regex, grammar and tool_calls: one constraint at most")
	}
	if c.ToolCalls != nil {
		if err := c.ToolCalls.check(); err != nil {
			return err
		}
	}
	for _, l := range []struct {
		key   string
		words []string
		max   int
	}{{"stop", c.Stop, maxStops}, {"ban", c.Ban, maxBans}} {
		if len(l.words) > l.max {
			return badConfig("%s: %d strings, at most %d", l.key, len(l.words), l.max)
		}
		for _, w := range l.words {
			if w == "" || len(w) > maxWordLen {
				return badConfig("%s: %q: want 1 to %d bytes", l.key, w, maxWordLen)
			}
		}
	}
	if c.ThinkBudget != nil && *c.ThinkBudget < 0 {
		return badConfig("think_budget: %d is negative", *c.ThinkBudget)
	}
	return nil
}

func badConfig(format string, args ...any) error {
	return fmt.Errorf("policy config: %s: %w", fmt.Sprintf(format, args...), sdk.ErrBadInput)
}
