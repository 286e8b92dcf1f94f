//go:build wasip1

package main

import (
	"github.com/wasmoe/wasmoe/guest/sdk"
	"github.com/wasmoe/wasmoe/guest/sdk/policy"
)

// hostKernels are the host's kernels through the SDK's imports (each method is the sdk function of its
// name).
type hostKernels struct{}

func (hostKernels) Model(name string) (sdk.ModelHandle, error)      { return sdk.Model(name) }
func (hostKernels) SeqNew(m sdk.ModelHandle) (sdk.SeqHandle, error) { return sdk.SeqNew(m) }
func (hostKernels) SeqForward(s sdk.SeqHandle, ids []int32, logits []float32) (int, error) {
	return sdk.SeqForward(s, ids, logits)
}
func (hostKernels) SeqTrim(s sdk.SeqHandle, keep int) error { return sdk.SeqTrim(s, keep) }
func (hostKernels) SeqFree(s sdk.SeqHandle) error           { return sdk.SeqFree(s) }

func init() { policy.Register(New(hostKernels{}, sdk.Config, sdk.Vocab, sdk.Log)) }
