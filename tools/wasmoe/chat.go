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
	"time"

	"github.com/wasmoe/wasmoe/internal/host/chat"
	"github.com/wasmoe/wasmoe/internal/host/engine"
)

const chatHelp = `commands: /reset forgets the conversation (not the system message), /system TEXT sets the system message
("/system" alone removes it),
/quit (or Ctrl-D) leaves; Ctrl-C stops an answer`

// ANSI styles of reasoning when stdout is a terminal.
const (
	styleDim   = "\x1b[2m"
	styleReset = "\x1b[0m"
)

// chatSession is a conversation with a model in the terminal.
type chatSession struct {
	e        *engine.Engine
	info     engine.ModelInfo
	tmpl     *chat.Template
	sampling engine.SamplingParams
	maxTok   int
	system   string
	history  []chat.Message // the turns so far, user and assistant, without the system message
	out, log io.Writer      // the answers; reasoning (when out is not a terminal), statistics and notices
	styled   bool           // out is a terminal: reasoning goes to it, dimmed
}

// chatCmd runs `wasmoe chat`: an interactive multi-turn conversation with the model, in-process.
func chatCmd(args []string) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	var ef engineFlags
	ef.register(fs)
	system := fs.String("system", "", "system message")
	maxTokens := fs.Int("max-tokens", 1024, "tokens to generate at most per answer")
	temp := fs.Float64("temp", 0.6, "sampling temperature (0 = greedy)")
	topP := fs.Float64("top-p", 0.95, "nucleus sampling threshold")
	seed := fs.Uint64("seed", 0, "sampling seed")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("chat takes no arguments (got %q); type the questions at its prompt", fs.Args())
	}
	e, err := ef.open(context.Background())
	if err != nil {
		return err
	}
	defer e.Close()
	s := &chatSession{e: e, info: e.Info(), sampling: engine.DefaultSampling(), maxTok: *maxTokens, system: *system,
		out: os.Stdout, log: os.Stderr, styled: isTerminal(os.Stdout)}
	s.sampling.Temperature, s.sampling.TopP, s.sampling.Seed = float32(*temp), float32(*topP), *seed
	if s.tmpl, err = chat.Compile(s.info.ChatTemplate); err != nil {
		return fmt.Errorf("the chat template of %s: %w", s.info.ID, err)
	}
	interactive := isTerminal(os.Stdin)
	if interactive {
		fmt.Fprintf(s.log, "wasmoe: chatting with %q; %s\n", s.info.ID, chatHelp)
	}
	in := bufio.NewReader(os.Stdin)
	for {
		if interactive {
			fmt.Fprint(s.out, "> ")
		}
		line, err := in.ReadString('\n')
		if line = strings.TrimRight(line, "\r\n"); line != "" {
			if s.command(line) {
				return nil
			}
		}
		if err == io.EOF {
			if interactive {
				fmt.Fprintln(s.out)
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// command handles one line typed at the prompt: a command, or a question to answer. It reports whether
// the user asked to leave.
func (s *chatSession) command(line string) (quit bool) {
	name, arg, _ := strings.Cut(line, " ")
	switch {
	case name == "/quit" || name == "/exit":
		return true
	case name == "/reset":
		s.history = nil
		fmt.Fprintln(s.log, "(conversation reset)")
	case name == "/system":
		s.system = strings.TrimSpace(arg)
		fmt.Fprintln(s.log, "(system message set)")
	case name == "/help":
		fmt.Fprintln(s.log, chatHelp)
	case strings.HasPrefix(name, "/"):
		fmt.Fprintf(s.log, "unknown command %s; %s\n", name, chatHelp)
	default:
		if err := s.answer(line); err != nil {
			fmt.Fprintf(s.log, "wasmoe chat: %v\n", err)
		}
	}
	return false
}

// answer streams the model's answer to question and adds both to the conversation. A failed turn leaves
// the conversation as it was; one stopped with Ctrl-C keeps what was answered.
func (s *chatSession) answer(question string) error {
	var msgs []chat.Message
	if s.system != "" {
		msgs = append(msgs, chat.Message{Role: "system", Content: s.system})
	}
	msgs = append(append(msgs, s.history...), chat.Message{Role: "user", Content: question})
	text, err := s.tmpl.Render(msgs, chat.Options{AddGenerationPrompt: true, BOSToken: s.info.BOSToken, EOSToken: s.info.EOSToken})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	// Templates write BOS themselves; only the plain format (no template) needs the tokenizer's.
	ids, err := s.e.Tokenize(ctx, text, s.info.ChatTemplate == "" && s.info.AddBOS, true)
	if err != nil {
		return err
	}
	out := bufio.NewWriter(s.out)
	var reply strings.Builder
	thinking := false // reasoning is being shown
	show := func(reasoning bool, part string) {
		switch {
		case !reasoning:
			if thinking && !s.styled {
				fmt.Fprintln(s.log)
			}
			thinking = false
			reply.WriteString(part)
			out.WriteString(part)
		case s.styled:
			thinking = true
			out.WriteString(styleDim + part + styleReset)
		default:
			if !thinking {
				fmt.Fprint(s.log, "thinking: ")
			}
			thinking = true
			fmt.Fprint(s.log, part)
		}
	}
	split := newThinkSplitter(chat.OpensThinking(text))
	start := time.Now()
	res, err := s.e.Generate(ctx, engine.Request{Prompt: ids, MaxTokens: s.maxTok, Sampling: s.sampling}, func(p engine.Piece) error {
		split.push(p.Text, show)
		return out.Flush()
	})
	elapsed := time.Since(start)
	split.flush(show)
	if thinking && !s.styled {
		fmt.Fprintln(s.log)
	}
	out.WriteString("\n")
	out.Flush()
	stopped := ctx.Err() != nil
	if err != nil && !stopped {
		return err
	}
	s.history = append(s.history, chat.Message{Role: "user", Content: question}, chat.Message{Role: "assistant", Content: reply.String()})
	finish := res.FinishReason
	if stopped {
		finish = "interrupted"
	}
	fmt.Fprintf(s.log, "[%d prompt tokens, %d generated in %.2fs, %.1f tok/s, finish: %s]\n", res.PromptTokens,
		res.CompletionTokens, elapsed.Seconds(), float64(res.CompletionTokens)/elapsed.Seconds(), finish)
	return nil
}
