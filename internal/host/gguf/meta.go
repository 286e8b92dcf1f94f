package gguf

import "math"

// Meta returns a File holding only the metadata kv (no tensors), for reading a metadata list built in
// memory with File's accessors. kv should not repeat a key (a parsed file cannot); where it does, the last
// entry counts.
func Meta(kv []KV) *File {
	f := &File{KV: kv, kv: make(map[string]int, len(kv)), tensors: map[string]int{}}
	for i, e := range kv {
		f.kv[e.Key] = i
	}
	return f
}

// Value returns the metadata value for key.
func (f *File) Value(key string) (Value, bool) {
	i, ok := f.kv[key]
	if !ok {
		return Value{}, false
	}
	return f.KV[i].Value, true
}

// Tensor returns the tensor named name.
func (f *File) Tensor(name string) (*Tensor, bool) {
	i, ok := f.tensors[name]
	if !ok {
		return nil, false
	}
	return &f.Tensors[i], true
}

// String returns a string value.
func (f *File) String(key string) (string, bool) {
	v, ok := f.Value(key)
	s, isStr := v.V.(string)
	return s, ok && isStr
}

// Int returns an integer value of any width, signed or not, as int64 (false if it does not fit).
func (f *File) Int(key string) (int64, bool) {
	v, ok := f.Value(key)
	if !ok {
		return 0, false
	}
	return toInt(v.V)
}

// Uint returns a non-negative integer value of any width.
func (f *File) Uint(key string) (uint64, bool) {
	v, ok := f.Value(key)
	if !ok {
		return 0, false
	}
	if u, isU64 := v.V.(uint64); isU64 {
		return u, true
	}
	n, ok := toInt(v.V)
	if !ok || n < 0 {
		return 0, false
	}
	return uint64(n), true
}

// Float returns a float or integer value as float64.
func (f *File) Float(key string) (float64, bool) {
	v, ok := f.Value(key)
	if !ok {
		return 0, false
	}
	switch x := v.V.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	if n, ok := toInt(v.V); ok {
		return float64(n), true
	}
	return 0, false
}

// Bool returns a boolean value.
func (f *File) Bool(key string) (bool, bool) {
	v, ok := f.Value(key)
	b, isBool := v.V.(bool)
	return b, ok && isBool
}

// Strings returns an array of strings.
func (f *File) Strings(key string) ([]string, bool) {
	v, ok := f.Value(key)
	s, isStrs := v.V.([]string)
	return s, ok && isStrs
}

// Ints returns an array of integers of any width as int64s.
func (f *File) Ints(key string) ([]int64, bool) {
	v, ok := f.Value(key)
	if !ok || v.Type != TypeArray {
		return nil, false
	}
	var out []int64
	add := func(n int, at func(int) int64) {
		out = make([]int64, n)
		for i := range out {
			out[i] = at(i)
		}
	}
	switch s := v.V.(type) {
	case []uint8:
		add(len(s), func(i int) int64 { return int64(s[i]) })
	case []int8:
		add(len(s), func(i int) int64 { return int64(s[i]) })
	case []uint16:
		add(len(s), func(i int) int64 { return int64(s[i]) })
	case []int16:
		add(len(s), func(i int) int64 { return int64(s[i]) })
	case []uint32:
		add(len(s), func(i int) int64 { return int64(s[i]) })
	case []int32:
		add(len(s), func(i int) int64 { return int64(s[i]) })
	case []int64:
		out = s
	case []uint64:
		for _, u := range s {
			if u > math.MaxInt64 {
				return nil, false
			}
		}
		add(len(s), func(i int) int64 { return int64(s[i]) })
	default:
		return nil, false
	}
	return out, true
}

// Floats returns an array of floats (float32 or float64) as float64s.
func (f *File) Floats(key string) ([]float64, bool) {
	v, ok := f.Value(key)
	if !ok {
		return nil, false
	}
	switch s := v.V.(type) {
	case []float32:
		out := make([]float64, len(s))
		for i, x := range s {
			out[i] = float64(x)
		}
		return out, true
	case []float64:
		return s, true
	}
	return nil, false
}

func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case uint8:
		return int64(x), true
	case int8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case int16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint64:
		if x > math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	}
	return 0, false
}
