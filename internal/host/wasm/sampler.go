package wasm

import (
	"context"
	"errors"
	"fmt"
	"unsafe"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// Sampler runs a sampler guest. Each request holds one instance for its whole life (Acquire … Release):
// the guest keeps the request's history and random stream.
type Sampler struct{ p *pool }

// NewSampler compiles the guest, checks it against the ABI and that an instance starts. Up to poolSize
// instances serve requests at once.
func NewSampler(r *Runtime, wasm []byte, poolSize int) (*Sampler, error) {
	ctx := context.Background()
	cm, err := r.compile(ctx, wasm, samplerKind)
	if err != nil {
		return nil, err
	}
	s := &Sampler{p: newPool(r, cm, poolSize, func(context.Context, *instance) error { return nil })}
	inst, err := s.p.get(ctx)
	if err != nil {
		return nil, err
	}
	s.p.put(inst)
	return s, nil
}

// SamplerSession is one request's hold on a sampler instance. Its calls run under the context given to
// Acquire.
type SamplerSession struct {
	s      *Sampler
	inst   *instance
	ctx    context.Context
	logits uint32 // guest address of its logits buffer
	n      int    // its length
}

// Acquire takes an instance (waiting while all are busy) and configures it for a request.
func (s *Sampler) Acquire(ctx context.Context, p abi.SamplerParams) (*SamplerSession, error) {
	blob, err := p.MarshalBinary()
	if err != nil {
		return nil, err
	}
	inst, err := s.p.get(ctx)
	if err != nil {
		return nil, err
	}
	ss := &SamplerSession{s: s, inst: inst, ctx: ctx}
	if err := ss.configure(blob); err != nil {
		ss.Release()
		return nil, err
	}
	return ss, nil
}

// Configure starts the request over with new params: an empty history and a fresh random stream.
func (ss *SamplerSession) Configure(p abi.SamplerParams) error {
	blob, err := p.MarshalBinary()
	if err != nil {
		return err
	}
	return ss.configure(blob)
}

func (ss *SamplerSession) configure(blob []byte) error {
	ptr, err := ss.inst.write(ss.ctx, blob)
	if err != nil {
		return err
	}
	res, err := ss.inst.call(ss.ctx, abi.ExportSmpConfig, uint64(ptr), uint64(len(blob)))
	if err == nil {
		_, err = ss.inst.status(abi.ExportSmpConfig, res)
	}
	return err
}

// Accept appends tokens to the request's history (for the penalties): the prompt, then each sampled token.
func (ss *SamplerSession) Accept(tokens ...int32) error {
	if len(tokens) == 0 {
		return nil
	}
	ptr, err := ss.inst.writeInt32s(ss.ctx, tokens)
	if err != nil {
		return err
	}
	res, err := ss.inst.call(ss.ctx, abi.ExportSmpAccept, uint64(ptr), uint64(len(tokens)))
	if err != nil {
		return err
	}
	_, err = ss.inst.status(abi.ExportSmpAccept, res)
	return err
}

// Sample copies the logits into the guest's logits buffer and returns the token it picks. In steady state
// (same vocabulary size as the previous call) it allocates nothing.
func (ss *SamplerSession) Sample(logits []float32) (int32, error) {
	if len(logits) == 0 {
		return 0, errors.New("wasm: no logits to sample from")
	}
	inst := ss.inst
	if len(logits) != ss.n {
		p, err := inst.call(ss.ctx, abi.ExportSmpLogits, uint64(len(logits)))
		if err != nil {
			return 0, err
		}
		ss.logits, ss.n = uint32(p), len(logits)
	}
	// wasm is little-endian, like every host wasmoe runs on: the floats go in with one copy.
	dst, err := inst.view(ss.logits, uint32(4*len(logits)))
	if err != nil {
		return 0, fmt.Errorf("wasm: sampler's logits buffer: %w", err)
	}
	copy(dst, unsafe.Slice((*byte)(unsafe.Pointer(&logits[0])), 4*len(logits)))
	res, err := inst.call(ss.ctx, abi.ExportSmpSample, uint64(len(logits)))
	if err != nil {
		return 0, err
	}
	id, err := inst.status(abi.ExportSmpSample, res)
	if err == nil && int(id) >= len(logits) {
		inst.broken = true
		return 0, fmt.Errorf("wasm: sampler picked token %d of %d", id, len(logits))
	}
	return id, err
}

// Release gives the instance back to the pool (or discards it if it failed). It may be called more than
// once.
func (ss *SamplerSession) Release() {
	if ss.inst != nil {
		ss.s.p.put(ss.inst)
		ss.inst = nil
	}
}

// Warm starts instances until n exist (at most the pool's size): a burst of requests then finds them
// ready.
func (s *Sampler) Warm(ctx context.Context, n int) error { return s.p.warm(ctx, n) }
