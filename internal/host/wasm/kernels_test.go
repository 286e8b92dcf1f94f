package wasm

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// slowKernels is a Kernels whose calls take time, recording when each starts and the deadline it gets:
// SeqLen takes 1 ms, MatMul waits for its deadline and returns ErrLimit, SeqForward takes 60 ms whatever
// its deadline. Other methods are not called.
type slowKernels struct {
	Kernels
	starts, deadlines []time.Time
}

func (k *slowKernels) record(deadline time.Time) {
	k.starts, k.deadlines = append(k.starts, time.Now()), append(k.deadlines, deadline)
}

func (k *slowKernels) SeqLen(int32) int32 {
	k.record(time.Time{})
	time.Sleep(time.Millisecond)
	return 0
}

func (k *slowKernels) TensorInfo(int32) (dtype, rows, cols int32, status int32) {
	return 0, 1, 1, abi.OK
}

func (k *slowKernels) MatMul(_ int32, _ []float32, _ int, _ []float32, deadline time.Time) int32 {
	k.record(deadline)
	time.Sleep(min(time.Until(deadline), time.Second))
	return abi.ErrLimit
}

func (k *slowKernels) SeqForward(_ int32, _ []int32, deadline time.Time) ([]float32, int32) {
	k.record(deadline)
	time.Sleep(60 * time.Millisecond)
	return []float32{0}, abi.OK
}

// memModule is a guestModule that is only memory, for calling host functions directly.
type memModule []byte

func (m memModule) call(context.Context, string, []uint64, time.Time) error {
	return errors.New("no code")
}
func (m memModule) memory() []byte        { return m }
func (m memModule) close(context.Context) {}

// TestKernelPastDeadline: every kernel import called after its guest call's deadline stops the guest
// with a trap before the kernel runs; before the deadline the kernel runs and gets the deadline.
func TestKernelPastDeadline(t *testing.T) {
	for _, f := range kernelFuncs() {
		k := &slowKernels{}
		inst := &instance{mod: make(memModule, 1024), ctl: &control{kernels: k}, deadline: time.Now().Add(-time.Millisecond)}
		stack := make([]uint64, 8)
		func() {
			defer func() {
				p := recover()
				if tr, ok := p.(*trap); !ok || !strings.Contains(tr.msg, "deadline") {
					t.Errorf("%s past the deadline: panic %v, want a deadline trap", f.name, p)
				}
			}()
			f.fn(inst, stack)
		}()
		if len(k.starts) != 0 {
			t.Errorf("%s past the deadline reached the kernel", f.name)
		}
	}
	k := &slowKernels{}
	deadline := time.Now().Add(time.Hour)
	inst := &instance{mod: make(memModule, 1024), ctl: &control{kernels: k}, deadline: deadline}
	for _, f := range kernelFuncs() {
		if f.name == abi.ImportSeqForward {
			stack := []uint64{0, 0, 1, 0, 0} // seq 0, one id at 0, no room for the logits
			f.fn(inst, stack)
			if int32(stack[0]) != 1 || len(k.deadlines) != 1 || !k.deadlines[0].Equal(deadline) {
				t.Errorf("seq_forward before the deadline: result %d, deadlines %v, want 1 and [%v]", int32(stack[0]), k.deadlines, deadline)
			}
		}
	}
}

var kernelLoopWasm = sync.OnceValues(func() ([]byte, error) { return buildTestGuest("kernelloop") })

