package gguf

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/kernels"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// sample builds a file holding one value of every type and two tensors.
func sample(t testing.TB) (*Writer, []byte) {
	t.Helper()
	w := NewWriter()
	vals := []struct {
		k string
		v any
	}{
		{"u8", uint8(7)}, {"i8", int8(-7)}, {"u16", uint16(700)}, {"i16", int16(-700)},
		{"u32", uint32(70000)}, {"i32", int32(-70000)}, {"f32", float32(1.5)}, {"b", true},
		{"s", "héllo"}, {"u64", uint64(1 << 40)}, {"i64", int64(-1 << 40)}, {"f64", 2.25},
		{"as", []string{"a", "", "ccc"}}, {"ai32", []int32{1, -2, 3}}, {"af32", []float32{0.5, -1}},
		{"au8", []uint8{1, 2}}, {"ab", []bool{true, false}},
	}
	for _, kv := range vals {
		if err := w.Set(kv.k, kv.v); err != nil {
			t.Fatal(err)
		}
	}
	f32 := make([]byte, 4*3*2)
	for i := range f32 {
		f32[i] = byte(i)
	}
	if err := w.AddTensor("a", kernels.F32, []uint64{3, 2}, f32); err != nil {
		t.Fatal(err)
	}
	q := make([]byte, 34*2)
	q[5] = 9
	if err := w.AddTensor("b.weight", kernels.Q8_0, []uint64{64}, q); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return w, buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	w, b := sample(t)
	f, err := Parse("mem", b)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.KV) != len(w.kv) {
		t.Fatalf("got %d keys, want %d", len(f.KV), len(w.kv))
	}
	for i, kv := range w.kv {
		got := f.KV[i]
		if got.Key != kv.Key || got.Value.Type != kv.Value.Type || got.Value.Elem != kv.Value.Elem || !reflect.DeepEqual(got.Value.V, kv.Value.V) {
			t.Errorf("key %d: got %+v, want %+v", i, got, kv)
		}
	}
	if n, ok := f.Int("i16"); !ok || n != -700 {
		t.Errorf("Int(i16) = %d, %v", n, ok)
	}
	if _, ok := f.Uint("i16"); ok {
		t.Error("Uint of a negative value must fail")
	}
	if s, _ := f.Ints("ai32"); !reflect.DeepEqual(s, []int64{1, -2, 3}) {
		t.Errorf("Ints = %v", s)
	}
	a, ok := f.Tensor("a")
	if !ok || a.Type != kernels.F32 || !reflect.DeepEqual(a.Dims, []uint64{3, 2}) || a.Data[23] != 23 || len(a.Data) != 24 {
		t.Fatalf("tensor a = %+v", a)
	}
	bt, _ := f.Tensor("b.weight")
	if bt.Offset%DefaultAlignment != 0 || bt.Data[5] != 9 || len(bt.Data) != 68 {
		t.Fatalf("tensor b = off %d len %d", bt.Offset, len(bt.Data))
	}
	if f.DataStart%DefaultAlignment != 0 {
		t.Errorf("data section at %d is not aligned", f.DataStart)
	}
}

// TestTruncated cuts a valid file at every length: each prefix must fail with a FormatError, never panic.
func TestTruncated(t *testing.T) {
	_, b := sample(t)
	for n := 0; n < len(b); n++ {
		_, err := Parse("cut.gguf", b[:n])
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Fatalf("prefix %d: err = %v, want a FormatError", n, err)
		}
		if !strings.Contains(err.Error(), "cut.gguf") {
			t.Fatalf("prefix %d: error does not name the file: %v", n, err)
		}
	}
}

func TestCorrupt(t *testing.T) {
	_, good := sample(t)
	cases := map[string]func(b []byte){
		"magic":   func(b []byte) { b[0] = 'X' },
		"version": func(b []byte) { b[4] = 1 },
		"kv_count": func(b []byte) {
			for i := 16; i < 24; i++ {
				b[i] = 0xFF
			}
		},
	}
	for name, mutate := range cases {
		b := append([]byte(nil), good...)
		mutate(b)
		_, err := Parse("bad.gguf", b)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: err = %v, want one naming the field", name, err)
		}
	}
}

// TestLlamaCppVocab reads a vocab file written by llama.cpp's own converter and checks facts the spec
// (§8.3) records for it.
func TestLlamaCppVocab(t *testing.T) {
	path := testutil.Vocab(t, "ggml-vocab-deepseek-llm.gguf")
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if pre, _ := f.String("tokenizer.ggml.pre"); pre != "deepseek-llm" {
		t.Errorf("pre = %q", pre)
	}
	toks, _ := f.Strings("tokenizer.ggml.tokens")
	if len(toks) != 102400 {
		t.Errorf("%d tokens, want 102400", len(toks))
	}
	if bos, _ := f.Uint("tokenizer.ggml.bos_token_id"); bos != 100000 || toks[bos] != "<｜begin▁of▁sentence｜>" {
		t.Errorf("bos = %d %q", bos, toks[bos])
	}
	if eos, _ := f.Uint("tokenizer.ggml.eos_token_id"); eos != 100001 {
		t.Errorf("eos = %d", eos)
	}
}

func FuzzParse(f *testing.F) {
	_, b := sample(f)
	f.Add(b)
	f.Add(b[:40])
	// A tensor with a zero dimension holds no bytes; gguf.cpp accepts it (only ne < 0 is refused).
	// Our Writer refuses one, so the seed is a 1×4 tensor whose ne[0] is then patched to 0.
	empty := NewWriter()
	if err := empty.AddTensor("e", kernels.F32, []uint64{1, 4}, make([]byte, 16)); err != nil {
		f.Fatal(err)
	}
	var eb bytes.Buffer
	if _, err := empty.WriteTo(&eb); err != nil {
		f.Fatal(err)
	}
	info := []byte{'e', 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}
	at := bytes.Index(eb.Bytes(), info)
	if at < 0 {
		f.Fatal("tensor info of the seed not found")
	}
	zero := bytes.Clone(eb.Bytes())
	zero[at+5] = 0
	if file, err := Parse("zero.gguf", zero); err != nil || len(file.Tensors[0].Data) != 0 {
		f.Fatalf("a tensor with ne[0]=0: err %v", err)
	}
	f.Add(zero)
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("fuzz.gguf", data)
		if err != nil {
			return
		}
		for _, tn := range file.Tensors {
			want := tn.Elements() / uint64(tn.Type.BlockSize()) * uint64(tn.Type.TypeSize())
			if uint64(len(tn.Data)) != want || cap(tn.Data) != len(tn.Data) {
				t.Fatalf("tensor %q %v %s: len %d cap %d, want %d", tn.Name, tn.Dims, tn.Type, len(tn.Data), cap(tn.Data), want)
			}
			if end := file.DataStart + int64(tn.Offset) + int64(want); end > int64(len(data)) {
				t.Fatalf("tensor %q ends at %d, past the file's %d bytes", tn.Name, end, len(data))
			}
		}
	})
}
