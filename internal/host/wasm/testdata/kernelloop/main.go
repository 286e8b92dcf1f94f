//go:build wasip1

// Command kernelloop is a test policy for internal/host/wasm that spends its steps in host kernels, as its config's
// first byte says: 0 calls seq_len forever, 1 calls matmul forever, 2 calls seq_forward once a step and
// then samples, 3 calls gbnf_mask forever with two grammars in turn. It ignores every status the kernels
// return.
package main

import "github.com/wasmoe/wasmoe/guest/sdk" // marker, wasmoe_alloc, wasmoe_free

//go:wasmimport wasmoe_v1 config
func config(ptr, capacity uint32) int32

//go:wasmimport wasmoe_v1 matmul
func matmul(w int32, x, n, y uint32) int32

//go:wasmimport wasmoe_v1 seq_forward
func seqForward(s int32, ids, n, logits, capacity uint32) int32

//go:wasmimport wasmoe_v1 seq_len
func seqLen(s int32) int32

//go:wasmimport wasmoe_v1 gbnf_mask
func gbnfMask(grammar, grammarLen, text, textLen, mask, words uint32) int32

var (
	mode     [1]byte
	x, y     [1]float32
	ids      = [1]int32{1}
	grammars = [2][]byte{[]byte(`root ::= [a-z ]* "."`), []byte("root ::= w*\nw ::= [a-z ] | [a-z ] [a-z ]")}
	text     = []byte("ab c")
	mask     [64]uint32
)

func main() {}

//go:wasmexport ctl_init
func ctlInit() int32 { return 0 }

//go:wasmexport ctl_open
func ctlOpen(seq, parent int32) int32 { return 0 }

//go:wasmexport ctl_close
func ctlClose(seq int32) int32 { return 0 }

//go:wasmexport ctl_step
func ctlStep(seq int32, p, n uint32) int64 {
	config(sdk.Ptr(mode[:]), 1)
	switch mode[0] {
	case 0:
		for {
			seqLen(0)
		}
	case 1:
		for {
			matmul(0, sdk.Ptr(x[:]), 1, sdk.Ptr(y[:]))
		}
	case 3:
		for i := 0; ; i++ {
			g := grammars[i%2]
			gbnfMask(sdk.Ptr(g), uint32(len(g)), sdk.Ptr(text), uint32(len(text)), sdk.Ptr(mask[:]), uint32(len(mask)))
		}
	}
	seqForward(0, sdk.Ptr(ids[:]), 1, 0, 0)
	return 0 // sample
}
