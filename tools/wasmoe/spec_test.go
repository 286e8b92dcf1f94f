package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// TestSpecFlags: `run` with prompt lookup prints the text it prints without speculation (same seed), and
// bad speculative and plugin flags fail with a message naming the flag.
func TestSpecFlags(t *testing.T) {
	args := []string{"run", "--max-tokens", "12", "--seed", "5", "--temp", "0.8", "la la la la la la"}
	plain := wasmoe(t, "", args...)
	spec := append([]string{"run", "--spec", "ngram", "--spec-tokens", "3"}, args[1:]...)
	if got := wasmoe(t, "", spec...); got != plain {
		t.Errorf("wasmoe %v: %q, without speculation %q", spec, got, plain)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--spec", "lookahead"}, "--spec lookahead"},
		{[]string{"--spec", "draft"}, "--draft-model"},
		{[]string{"--spec-tokens", "99"}, "--spec-tokens 99"},
		{[]string{"--draft-model", "/nonexistent.gguf"}, "--draft-model"},
		{[]string{"--plugin-memory-mb", "5000"}, "--plugin-memory-mb 5000"},
		{[]string{"--plugin-keep-memory-mb", "0"}, "--plugin-keep-memory-mb 0"},
		{[]string{"--plugin-memory-mb", "64", "--plugin-keep-memory-mb", "65"}, "--plugin-keep-memory-mb 65"},
		{[]string{"--plugin-step-timeout", "-1s"}, "--plugin-step-timeout -1s: must not be negative"},
		{[]string{"--plugin-cpu-budget", "-5ms"}, "--plugin-cpu-budget -5ms: must not be negative"},
	} {
		cmd := exec.Command(bin, append(append([]string{"run"}, c.args...), "--max-tokens", "1", "hi")...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err == nil || !strings.Contains(stderr.String(), c.want) || strings.Contains(stderr.String(), "panic") {
			t.Errorf("wasmoe run %v: %v, stderr %q; want a failure naming %q", c.args, err, stderr.String(), c.want)
		}
	}
}
