package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"unsafe"

	"github.com/wasmoe/wasmoe/internal/kernels"
	"github.com/wasmoe/wasmoe/internal/mmap"
)

// Limits that keep a hostile header from making the reader allocate without bound. Real files stay far below.
const (
	maxDims       = 4
	maxStringLen  = 1 << 30
	maxTensorName = 1 << 16
)

// File is an open GGUF file, or the parts of a split model presented as one (see Open).
type File struct {
	Path      string // the file; of a split model, its first part
	Version   uint32
	KV        []KV     // metadata in file order (of a split model, the first part's)
	Tensors   []Tensor // tensor infos in file order (of a split model, part after part)
	Alignment int
	DataStart int64 // byte offset of the data section (of a split model, the first part's)
	// Parts are the paths of a split model's files, first part first; nil for a single file.
	Parts []string

	kv      map[string]int
	tensors map[string]int
	mapped  [][]byte // every file, memory-mapped (nil when parsed from a byte slice)
}

// FormatError reports a malformed file: where, which field, and what is wrong.
type FormatError struct {
	Path   string
	Offset int64
	Field  string
	Msg    string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("gguf: %s: offset %d: %s: %s", e.Path, e.Offset, e.Field, e.Msg)
}

// Open maps path and parses its header. Close releases the mapping; tensor views are invalid after it.
//
// If path is one part of a model split by llama-gguf-split (its split.count is above 1), Open finds the
// other parts by the name llama.cpp gives them, PREFIX-%05d-of-%05d.gguf, maps them all, checks that they
// form one model (see openSplit) and returns it as one File: the first part's metadata and every part's
// tensors, each a view into its own part's mapping. Any part may be given; Path is then the first part's.
func Open(path string) (*File, error) {
	f, err := openPart(path)
	if err != nil {
		return nil, err
	}
	no, count, err := splitKeys(f)
	if err != nil || count <= 1 {
		if err != nil {
			f.Close()
			return nil, err
		}
		return f, nil
	}
	return openSplit(f, no, count)
}

// openPart maps one file and parses it, whatever its split keys say.
func openPart(path string) (*File, error) {
	data, err := mmap.Map(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	if len(data) < 24 {
		mmap.Unmap(data)
		return nil, &FormatError{path, 0, "header", fmt.Sprintf("file is %d bytes, too short for a GGUF header", len(data))}
	}
	f, err := parse(path, data)
	if err != nil {
		mmap.Unmap(data)
		return nil, err
	}
	f.mapped = [][]byte{data}
	return f, nil
}

// Parse reads a GGUF image held in memory (tensor views alias b). It refuses one part of a split model,
// whose other parts it cannot find: Open reads those.
func Parse(name string, b []byte) (*File, error) {
	f, err := parse(name, b)
	if err != nil {
		return nil, err
	}
	no, count, err := splitKeys(f)
	if err != nil {
		return nil, err
	}
	if count > 1 {
		return nil, fmt.Errorf("gguf: %s is part %d of a %d-part split model; open its files with Open, which reads every part", name, no+1, count)
	}
	return f, nil
}

// Release drops the pages of b, a tensor's data or part of it, from memory until they are read again
// (mmap.Release), when b lies in this file's mapping; otherwise (a file parsed from memory) it does
// nothing. For a loader that keeps its own copy of a tensor.
func (f *File) Release(b []byte) {
	if len(b) == 0 {
		return
	}
	p, end := uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(&b[0]))+uintptr(len(b))
	for _, m := range f.mapped {
		if len(m) > 0 {
			lo := uintptr(unsafe.Pointer(&m[0]))
			if p >= lo && end <= lo+uintptr(len(m)) {
				mmap.Release(b) // advice only: on failure the pages simply stay
				return
			}
		}
	}
}

// Close unmaps the file (every part of a split model).
func (f *File) Close() error {
	var errs []error
	for _, m := range f.mapped {
		errs = append(errs, mmap.Unmap(m))
	}
	f.mapped = nil
	return errors.Join(errs...)
}

// decoder walks the header with bounds checks; the first error sticks.
type decoder struct {
	path  string
	b     []byte
	off   int64
	field string
	err   error
}

func (d *decoder) fail(msg string, args ...any) {
	if d.err == nil {
		d.err = &FormatError{d.path, d.off, d.field, fmt.Sprintf(msg, args...)}
	}
}

func (d *decoder) take(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b))-uint64(d.off) {
		d.fail("truncated: need %d bytes, %d left", n, int64(len(d.b))-d.off)
		return nil
	}
	p := d.b[d.off : d.off+int64(n)]
	d.off += int64(n)
	return p
}

func (d *decoder) u8() uint8 {
	if p := d.take(1); p != nil {
		return p[0]
	}
	return 0
}
func (d *decoder) u16() uint16 {
	if p := d.take(2); p != nil {
		return binary.LittleEndian.Uint16(p)
	}
	return 0
}
func (d *decoder) u32() uint32 {
	if p := d.take(4); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}
