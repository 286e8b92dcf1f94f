package engine

import (
	"context"
	"testing"
	"time"
)

// TestPolicyStepTimer: Request.PolicyStepTimer hears of every ctl_step, each with a duration inside the
// request's own. A policy that only samples is stepped once per sampled token and once more for its last
// say on the final token (guest/ABI-v1.md), so max_tokens 4 makes 5 steps.
func TestPolicyStepTimer(t *testing.T) {
	e := openTiny(t, Config{})
	p, err := e.LoadPolicy(readConformance(t, "go"))
	if err != nil {
		t.Fatal(err)
	}
	sp := DefaultSampling()
	sp.Temperature = 0
	var steps []time.Duration
	start := time.Now()
	res, err := e.Generate(context.Background(), Request{Prompt: []int32{9707, 11, 1879}, MaxTokens: 4, Sampling: sp,
		IgnoreEOS: true, Policy: p, PolicyConfig: conformanceConfig(0, 0, 0),
		PolicyStepTimer: func(d time.Duration) { steps = append(steps, d) }}, func(Piece) error { return nil })
	took := time.Since(start)
	if err != nil || res.CompletionTokens != 4 {
		t.Fatalf("%+v, %v", res, err)
	}
	var sum time.Duration
	for _, d := range steps {
		if d <= 0 {
			t.Errorf("a step took %v", d)
		}
		sum += d
	}
	if len(steps) != 5 || sum > took {
		t.Errorf("%d steps of %v in all, want 5 within the request's %v", len(steps), sum, took)
	}
}
