package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"github.com/wasmoe/wasmoe/internal/kernels"
)

// Writer builds a GGUF v3 file: metadata in insertion order, then tensors packed in insertion order, each
// aligned, as llama.cpp requires.
type Writer struct {
	kv      []KV
	keys    map[string]int
	tensors []Tensor
	fills   []func(dst []byte) error  // per tensor: produces its data at write time when Data is nil
	streams []func(w io.Writer) error // per tensor: writes its data at write time (AddTensorStream)
	size    uint64                    // bytes of the data section so far
}

// NewWriter returns an empty writer.
func NewWriter() *Writer { return &Writer{keys: map[string]int{}} }

// Set adds or replaces a metadata value. Scalars are typed by their Go type (uint8 … float64, bool, string);
// slices of those become arrays.
func (w *Writer) Set(key string, v any) error {
	val, err := valueOf(v)
	if err != nil {
		return fmt.Errorf("gguf: key %q: %w", key, err)
	}
	w.SetValue(key, val)
	return nil
}

// SetValue adds or replaces a metadata value that is already typed (e.g. copied from another File).
func (w *Writer) SetValue(key string, v Value) {
	if i, ok := w.keys[key]; ok {
		w.kv[i].Value = v
		return
	}
	w.keys[key] = len(w.kv)
	w.kv = append(w.kv, KV{key, v})
}

func (w *Writer) alignment() uint64 {
	if i, ok := w.keys["general.alignment"]; ok {
		if a, ok := w.kv[i].Value.V.(uint32); ok && a > 0 {
			return uint64(a)
		}
	}
	return DefaultAlignment
}

// AddTensor appends a tensor; dims are ne (innermost first) and data must hold exactly its bytes.
func (w *Writer) AddTensor(name string, typ kernels.DType, dims []uint64, data []byte) error {
	n, err := tensorBytes(name, typ, dims)
	if err != nil {
		return err
	}
	if uint64(len(data)) != n {
		return fmt.Errorf("gguf: tensor %q: %d bytes of data, shape %v of %s needs %d", name, len(data), dims, typ, n)
	}
	w.add(Tensor{Name: name, Dims: dims, Type: typ, Data: data}, n, nil)
	return nil
}

// AddTensorFunc appends a tensor whose bytes fill produces while the file is written, into a buffer of
// exactly the tensor's size (reused between tensors: fill must write every byte), so that files larger than
// memory can be generated one tensor at a time.
func (w *Writer) AddTensorFunc(name string, typ kernels.DType, dims []uint64, fill func(dst []byte) error) error {
	n, err := tensorBytes(name, typ, dims)
	if err != nil {
		return err
	}
	w.add(Tensor{Name: name, Dims: dims, Type: typ}, n, fill)
	return nil
}

// AddTensorStream appends a tensor whose bytes write sends to out while the file is written, in pieces of
// its choosing, so that no buffer of the whole tensor is needed. write must send exactly the tensor's size
// (WriteTo fails otherwise).
func (w *Writer) AddTensorStream(name string, typ kernels.DType, dims []uint64, write func(out io.Writer) error) error {
	n, err := tensorBytes(name, typ, dims)
	if err != nil {
		return err
	}
	w.add(Tensor{Name: name, Dims: dims, Type: typ}, n, nil)
	w.streams[len(w.streams)-1] = write
	return nil
}

func (w *Writer) add(t Tensor, n uint64, fill func([]byte) error) {
	a := w.alignment()
	t.Offset = (w.size + a - 1) / a * a
	w.size = t.Offset + n
	w.tensors = append(w.tensors, t)
	w.fills = append(w.fills, fill)
	w.streams = append(w.streams, nil)
}

// tensorBytes is the data size of a tensor of shape dims (ne) and type typ.
func tensorBytes(name string, typ kernels.DType, dims []uint64) (uint64, error) {
	if len(dims) == 0 || dims[0] == 0 {
		return 0, fmt.Errorf("gguf: tensor %q: empty shape %v", name, dims)
	}
	rb, err := typ.RowBytes(int(dims[0]))
	if err != nil {
		return 0, fmt.Errorf("gguf: tensor %q: %w", name, err)
	}
	n := uint64(rb)
	for _, d := range dims[1:] {
		n *= d
	}
	return n, nil
}

// WriteFile writes the file to path.
func (w *Writer) WriteFile(path string) error {
	fd, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	if _, err := w.WriteTo(fd); err != nil {
		fd.Close()
		return err
	}
	return fd.Close()
}

