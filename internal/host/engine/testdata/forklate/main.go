//go:build wasip1

// Command forklate is a test policy: the request's first sequence samples two tokens, then forks into
// two; every sequence stops after four generated tokens. It shows that a fork made mid-generation gives
// a choice whose text starts with what its parent streamed before the fork.
package main

import (
	"github.com/wasmoe/wasmoe/guest/sdk"
	"github.com/wasmoe/wasmoe/guest/sdk/policy"
)

type forkLate struct{ generated map[int32]int }

func (f *forkLate) Open(seq, parent int32) error {
	f.generated[seq] = f.generated[parent]
	return nil
}

func (f *forkLate) Step(seq int32, ids []int32) sdk.Action {
	if len(ids) == 1 {
		f.generated[seq]++
	}
	switch n := f.generated[seq]; {
	case n == 2 && seq == 0:
		f.generated[seq]++ // fork once
		return sdk.Fork(2)
	case n >= 5:
		return sdk.Stop()
	}
	return sdk.Sample()
}

func (f *forkLate) Pick(int32, []sdk.Candidate) int { return 0 }

func (f *forkLate) Close(seq int32) { delete(f.generated, seq) }

func main() {}

func init() { policy.Register(&forkLate{generated: map[int32]int{}}) }
