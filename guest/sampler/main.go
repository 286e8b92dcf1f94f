//go:build wasip1

// Command sampler is the built-in sampler guest (ABI v1: marker wasmoe_abi_v1, imports from wasmoe_v1,
// through guest/sdk; exports smp_*, guest/abi): the host configures a request, appends tokens to its
// history and writes each step's logits into a guest buffer; the guest picks the next token with
// guest/sampling (llama.cpp's chain: bias, penalties, top-k, top-p, min-p, temperature, seeded draw).
package main

import (
	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/guest/sampling"
	"github.com/wasmoe/wasmoe/guest/sdk"
)

var (
	smp    *sampling.Sampler
	logits []float32
)

//go:wasmexport smp_config
func config(ptr, n uint32) int32 {
	var p abi.SamplerParams
	if err := p.UnmarshalBinary(sdk.Bytes(ptr, n)); err != nil {
		sdk.Log(abi.LogError, err.Error())
		return abi.ErrBadInput
	}
	if smp == nil {
		smp = sampling.New(p)
	} else {
		smp.Configure(p)
	}
	return abi.OK
}

//go:wasmexport smp_accept
func accept(ptr, n uint32) int32 {
	if smp == nil {
		return abi.ErrNotReady
	}
	for _, id := range sdk.Int32s(ptr, n) {
		smp.Accept(id)
	}
	return abi.OK
}

//go:wasmexport smp_logits
func logitsBuffer(n uint32) uint32 {
	if n == 0 {
		n = 1
	}
	if uint32(cap(logits)) < n {
		logits = make([]float32, n)
	}
	logits = logits[:n]
	return sdk.Ptr(logits)
}

// sample picks from the first n logits of the buffer: a token id, or abi.ErrNoToken when every logit is
// -Inf or NaN.
//
//go:wasmexport smp_sample
func sample(n uint32) int32 {
	if smp == nil {
		return abi.ErrNotReady
	}
	if n == 0 || n > uint32(len(logits)) {
		return abi.ErrBadInput
	}
	return smp.Sample(logits[:n])
}

func main() {}
