package constraint

import (
	"errors"
	"math/rand"
	"slices"
	"testing"
	"time"
)

// MaskBefore gives the byte-by-byte masks while its deadline is ahead, and gives up with ErrDeadline once
// it has passed: at once for a deadline already gone, on an ambiguous grammar whose walk steps thousands of
// characters; the trie then masks as before.
func TestMaskBefore(t *testing.T) {
	rng := rand.New(rand.NewSource(17))
	vocab := sliceVocab(rng, 3000)
	trie := NewTrie(vocab)
	words := (len(vocab) + 31) / 32
	later := time.Now().Add(time.Hour)
	walkGBNFs(t, rng, vocab, func(step int, m Matcher, want []uint32) {
		got := make([]uint32, words)
		trie.masks = maskCache{}
		if err := trie.MaskBefore(m, got, later); err != nil || !slices.Equal(got, want) {
			t.Fatalf("step %d: %v, or the mask differs from the byte-by-byte one", step, err)
		}
	})
	m := ambiguousGBNF(t)
	want := snapMask(vocab, m.(Snapshotter), words)
	got := make([]uint32, words)
	trie.masks = maskCache{}
	if err := trie.MaskBefore(m.Clone(), got, time.Now().Add(-time.Second)); !errors.Is(err, ErrDeadline) {
		t.Fatalf("a deadline gone: %v, want ErrDeadline", err)
	}
	if err := trie.MaskBefore(m, got, later); err != nil || !slices.Equal(got, want) {
		t.Fatalf("after giving up: %v, or the mask differs from the byte-by-byte one", err)
	}
	js, err := JSONSchema([]byte(`{"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []byte(`[1, `) {
		js.Advance(b)
	}
	want = snapMask(vocab, js.(Snapshotter), words)
	if err := trie.MaskBefore(js.Clone(), got, time.Now().Add(-time.Second)); !errors.Is(err, ErrDeadline) {
		t.Fatalf("a JSON schema's walk with its deadline gone: %v, want ErrDeadline", err)
	}
	if err := trie.MaskBefore(js, got, later); err != nil || !slices.Equal(got, want) {
		t.Fatalf("a JSON schema's walk: %v, or the mask differs from the byte-by-byte one", err)
	}
	if rx, err := Regex(`[a-z]+`); err != nil || trie.MaskBefore(rx, got, time.Now().Add(-time.Second)) != nil {
		t.Fatalf("a regex's walk, bounded by the trie, has no deadline to miss: %v", err)
	}
}
