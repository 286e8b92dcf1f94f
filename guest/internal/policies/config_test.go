package policies

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/guest/sdk"
)

func TestParseConfig(t *testing.T) {
	good := map[string]func(c *Config) bool{
		``:     func(c *Config) bool { return c.JSONSchema == nil && c.Regex == nil && c.ThinkBudget == nil },
		` {} `: func(c *Config) bool { return c.Stop == nil && c.Ban == nil },
		`{"regex": "a+", "stop": ["x", "yz"]}`: func(c *Config) bool {
			return *c.Regex == "a+" && len(c.Stop) == 2 && c.Stop[1] == "yz"
		},
		`{"json_schema": {"type": "integer"}, "think_budget": 0}`: func(c *Config) bool {
			return string(c.JSONSchema) == `{"type": "integer"}` && *c.ThinkBudget == 0
		},
		`{"json_schema": null, "regex": "b", "ban": ["no"]}`: func(c *Config) bool {
			return c.JSONSchema == nil && *c.Regex == "b" && c.Ban[0] == "no"
		},
	}
	for in, ok := range good {
		c, err := ParseConfig([]byte(in))
		if err != nil || !ok(c) {
			t.Errorf("%s: %+v, %v", in, c, err)
		}
	}
	bad := map[string]string{
		`[]`:                                "not a JSON object",
		`{"regex": "a"} x`:                  "not a JSON object",
		`{"Regex": "a"}`:                    `unknown key "Regex"`,
		`{"stop": ["x"], "temperature": 1}`: `unknown key "temperature"`,
		`{"json_schema": {}, "regex": "a"}`: "one constraint at most",
		`{"stop": "x"}`:                     "stop",
		`{"stop": [""]}`:                    "stop",
		`{"ban": ["` + strings.Repeat("a", 257) + `"]}`:     "ban",
		`{"think_budget": -1}`:                              "negative",
		`{"think_budget": 1.5}`:                             "think_budget",
		`{"stop": [` + strings.Repeat(`"x",`, 64) + `"y"]}`: "at most 64",
	}
	for in, want := range bad {
		_, err := ParseConfig([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, sdk.ErrBadInput) {
			t.Errorf("%s: error %v, want one about %q wrapping ErrBadInput", in, err, want)
		}
	}
}

func TestOpenFailsOnBadConfig(t *testing.T) {
	m := syntheticModel(rand.New(rand.NewPCG(1, 1)), nil, "ab", 10, true)
	for cfg, want := range map[string]string{
		`{"stops": ["x"]}`:                 `unknown key "stops"`,
		`{"regex": "a(("}`:                 "regex",
		`{"json_schema": {"$ref": "#/x"}}`: "json_schema",
	} {
		b := []byte(cfg)
		h := newHost(t, m, &b)
		if st := h.c.Open(0, -1); st != abi.ErrBadInput {
			t.Errorf("%s: ctl_open = %d, want %d", cfg, st, abi.ErrBadInput)
		}
		if len(h.logs) != 1 || !strings.Contains(h.logs[0], want) {
			t.Errorf("%s: log %q, want a line naming %q", cfg, h.logs, want)
		}
	}
}
