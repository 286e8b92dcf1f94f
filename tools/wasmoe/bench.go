package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/wasmoe/wasmoe/internal/host/engine"
)

// bench times prefill and decode through the whole engine (forward, sampler guest, tokenizer guest), the
// same way tools/bench/llamacpp.mjs times llama.cpp: the same prompt ids, a stride walk over the model's
// normal tokens (benchPrompt), greedy, EOS ignored.
func bench(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var ef engineFlags
	ef.register(fs)
	np := fs.Int("prompt-tokens", 128, "prompt length")
	period := fs.Int("prompt-period", 0, "repeat the prompt's first N tokens to its length: a repetitive prompt, for --spec ngram (0 = no repeat)")
	ng := fs.Int("gen-tokens", 64, "tokens to generate")
	printPrompt := fs.Bool("print-prompt", false, "print the prompt's token ids as a JSON array and exit (to give another engine the same prompt)")
	profile := fs.String("cpuprofile", "", "write a CPU profile of prefill and decode to this file (go tool pprof)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *np <= 0 || *ng <= 0 {
		return fmt.Errorf("--prompt-tokens and --gen-tokens must be positive")
	}
	if ef.ctx == 0 {
		ef.ctx = *np + *ng + 16
	}
	ctx := context.Background()
	e, err := ef.open(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	prompt, err := benchPrompt(e.Model().File, *np)
	if err != nil {
		return err
	}
	for i := *period; *period > 0 && i < len(prompt); i++ {
		prompt[i] = prompt[i-*period]
	}
	if *printPrompt {
		return json.NewEncoder(os.Stdout).Encode(prompt)
	}
	sp := engine.DefaultSampling()
	sp.Temperature = 0
	req := engine.Request{Prompt: prompt, MaxTokens: *ng, Sampling: sp, IgnoreEOS: true}
	<-e.Warmed()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var first time.Time
	t0 := time.Now()
	res, err := e.Generate(ctx, req, func(engine.Piece) error {
		if first.IsZero() {
			first = time.Now()
		}
		return nil
	})
	if err != nil {
		return err
	}
	t1 := time.Now()
	n := res.CompletionTokens
	if n < 2 {
		return fmt.Errorf("generated %d tokens, need at least 2 to time decoding", n)
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"engine": "wasmoe", "prompt_tokens": *np, "gen_tokens": n,
		"prefill_tok_s": float64(*np) / first.Sub(t0).Seconds(), "decode_tok_s": float64(n-1) / t1.Sub(first).Seconds(),
		"max_rss_mib": peakRSS() >> 20, "draft_tokens": res.DraftTokens, "accepted_draft_tokens": res.AcceptedDraftTokens})
}

// peakRSS is the process's peak resident set in bytes (VmHWM; mapped model pages count once touched), or 0
// where /proc is not available.
func peakRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
