package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wasmoe/wasmoe/internal/host/wasm"
)

// TestBuiltinPolicyStop runs the built-in policy's stop strings through the whole loop: for stop strings
// that start at successive characters of the model's greedy output, the streamed text is that output cut
// right before the stop string (OpenAI's semantics), the stop string itself never reaching the client.
// The stop strings lie well inside max_tokens: one that completes at the very last token still never
// reaches the client, but the text before it in that token is lost (guest/internal/policies/doc.go).
func TestBuiltinPolicyStop(t *testing.T) {
	e := openTiny(t, Config{})
	p, err := e.Policy(BuiltinPolicy)
	if err != nil {
		t.Fatal(err)
	}
	sp := DefaultSampling()
	sp.Temperature = 0
	prompt := []int32{9707, 11, 1879}
	_, full, _ := collect(t, e, Request{Prompt: prompt, MaxTokens: 24, Sampling: sp, IgnoreEOS: true})
	_, early, _ := collect(t, e, Request{Prompt: prompt, MaxTokens: 12, Sampling: sp, IgnoreEOS: true})
	runes := []rune(early)
	tested := 0
	for i := 1; i+3 <= len(runes); i += 2 {
		stop := string(runes[i : i+3])
		if strings.TrimSpace(stop) == "" {
			continue
		}
		cfg, _ := json.Marshal(map[string]any{"stop": []string{stop}})
		var got strings.Builder
		res, err := e.Generate(context.Background(), Request{Prompt: prompt, MaxTokens: 24, Sampling: sp, IgnoreEOS: true,
			Policy: p, PolicyConfig: cfg}, func(pc Piece) error { got.WriteString(pc.Text); return nil })
		if err != nil {
			t.Fatal(err)
		}
		want := full[:strings.Index(full, stop)]
		if got.String() != want || res.FinishReason != FinishStop {
			t.Errorf("stop %q: streamed %q (%s), want %q", stop, got.String(), res.FinishReason, want)
		}
		tested++
	}
	if tested < 3 {
		t.Fatalf("only %d stop strings in %q", tested, full)
	}
}

// TestBuiltinPolicyProperty samples from the random tiny model at temperature 1 under the built-in policy,
// on every engine and over many seeds: every output of a JSON-schema request parses and satisfies the
// schema (checked here by hand, independently of the guest's matcher), and every output of a regex
// request matches Go's regexp.
func TestBuiltinPolicyProperty(t *testing.T) {
	const schema = `{"type":"object","properties":{"color":{"enum":["red","green","blue"]},"ok":{"type":"boolean"},` +
		`"tags":{"type":"array","items":{"enum":["a","b"]},"maxItems":3}},"required":["color","ok"],"additionalProperties":false}`
	const pattern = `[a-c]{2,5}-[0-9]{3}( ok)?`
	re := regexp.MustCompile(`^(?:` + pattern + `)$`)
	validJSON := func(text string) error {
		var v map[string]any
		if err := json.Unmarshal([]byte(text), &v); err != nil {
			return err
		}
		for k, x := range v {
			switch k {
			case "color":
				if s, _ := x.(string); s != "red" && s != "green" && s != "blue" {
					return fmt.Errorf("color %v", x)
				}
			case "ok":
				if _, ok := x.(bool); !ok {
					return fmt.Errorf("ok %v", x)
				}
			case "tags":
				tags, ok := x.([]any)
				if !ok || len(tags) > 3 {
					return fmt.Errorf("tags %v", x)
				}
				for _, tag := range tags {
					if tag != "a" && tag != "b" {
						return fmt.Errorf("tag %v", tag)
					}
				}
			default:
				return fmt.Errorf("property %q", k)
			}
		}
		if _, ok := v["color"]; !ok {
			return fmt.Errorf("no color")
		}
		if _, ok := v["ok"]; !ok {
			return fmt.Errorf("no ok")
		}
		return nil
	}
	for _, engineName := range wasm.Engines() {
		t.Run(engineName, func(t *testing.T) {
			rt, err := wasm.NewRuntime(context.Background(), wasm.Config{Engine: engineName, StepTimeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			e := openTiny(t, Config{PluginRuntime: rt})
			p, err := e.Policy(BuiltinPolicy)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				config string
				check  func(string) error
			}{
				{`{"json_schema":` + schema + `}`, validJSON},
				{`{"regex":"` + strings.ReplaceAll(pattern, `\`, `\\`) + `"}`, func(s string) error {
					if !re.MatchString(s) {
						return fmt.Errorf("does not match %s", pattern)
					}
					return nil
				}},
			} {
				for seed := range uint64(12) {
					sp := DefaultSampling()
					sp.Seed = seed
					var text strings.Builder
					res, err := e.Generate(context.Background(), Request{Prompt: []int32{9707, 11}, MaxTokens: 60, Sampling: sp,
						Policy: p, PolicyConfig: []byte(c.config)}, func(pc Piece) error { text.WriteString(pc.Text); return nil })
					if err != nil {
						t.Fatal(err)
					}
					if res.FinishReason != FinishStop {
						t.Errorf("%s seed %d: finished by %s after %q", c.config, seed, res.FinishReason, text.String())
						continue
					}
					if err := c.check(text.String()); err != nil {
						t.Errorf("%s seed %d: %q: %v", c.config, seed, text.String(), err)
					}
				}
			}
		})
	}
}
