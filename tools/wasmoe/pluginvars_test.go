package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wasmoe/wasmoe/internal/host/wasm"
)

// TestServeConfigPluginVars: the plugin limits under [vars] reach the plugin runtime's configuration (MiB
// as 64 KiB pages: 16 a MiB), a flag given on the command line overrides its var, and a var left out or 0
// keeps the flag's default (100ms, 10s, 512 MiB, 64 MiB).
func TestServeConfigPluginVars(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wrangler.toml")
	limits := func(vars string, args ...string) (wasm.Config, *engineFlags) {
		t.Helper()
		os.WriteFile(path, []byte("[vars]\n"+vars), 0o644)
		c, err := readWrangler(path)
		if err != nil {
			t.Fatal(err)
		}
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		var ef engineFlags
		ef.register(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		given := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
		c.applyPluginVars(path, &ef, given)
		if err := ef.checkPluginLimits(); err != nil {
			t.Fatalf("%s %v: %v", vars, args, err)
		}
		return ef.pluginConfig(), &ef
	}
	type want struct {
		step, budget time.Duration
		pages, keep  uint32
	}
	check := func(what string, got wasm.Config, w want) {
		t.Helper()
		if g := (want{got.StepTimeout, got.CPUBudget, got.MemoryLimitPages, got.KeepMemoryPages}); g != w {
			t.Errorf("%s: step timeout, CPU budget, memory pages, kept pages %+v, want %+v", what, g, w)
		}
	}
	all := "PLUGIN_STEP_TIMEOUT = \"250ms\"\nPLUGIN_CPU_BUDGET = \"1m30s\"\nPLUGIN_MEMORY_MB = 256\nPLUGIN_KEEP_MEMORY_MB = 32\n"
	got, _ := limits(all)
	check("all four vars", got, want{250 * time.Millisecond, 90 * time.Second, 4096, 512})
	got, ef := limits(all, "--plugin-step-timeout", "40ms", "--plugin-memory-mb", "300")
	check("two flags given", got, want{40 * time.Millisecond, 90 * time.Second, 4800, 512})
	if s := ef.setting("plugin-memory-mb"); s != "--plugin-memory-mb" {
		t.Errorf("a flag given on the command line is named %q", s)
	}
	if s := ef.setting("plugin-keep-memory-mb"); s != "--plugin-keep-memory-mb (PLUGIN_KEEP_MEMORY_MB in "+path+")" {
		t.Errorf("a setting the file gave is named %q", s)
	}
	got, _ = limits("PLUGIN_STEP_TIMEOUT = \"0s\"\nPLUGIN_MEMORY_MB = 0\n")
	check("no vars (0)", got, want{100 * time.Millisecond, 10 * time.Second, 8192, 1024})
}
