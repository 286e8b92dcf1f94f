package gguf

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/wasmoe/wasmoe/internal/kernels"
)

// The split fixture (regenerate with tools/ggmlvectors/split.sh): tiny.gguf, a 27-tensor model written by
// `wasmoe mkmodel`, and the three parts llama.cpp's llama-gguf-split --split-max-tensors 10 cut it into.
const (
	splitDir   = "testdata/split"
	splitWhole = "tiny.gguf"
	splitCount = 3
)

// splitNames are the fixture's part names, first part first.
var splitNames = []string{"tiny-00001-of-00003.gguf", "tiny-00002-of-00003.gguf", "tiny-00003-of-00003.gguf"}

// gunzipFixture returns the bytes of testdata/split/NAME.gz.
func gunzipFixture(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(splitDir, name+".gz"))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// splitFiles unpacks the whole model and its parts into a fresh directory, after edit (if not nil) has
// changed the parts' bytes (indexed as splitNames), and returns the directory.
func splitFiles(t *testing.T, edit func(parts [][]byte)) string {
	t.Helper()
	dir := t.TempDir()
	parts := make([][]byte, splitCount)
	for i, n := range splitNames {
		parts[i] = gunzipFixture(t, n)
	}
	if edit != nil {
		edit(parts)
	}
	for i, n := range splitNames {
		if parts[i] == nil {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, n), parts[i], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, splitWhole), gunzipFixture(t, splitWhole), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestSplitMatchesWhole opens the split model by each of its parts and checks it against the unsplit file:
// the same metadata (plus the split keys), the same tensors in the same order, byte for byte.
func TestSplitMatchesWhole(t *testing.T) {
	dir := splitFiles(t, nil)
	whole, err := Open(filepath.Join(dir, splitWhole))
	if err != nil {
		t.Fatal(err)
	}
	defer whole.Close()
	if whole.Parts != nil {
		t.Errorf("a single file has Parts %v", whole.Parts)
	}
	wantParts := make([]string, splitCount)
	for i, n := range splitNames {
		wantParts[i] = filepath.Join(dir, n)
	}
	for _, given := range wantParts {
		f, err := Open(given)
		if err != nil {
			t.Fatalf("%s: %v", given, err)
		}
		if f.Path != wantParts[0] || !reflect.DeepEqual(f.Parts, wantParts) {
			t.Errorf("opened by %s: Path %s, Parts %v", given, f.Path, f.Parts)
		}
		for _, kv := range whole.KV {
			if v, ok := f.Value(kv.Key); !ok || !reflect.DeepEqual(v, kv.Value) {
				t.Errorf("metadata %q = %+v, want %+v", kv.Key, v, kv.Value)
			}
		}
		if n, _ := f.Uint(KeySplitCount); n != splitCount || len(f.KV) != len(whole.KV)+3 {
			t.Errorf("split.count %d, %d keys (want %d)", n, len(f.KV), len(whole.KV)+3)
		}
		if len(f.Tensors) != len(whole.Tensors) {
			t.Fatalf("%d tensors, want %d", len(f.Tensors), len(whole.Tensors))
		}
		for i, w := range whole.Tensors {
			g := f.Tensors[i]
			if g.Name != w.Name || g.Type != w.Type || !reflect.DeepEqual(g.Dims, w.Dims) || !bytes.Equal(g.Data, w.Data) {
				t.Errorf("tensor %d: got %s %s %v (%d bytes), want %s %s %v (%d bytes)",
					i, g.Name, g.Type, g.Dims, len(g.Data), w.Name, w.Type, w.Dims, len(w.Data))
			}
			// llama-gguf-split --split-max-tensors 10 put tensors 0-9 in part 1, 10-19 in part 2, the rest in 3.
			if g.Part != i/10 {
				t.Errorf("tensor %s in part %d, want %d", g.Name, g.Part, i/10)
			}
			if p, _ := f.Tensor(w.Name); p != &f.Tensors[i] {
				t.Errorf("Tensor(%q) does not find tensor %d", w.Name, i)
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// findValue returns the offset of the value of key in a GGUF header, after checking its type tag is vt.
func findValue(t *testing.T, b []byte, key string, vt ValueType) int {
	t.Helper()
	enc := binary.LittleEndian.AppendUint64(nil, uint64(len(key)))
	enc = append(enc, key...)
	i := bytes.Index(b, enc)
	if i < 0 {
		t.Fatalf("key %q not found", key)
	}
	i += len(enc)
	if got := ValueType(binary.LittleEndian.Uint32(b[i:])); got != vt {
		t.Fatalf("key %q has type %s, want %s", key, got, vt)
	}
	return i + 4
}

// renameTensor changes the first tensor name old in a GGUF header to new, of the same length.
func renameTensor(t *testing.T, b []byte, old, new string) {
	t.Helper()
	i := bytes.Index(b, []byte(old))
	if i < 0 || len(old) != len(new) {
		t.Fatalf("cannot rename %q to %q", old, new)
	}
	copy(b[i:], new)
}

// TestSplitErrors breaks the fixture in the ways a split model can be broken; each must fail with an error
// that says what is wrong and names the file at fault.
func TestSplitErrors(t *testing.T) {
	cases := []struct {
		name  string
		open  string // the part given to Open
		edit  func(t *testing.T, parts [][]byte)
		after func(t *testing.T, dir string) // file-system changes once the parts are written
		want  []string
	}{
		{name: "missing part", open: splitNames[0],
			edit: func(t *testing.T, p [][]byte) { p[2] = nil },
			want: []string{"part 3, ", splitNames[2], "is missing"}},
		{name: "missing part given another", open: splitNames[2],
			edit: func(t *testing.T, p [][]byte) { p[0] = nil },
			want: []string{"part 1, ", splitNames[0], "is missing"}},
		{name: "wrong split.count", open: splitNames[0],
			edit: func(t *testing.T, p [][]byte) {
				binary.LittleEndian.PutUint16(p[1][findValue(t, p[1], KeySplitCount, TypeUint16):], 4)
			},
			want: []string{splitNames[1], "split.count 4", "3 parts"}},
		{name: "split.no out of range", open: splitNames[0],
			edit: func(t *testing.T, p [][]byte) {
				binary.LittleEndian.PutUint16(p[2][findValue(t, p[2], KeySplitNo, TypeUint16):], 3)
			},
			want: []string{splitNames[2], "split.no", "below split.count 3"}},
		{name: "tensor count", open: splitNames[1],
			edit: func(t *testing.T, p [][]byte) {
				binary.LittleEndian.PutUint32(p[0][findValue(t, p[0], KeySplitTensors, TypeInt32):], 28)
			},
			want: []string{splitNames[0], "split.tensors.count 28", "hold 27 tensors"}},
		{name: "duplicate tensor", open: splitNames[0],
			edit: func(t *testing.T, p [][]byte) {
				renameTensor(t, p[2], "blk.1.ffn_down.weight", "blk.0.ffn_down.weight")
			},
			want: []string{`"blk.0.ffn_down.weight"`, splitNames[1], splitNames[2]}},
		{name: "truncated part", open: splitNames[0],
			edit: func(t *testing.T, p [][]byte) { p[1] = p[1][:len(p[1])-100] },
			want: []string{splitNames[1], "truncated"}},
		{name: "parts swapped", open: splitNames[0],
			edit: func(t *testing.T, p [][]byte) { p[1], p[2] = p[2], p[1] },
			want: []string{splitNames[1], "holds part 3", "renamed"}},
		{name: "given part renamed", open: "tiny.part1.gguf",
			after: func(t *testing.T, dir string) {
				if err := os.Rename(filepath.Join(dir, splitNames[0]), filepath.Join(dir, "tiny.part1.gguf")); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{"tiny.part1.gguf", "part 1 of a 3-part", `"-00001-of-00003.gguf"`}},
		{name: "given part's name says another part", open: "tiny-00002-of-00003.gguf",
			edit: func(t *testing.T, p [][]byte) { p[0], p[1] = p[1], p[0] },
			want: []string{"tiny-00002-of-00003.gguf", "part 1 of a 3-part", `"-00001-of-00003.gguf"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var edit func([][]byte)
			if c.edit != nil {
				edit = func(p [][]byte) { c.edit(t, p) }
			}
			dir := splitFiles(t, edit)
			if c.after != nil {
				c.after(t, dir)
			}
			f, err := Open(filepath.Join(dir, c.open))
			if err == nil {
				f.Close()
				t.Fatal("opened a broken split model")
			}
			t.Log(err)
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestSplitParseRefused: Parse holds one file in memory and cannot find a split model's other parts.
func TestSplitParseRefused(t *testing.T) {
	_, err := Parse("tiny-00002-of-00003.gguf", gunzipFixture(t, splitNames[1]))
	if err == nil || !strings.Contains(err.Error(), "part 2 of a 3-part split model") {
		t.Fatalf("err = %v, want a refusal naming the part", err)
	}
}

// TestSplitNames checks the names against llama.cpp's llama_split_path and llama_split_prefix.
func TestSplitNames(t *testing.T) {
	if got := SplitPath("dir/m", 1, 3); got != "dir/m-00002-of-00003.gguf" {
		t.Errorf("SplitPath = %q", got)
	}
	for _, c := range []struct {
		path      string
		no, count int
		prefix    string
		ok        bool
	}{
		{"dir/m-00002-of-00003.gguf", 1, 3, "dir/m", true},
		{"dir/m-00002-of-00003.gguf", 0, 3, "", false},
		{"dir/m-00002-of-00003.gguf", 1, 4, "", false},
		{"-00001-of-00002.gguf", 0, 2, "", false}, // llama.cpp wants a non-empty prefix
		{"m.gguf", 0, 2, "", false},
	} {
		if p, ok := SplitPrefix(c.path, c.no, c.count); p != c.prefix || ok != c.ok {
			t.Errorf("SplitPrefix(%q, %d, %d) = %q, %v", c.path, c.no, c.count, p, ok)
		}
	}
}

// smallSplit writes a 3-part split model in memory the way llama-gguf-split lays one out (metadata in the
// first part, the split keys in each, one small tensor a part): small seeds keep the fuzzer fast.
func smallSplit(t testing.TB) [][]byte {
	t.Helper()
	out := make([][]byte, splitCount)
	for i := range out {
		w := NewWriter()
		if i == 0 {
			w.Set("general.architecture", "qwen2")
		}
		w.Set(KeySplitNo, uint16(i))
		w.Set(KeySplitCount, uint16(splitCount))
		w.Set(KeySplitTensors, int32(splitCount))
		if err := w.AddTensor(fmt.Sprintf("t%d", i), kernels.F32, []uint64{2}, make([]byte, 8)); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := w.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		out[i] = buf.Bytes()
	}
	return out
}

// FuzzSplit assembles three parts parsed from memory, so the split checks are fuzzed without files: the
// result, if any, must hold split.tensors.count distinct tensors, each a view inside its own part.
func FuzzSplit(f *testing.F) {
	parts := smallSplit(f)
	f.Add(parts[0], parts[1], parts[2])
	f.Add(parts[0], parts[2], parts[1])
	f.Fuzz(func(t *testing.T, a, b, c []byte) {
		bufs := [][]byte{a, b, c}
		ps := make([]*File, len(bufs))
		for i, buf := range bufs {
			p, err := parse(splitNames[i], buf)
			if err != nil {
				return
			}
			ps[i] = p
		}
		m, err := assemble(ps, 0)
		if err != nil {
			return
		}
		total, _ := m.Int(KeySplitTensors)
		if int64(len(m.Tensors)) != total || len(m.tensors) != len(m.Tensors) {
			t.Fatalf("%d tensors, %d names, split.tensors.count %d", len(m.Tensors), len(m.tensors), total)
		}
		for _, tn := range m.Tensors {
			if len(tn.Data) == 0 {
				continue
			}
			buf := bufs[tn.Part]
			lo := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
			p := uintptr(unsafe.Pointer(unsafe.SliceData(tn.Data)))
			if p < lo || p+uintptr(len(tn.Data)) > lo+uintptr(len(buf)) {
				t.Fatalf("tensor %s lies outside its part %d", tn.Name, tn.Part)
			}
		}
	})
}

// TestSplitCloseUnmapsAll: Close releases every part's mapping, once.
func TestSplitCloseUnmapsAll(t *testing.T) {
	dir := splitFiles(t, nil)
	f, err := Open(filepath.Join(dir, splitNames[0]))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.mapped) != splitCount {
		t.Fatalf("%d mappings, want %d", len(f.mapped), splitCount)
	}
	if err := errors.Join(f.Close(), f.Close()); err != nil {
		t.Fatal(err)
	}
	if f.mapped != nil {
		t.Fatal("mappings kept after Close")
	}
}

// TestSmallSplitAssembles: the fuzzer's seed parts form a valid split model, so fuzzing starts from
// inputs that reach the end of assemble.
func TestSmallSplitAssembles(t *testing.T) {
	parts := smallSplit(t)
	ps := make([]*File, len(parts))
	for i, b := range parts {
		p, err := parse(splitNames[i], b)
		if err != nil {
			t.Fatal(err)
		}
		ps[i] = p
	}
	m, err := assemble(ps, 0)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := m.String("general.architecture"); len(m.Tensors) != splitCount || a != "qwen2" {
		t.Fatalf("%d tensors, architecture %q", len(m.Tensors), a)
	}
}
