package quantize

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wasmoe/wasmoe/internal/kernels"
)

// TensorInfo is a tensor's name, shape (ne, innermost first) and stored type.
type TensorInfo struct {
	Name string
	Dims []uint64
	Type kernels.DType
}

// Order sorts tensors as llama.cpp's model loader holds them (weight_name_comparer): by block number, the
// tensors outside blocks first, then by name. llama-quantize writes them in this order and its layer rules
// count in it.
func Order(ts []TensorInfo) {
	slices.SortStableFunc(ts, func(a, b TensorInfo) int {
		la, lb := blockOf(a.Name), blockOf(b.Name)
		if la != lb {
			return la - lb
		}
		return strings.Compare(a.Name, b.Name)
	})
}

// blockOf is the N of a "blk.N." name as sscanf reads it, or -1.
func blockOf(name string) int {
	rest, ok := strings.CutPrefix(name, "blk.")
	if !ok {
		return -1
	}
	n, digits, neg := 0, 0, false
	if rest != "" && (rest[0] == '-' || rest[0] == '+') {
		neg, rest = rest[0] == '-', rest[1:]
	}
	for ; digits < len(rest) && '0' <= rest[digits] && rest[digits] <= '9'; digits++ {
		n = 10*n + int(rest[digits]-'0')
	}
	if digits == 0 {
		return -1
	}
	if neg {
		n = -n
	}
	return n
}

// Plan returns the type llama-quantize gives each tensor of ts under preset p, for tensors already in
// Order. A tensor keeps its type where llama.cpp does not quantize it (norms, 1-D tensors, routers, …).
func Plan(p Preset, hp HParams, ts []TensorInfo) ([]kernels.DType, error) {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Name
	}
	c := newChooser(p, hp, names)
	out := make([]kernels.DType, len(ts))
	for i, t := range ts {
		typ, err := c.typeFor(t.Name, t.Dims, t.Type)
		if err != nil {
			return nil, fmt.Errorf("tensor %s: %w", t.Name, err)
		}
		out[i] = typ
	}
	return out, nil
}
