package mmap

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestMap(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	want := []byte("hello, mapped world")
	if err := os.WriteFile(path, want, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := Map(path)
	if err != nil || !bytes.Equal(b, want) {
		t.Fatalf("Map = %q, %v", b, err)
	}
	if err := Unmap(b); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o644)
	if b, err := Map(empty); err != nil || len(b) != 0 || Unmap(b) != nil {
		t.Errorf("empty file: %q %v", b, err)
	}
	for _, bad := range []string{dir, filepath.Join(dir, "missing")} {
		if _, err := Map(bad); err == nil {
			t.Errorf("Map(%s) succeeded", bad)
		}
	}
}
