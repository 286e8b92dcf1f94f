package main

import (
	"strings"
	"testing"
)

// TestPullBarPlain checks the plain lines a pull prints off a terminal: the file as it starts (resumed or
// cached said), each tenth, and done; and that a terminal's bar is redrawn in place with bytes and ends
// with the done line.
func TestPullBarPlain(t *testing.T) {
	var sb strings.Builder
	b := newPullBar(&sb, false)
	b.Start("a.gguf", 1, 3, 1000, 0)
	for range 4 {
		b.Advance(250)
	}
	b.Start("b.gguf", 2, 3, 2048, 1024)
	b.Advance(1024)
	b.Start("config.json", 3, 3, 10, 10)
	lines := strings.Split(strings.TrimSuffix(sb.String(), "\n"), "\n")
	want := []string{"[1/3] a.gguf: 1000 B", "[1/3] a.gguf: 20%", "[1/3] a.gguf: 50%", "[1/3] a.gguf: 70%",
		"[1/3] a.gguf: done, 1000 B in", "[2/3] b.gguf: 2.0 KiB, resuming at 1.0 KiB", "[2/3] b.gguf: done, 2.0 KiB in",
		"[3/3] config.json: 10 B, in the cache"}
	if len(lines) != len(want) {
		t.Fatalf("lines:\n%s\nwant %d", sb.String(), len(want))
	}
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Errorf("line %d: %q, want it to start %q", i, lines[i], want[i])
		}
	}

	sb.Reset()
	b = newPullBar(&sb, true)
	b.Start("a.gguf", 1, 1, 4<<20, 0)
	b.Advance(4 << 20)
	if got := sb.String(); !strings.HasPrefix(got, "\r\x1b[K[1/1] a.gguf [") || !strings.Contains(got, "0 B / 4.0 MiB") ||
		!strings.Contains(got, "\r\x1b[K[1/1] a.gguf: done, 4.0 MiB in") || strings.Count(got, "\n") != 1 {
		t.Errorf("terminal output %q", got)
	}
}
