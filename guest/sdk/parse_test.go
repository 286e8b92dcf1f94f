package sdk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// record builds a model_info record field by field, as guest/abi/v1.go lays it out.
func record(fields ...int32) []byte {
	var b []byte
	for _, f := range fields {
		b = binary.LittleEndian.AppendUint32(b, uint32(f))
	}
	return b
}

func TestParseModelInfo(t *testing.T) {
	b := record(1, 151936, 151669, 4096, -1, 151643, 151645, 151667, 151668, 16, 4096, 65536)
	got, err := ParseModelInfo(b)
	if err != nil {
		t.Fatal(err)
	}
	want := ModelInfo{ABIVersion: 1, NLogits: 151936, NTokens: 151669, NCtx: 4096, BOS: -1, EOS: 151643,
		EOT: 151645, ThinkOpen: 151667, ThinkClose: 151668, MaxForks: 16, MaxSplice: 4096, MaxBias: 65536}
	if got != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if MaskWords(got.NLogits) != 4748 || MaskWords(32) != 1 || MaskWords(33) != 2 || MaskWords(0) != 0 {
		t.Fatal("MaskWords is not ceil(n/32)")
	}
	bad := map[string][]byte{
		"short":          b[:abi.ModelInfoSize-1],
		"negative count": record(1, 10, 10, -5, -1, -1, -1, -1, -1, 1, 1, 1),
		"tokens>logits":  record(1, 10, 11, 1, -1, -1, -1, -1, -1, 1, 1, 1),
		"id too big":     record(1, 10, 10, 1, -1, 10, -1, -1, -1, 1, 1, 1),
		"id below -1":    record(1, 10, 10, 1, -2, -1, -1, -1, -1, 1, 1, 1),
	}
	for name, b := range bad {
		if _, err := ParseModelInfo(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// table builds a TokenTable blob as guest/abi/v1.go lays it out.
func table(tokens [][]byte, types []uint8) []byte {
	b := binary.LittleEndian.AppendUint32([]byte("WTOK"), uint32(len(tokens)))
	off := 0
	b = binary.LittleEndian.AppendUint32(b, 0)
	for _, t := range tokens {
		off += len(t)
		b = binary.LittleEndian.AppendUint32(b, uint32(off))
	}
	b = append(b, types...)
	for _, t := range tokens {
		b = append(b, t...)
	}
	return b
}

func TestParseTokenTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100 {
		n := rng.IntN(50)
		tokens, types := make([][]byte, n), make([]uint8, n)
		for i := range tokens {
			tokens[i] = make([]byte, rng.IntN(6))
			for j := range tokens[i] {
				tokens[i][j] = byte(rng.IntN(256))
			}
			types[i] = uint8(rng.IntN(7))
		}
		tt, err := ParseTokenTable(table(tokens, types))
		if err != nil {
			t.Fatal(err)
		}
		if len(tt.Tokens) != n || !bytes.Equal(tt.Types, types) {
			t.Fatalf("%d tokens, types %v; want %d, %v", len(tt.Tokens), tt.Types, n, types)
		}
		for i := range tokens {
			if !bytes.Equal(tt.Tokens[i], tokens[i]) {
				t.Fatalf("token %d = %q, want %q", i, tt.Tokens[i], tokens[i])
			}
			if cap(tt.Tokens[i]) != len(tt.Tokens[i]) {
				t.Fatalf("token %d can grow into its neighbour", i)
			}
		}
	}
	good := table([][]byte{[]byte("ab"), []byte("c")}, []uint8{1, 3})
	corrupt := func(off int, v uint32) []byte {
		b := bytes.Clone(good)
		binary.LittleEndian.PutUint32(b[off:], v)
		return b
	}
	bad := map[string][]byte{
		"magic":             append([]byte("WTOX"), good[4:]...),
		"short":             good[:7],
		"count too big":     corrupt(4, 1000),
		"offset decreasing": corrupt(16, 1),
		"offset past end":   corrupt(16, 4),
	}
	for name, b := range bad {
		if _, err := ParseTokenTable(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzParseTokenTable(f *testing.F) {
	f.Add(table([][]byte{[]byte("ab"), {}, []byte("c")}, []uint8{1, 3, 1}))
	f.Fuzz(func(t *testing.T, b []byte) {
		tt, err := ParseTokenTable(b)
		if err != nil {
			return
		}
		if len(tt.Types) != len(tt.Tokens) {
			t.Fatalf("%d types for %d tokens", len(tt.Types), len(tt.Tokens))
		}
	})
}

func TestFetch(t *testing.T) {
	answer := bytes.Repeat([]byte("x"), 1000)
	calls := 0
	host := func(buf []byte) int32 { // the host's (ptr, cap) -> len protocol
		calls++
		if len(answer) <= len(buf) {
			copy(buf, answer)
		}
		return int32(len(answer))
	}
	for _, guess := range []int{0, 10, 1000, 5000} {
		calls = 0
		got, err := fetch("config", guess, host)
		if err != nil || !bytes.Equal(got, answer) {
			t.Fatalf("guess %d: %d bytes, %v", guess, len(got), err)
		}
		if want := map[bool]int{true: 1, false: 2}[guess >= len(answer)]; calls != want {
			t.Fatalf("guess %d: %d calls, want %d", guess, calls, want)
		}
	}
	_, err := fetch("vocab", 0, func([]byte) int32 { return abi.ErrNotReady })
	if !errors.Is(err, ErrNotReady) || StatusOf(err) != abi.ErrNotReady {
		t.Fatalf("error %v, want ErrNotReady", err)
	}
	growing := 0
	_, err = fetch("config", 0, func(buf []byte) int32 { growing += 10; return int32(len(buf) + growing) })
	if StatusOf(err) != abi.ErrInternal {
		t.Fatalf("a host whose answer keeps growing: %v", err)
	}
}

func TestStatusOf(t *testing.T) {
	cases := []struct {
		err  error
		want int32
	}{
		{nil, abi.OK},
		{ErrLimit, abi.ErrLimit},
		{errors.Join(errors.New("x"), ErrBadInput), abi.ErrBadInput},
		{errors.New("plain"), abi.ErrInternal},
		{Status(3), abi.ErrInternal},
	}
	for _, c := range cases {
		if got := StatusOf(c.err); got != c.want {
			t.Errorf("StatusOf(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}