func (d *decoder) u64() uint64 {
	if p := d.take(8); p != nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}

func (d *decoder) str(limit uint64) string {
	n := d.u64()
	if d.err == nil && n > limit {
		d.fail("string length %d exceeds limit %d", n, limit)
	}
	return string(d.take(n))
}

// count reads a uint64 element count and checks that count elements of at least minSize bytes fit in the file.
func (d *decoder) count(minSize uint64) uint64 {
	n := d.u64()
	if d.err != nil {
		return 0
	}
	left := uint64(len(d.b)) - uint64(d.off)
	if minSize > 0 && n > left/minSize {
		d.fail("count %d cannot fit in the %d bytes left", n, left)
		return 0
	}
	return n
}

func parse(path string, b []byte) (*File, error) {
	d := &decoder{path: path, b: b, field: "magic"}
	if m := d.u32(); d.err == nil && m != Magic {
		d.fail("not a GGUF file (magic %#08x)", m)
	}
	d.field = "version"
	f := &File{Path: path, Version: d.u32(), kv: map[string]int{}, tensors: map[string]int{}}
	if d.err == nil && (f.Version < 2 || f.Version > 3) {
		if f.Version&0xFFFF == 0 {
			d.fail("version %#x looks big-endian; only little-endian GGUF is supported", f.Version)
		} else {
			d.fail("unsupported version %d (want 2 or 3)", f.Version)
		}
	}
	d.field = "tensor_count"
	nTensors := d.count(8 + 4 + 8 + 4 + 8)
	d.field = "kv_count"
	nKV := d.count(8 + 4 + 1)
	for i := uint64(0); i < nKV && d.err == nil; i++ {
		d.field = fmt.Sprintf("metadata[%d].key", i)
		key := d.str(maxStringLen)
		d.field = fmt.Sprintf("metadata %q", key)
		v := d.value(ValueType(d.u32()), true)
		if d.err != nil {
			break
		}
		if _, dup := f.kv[key]; dup {
			d.fail("duplicate key")
			break
		}
		f.kv[key] = len(f.KV)
		f.KV = append(f.KV, KV{key, v})
	}
	if d.err != nil {
		return nil, d.err
	}
	f.Alignment = DefaultAlignment
	if v, ok := f.Value("general.alignment"); ok {
		a, isU32 := v.V.(uint32)
		if !isU32 || a == 0 || a&(a-1) != 0 {
			return nil, &FormatError{path, 0, "metadata \"general.alignment\"", fmt.Sprintf("must be a power-of-two uint32, got %v (%s)", v.V, v.Type)}
		}
		f.Alignment = int(a)
	}
	f.Tensors = make([]Tensor, 0, nTensors)
	for i := uint64(0); i < nTensors && d.err == nil; i++ {
		d.field = fmt.Sprintf("tensor[%d].name", i)
		t := Tensor{Name: d.str(maxTensorName)}
		d.field = fmt.Sprintf("tensor %q", t.Name)
		nd := d.u32()
		if d.err == nil && (nd == 0 || nd > maxDims) {
			d.fail("n_dims %d out of range 1..%d", nd, maxDims)
		}
		for j := uint32(0); j < nd && d.err == nil; j++ {
			t.Dims = append(t.Dims, d.u64())
		}
		t.Type = kernels.DType(d.u32())
		t.Offset = d.u64()
		if d.err != nil {
			break
		}
		if _, dup := f.tensors[t.Name]; dup {
			d.fail("duplicate tensor name")
			break
		}
		f.tensors[t.Name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, t)
	}
	if d.err != nil {
		return nil, d.err
	}
	f.DataStart = alignUp(d.off, int64(f.Alignment))
	if err := f.bindTensors(b); err != nil {
		return nil, err
	}
	return f, nil
}

// bindTensors checks each tensor's shape, type and extent and sets its Data view.
func (f *File) bindTensors(b []byte) error {
	dataLen := uint64(int64(len(b)) - min(f.DataStart, int64(len(b))))
	for i := range f.Tensors {
		t := &f.Tensors[i]
		bad := func(msg string, args ...any) error {
			return &FormatError{f.Path, f.DataStart + int64(min(t.Offset, math.MaxInt64/2)), fmt.Sprintf("tensor %q", t.Name), fmt.Sprintf(msg, args...)}
		}
		if !t.Type.Known() {
			return bad("unknown tensor type %d", uint32(t.Type))
		}
		elems := uint64(1)
		for _, n := range t.Dims {
			hi, lo := bits.Mul64(elems, n)
			if hi != 0 || lo > 1<<50 {
				return bad("shape %v is too large", t.Dims)
			}
			elems = lo
		}
		if t.Dims[0]%uint64(t.Type.BlockSize()) != 0 {
			return bad("ne[0]=%d is not a multiple of the %s block size %d", t.Dims[0], t.Type, t.Type.BlockSize())
		}
		size := elems / uint64(t.Type.BlockSize()) * uint64(t.Type.TypeSize())
		if t.Offset%uint64(f.Alignment) != 0 {
			return bad("offset %d is not a multiple of the alignment %d", t.Offset, f.Alignment)
		}
		if t.Offset > dataLen || size > dataLen-t.Offset {
			return bad("data [%d, +%d) runs past the end of the file (data section holds %d bytes); the file is truncated", t.Offset, size, dataLen)
		}
		start := uint64(f.DataStart) + t.Offset
		t.Data = b[start : start+size : start+size]
	}
	return nil
}

