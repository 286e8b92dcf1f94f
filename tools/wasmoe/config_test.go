package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmoe/wasmoe/internal/testutil"
)

// TestWranglerLimits reads the scheduler's [limits] keys and max_header_bytes, in the shipped wrangler.toml
// too; write_timeout must be a duration string.
func TestWranglerLimits(t *testing.T) {
	shipped, err := readWrangler(filepath.Join(testutil.Root(), "wrangler.toml"))
	if err != nil || shipped.Limits.Parallel != 8 || time.Duration(shipped.Limits.WriteTimeout) != 30*time.Second ||
		shipped.Limits.MaxHeaderBytes != 16384 {
		t.Fatalf("the shipped wrangler.toml: %+v, %v", shipped, err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "wrangler.toml")
	os.WriteFile(path, []byte("[limits]\nparallel = 4\nbatch_tokens = 256\nkv_cache_tokens = 65536\nwrite_timeout = \"1m30s\"\n"+
		"max_header_bytes = 32768\n"), 0o644)
	c, err := readWrangler(path)
	if err != nil {
		t.Fatal(err)
	}
	l := c.Limits
	if l.Parallel != 4 || l.BatchTokens != 256 || l.KVCacheTokens != 65536 || time.Duration(l.WriteTimeout) != 90*time.Second ||
		l.MaxHeaderBytes != 32768 {
		t.Errorf("limits %+v", l)
	}
	for _, bad := range []string{"30", `"30"`, `"soon"`} {
		os.WriteFile(path, []byte("[limits]\nwrite_timeout = "+bad+"\n"), 0o644)
		if _, err := readWrangler(path); err == nil || !strings.Contains(err.Error(), "write_timeout") {
			t.Errorf("write_timeout = %s: %v", bad, err)
		}
	}
}