// WriteTo writes the whole file.
func (w *Writer) WriteTo(out io.Writer) (int64, error) {
	bw := &countWriter{w: bufio.NewWriterSize(out, 1<<20)}
	le := binary.LittleEndian
	put := func(v any) { binary.Write(bw, le, v) }
	putStr := func(s string) { put(uint64(len(s))); io.WriteString(bw, s) }
	put(uint32(Magic))
	put(uint32(3))
	put(uint64(len(w.tensors)))
	put(uint64(len(w.kv)))
	for _, kv := range w.kv {
		putStr(kv.Key)
		put(uint32(kv.Value.Type))
		if kv.Value.Type == TypeArray {
			put(uint32(kv.Value.Elem))
			switch s := kv.Value.V.(type) {
			case []string:
				put(uint64(len(s)))
				for _, x := range s {
					putStr(x)
				}
			default:
				put(uint64(sliceLen(s)))
				put(s)
			}
			continue
		}
		switch x := kv.Value.V.(type) {
		case string:
			putStr(x)
		case bool:
			put(x)
		default:
			put(x)
		}
	}
	for _, t := range w.tensors {
		putStr(t.Name)
		put(uint32(len(t.Dims)))
		put(t.Dims)
		put(uint32(t.Type))
		put(t.Offset)
	}
	a := int64(w.alignment())
	pad := func(to int64) { bw.Write(make([]byte, to-bw.n)) }
	dataStart := alignUp(bw.n, a)
	pad(dataStart)
	var buf []byte
	for i, t := range w.tensors {
		pad(dataStart + int64(t.Offset))
		if stream := w.streams[i]; stream != nil {
			n, _ := tensorBytes(t.Name, t.Type, t.Dims)
			start := bw.n
			if err := stream(bw); err != nil {
				return bw.n, fmt.Errorf("gguf: tensor %q: %w", t.Name, err)
			}
			if bw.err == nil && uint64(bw.n-start) != n {
				return bw.n, fmt.Errorf("gguf: tensor %q: wrote %d bytes, shape %v of %s needs %d", t.Name, bw.n-start, t.Dims, t.Type, n)
			}
			continue
		}
		if fill := w.fills[i]; fill != nil {
			n, _ := tensorBytes(t.Name, t.Type, t.Dims)
			if uint64(cap(buf)) < n {
				buf = make([]byte, n)
			}
			if err := fill(buf[:n]); err != nil {
				return bw.n, fmt.Errorf("gguf: tensor %q: %w", t.Name, err)
			}
			bw.Write(buf[:n])
			continue
		}
		bw.Write(t.Data)
	}
	if bw.err != nil {
		return bw.n, fmt.Errorf("gguf: write: %w", bw.err)
	}
	return bw.n, bw.w.(*bufio.Writer).Flush()
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}

func sliceLen(s any) int {
	switch x := s.(type) {
	case []uint8:
		return len(x)
	case []int8:
		return len(x)
	case []uint16:
		return len(x)
	case []int16:
		return len(x)
	case []uint32:
		return len(x)
	case []int32:
		return len(x)
	case []float32:
		return len(x)
	case []bool:
		return len(x)
	case []uint64:
		return len(x)
	case []int64:
		return len(x)
	case []float64:
		return len(x)
	}
	return 0
}

// valueOf types a Go value as a GGUF value.
func valueOf(v any) (Value, error) {
	switch x := v.(type) {
	case uint8:
		return Value{Type: TypeUint8, V: x}, nil
	case int8:
		return Value{Type: TypeInt8, V: x}, nil
	case uint16:
		return Value{Type: TypeUint16, V: x}, nil
	case int16:
		return Value{Type: TypeInt16, V: x}, nil
	case uint32:
		return Value{Type: TypeUint32, V: x}, nil
	case int32:
		return Value{Type: TypeInt32, V: x}, nil
	case float32:
		return Value{Type: TypeFloat32, V: x}, nil
	case bool:
		return Value{Type: TypeBool, V: x}, nil
	case string:
		return Value{Type: TypeString, V: x}, nil
	case uint64:
		return Value{Type: TypeUint64, V: x}, nil
	case int64:
		return Value{Type: TypeInt64, V: x}, nil
	case float64:
		return Value{Type: TypeFloat64, V: x}, nil
	case []string:
		return Value{Type: TypeArray, Elem: TypeString, V: x}, nil
	}
	elems := map[string]ValueType{"[]uint8": TypeUint8, "[]int8": TypeInt8, "[]uint16": TypeUint16,
		"[]int16": TypeInt16, "[]uint32": TypeUint32, "[]int32": TypeInt32, "[]float32": TypeFloat32,
		"[]bool": TypeBool, "[]uint64": TypeUint64, "[]int64": TypeInt64, "[]float64": TypeFloat64}
	if et, ok := elems[fmt.Sprintf("%T", v)]; ok {
		return Value{Type: TypeArray, Elem: et, V: v}, nil
	}
	return Value{}, fmt.Errorf("unsupported value type %T", v)
}
