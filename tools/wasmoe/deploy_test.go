package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/testutil"
)

// wasmoeFails runs the binary, wants it to fail, and returns what it printed.
func wasmoeFails(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err == nil {
		t.Fatalf("wasmoe %s succeeded:\n%s", strings.Join(args, " "), out)
	}
	return string(out)
}

// versionRows reads `wasmoe versions`' table into VERSION → "TRAFFIC TAG" per row.
func versionRows(t *testing.T, out string) map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if strings.Join(strings.Fields(lines[0]), " ") != "VERSION TRAFFIC TAG SHA256 SIZE CREATED MESSAGE" {
		t.Fatalf("versions header: %q", lines[0])
	}
	rows := map[string]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		rows[f[0]] = f[1] + " " + f[2]
	}
	return rows
}

// The CLI against a served node with a store: deploy a .wasm and a wrangler.toml, list versions, split,
// promote, roll back, and find it all again after a restart; bad input fails with a clear message.
func TestDeployCLI(t *testing.T) {
	storeFile := filepath.Join(t.TempDir(), "wasmoe.db")
	s := startServer(t, "--model", r1Model(t), "--ctx", "256", "--store", storeFile)
	root := testutil.Root()
	api := []string{"--url", s.url}
	run := func(args ...string) string { return wasmoe(t, "", args...) }

	out := run(append(append([]string{"deploy"}, api...), "--name", "ban", "--tag", "v1", "--message", "first one", filepath.Join(root, "guest/c/ban.wasm"))...)
	if !regexp.MustCompile(`^deployed ban version 1 \(sha256 [0-9a-f]{12}, 4044 bytes, \d+ compressed; compiled and started in \d+ ms\)\ntraffic: version 1 100%\n$`).MatchString(out) {
		t.Errorf("deploy output:\n%s", out)
	}
	dir := t.TempDir()
	conf := filepath.Join(root, "guest/c/conformance.wasm")
	toml := "name = \"ban\"\nmain = \"" + conf + "\"\ncompatibility_date = \"2026-11-28\"\n[vars]\nX = 1\n[limits]\nstep_timeout = \"50ms\"\nmemory_mb = 64\n"
	if err := os.WriteFile(filepath.Join(dir, "wrangler.toml"), []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	out = run(append(append([]string{"deploy"}, api...), "--percent", "10", "--tag", "canary", filepath.Join(dir, "wrangler.toml"))...)
	if !strings.Contains(out, "deployed ban version 2") || !strings.HasSuffix(out, "traffic: version 1 90%, version 2 10%\n") {
		t.Errorf("split deploy output:\n%s", out)
	}
	out = run(append(append([]string{"versions"}, api...), "ban")...)
	if rows := versionRows(t, out); rows["1"] != "90% v1" || rows["2"] != "10% canary" || !strings.Contains(out, "first one") {
		t.Errorf("versions:\n%s", out)
	}
	if out = run(append(append([]string{"promote"}, api...), "ban")...); out != "ban: traffic: version 2 100%\n" {
		t.Errorf("promote: %q", out)
	}
	if out = run(append(append([]string{"rollback"}, api...), "ban")...); out != "ban: traffic: version 1 90%, version 2 10%\n" {
		t.Errorf("rollback: %q", out)
	}
	if out = run(append(append([]string{"rollback"}, api...), "ban", "1")...); out != "ban: traffic: version 1 100%\n" {
		t.Errorf("rollback to 1: %q", out)
	}
	code, body := s.post(t, "/v1/completions", `{"prompt":"Hi","max_tokens":2,"plugin":"ban@canary"}`)
	if code != 200 {
		t.Errorf("a completion under ban@canary: %d %v", code, body)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"deploy", "--url", s.url, filepath.Join(root, "wrangler.toml")}, `unknown key "limits.max_queue"`},
		{[]string{"deploy", "--url", s.url, "--name", "a/b", conf}, "plugin name"},
		{[]string{"deploy", "--url", s.url, "--name", "bad", filepath.Join(root, "go.mod")}, "not WebAssembly"},
		{[]string{"deploy", "--url", s.url, "/nonexistent.wasm"}, "no such file"},
		{[]string{"rollback", "--url", s.url, "nothing"}, "404"},
		{[]string{"versions", "--url", s.url}, "usage"},
		{[]string{"rollback", "--url", s.url, "ban", "x"}, "version id"},
	} {
		if out := wasmoeFails(t, c.args...); !strings.Contains(out, c.want) || strings.Contains(out, "panic") {
			t.Errorf("wasmoe %s: %q, want it to say %q", strings.Join(c.args, " "), out, c.want)
		}
	}

	// A restarted node serves from the same store.
	s.cmd.Process.Signal(os.Interrupt)
	s.cmd.Wait()
	s2 := startServer(t, "--model", r1Model(t), "--ctx", "256", "--store", storeFile)
	if rows := versionRows(t, run("versions", "--url", s2.url, "ban")); rows["1"] != "100% v1" || rows["2"] != "(rollback) canary" {
		t.Errorf("after a restart: %v", rows)
	}
}
