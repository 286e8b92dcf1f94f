package wasm

import (
	"context"
	"sync"
	"sync/atomic"
)

// pool hands out initialised instances of one module. At most size are out or idle at once: a caller holds
// a slot while it uses an instance, takes an idle one or creates one, and frees the slot on put. Instances
// that failed are closed on put, so the next caller creates a fresh one; so is an instance whose memory
// would take the idle instances past the pool's memory budget (keepBudget): one guest may keep the memory
// it grew for its caches while the others stay small.
type pool struct {
	r    *Runtime
	cm   compiledModule
	init func(context.Context, *instance) error // run once per new instance

	slots     chan struct{}  // one value per instance in use
	idle      chan *instance // initialised instances not in use
	created   atomic.Int64   // instances alive now
	idlePages atomic.Int64   // pages of linear memory the idle instances hold together
	seeds     atomic.Uint64  // random seed of the next instance

	mu     sync.Mutex // orders put's return to idle against close
	closed bool       // close was called: instances given back are closed, none kept
}

func newPool(r *Runtime, cm compiledModule, size int, init func(context.Context, *instance) error) *pool {
	size = max(size, 1)
	return &pool{r: r, cm: cm, init: init, slots: make(chan struct{}, size), idle: make(chan *instance, size)}
}

// get waits for a slot, then returns an idle instance or a new one.
func (p *pool) get(ctx context.Context) (*instance, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case inst := <-p.idle:
		p.idlePages.Add(-int64(inst.pages()))
		return inst, nil
	default:
	}
	inst, err := p.start(ctx)
	if err != nil {
		<-p.slots
		return nil, err
	}
	return inst, nil
}

// start makes a new initialised instance; the caller holds a slot for it.
func (p *pool) start(ctx context.Context) (*instance, error) {
	inst, err := p.r.instantiate(ctx, p.cm, p.seeds.Add(1))
	if err == nil {
		if err = p.init(ctx, inst); err != nil {
			inst.close(ctx)
		}
	}
	if err != nil {
		return nil, err
	}
	inst.startPages = inst.pages()
	p.created.Add(1)
	return inst, nil
}

// put gives an instance back and frees its slot; a broken instance, one whose memory does not fit in what
// the budget leaves, or any instance once the pool is closed, is closed instead.
func (p *pool) put(inst *instance) {
	p.mu.Lock()
	pages := int64(inst.pages())
	keep := !inst.broken && !p.closed && p.idlePages.Load()+pages <= p.keepBudget(inst)
	if keep {
		inst.log.reset()
		inst.used = 0
		select {
		case p.idle <- inst:
			p.idlePages.Add(pages)
		default: // every idle place is taken: warm started one while get started another, so one goes
			keep = false
		}
	}
	p.mu.Unlock()
	if !keep {
		inst.close(context.Background())
		p.created.Add(-1)
	}
	<-p.slots
}

// close closes the idle instances and makes put close every instance given back from now on; callers
// holding an instance finish with it. A closed pool still serves: get then starts a fresh instance.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	var drained []*instance
	for more := true; more; {
		select {
		case inst := <-p.idle: // get takes idle instances without the lock: never wait for one
			drained = append(drained, inst)
		default:
			more = false
		}
	}
	p.mu.Unlock()
	for _, inst := range drained {
		p.idlePages.Add(-int64(inst.pages()))
		inst.close(context.Background())
		p.created.Add(-1)
	}
}

// keepBudget is the most pages the pool's idle instances may hold together: Config.KeepMemoryPages per
// slot, or the size inst started at where that is more (a guest that needs more than that to start is
// kept at that size: closing it would make every request start one). A request that grew its instance
// far past it returns that memory to the OS; up to it, instances keep what they grew.
func (p *pool) keepBudget(inst *instance) int64 {
	return int64(cap(p.slots)) * int64(max(p.r.cfg.KeepMemoryPages, inst.startPages))
}

// live is the number of instances that exist now.
func (p *pool) live() int { return int(p.created.Load()) }

// warm starts instances until n exist (at most the pool's size), so that a burst of requests does not pay
// for their start. It takes one free slot at a time and gives it back at once, so requests meanwhile wait
// for no more than one start; it stops when no slot is free (requests are using them all), and at the first
// error, which it returns.
func (p *pool) warm(ctx context.Context, n int) error {
	for p.live() < min(n, cap(p.slots)) {
		if err := ctx.Err(); err != nil {
			return err
		}
		select {
		case p.slots <- struct{}{}:
		default:
			return nil
		}
		inst, err := p.start(ctx)
		if err != nil {
			<-p.slots
			return err
		}
		p.put(inst)
	}
	return nil
}
