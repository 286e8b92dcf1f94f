package main

import (
	"bytes"
	"errors"
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

// runBin runs the binary and returns its stdout, stderr and exit status.
func runBin(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// TestHelpAndVersion checks the conventions: help asked for goes to stdout with status 0, an unknown
// command gets the usage on stderr with status 2, a command's -h lists its flags on stdout, and version
// names the Go that built the binary (the toolchain running this test).
func TestHelpAndVersion(t *testing.T) {
	for _, arg := range []string{"-h", "--help", "help"} {
		out, errOut, code := runBin(t, "", arg)
		if code != 0 || !strings.Contains(out, "usage:") || !strings.Contains(out, "wasmoe chat") || errOut != "" {
			t.Errorf("wasmoe %s: status %d, stdout %q, stderr %q", arg, code, out, errOut)
		}
	}
	out, errOut, code := runBin(t, "", "frobnicate")
	if code != 2 || out != "" || !strings.Contains(errOut, `unknown command "frobnicate"`) || !strings.Contains(errOut, "usage:") {
		t.Errorf("unknown command: status %d, stdout %q, stderr %q", code, out, errOut)
	}
	for _, cmd := range []string{"run", "chat", "serve", "tokenize"} {
		out, errOut, code := runBin(t, "", cmd, "-h")
		if code != 0 || !strings.Contains(out, "usage of wasmoe "+cmd) || !strings.Contains(out, "-model") || errOut != "" {
			t.Errorf("wasmoe %s -h: status %d, stdout %q, stderr %q", cmd, code, out, errOut)
		}
	}
	out, errOut, code = runBin(t, "", "run", "--no-such-flag", "x")
	if code == 0 || out != "" || !strings.Contains(errOut, "no-such-flag") || !strings.Contains(errOut, "-max-tokens") {
		t.Errorf("bad flag: status %d, stdout %q, stderr %q", code, out, errOut)
	}
	for _, arg := range []string{"--version", "version"} {
		out, _, code := runBin(t, "", arg)
		if code != 0 || !strings.HasPrefix(out, "wasmoe ") || !strings.HasSuffix(out, " "+runtime.Version()+"\n") {
			t.Errorf("wasmoe %s: status %d, %q; want \"wasmoe VERSION … %s\"", arg, code, out, runtime.Version())
		}
	}
}

// TestRunStdin checks that `wasmoe run` reads its prompt from stdin when given none, or "-": the same
// seed gives the same tokens as the prompt given as an argument.
func TestRunStdin(t *testing.T) {
	flags := []string{"run", "--max-tokens", "8", "--seed", "3"}
	want, wantErr, code := runBin(t, "", append(flags, "Why is the sky blue?")...)
	if code != 0 {
		t.Fatalf("status %d: %s", code, wantErr)
	}
	stats := func(s string) string { return s[strings.LastIndex(s, "["):] }
	for _, args := range [][]string{flags, append(flags, "-")} {
		got, gotErr, code := runBin(t, "Why is the sky blue?\n", args...)
		if code != 0 || got != want || stats(gotErr) != stats(wantErr) {
			t.Errorf("wasmoe %v < prompt: status %d, %q %s; the prompt as an argument gave %q %s", args, code, got, stats(gotErr), want, stats(wantErr))
		}
	}
	if _, errOut, code := runBin(t, "\n", flags...); code == 0 || !strings.Contains(errOut, "empty") {
		t.Errorf("empty stdin: status %d, %s", code, errOut)
	}
}
