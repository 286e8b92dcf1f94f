package wasm

import (
	"context"
	"testing"
)

// Warm starts instances up to the asked number and the pool's size, and leaves them idle for requests.
func TestWarm(t *testing.T) {
	r := newRuntime(t)
	s := newSampler(t, r, 3)
	if n := s.p.live(); n != 1 {
		t.Fatalf("a new sampler has %d instances, want the 1 it checks itself with", n)
	}
	if err := s.Warm(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	if n := s.p.live(); n != 2 {
		t.Fatalf("after Warm(2): %d instances", n)
	}
	if err := s.Warm(context.Background(), 10); err != nil {
		t.Fatal(err)
	}
	if n, idle := s.p.live(), len(s.p.idle); n != 3 || idle != 3 {
		t.Fatalf("after Warm(10) on a pool of 3: %d instances, %d idle", n, idle)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := newSampler(t, r, 4).Warm(ctx, 4); err == nil {
		t.Fatal("Warm with a cancelled context succeeded")
	}
}

// Closing a pool closes its idle instances at once, an instance a caller holds when it comes back, and
// the instance a later caller gets when that one comes back: a closed pool keeps nothing.
func TestPoolClose(t *testing.T) {
	r := newRuntime(t)
	s := newSampler(t, r, 3)
	ctx := context.Background()
	if err := s.Warm(ctx, 3); err != nil {
		t.Fatal(err)
	}
	held, err := s.p.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.p.close()
	if n := s.p.live(); n != 1 {
		t.Fatalf("after close: %d instances, want the 1 still held", n)
	}
	s.p.put(held)
	if n := s.p.live(); n != 0 {
		t.Fatalf("the held instance was kept after it came back: %d live", n)
	}
	later, err := s.p.get(ctx)
	if err != nil {
		t.Fatalf("a closed pool refused a caller: %v", err)
	}
	s.p.put(later)
	if n, idle := s.p.live(), len(s.p.idle); n != 0 || idle != 0 {
		t.Fatalf("a closed pool kept an instance: %d live, %d idle", n, idle)
	}
}