func alignUp(n, a int64) int64 { return (n + a - 1) / a * a }

// value decodes one value of type t; arrays are allowed only at the top level.
func (d *decoder) value(t ValueType, top bool) Value {
	if d.err != nil {
		return Value{}
	}
	switch t {
	case TypeUint8:
		return Value{Type: t, V: d.u8()}
	case TypeInt8:
		return Value{Type: t, V: int8(d.u8())}
	case TypeUint16:
		return Value{Type: t, V: d.u16()}
	case TypeInt16:
		return Value{Type: t, V: int16(d.u16())}
	case TypeUint32:
		return Value{Type: t, V: d.u32()}
	case TypeInt32:
		return Value{Type: t, V: int32(d.u32())}
	case TypeFloat32:
		return Value{Type: t, V: math.Float32frombits(d.u32())}
	case TypeBool:
		return Value{Type: t, V: d.u8() != 0}
	case TypeString:
		return Value{Type: t, V: d.str(maxStringLen)}
	case TypeUint64:
		return Value{Type: t, V: d.u64()}
	case TypeInt64:
		return Value{Type: t, V: int64(d.u64())}
	case TypeFloat64:
		return Value{Type: t, V: math.Float64frombits(d.u64())}
	case TypeArray:
		if !top {
			d.fail("nested arrays are not allowed")
			return Value{}
		}
		return d.array()
	}
	d.fail("unknown value type %d", uint32(t))
	return Value{}
}

func (d *decoder) array() Value {
	et := ValueType(d.u32())
	if d.err != nil {
		return Value{}
	}
	if et == TypeArray {
		d.fail("nested arrays are not allowed")
		return Value{}
	}
	size := uint64(et.scalarSize())
	if et == TypeString {
		size = 8
	} else if size == 0 {
		d.fail("unknown array element type %d", uint32(et))
		return Value{}
	}
	n := d.count(size)
	if d.err != nil {
		return Value{}
	}
	v := Value{Type: TypeArray, Elem: et}
	switch et {
	case TypeString:
		s := make([]string, n)
		for i := range s {
			s[i] = d.str(maxStringLen)
		}
		v.V = s
	default:
		raw := d.take(n * size)
		v.V = decodeScalars(et, raw, int(n))
	}
	return v
}

func decodeScalars(t ValueType, raw []byte, n int) any {
	if raw == nil {
		return nil
	}
	le := binary.LittleEndian
	switch t {
	case TypeUint8:
		return append([]uint8(nil), raw...)
	case TypeInt8:
		s := make([]int8, n)
		for i := range s {
			s[i] = int8(raw[i])
		}
		return s
	case TypeBool:
		s := make([]bool, n)
		for i := range s {
			s[i] = raw[i] != 0
		}
		return s
	case TypeUint16:
		s := make([]uint16, n)
		for i := range s {
			s[i] = le.Uint16(raw[2*i:])
		}
		return s
	case TypeInt16:
		s := make([]int16, n)
		for i := range s {
			s[i] = int16(le.Uint16(raw[2*i:]))
		}
		return s
	case TypeUint32:
		s := make([]uint32, n)
		for i := range s {
			s[i] = le.Uint32(raw[4*i:])
		}
		return s
	case TypeInt32:
		s := make([]int32, n)
		for i := range s {
			s[i] = int32(le.Uint32(raw[4*i:]))
		}
		return s
	case TypeFloat32:
		s := make([]float32, n)
		for i := range s {
			s[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
		return s
	case TypeUint64:
		s := make([]uint64, n)
		for i := range s {
			s[i] = le.Uint64(raw[8*i:])
		}
		return s
	case TypeInt64:
		s := make([]int64, n)
		for i := range s {
			s[i] = int64(le.Uint64(raw[8*i:]))
		}
		return s
	case TypeFloat64:
		s := make([]float64, n)
		for i := range s {
			s[i] = math.Float64frombits(le.Uint64(raw[8*i:]))
		}
		return s
	}
	return nil
}