// TestKernelDeadline runs testdata/kernelloop, whose steps are spent in host kernels, under a 100 ms step
// deadline and a 150 ms CPU budget: a guest that calls short kernels in a loop (seq_len, gbnf_mask), or
// one long kernel whose ErrLimit it ignores, is stopped soon after the deadline with a deadline error, the
// long kernel given that deadline; and time in kernels counts against the CPU budget.
func TestKernelDeadline(t *testing.T) {
	needGo(t)
	bin, err := kernelLoopWasm()
	if err != nil {
		t.Fatal(err)
	}
	const stepTimeout, budget = 100 * time.Millisecond, 150 * time.Millisecond
	forEachEngine(t, func(t *testing.T, engine string) {
		r := newRuntimeConfig(t, Config{Engine: engine, StepTimeout: stepTimeout, CPUBudget: budget})
		p, err := NewPolicy(r, bin, syntheticPolicyModel(16), 1)
		if err != nil {
			t.Fatal(err)
		}
		// steps runs the guest in mode until a step fails, at most 10 steps, and returns the steps that
		// succeeded, when the last one started and its error.
		steps := func(mode byte, k Kernels) (ok int, last time.Time, err error) {
			s, err := p.Acquire(context.Background(), []byte{mode}, k)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Release()
			if err := s.Open(0, -1); err != nil {
				t.Fatal(err)
			}
			for ; ok < 10; ok++ {
				last = time.Now()
				if _, err := s.Step(0, []int32{1}); err != nil {
					return ok, last, err
				}
			}
			return ok, last, nil
		}
		deadlineErr := "ran past its deadline of 100ms"

		k := &slowKernels{}
		ok, start, err := steps(0, k)
		if err == nil || !strings.Contains(err.Error(), deadlineErr) || ok != 0 {
			t.Errorf("seq_len in a loop: error %v after %d steps, want one containing %q", err, ok, deadlineErr)
		}
		if d := time.Since(start); d > 10*stepTimeout {
			t.Errorf("seq_len in a loop: stopped after %v", d)
		}
		if n := len(k.starts); n == 0 || k.starts[n-1].Sub(start) > stepTimeout+20*time.Millisecond {
			t.Errorf("seq_len in a loop: %d calls, the last %v into the step", n, k.starts[max(n-1, 0)].Sub(start))
		}

		ok, start, err = steps(3, nil) // gbnf_mask needs no request kernels
		if err == nil || !strings.Contains(err.Error(), deadlineErr) || ok != 0 {
			t.Errorf("gbnf_mask in a loop: error %v after %d steps, want one containing %q", err, ok, deadlineErr)
		}
		if d := time.Since(start); d > 10*stepTimeout {
			t.Errorf("gbnf_mask in a loop: stopped after %v", d)
		}

		k = &slowKernels{}
		_, start, err = steps(1, k)
		if err == nil || !strings.Contains(err.Error(), deadlineErr) {
			t.Errorf("matmul past its deadline: error %v, want one containing %q", err, deadlineErr)
		}
		if d := time.Since(start); d > 10*stepTimeout {
			t.Errorf("matmul past its deadline: stopped after %v", d)
		}
		if len(k.deadlines) != 1 {
			t.Errorf("matmul past its deadline: called %d times, want once", len(k.deadlines))
		} else if d := k.deadlines[0].Sub(start); d <= 0 || d > stepTimeout+20*time.Millisecond {
			t.Errorf("matmul's deadline is %v into the step, want the step's, %v", d, stepTimeout)
		}

		// 60 ms of seq_forward a step: the third step has 30 ms of the budget left.
		ok, _, err = steps(2, &slowKernels{})
		if want := "used up its guest CPU budget of 150ms"; err == nil || !strings.Contains(err.Error(), want) || ok != 2 {
			t.Errorf("seq_forward of 60 ms a step: error %v after %d steps, want one containing %q after 2", err, ok, want)
		}
	})
}

// forwardAllKernels records the arguments of SeqForwardAll and answers 3 logits a token, all 7s.
type forwardAllKernels struct {
	Kernels
	ids []int32
	out []float32
}

func (k *forwardAllKernels) SeqForwardAll(_ int32, ids []int32, out []float32, _ time.Time) int32 {
	k.ids, k.out = ids, out
	for i := range out[:3*len(ids)] {
		out[i] = 7
	}
	return int32(3 * len(ids))
}

// TestSeqForwardAllBounds: seq_forward_all hands the kernel a view of exactly cap floats of guest memory
// and a copy of the ids (so that logits written over them do not change the tokens still to run); ids or a
// cap reaching past the guest's memory are ErrBadInput before the kernel runs.
func TestSeqForwardAllBounds(t *testing.T) {
	var f hostFunc
	for _, h := range kernelFuncs() {
		if h.name == abi.ImportSeqForwardAll {
			f = h
		}
	}
	if f.fn == nil {
		t.Fatal("no seq_forward_all import")
	}
	mem := make(memModule, 1024)
	mem[0], mem[4] = 5, 6 // ids 5, 6 at 0
	k := &forwardAllKernels{}
	inst := &instance{mod: mem, ctl: &control{kernels: k}, deadline: time.Now().Add(time.Hour)}
	call := func(args ...uint64) int32 {
		stack := make([]uint64, 5)
		copy(stack, args)
		f.fn(inst, stack)
		return int32(stack[0])
	}
	if st := call(0, 0, 2, 0, 6); st != 6 || len(k.out) != 6 || k.ids[0] != 5 || k.ids[1] != 6 || mem[0] != 0 {
		t.Fatalf("logits over the ids: result %d, out %d floats, ids %v, memory %v", st, len(k.out), k.ids, mem[:8])
	}
	if mem[0] = 5; k.ids[0] != 5 {
		t.Error("the kernel's ids alias guest memory")
	}
	for _, c := range []struct {
		what string
		args []uint64
	}{
		{"cap past memory", []uint64{0, 0, 2, 1000, 7}},
		{"a huge cap", []uint64{0, 0, 2, 16, 1<<32 - 1}},
		{"ids past memory", []uint64{0, 1020, 2, 0, 6}},
		{"no ids", []uint64{0, 0, 0, 16, 6}},
		{"unaligned logits", []uint64{0, 0, 2, 18, 6}},
	} {
		k.ids = nil
		if st := call(c.args...); st != abi.ErrBadInput || k.ids != nil {
			t.Errorf("%s: result %d, kernel called %v", c.what, st, k.ids != nil)
		}
	}
}
