package engine

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPolicyByName: plugins come from the plugin directory by name; bad names, missing files and modules
// that are not policies are ErrBadPlugin with a message that does not name the server's directory; a
// plugin replaced on disk is loaded again; the built-in policy needs no directory.
func TestPolicyByName(t *testing.T) {
	dir := t.TempDir()
	e := openTiny(t, Config{PluginDir: dir})
	if _, err := e.Policy(BuiltinPolicy); err != nil {
		t.Fatalf("built-in policy: %v", err)
	}
	write := func(name string, bin []byte) {
		if err := os.WriteFile(filepath.Join(dir, name+".wasm"), bin, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("ban", readConformance(t, "c")) // any valid policy
	write("junk", []byte("\x00asm\x01\x00\x00\x00junk"))
	for _, c := range []struct{ name, want string }{
		{"../etc/passwd", "plugin name"}, {"", "plugin name"}, {"a/b", "plugin name"},
		{"missing", "has no missing.wasm"}, {"junk", "compile"},
	} {
		_, err := e.Policy(c.name)
		if !errors.Is(err, ErrBadPlugin) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), dir) {
			t.Errorf("Policy(%q): %v, want ErrBadPlugin mentioning %q and not the directory", c.name, err, c.want)
		}
	}
	a, err := e.Policy("ban")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := e.Policy("ban"); b != a {
		t.Error("the same unchanged plugin was loaded twice")
	}
	write("ban", readConformance(t, "as"))
	later := time.Now().Add(time.Second)
	os.Chtimes(filepath.Join(dir, "ban.wasm"), later, later)
	if b, err := e.Policy("ban"); err != nil || b == a {
		t.Errorf("replaced plugin: %v, reloaded %v", err, b != a)
	}
	if _, err := openTiny(t, Config{}).Policy("ban"); !errors.Is(err, ErrBadPlugin) {
		t.Errorf("no plugin directory: %v", err)
	}
}
