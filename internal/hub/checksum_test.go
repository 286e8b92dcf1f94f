package hub

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// TestChecksum checks the hashes against values git and sha256sum give: `printf 'hello\n' | git
// hash-object --stdin` is ce013625…, and its SHA-256 5891b5b5…; the listing's hash comes first, then
// the hub's X-Linked-Etag, then its ETag.
func TestChecksum(t *testing.T) {
	const (
		gitHello = "ce013625030ba8dba906f756967f9e9ca394464a"
		shaHello = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
	)
	part := filepath.Join(t.TempDir(), "f")
	os.WriteFile(part, []byte("hello\n"), 0o644)
	out, err := os.Open(part)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	for _, tc := range []struct {
		f     File
		hdr   http.Header
		wrong bool
	}{
		{f: File{SHA256: shaHello}},
		{f: File{BlobID: gitHello}},
		{hdr: http.Header{"X-Linked-Etag": {`"` + shaHello + `"`}}},
		{hdr: http.Header{"Etag": {`W/"` + gitHello + `"`}}},
		{f: File{SHA256: gitHello + "000000000000000000000000"}, wrong: true},
		{f: File{BlobID: shaHello[:40]}, wrong: true},
	} {
		tc.f.Path, tc.f.Size = "f", 6
		c, err := newChecksum(tc.f, tc.hdr, out, 6)
		if err != nil {
			t.Fatal(err)
		}
		err = c.check("f")
		var he *HashError
		if tc.wrong != errors.As(err, &he) {
			t.Errorf("%+v %v: %v", tc.f, tc.hdr, err)
		}
	}
}
