package greedy

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/guest/sdk"
)

// refEncode is the longest-match spelling by brute force: at each position the longest token of one of
// types whose bytes come next (a normal token first, then the lowest id, among equals).
func refEncode(t *sdk.TokenTable, types []int32, text []byte) ([]int32, bool) {
	var out []int32
	for len(text) > 0 {
		best := -1
		for id, b := range t.Tokens {
			ty := abi.TokenNormal
			if id < len(t.Types) {
				ty = int32(t.Types[id])
			}
			if len(b) == 0 || !bytes.HasPrefix(text, b) || !slices.Contains(types, ty) {
				continue
			}
			bestNormal := best >= len(t.Types) || best >= 0 && int32(t.Types[best]) == abi.TokenNormal
			if best < 0 || len(b) > len(t.Tokens[best]) || len(b) == len(t.Tokens[best]) && ty == abi.TokenNormal && !bestNormal {
				best = id
			}
		}
		if best < 0 {
			return nil, false
		}
		out = append(out, int32(best))
		text = text[len(t.Tokens[best]):]
	}
	return out, true
}

func TestEncode(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 300 {
		n := 1 + r.IntN(60)
		tt := &sdk.TokenTable{Tokens: make([][]byte, n), Types: make([]uint8, max(0, n-r.IntN(3)))} // ids past Types are normal
		for i := range tt.Tokens {
			tt.Tokens[i] = make([]byte, r.IntN(5))
			for j := range tt.Tokens[i] {
				tt.Tokens[i][j] = "abc"[r.IntN(3)]
			}
		}
		for i := range tt.Types {
			tt.Types[i] = uint8(r.IntN(7))
		}
		var types []int32
		for ty := range int32(7) {
			if r.IntN(2) == 0 {
				types = append(types, ty)
			}
		}
		e := New(tt, types...)
		for range 20 {
			text := make([]byte, r.IntN(12))
			for j := range text {
				text[j] = "abc"[r.IntN(3)]
			}
			got, err := e.Encode(text)
			want, ok := refEncode(tt, types, text)
			if ok != (err == nil) || ok && !slices.Equal(got, want) {
				t.Fatalf("encode %q over types %v: %v %v, want %v (ok %v)\ntokens %q types %v", text, types, got, err, want, ok, tt.Tokens, tt.Types)
			}
			if err != nil && !errors.Is(err, sdk.ErrBadInput) {
				t.Fatalf("encode %q: %v, want ErrBadInput", text, err)
			}
			var spelled []byte
			for _, id := range got {
				spelled = append(spelled, tt.Tokens[id]...)
			}
			if ok && !bytes.Equal(spelled, text) {
				t.Fatalf("encode %q spells %q", text, spelled)
			}
		}
	}
}

func TestEncodeTypes(t *testing.T) {
	// "ab" is user-defined, "a" normal, "b" a byte token, "a" again as a byte token.
	tt := &sdk.TokenTable{Tokens: [][]byte{[]byte("ab"), []byte("a"), []byte("b"), []byte("a")},
		Types: []uint8{uint8(abi.TokenUserDefined), uint8(abi.TokenNormal), uint8(abi.TokenByte), uint8(abi.TokenByte)}}
	normal, user, byt := abi.TokenNormal, abi.TokenUserDefined, abi.TokenByte
	for _, c := range []struct {
		types []int32
		want  []int32
	}{
		{[]int32{normal, byt}, []int32{1, 2}},
		{[]int32{normal, user, byt}, []int32{0}},
		{[]int32{byt}, []int32{3, 2}},
	} {
		got, err := New(tt, c.types...).Encode([]byte("ab"))
		if err != nil || !slices.Equal(got, c.want) {
			t.Fatalf("types %v: %v %v, want %v", c.types, got, err, c.want)
		}
	}
	if _, err := New(tt, normal).Encode([]byte("ab")); !errors.Is(err, sdk.ErrBadInput) {
		t.Fatalf("b with normal tokens only: %v", err)
	}
}
