//go:build wasip1

package policy

import (
	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/guest/sdk"
)

var ctl *sdk.Controller

// Register makes p the guest's policy. Call it once, from an init function.
func Register(p sdk.Policy) {
	ctl = sdk.NewController(p)
	ctl.Log = sdk.Log
}

// ctlInit reads model_info, sizes and registers the buffers, and initialises the policy.
//
//go:wasmexport ctl_init
func ctlInit() int32 {
	if ctl == nil {
		sdk.Log(abi.LogError, "ctl_init: no policy registered (call policy.Register from an init function)")
		return abi.ErrNotReady
	}
	info, err := sdk.ReadModelInfo()
	if err != nil {
		sdk.Log(abi.LogError, "ctl_init: "+err.Error())
		return sdk.StatusOf(err)
	}
	if st := ctl.Init(info); st < 0 {
		return st
	}
	b := ctl.Buffers()
	for _, err := range []error{
		register(abi.BufMask, b.Mask), register(abi.BufBias, b.Bias),
		register(abi.BufSplice, b.Splice), register(abi.BufCands, b.Cands),
	} {
		if err != nil {
			sdk.Log(abi.LogError, "ctl_init: "+err.Error())
			return sdk.StatusOf(err)
		}
	}
	return abi.OK
}

// register registers a buffer unless it is empty.
func register[T any](kind int32, b []T) error {
	if len(b) == 0 {
		return nil
	}
	return sdk.RegisterBuffer(kind, b)
}

//go:wasmexport ctl_open
func ctlOpen(seq, parent int32) int32 {
	if ctl == nil {
		return abi.ErrNotReady
	}
	return ctl.Open(seq, parent)
}

//go:wasmexport ctl_step
func ctlStep(seq int32, ids, n uint32) int64 {
	if ctl == nil {
		return abi.ErrNotReady
	}
	return ctl.Step(seq, sdk.Int32s(ids, n))
}

//go:wasmexport ctl_pick
func ctlPick(seq, k int32) int32 {
	if ctl == nil {
		return abi.ErrNotReady
	}
	return ctl.Pick(seq, k)
}

//go:wasmexport ctl_close
func ctlClose(seq int32) int32 {
	if ctl == nil {
		return abi.ErrNotReady
	}
	return ctl.Close(seq)
}
