package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/wasmoe/wasmoe/internal/host/chat"
	"github.com/wasmoe/wasmoe/internal/host/engine"
	"github.com/wasmoe/wasmoe/internal/host/wasm"
)

// loadPlugin loads a policy from a .wasm file, or by name from the plugin directory.
func loadPlugin(e *engine.Engine, plugin string) (*wasm.Policy, error) {
	if !strings.HasSuffix(plugin, ".wasm") {
		return e.Policy(plugin)
	}
	bin, err := os.ReadFile(plugin)
	if err != nil {
		return nil, fmt.Errorf("--plugin: %w", err)
	}
	p, err := e.LoadPolicy(bin)
	if err != nil {
		return nil, fmt.Errorf("--plugin %s: %w", plugin, err)
	}
	return p, nil
}

// promptArg is run's prompt: the arguments joined, or stdin when there are none or the one argument is
// "-". A terminal's stdin is read only when asked for with "-": with no argument it gets the usual error.
func promptArg(args []string, stdin *os.File) (string, error) {
	if len(args) != 0 && (len(args) != 1 || args[0] != "-") {
		return strings.Join(args, " "), nil
	}
	if len(args) == 0 && isTerminal(stdin) {
		return "", fmt.Errorf("give a prompt, e.g. wasmoe run --model M.gguf \"Why is the sky blue?\", or pipe one in")
	}
	b, err := io.ReadAll(stdin)
	if err != nil {
		return "", fmt.Errorf("reading the prompt from stdin: %w", err)
	}
	prompt := strings.TrimRight(string(b), "\r\n")
	if strings.TrimSpace(prompt) == "" {
		return "", fmt.Errorf("the prompt read from stdin is empty")
	}
	return prompt, nil
}

// isTerminal reports whether f is a terminal (a character device), not a pipe or a file.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// run streams one completion of a prompt to stdout.
func run(args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var ef engineFlags
	ef.register(fs)
	maxTokens := fs.Int("max-tokens", 256, "tokens to generate at most")
	temp := fs.Float64("temp", 0.6, "sampling temperature (0 = greedy)")
	topP := fs.Float64("top-p", 0.95, "nucleus sampling threshold")
	seed := fs.Uint64("seed", 0, "sampling seed")
	raw := fs.Bool("raw", false, "send the prompt as is, without the model's chat template")
	plugin := fs.String("plugin", "", "policy plugin: a .wasm file, or the name of one in --plugin-dir ('wasmoe' = the built-in policy)")
	pluginConfig := fs.String("plugin-config", "", "the plugin's request config (the built-in policy takes JSON, e.g. '{\"json_schema\":{...}}')")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	prompt, err := promptArg(fs.Args(), os.Stdin)
	if err != nil {
		return err
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
	req := engine.Request{Prompt: ids, MaxTokens: *maxTokens, Sampling: sp, PolicyConfig: []byte(*pluginConfig)}
	if *plugin != "" {
		if req.Policy, err = loadPlugin(e, *plugin); err != nil {
			return err
		}
	}
	out := bufio.NewWriter(os.Stdout)
	res, err := e.Generate(ctx, req, func(p engine.Piece) error {
		if p.Index > 0 {
			fmt.Fprintf(out, "\n[%d] ", p.Index)
		}
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
