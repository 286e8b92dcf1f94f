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

// Release must leave what the mapping reads unchanged: the pages come back from the file.
func TestRelease(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	want := make([]byte, 5*os.Getpagesize()+123)
	for i := range want {
		want[i] = byte(i*7 + i>>9)
	}
	if err := os.WriteFile(path, want, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := Map(path)
	if err != nil {
		t.Fatal(err)
	}
	defer Unmap(b)
	if !bytes.Equal(b, want) {
		t.Fatal("mapping differs from the file")
	}
	for _, r := range [][2]int{{100, len(b) - 77}, {0, len(b)}, {5, 9}} {
		if err := Release(b[r[0]:r[1]]); err != nil {
			t.Fatalf("Release(b[%d:%d]): %v", r[0], r[1], err)
		}
		if !bytes.Equal(b, want) {
			t.Fatalf("after Release(b[%d:%d]) the mapping reads other bytes", r[0], r[1])
		}
	}
	if err := Release(nil); err != nil {
		t.Fatal(err)
	}
}
