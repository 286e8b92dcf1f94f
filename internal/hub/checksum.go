package hub

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"strings"
)

// checksum hashes a file as the hub names it: SHA-256 for an LFS file (the LFS oid), git's blob SHA-1
// (of "blob SIZE\x00" and the content) for the rest.
type checksum struct {
	h    hash.Hash
	algo string // "SHA-256" or "git SHA-1"
	want string // hex; "" when the hub gave none (the size is all that is checked)
}

// newChecksum starts f's checksum and feeds it the have bytes already in out. The expected hash is the
// listing's; for a file it gave none for, the hub's first answer's X-Linked-Etag (an LFS file's SHA-256)
// or ETag (a git blob id), as huggingface_hub reads a file's etag.
func newChecksum(f File, first http.Header, out *os.File, have int64) (*checksum, error) {
	c := &checksum{h: sha256.New(), algo: "SHA-256", want: f.SHA256}
	if f.SHA256 == "" {
		want := f.BlobID
		if want == "" {
			want = etag(first.Get("X-Linked-Etag"))
			if isHex(want, 64) {
				c.want = want
			} else {
				want = etag(first.Get("ETag"))
			}
		}
		if c.want == "" && isHex(want, 40) {
			c.h, c.algo, c.want = sha1.New(), "git SHA-1", want
			fmt.Fprintf(c.h, "blob %d\x00", f.Size)
		}
	}
	if have > 0 {
		if _, err := io.Copy(c.h, io.NewSectionReader(out, 0, have)); err != nil {
			return nil, fmt.Errorf("%s: reading the partial download: %w", out.Name(), err)
		}
	}
	return c, nil
}

// etag is an ETag header's value without W/ and quotes, lower-cased.
func etag(v string) string {
	return strings.ToLower(strings.Trim(strings.TrimPrefix(v, "W/"), `"`))
}

// check compares the hash of everything fed with the expected one.
func (c *checksum) check(file string) error {
	got := hex.EncodeToString(c.h.Sum(nil))
	if c.want != "" && got != c.want {
		return &HashError{File: file, Algo: c.algo, Expected: c.want, Got: got}
	}
	return nil
}

// HashError is a downloaded file whose hash is not the hub's.
type HashError struct {
	File, Algo, Expected, Got string
}

// Error names the file and both hashes.
func (e *HashError) Error() string {
	return fmt.Sprintf("%s: %s mismatch: expected %s (the hub's), got %s; the download was deleted, pull again",
		e.File, e.Algo, e.Expected, e.Got)
}
