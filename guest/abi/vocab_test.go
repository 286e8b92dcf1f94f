package abi

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func sampleVocab() *Vocab {
	return &Vocab{
		Model:  "gpt2",
		Pre:    "qwen2",
		Tokens: []string{"a", "b", "ab", "Ġ", "<|im_end|>", "", "\xff\x00"},
		Types:  []int32{1, 1, 1, 1, 3, 5, 6},
		Merges: []string{"a b", "Ġ a"},
		BOS:    -1, EOS: 4, EOT: 4, EOM: -1, PAD: 6, UNK: -1,
		AddBOS: false, AddEOS: true,
	}
}

func TestVocabRoundTrip(t *testing.T) {
	for _, v := range []*Vocab{
		sampleVocab(),
		{BOS: -1, EOS: -1, EOT: -1, EOM: -1, PAD: -1, UNK: -1, AddBOS: true},
		{Model: "gpt2", Tokens: []string{"x"}, BOS: 0, EOS: 0, EOT: -1, EOM: -1, PAD: -1, UNK: 0},
	} {
		b, err := v.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got Vocab
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		// Empty and nil slices are the same blob.
		norm := func(x *Vocab) Vocab {
			y := *x
			if len(y.Tokens) == 0 {
				y.Tokens = nil
			}
			if len(y.Merges) == 0 {
				y.Merges = nil
			}
			return y
		}
		if !reflect.DeepEqual(norm(&got), norm(v)) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, *v)
		}
		b2, err := got.MarshalBinary()
		if err != nil || !bytes.Equal(b, b2) {
			t.Errorf("re-marshal differs (err %v)", err)
		}
	}
}

func TestVocabMarshalRejects(t *testing.T) {
	v := sampleVocab()
	v.Types = v.Types[:3]
	if _, err := v.MarshalBinary(); err == nil || !strings.Contains(err.Error(), "3 token types for 7 tokens") {
		t.Errorf("types mismatch: %v", err)
	}
	v = sampleVocab()
	v.BOS = 7
	if _, err := v.MarshalBinary(); err == nil || !strings.Contains(err.Error(), "BOS id 7 out of range") {
		t.Errorf("bad BOS: %v", err)
	}
}

func TestVocabUnmarshalErrors(t *testing.T) {
	good, err := sampleVocab().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	put := func(off int, x uint32) []byte {
		b := bytes.Clone(good)
		binary.LittleEndian.PutUint32(b[off:], x)
		return b
	}
	tokensOff := vocabHeader + 4 + len("gpt2") + 4 + len("qwen2")
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"magic", append([]byte("GGUF"), good[4:]...), "bad magic"},
		{"version", put(4, 2), "version 2"},
		{"flags", put(8, 4), "unknown flags"},
		{"eos range", put(16, 99), "EOS id 99 out of range"},
		{"negative id", put(12, 0xfffffffe), "BOS id -2 out of range"},
		{"huge token count", put(tokensOff, 0xffffffff), "tokens at byte"},
		{"string past end", put(tokensOff+4, 1<<20), "string of 1048576 bytes"},
		{"truncated", good[:len(good)-1], "merges"},
		{"trailing", append(bytes.Clone(good), 0), "1 trailing bytes"},
	} {
		var v Vocab
		v.Pre = "unchanged"
		err := v.UnmarshalBinary(tc.b)
		if err == nil || !errors.Is(err, ErrVocab) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
		if v.Pre != "unchanged" {
			t.Errorf("%s: receiver modified on error", tc.name)
		}
	}
}

func FuzzVocabUnmarshal(f *testing.F) {
	good, err := sampleVocab().MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:vocabHeader])
	f.Add([]byte("WVOC"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var v Vocab
		if err := v.UnmarshalBinary(b); err != nil {
			return
		}
		// Whatever decodes must encode back to the same bytes.
		out, err := v.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded vocab does not encode: %v", err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("re-encoding differs")
		}
	})
}
