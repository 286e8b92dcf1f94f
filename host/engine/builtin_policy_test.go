package engine

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestBuiltinPolicyStop runs the built-in policy's stop strings through the whole loop: for stop strings
// that start at successive characters of the model's greedy output, the streamed text is that output cut
// right before the stop string (OpenAI's semantics), the stop string itself never reaching the client.
// The stop strings lie well inside max_tokens: one that completes at the very last token still never
// reaches the client, but the text before it in that token is lost (guest/policies/doc.go).
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
