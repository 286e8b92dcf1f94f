package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmoe/wasmoe/internal/tenant"
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

// sha256Hex is the hex SHA-256 of key, as `printf %s KEY | sha256sum` prints it.
func sha256Hex(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// TestWranglerTenants reads [admin] and [[tenants]] into a registry that knows the keys; a bad hash is an
// error naming the file, the tenant and the field, and a misspelt tenant key is refused by name.
func TestWranglerTenants(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wrangler.toml")
	os.WriteFile(path, []byte(`[admin]
key_sha256 = "`+sha256Hex("root")+`"

[[tenants]]
name = "acme"
key_sha256 = ["`+sha256Hex("acme-key")+`", "`+sha256Hex("acme-key-2")+`"]
requests_per_minute = 60
tokens_per_minute = 100000
max_concurrent = 4
max_tokens = 512

[[tenants]]
name = "beta"
key_sha256 = ["`+sha256Hex("beta-key")+`"]
`), 0o644)
	c, err := readWrangler(path)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := c.tenancy(path)
	if err != nil {
		t.Fatal(err)
	}
	acme, err := reg.Authenticate([]byte("Bearer acme-key-2"))
	if err != nil || acme.Name != "acme" || acme.RequestsPerMinute != 60 || acme.TokensPerMinute != 100000 || acme.MaxConcurrent != 4 || acme.MaxTokens != 512 {
		t.Errorf("acme's second key: %+v, %v", acme, err)
	}
	if !reg.IsAdmin([]byte("Bearer root")) {
		t.Error("the admin key is not the admin's")
	}
	if got := tenancyLine(reg); got != "2 tenants; requests need Authorization: Bearer KEY" {
		t.Errorf("start line %q", got)
	}
	for _, open := range []*wranglerConfig{nil, {}} {
		var reg *tenant.Registry
		if open != nil {
			reg, _ = open.tenancy(path)
		}
		if got := tenancyLine(reg); got != "no tenants configured: the node is open to anyone who reaches it" {
			t.Errorf("start line of an open node %q", got)
		}
	}
	adminOnly, err := (&wranglerConfig{Admin: tenant.Admin{KeySHA256: sha256Hex("root")}}).tenancy(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := tenancyLine(adminOnly); got != "no tenants yet: only the admin key may use the node until the admin API adds some" {
		t.Errorf("start line of a node with an admin key alone %q", got)
	}

	os.WriteFile(path, []byte("[[tenants]]\nname = \"acme\"\nkey_sha256 = [\""+sha256Hex("a")+"\", \"abc\"]\n"), 0o644)
	if c, err = readWrangler(path); err != nil {
		t.Fatal(err)
	}
	if _, err := c.tenancy(path); err == nil || !strings.HasPrefix(err.Error(), path+": ") || !strings.Contains(err.Error(), `tenant "acme": key_sha256[1]: want 64 hex digits`) {
		t.Errorf("bad hash: %v", err)
	}
	os.WriteFile(path, []byte("[[tenants]]\nname = \"acme\"\nkey_sha256 = [\""+sha256Hex("a")+"\"]\nrequest_per_minute = 5\n"), 0o644)
	if _, err := readWrangler(path); err == nil || !strings.Contains(err.Error(), "tenants.request_per_minute") {
		t.Errorf("misspelt limit: %v", err)
	}
}
