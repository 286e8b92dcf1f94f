package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/wasmoe/wasmoe/host/chat"
	"github.com/wasmoe/wasmoe/host/engine"
)

func run(args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var ef engineFlags
	ef.register(fs)
	maxTokens := fs.Int("max-tokens", 256, "tokens to generate at most")
	temp := fs.Float64("temp", 0.6, "sampling temperature (0 = greedy)")
	topP := fs.Float64("top-p", 0.95, "nucleus sampling threshold")
	seed := fs.Uint64("seed", 0, "sampling seed")
	raw := fs.Bool("raw", false, "send the prompt as is, without the model's chat template")
	if err := fs.Parse(args); err != nil {
		return err
	}
	prompt := strings.Join(fs.Args(), " ")
	if prompt == "" {
		return fmt.Errorf("give a prompt, e.g. wasmoe run --model M.gguf \"Why is the sky blue?\"")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	e, err := ef.open(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	info := e.Info()
	text, addBOS := prompt, info.AddBOS
	if !*raw && info.ChatTemplate != "" {
		text, err = chat.Render(info.ChatTemplate, []chat.Message{{Role: "user", Content: prompt}},
			chat.Options{AddGenerationPrompt: true, BOSToken: info.BOSToken, EOSToken: info.EOSToken})
		if err != nil {
			return err
		}
		addBOS = false // templates write BOS themselves
	}
	ids, err := e.Tokenize(ctx, text, addBOS, true)
	if err != nil {
		return err
	}
	sp := engine.DefaultSampling()
	sp.Temperature, sp.TopP, sp.Seed = float32(*temp), float32(*topP), *seed
	out := bufio.NewWriter(os.Stdout)
	res, err := e.Generate(ctx, engine.Request{Prompt: ids, MaxTokens: *maxTokens, Sampling: sp}, func(p engine.Piece) error {
		out.WriteString(p.Text)
		return out.Flush()
	})
	out.WriteString("\n")
	out.Flush()
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "[%d prompt tokens, %d generated, finish: %s]\n", res.PromptTokens, res.CompletionTokens, res.FinishReason)
	return nil
}
