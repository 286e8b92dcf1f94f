package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/wasmoe/wasmoe/internal/host/chat"
	"github.com/wasmoe/wasmoe/internal/host/modelgen"
)

// statsLine is the line `wasmoe chat` writes on stderr after each answer.
var statsLine = regexp.MustCompile(`\[(\d+) prompt tokens, (\d+) generated in ([\d.]+)s, ([\d.]+) tok/s, finish: \w+\]`)

// chatStats are the numbers of one statistics line.
type chatStats struct {
	prompt, generated int
	seconds, rate     float64
}

// parseStats reads every statistics line of a chat's stderr, checking that each rate is generated/seconds.
func parseStats(t *testing.T, stderr string) []chatStats {
	t.Helper()
	var out []chatStats
	for _, m := range statsLine.FindAllStringSubmatch(stderr, -1) {
		var s chatStats
		s.prompt, _ = strconv.Atoi(m[1])
		s.generated, _ = strconv.Atoi(m[2])
		s.seconds, _ = strconv.ParseFloat(m[3], 64)
		s.rate, _ = strconv.ParseFloat(m[4], 64)
		if s.generated > 0 && (s.rate <= 0 || s.seconds <= 0) {
			t.Errorf("%q: no rate for %d tokens", m[0], s.generated)
		}
		if s.seconds >= 0.1 { // two decimals of seconds: the rate is checkable to a few percent
			if want := float64(s.generated) / s.seconds; s.rate < want*0.9 || s.rate > want*1.1 {
				t.Errorf("%q: rate %.1f, want about %.1f tokens / %.2fs", m[0], s.rate, want, s.seconds)
			}
		}
		out = append(out, s)
	}
	return out
}

// promptTokens counts the tokens of a conversation rendered with the default model's chat template, as
// `wasmoe tokenize` (with control tokens) splits it: what the chat's prompt should be.
func promptTokens(t *testing.T, model string, msgs ...chat.Message) int {
	t.Helper()
	text, err := chat.Render(modelgen.DefaultOptions().ChatTemplate, msgs, chat.Options{AddGenerationPrompt: true})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int
	if err := json.Unmarshal([]byte(wasmoe(t, "", "tokenize", "--special", "--model", model, text)), &ids); err != nil {
		t.Fatal(err)
	}
	return len(ids)
}

// TestChatConversation drives `wasmoe chat` through a pipe on the default model: the first prompt is the
// template's rendering of the question, the second carries the first turn, /reset drops it, /system puts
// a system message in the template's default one's place (and /reset keeps it), /quit ends the session (what follows is not read) with status 0, and
// each answer is followed by its tokens/s.
func TestChatConversation(t *testing.T) {
	model, err := modelgen.EnsureDefault(os.Getenv("WASMOE_CACHE"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "chat", "--model", model, "--max-tokens", "8", "--temp", "0")
	cmd.Stdin = strings.NewReader("Hello\nHello\n/reset\nHello\n/system Be brief.\n/reset\nHello\n/quit\nHello\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	stats := parseStats(t, stderr.String())
	if len(stats) != 4 {
		t.Fatalf("%d answers, want 4 (the question after /quit must not be answered):\n%s", len(stats), stderr.String())
	}
	first := promptTokens(t, model, chat.Message{Role: "user", Content: "Hello"})
	if stats[0].prompt != first {
		t.Errorf("first prompt: %d tokens, the template renders %d", stats[0].prompt, first)
	}
	if stats[1].prompt <= first {
		t.Errorf("second prompt: %d tokens, not more than the first's %d: the first turn is missing", stats[1].prompt, first)
	}
	if stats[2].prompt != first {
		t.Errorf("after /reset: %d prompt tokens, want the first's %d", stats[2].prompt, first)
	}
	withSystem := promptTokens(t, model, chat.Message{Role: "system", Content: "Be brief."}, chat.Message{Role: "user", Content: "Hello"})
	if stats[3].prompt != withSystem {
		t.Errorf("after /system: %d prompt tokens, the template renders %d with the system message", stats[3].prompt, withSystem)
	}
	if strings.Count(stdout.String(), "\n") < 4 || strings.Contains(stdout.String(), "> ") {
		t.Errorf("stdout (not a terminal) should hold the 4 answers and no prompt:\n%q", stdout.String())
	}
}

// TestChatReasoning runs `wasmoe chat` on a model with DeepSeek-R1's template, whose prompt opens <think>:
// through a pipe the reasoning goes to stderr after "thinking: "; on a terminal it is dimmed on stdout,
// after the "> " prompt.
func TestChatReasoning(t *testing.T) {
	model := r1Model(t)
	args := []string{"chat", "--model", model, "--max-tokens", "6", "--temp", "0"}

	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader("Why is the sky blue?\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "thinking: ") || strings.Contains(stdout.String(), styleDim) {
		t.Errorf("piped: reasoning should be on stderr after \"thinking: \", not styled on stdout:\nstdout %q\nstderr %q", stdout.String(), stderr.String())
	}

	cmd = exec.Command(bin, args...)
	var ttyErr lockedBuffer
	cmd.Stderr = &ttyErr
	tty, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	var screen bytes.Buffer
	read := make(chan struct{})
	go func() { io.Copy(&screen, tty); close(read) }() // ends with EIO when the child exits
	if _, err := tty.Write([]byte("Why is the sky blue?\n")); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(60 * time.Second)
	for len(parseStats(t, ttyErr.String())) == 0 {
		select {
		case err := <-done:
			t.Fatalf("chat ended before answering: %v\n%s", err, ttyErr.String())
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("no answer in a minute:\n%s", ttyErr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	tty.Write([]byte("/quit\n"))
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("/quit: %v\n%s", err, ttyErr.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("/quit did not end the chat")
	}
	<-read
	if s := screen.String(); !strings.Contains(s, "> ") || !strings.Contains(s, styleDim) || !strings.Contains(s, styleReset) {
		t.Errorf("terminal: want the \"> \" prompt and dimmed reasoning:\n%q", s)
	}
	if strings.Contains(ttyErr.String(), "thinking: ") {
		t.Errorf("terminal: reasoning went to stderr:\n%s", ttyErr.String())
	}
}

// lockedBuffer is a buffer a command writes to while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String is what was written so far.
func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
