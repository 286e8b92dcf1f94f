package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/wasmoe/wasmoe/internal/kernels"
)

// image assembles a file: the header length, the header bytes as given, the data.
func image(header string, data ...byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

// f32s is the little-endian bytes of v.
func f32s(v ...float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// encoded returns encode's output.
func encoded(t testing.TB, tensors []WriteTensor, metadata map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := encode(&buf, tensors, metadata); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The byte strings the Hugging Face library's own tests expect from its serializer (safetensors/src/
// tensor.rs: test_serialization, test_serialization_forced_alignement, test_empty).
func TestHuggingFaceBytes(t *testing.T) {
	data := []byte{0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64} // 0, 1, …, 5
	cases := []struct {
		name     string
		tensors  []WriteTensor
		metadata map[string]string
		want     []byte
	}{
		{"attn.0", []WriteTensor{{"attn.0", F32, []int{1, 2, 3}, data}}, nil,
			image(`{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}`, data...)},
		{"forced alignment", []WriteTensor{{"attn0", F32, []int{1, 1, 2, 3}, data}}, nil,
			image(`{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       `, data...)},
		{"empty", nil, nil, image(`{}      `)},
		{"empty with metadata", nil, map[string]string{"framework": "pt"}, image(`{"__metadata__":{"framework":"pt"}}     `)},
	}
	for _, c := range cases {
		if got := encoded(t, c.tensors, c.metadata); !bytes.Equal(got, c.want) {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
		if _, err := parse(c.name, c.want); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

// handBuilt is a file written by hand from the format's description: keys in no particular order, a gap
// in the data, a scalar, an empty tensor and trailing padding.
func handBuilt() []byte {
	header := `{"b":{"dtype":"BF16","shape":[3],"data_offsets":[8,14]},"__metadata__":{"format":"pt"},` +
		`"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"s":{"dtype":"I64","shape":[],"data_offsets":[16,24]},` +
		`"e":{"dtype":"F8_E4M3","shape":[2,0],"data_offsets":[14,14]}}   `
	return image(header,
		0, 0, 0xc0, 0x3f, 0, 0, 0x20, 0xc1, // a: 1.5, -10
		0x80, 0x3f, 0x49, 0x40, 0x00, 0xc0, // b: bf16 1, 3.140625, -2
		0, 0, // unused
		0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff) // s: -3
}

func TestHandBuilt(t *testing.T) {
	b := handBuilt()
	f, err := parse("hand.safetensors", b)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b", "e", "s"}; !reflect.DeepEqual(f.Names(), want) {
		t.Errorf("Names() = %v, want %v", f.Names(), want)
	}
	if !reflect.DeepEqual(f.Metadata, map[string]string{"format": "pt"}) {
		t.Errorf("Metadata = %v", f.Metadata)
	}
	if hdr := binary.LittleEndian.Uint64(b); f.DataStart != int64(8+hdr) {
		t.Errorf("DataStart = %d, want %d", f.DataStart, 8+hdr)
	}
	a, _ := f.Tensor("a")
	if a.DType != F32 || !reflect.DeepEqual(a.Shape, []int{2}) || !bytes.Equal(a.Data, f32s(1.5, -10)) || a.Path != "hand.safetensors" {
		t.Errorf("a = %+v", a)
	}
	bt, _ := f.Tensor("b")
	if bt.DType != BF16 || kernels.BF16ToF32(binary.LittleEndian.Uint16(bt.Data[2:])) != 3.140625 || len(bt.Data) != 6 {
		t.Errorf("b = %+v", bt)
	}
	s, _ := f.Tensor("s")
	if s.DType != I64 || len(s.Shape) != 0 || s.Elements() != 1 || int64(binary.LittleEndian.Uint64(s.Data)) != -3 {
		t.Errorf("s = %+v", s)
	}
	e, _ := f.Tensor("e")
	if e.DType != F8_E4M3 || e.Elements() != 0 || len(e.Data) != 0 {
		t.Errorf("e = %+v", e)
	}
	if _, ok := f.Tensor("__metadata__"); ok {
		t.Error("__metadata__ is not a tensor")
	}
}

func TestDTypes(t *testing.T) {
	sizes := map[string]int{"BOOL": 1, "U8": 1, "I8": 1, "I16": 2, "U16": 2, "I32": 4, "U32": 4, "I64": 8,
		"U64": 8, "F16": 2, "BF16": 2, "F32": 4, "F64": 8, "F8_E4M3": 1, "F8_E5M2": 1}
	n := 0
	for d := DType(0); d < 255; d++ {
		if !d.valid() {
			if d.Size() != 0 {
				t.Errorf("%v has size %d", d, d.Size())
			}
			continue
		}
		n++
		if want, ok := sizes[d.String()]; !ok || d.Size() != want {
			t.Errorf("%v: size %d, spec %d (%v)", d, d.Size(), want, ok)
		}
		if p, ok := parseDType(d.String()); !ok || p != d {
			t.Errorf("parseDType(%q) = %v, %v", d.String(), p, ok)
		}
	}
	if n != len(sizes) {
		t.Errorf("%d dtypes, the spec lists %d", n, len(sizes))
	}
}

// sample is a file of every dtype, in no particular order, with metadata.
func sample() ([]WriteTensor, map[string]string) {
	var ts []WriteTensor
	for d := BOOL; d <= U64; d++ {
		shape := []int{int(d)%3 + 1, 3}
		data := make([]byte, shape[0]*3*d.Size())
		for i := range data {
			data[i] = byte(int(d)*31 + i)
		}
		ts = append(ts, WriteTensor{fmt.Sprintf("t%02d.%v", (int(d)*7)%15, d), d, shape, data})
	}
	ts = append(ts, WriteTensor{"scalar", F64, nil, f32s(1, 2)}, WriteTensor{"empty", F16, []int{0, 5}, nil},
		WriteTensor{"<&>", U8, []int{1}, []byte{9}})
	return ts, map[string]string{"format": "pt", "note": "<é>"}
}

func TestRoundTrip(t *testing.T) {
	ts, meta := sample()
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := Write(path, ts, meta); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !reflect.DeepEqual(f.Metadata, meta) {
		t.Errorf("Metadata = %v", f.Metadata)
	}
	if f.DataStart%8 != 0 {
		t.Errorf("data section starts at %d", f.DataStart)
	}
	if len(f.Names()) != len(ts) {
		t.Errorf("%d names, want %d", len(f.Names()), len(ts))
	}
	// The Hugging Face layout: packed, by decreasing dtype then name, each tensor aligned to its element.
	order := slices.Clone(ts)
	slices.SortStableFunc(order, func(a, b WriteTensor) int {
		if a.DType != b.DType {
			return int(b.DType) - int(a.DType)
		}
		return strings.Compare(a.Name, b.Name)
	})
	next := f.DataStart
	for _, w := range order {
		g, ok := f.Tensor(w.Name)
		if !ok || g.DType != w.DType || !bytes.Equal(g.Data, w.Data) || g.Elements()*g.DType.Size() != len(w.Data) ||
			fmt.Sprint(g.Shape) != fmt.Sprint(w.Shape) || g.Path != path {
			t.Fatalf("%s: got %+v, want %+v", w.Name, g, w)
		}
		if len(g.Data) == 0 {
			continue
		}
		off := int64(uintptr(unsafe.Pointer(&g.Data[0])) - uintptr(unsafe.Pointer(&f.mapped[0])))
		if off != next || off%int64(g.DType.Size()) != 0 {
			t.Errorf("%s (%v) at file offset %d, want %d, aligned to %d", w.Name, g.DType, off, next, g.DType.Size())
		}
		next = off + int64(len(g.Data))
	}
	if st, _ := os.Stat(path); next != st.Size() {
		t.Errorf("data ends at %d, the file at %d", next, st.Size())
	}
}

// A DeepSeek-style FP8 weight and its block scales survive the trip, and the bytes decode as spec §6.1 says.
func TestF8Checkpoint(t *testing.T) {
	x := make([]float32, 300*200)
	for i := range x {
		x[i] = float32(math.Sin(float64(i))) * float32(1+i%7)
	}
	w := kernels.QuantizeF8(x, 300, 200)
	w.Data[0], w.Data[1], w.Data[2], w.Data[3] = 0x38, 0x40, 0x01, 0x7E
	path := filepath.Join(t.TempDir(), "fp8.safetensors")
	err := Write(path, []WriteTensor{
		{"model.layers.0.mlp.down_proj.weight", F8_E4M3, []int{300, 200}, w.Data},
		{"model.layers.0.mlp.down_proj.weight_scale_inv", F32, []int{3, 2}, f32s(w.Scale...)},
	}, map[string]string{"format": "pt"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	q, _ := f.Tensor("model.layers.0.mlp.down_proj.weight")
	s, _ := f.Tensor("model.layers.0.mlp.down_proj.weight_scale_inv")
	if q.DType != F8_E4M3 || !bytes.Equal(q.Data, w.Data) || s.DType != F32 || !bytes.Equal(s.Data, f32s(w.Scale...)) {
		t.Fatalf("weight %v %v, scale %v %v", q.DType, q.Shape, s.DType, s.Shape)
	}
	for i, want := range []float32{1, 2, 0x1p-9, 448} {
		if got := kernels.F8E4M3ToF32(q.Data[i]); got != want {
			t.Errorf("byte %#02x decodes to %v, want %v", q.Data[i], got, want)
		}
	}
}

func TestCorrupt(t *testing.T) {
	f32 := func(shape string, b, e int) string {
		return fmt.Sprintf(`{"dtype":"F32","shape":%s,"data_offsets":[%d,%d]}`, shape, b, e)
	}
	data := make([]byte, 16)
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"short", []byte{1, 0, 0}, "header length"},
		{"huge header", binary.LittleEndian.AppendUint64(nil, MaxHeader+1), "exceeds the limit"},
		{"header past the end", append(binary.LittleEndian.AppendUint64(nil, 100), "{}"...), "truncated"},
		{"not UTF-8", image("{\"\xff\":1}"), "UTF-8"},
		{"not an object", image(`[]`), `want "{"`},
		{"cut JSON", image(`{"a":`), "header"},
		{"bad JSON", image(`{"a" 1}`), "invalid JSON"},
		{"unknown dtype", image(`{"a":{"dtype":"F4","shape":[1],"data_offsets":[0,1]}}`, 0), `unknown dtype "F4"`},
		{"torch dtype name", image(`{"a":{"dtype":"float32","shape":[1],"data_offsets":[0,4]}}`, data...), `unknown dtype "float32"`},
		{"size mismatch", image(`{"a":`+f32("[2]", 0, 4)+`}`, data...), "needs 8"},
		{"past the data", image(`{"a":`+f32("[8]", 0, 32)+`}`, data...), "not within"},
		{"begin after end", image(`{"a":`+f32("[0]", 8, 4)+`}`, data...), "not within"},
		{"overlap", image(`{"a":`+f32("[2]", 0, 8)+`,"b":`+f32("[2]", 4, 12)+`}`, data...), "overlaps"},
		{"duplicate tensor", image(`{"a":`+f32("[1]", 0, 4)+`,"a":`+f32("[1]", 4, 8)+`}`, data...), `duplicate key "a"`},
		{"duplicate metadata", image(`{"__metadata__":{},"__metadata__":{}}`), "duplicate key"},
		{"duplicate metadata key", image(`{"__metadata__":{"k":"1","k":"2"}}`), `duplicate key "k"`},
		{"duplicate field", image(`{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, data...), `duplicate key "dtype"`},
		{"no shape", image(`{"a":{"dtype":"F32","data_offsets":[0,4]}}`, data...), "no shape"},
		{"no dtype", image(`{"a":{"shape":[1],"data_offsets":[0,4]}}`, data...), "no dtype"},
		{"no offsets", image(`{"a":{"dtype":"F32","shape":[1]}}`, data...), "no data_offsets"},
		{"negative dim", image(`{"a":`+f32("[-1]", 0, 4)+`}`, data...), "non-negative integer"},
		{"fractional dim", image(`{"a":`+f32("[1.0]", 0, 4)+`}`, data...), "non-negative integer"},
		{"dim too big", image(`{"a":`+f32("[99999999999999999999]", 0, 4)+`}`, data...), "non-negative integer"},
		{"shape overflow", image(`{"a":`+f32("[4294967296,4294967296,4]", 0, 4)+`}`, data...), "too large"},
		{"three offsets", image(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, data...), "want [begin, end]"},
		{"string shape", image(`{"a":{"dtype":"F32","shape":"1","data_offsets":[0,4]}}`, data...), `want "["`},
		{"entry not an object", image(`{"a":"F32"}`), `want "{"`},
		{"metadata not strings", image(`{"__metadata__":{"n":1}}`), "want a string"},
		{"metadata not a map", image(`{"__metadata__":"pt"}`), "want a map"},
		{"trailing data", image(`{} x`), "data after"},
		{"second object", image(`{}{}`), "data after"},
		{"trailing NUL", image("{}\x00"), "header"},
	}
	for _, c := range cases {
		_, err := parse("bad.safetensors", c.file)
		var fe *FormatError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "bad.safetensors") {
			t.Errorf("%s: err = %v, want a FormatError naming the file and saying %q", c.name, err, c.want)
		}
	}
	// Errors about a tensor name it, and point into the header.
	_, err := parse("x", image(`{"model.w":`+f32("[3]", 0, 8)+`}`, data...))
	var fe *FormatError
	if !errors.As(err, &fe) || !strings.Contains(fe.Field, `"model.w"`) || fe.Offset < 8 || fe.Offset > 8+20 {
		t.Errorf("err = %#v", err)
	}
	// Null metadata is allowed, as the Hugging Face library allows it.
	if f, err := parse("x", image(`{"__metadata__":null}`)); err != nil || f.Metadata != nil {
		t.Errorf("null metadata: %v, %v", f, err)
	}
}

// TestTruncated cuts a valid file at every length: each prefix must fail with a FormatError, never panic.
func TestTruncated(t *testing.T) {
	ts, meta := sample()
	b := encoded(t, ts, meta)
	for n := 0; n < len(b); n++ {
		_, err := parse("cut.safetensors", b[:n])
		var fe *FormatError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), "cut.safetensors") {
			t.Fatalf("prefix %d: err = %v, want a FormatError naming the file", n, err)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	for name, ts := range map[string][]WriteTensor{
		"short data":    {{"a", F32, []int{2}, make([]byte, 7)}},
		"duplicate":     {{"a", U8, []int{1}, []byte{1}}, {"a", U8, []int{1}, []byte{2}}},
		"metadata name": {{"__metadata__", U8, []int{1}, []byte{1}}},
		"bad dtype":     {{"a", DType(0), []int{1}, []byte{1}}},
		"negative dim":  {{"a", U8, []int{-1}, nil}},
	} {
		path := filepath.Join(dir, "x.safetensors")
		if err := Write(path, ts, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
		if _, err := os.Stat(path); err == nil {
			t.Errorf("%s: a partial file was left behind", name)
		}
	}
}

// shard writes tensors named names (one U8 value each, plus the name's length in F32) into dir/file.
func shard(t *testing.T, dir, file string, names ...string) {
	t.Helper()
	var ts []WriteTensor
	for _, n := range names {
		ts = append(ts, WriteTensor{n, F32, []int{1}, f32s(float32(len(n)))})
	}
	if err := Write(filepath.Join(dir, file), ts, nil); err != nil {
		t.Fatal(err)
	}
}

func TestOpenDirSharded(t *testing.T) {
	dir := t.TempDir()
	const s1, s2 = "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"
	shard(t, dir, s1, "a", "bb")
	shard(t, dir, s2, "ccc", "d", "unlisted")
	if err := WriteIndex(dir, map[string]string{"a": s1, "bb": s1, "ccc": s2, "d": s2}); err != nil {
		t.Fatal(err)
	}
	idx, _ := os.ReadFile(filepath.Join(dir, IndexName))
	want := `{
  "metadata": {
    "total_size": 16
  },
  "weight_map": {
    "a": "model-00001-of-00002.safetensors",
    "bb": "model-00001-of-00002.safetensors",
    "ccc": "model-00002-of-00002.safetensors",
    "d": "model-00002-of-00002.safetensors"
  }
}
`
	if string(idx) != want {
		t.Errorf("index:\n%s\nwant:\n%s", idx, want)
	}
	s, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if len(s.Files) != 2 || !reflect.DeepEqual(s.Names(), []string{"a", "bb", "ccc", "d"}) {
		t.Fatalf("%d files, names %v", len(s.Files), s.Names())
	}
	c, ok := s.Tensor("ccc")
	if !ok || !bytes.Equal(c.Data, f32s(3)) || filepath.Base(c.Path) != s2 {
		t.Errorf("ccc = %+v", c)
	}
	if _, ok := s.Tensor("unlisted"); ok {
		t.Error("a tensor the index does not list is in the set")
	}
	// A bare index (as transformers writes it, extra keys allowed) opens too.
	os.WriteFile(filepath.Join(dir, IndexName), []byte(`{"metadata":{"total_size":16,"x":[1]},"weight_map":{"d":"`+s2+`"}}`), 0o644)
	s3, err := OpenDir(dir)
	if err != nil || len(s3.Files) != 1 || len(s3.Names()) != 1 {
		t.Fatalf("%v, %+v", err, s3)
	}
	s3.Close()
}

func TestOpenDirErrors(t *testing.T) {
	const s1 = "model-00001-of-00001.safetensors"
	for _, c := range []struct {
		name, index, want string
	}{
		{"missing tensor", `{"weight_map":{"a":"` + s1 + `","zz":"` + s1 + `"}}`, `model-00001-of-00001.safetensors: tensor "zz"`},
		{"missing shard", `{"weight_map":{"a":"model-00009.safetensors"}}`, "model-00009.safetensors"},
		{"escape", `{"weight_map":{"a":"../` + s1 + `"}}`, "not a file name"},
		{"duplicate", `{"weight_map":{"a":"` + s1 + `","a":"` + s1 + `"}}`, `duplicate key "a"`},
		{"no weight_map", `{"metadata":{}}`, "weight_map"},
		{"not JSON", `{"weight_map":`, IndexName},
	} {
		dir := t.TempDir()
		shard(t, dir, s1, "a")
		os.WriteFile(filepath.Join(dir, IndexName), []byte(c.index), 0o644)
		if s, err := OpenDir(dir); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one saying %q", c.name, err, c.want)
			if s != nil {
				s.Close()
			}
		}
	}
	if err := WriteIndex(t.TempDir(), map[string]string{"a": "nope.safetensors"}); err == nil {
		t.Error("WriteIndex of a missing shard gave no error")
	}
}

func TestOpenDirSingle(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenDir(dir); err == nil || !strings.Contains(err.Error(), "0 other") {
		t.Errorf("empty dir: %v", err)
	}
	shard(t, dir, "weights.safetensors", "a") // the only .safetensors file
	s, err := OpenDir(dir)
	if err != nil || !reflect.DeepEqual(s.Names(), []string{"a"}) {
		t.Fatalf("one file: %v", err)
	}
	s.Close()
	shard(t, dir, "other.safetensors", "b")
	if _, err := OpenDir(dir); err == nil || !strings.Contains(err.Error(), "2 other") {
		t.Errorf("two files: %v", err)
	}
	shard(t, dir, SingleName, "c") // model.safetensors wins, even over an index
	os.WriteFile(filepath.Join(dir, IndexName), []byte(`{"weight_map":{"b":"other.safetensors"}}`), 0o644)
	s, err = OpenDir(dir)
	if err != nil || !reflect.DeepEqual(s.Names(), []string{"c"}) || len(s.Files) != 1 {
		t.Fatalf("model.safetensors: %v", err)
	}
	s.Close()
	if _, err := Open(dir); err == nil {
		t.Error("Open of a directory gave no error")
	}
	os.WriteFile(filepath.Join(dir, "tiny.safetensors"), []byte{1, 2}, 0o644)
	if _, err := Open(filepath.Join(dir, "tiny.safetensors")); err == nil || !strings.Contains(err.Error(), "too short") {
		t.Errorf("2-byte file: %v", err)
	}
}

// FuzzOpen parses arbitrary bytes (Open is this after mmap): a file either fails with a FormatError or
// yields tensors whose views are exactly their size and which write back to a file that parses the same.
func FuzzOpen(f *testing.F) {
	ts, meta := sample()
	f.Add(encoded(f, ts, meta))
	f.Add(handBuilt())
	f.Add(image(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}`, 1, 2, 3, 4))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := parse("fuzz.safetensors", data)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a FormatError", err)
			}
			return
		}
		var back []WriteTensor
		for _, n := range file.Names() {
			tn, _ := file.Tensor(n)
			if len(tn.Data) != tn.Elements()*tn.DType.Size() {
				t.Fatalf("%s: %d bytes for %v of %v", n, len(tn.Data), tn.Shape, tn.DType)
			}
			back = append(back, WriteTensor{tn.Name, tn.DType, tn.Shape, tn.Data})
		}
		again, err := parse("again", encoded(t, back, file.Metadata))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(again.Names(), file.Names()) || (len(file.Metadata) > 0 && !reflect.DeepEqual(again.Metadata, file.Metadata)) {
			t.Fatalf("round trip: names %v / %v, metadata %v / %v", again.Names(), file.Names(), again.Metadata, file.Metadata)
		}
		for _, n := range file.Names() {
			a, _ := again.Tensor(n)
			b, _ := file.Tensor(n)
			if a.DType != b.DType || fmt.Sprint(a.Shape) != fmt.Sprint(b.Shape) || !bytes.Equal(a.Data, b.Data) {
				t.Fatalf("round trip of %q: %+v, was %+v", n, a, b)
			}
		}
	})
}
