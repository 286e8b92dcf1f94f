package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/host/model"
	"github.com/wasmoe/wasmoe/internal/host/vocab"
	"github.com/wasmoe/wasmoe/internal/host/wasm"
	"github.com/wasmoe/wasmoe/internal/kernels"
)

// Config selects the model and the guests an Engine runs.
type Config struct {
	ModelPath     string        // GGUF file or Hugging Face directory
	ID            string        // model name for clients; default: the file name without extension
	Threads       int           // kernel threads; 0 = all cores
	Context       int           // tokens per sequence; 0 = min(model context, 4096), less if the KV cache is smaller
	MaxQueue      int           // requests waiting for the model before ErrOverloaded; 0 = 64
	Parallel      int           // sequences running at once (the rest wait); 0 = 8
	BatchTokens   int           // tokens one forward step may take, decode rows first; 0 = 2048
	KVCacheTokens int           // tokens the paged KV cache holds, all sequences together; 0 = sized from free memory
	WriteTimeout  time.Duration // longest a request's output buffer may stay full before it is cut off; 0 = 30 s
	Runtime       *wasm.Runtime // the wasm runtime the guests run in
	TokenizerWasm []byte        // tokenizer guest module
	SamplerWasm   []byte        // sampler guest module
	GuestPool     int           // instances per guest; 0 = 4, and at least Parallel

	// PluginRuntime runs policy plugins, under its limits (deadlines, CPU budget, memory); nil = Runtime.
	PluginRuntime *wasm.Runtime
	// PluginDir holds the plugins requests may name (NAME.wasm); "" = only the built-in policy.
	PluginDir string
	// Models are more models a plugin may run through the host kernels (e.g. a draft model), by name.
	Models map[string]string

	// Spec is the drafting mode requests get by default: SpecOff (""), SpecNgram or SpecDraft (which
	// needs DraftModel); SpecTokens is the most tokens drafted per step (0 = DefaultSpecTokens).
	Spec       string
	SpecTokens int
	// DraftModel is a smaller model with the model's vocabulary, for SpecDraft ("" = none).
	DraftModel string
}

// Engine serves one model: it owns the weights, the kernel threads, the paged KV cache and the guests. One
// scheduler goroutine batches every running sequence into each forward step (scheduler.go); each request's
// sampling, policy and streaming run in a worker goroutine of its own (generate.go).
type Engine struct {
	model   *model.Model
	pool    *kernels.Pool
	tok     *wasm.Tokenizer
	smp     *wasm.Sampler
	vocab   *abi.Vocab
	info    ModelInfo
	eog     map[int32]bool
	context int

	parallel     int
	batchTokens  int
	maxQueue     int
	writeTimeout time.Duration

	inbox       chan message  // workers → scheduler
	done        chan struct{} // closed by Close: queued and new requests fail with ErrClosed
	loopDone    chan struct{} // closed when the scheduler has stopped
	warmed      chan struct{} // closed when warmGuests has finished
	queued      atomic.Int64  // requests not admitted yet
	preemptions atomic.Int64
	stats       stats
	sched       *scheduler
	closeMu     sync.Mutex
	closing     bool
	workers     sync.WaitGroup // request workers, which Close waits for
	closeOnce   sync.Once

	guests          int           // instances per guest pool
	pluginRT        *wasm.Runtime // where policies run
	pluginDir       string
	policies        policies
	policyModelOnce sync.Once
	policyModelVal  *wasm.PolicyModel
	policyModelErr  error
	models          map[string]*model.Model // Config.Models, loaded

	specMode                              string       // Config.Spec, checked
	specTokens                            int          // Config.SpecTokens, or its default
	drafts                                *draftModel  // Config.DraftModel, loaded; nil without
	mtp                                   *mtpDrafter  // the model's MTP block; nil on a model without one
	specDrafts, specDrafted, specAccepted atomic.Int64 // drafts verified, their tokens, the tokens kept
}

// Open loads the model, sizes its KV cache, starts its guests and its scheduler.
func Open(cfg Config) (*Engine, error) {
	m, err := model.Open(cfg.ModelPath)
	if err != nil {
		return nil, err
	}
	e := &Engine{model: m}
	if err := e.init(cfg); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

func (e *Engine) init(cfg Config) error {
	m := e.model
	v, err := vocab.FromGGUF(m.File)
	if err != nil {
		return err
	}
	if len(v.Tokens) > m.Vocab {
		return fmt.Errorf("engine: %s: tokenizer has %d tokens but the embedding only %d rows", cfg.ModelPath, len(v.Tokens), m.Vocab)
	}
	e.vocab = v
	e.parallel = orDefault(cfg.Parallel, 8)
	e.batchTokens = max(orDefault(cfg.BatchTokens, 2048), e.parallel)
	e.maxQueue = orDefault(cfg.MaxQueue, 64)
	e.writeTimeout = cfg.WriteTimeout
	if e.writeTimeout <= 0 {
		e.writeTimeout = 30 * time.Second
	}
	e.guests = max(orDefault(cfg.GuestPool, 4), e.parallel) // every running request holds a sampler
	e.pluginRT, e.pluginDir = cfg.PluginRuntime, cfg.PluginDir
	if e.pluginRT == nil {
		e.pluginRT = cfg.Runtime
	}
	e.models = map[string]*model.Model{}
	for name, path := range cfg.Models {
		m, err := model.Open(path)
		if err != nil {
			return fmt.Errorf("engine: model %q: %w", name, err)
		}
		e.models[name] = m
	}
	if e.tok, err = wasm.NewTokenizer(cfg.Runtime, cfg.TokenizerWasm, v, e.guests); err != nil {
		return err
	}
	if e.smp, err = wasm.NewSampler(cfg.Runtime, cfg.SamplerWasm, e.guests); err != nil {
		return err
	}
	e.pool = kernels.NewPool(cfg.Threads)
	e.context = cfg.Context
	if e.context <= 0 {
		e.context = min(m.Context, 4096)
	}
	e.context = min(e.context, m.Context)
	kvTokens := cfg.KVCacheTokens
	if kvTokens <= 0 {
		kvTokens = defaultCacheTokens(m, e.parallel, e.context)
	}
	// A sequence never needs more than the pool: the context shrinks to fit, leaving a block for a copy.
	e.context = max(min(e.context, kvTokens-model.BlockTokens), 2)
	e.eog = map[int32]bool{}
	for _, id := range vocab.EOGTokens(v) {
		e.eog[id] = true
	}
	id := cfg.ID
	if id == "" {
		id = strings.TrimSuffix(filepath.Base(cfg.ModelPath), filepath.Ext(cfg.ModelPath))
		if n := len(m.File.Parts); n > 1 { // a split model is named without its part number
			if prefix, ok := gguf.SplitPrefix(m.File.Path, 0, n); ok {
				id = filepath.Base(prefix)
			}
		}
	}
	tmpl, _ := m.File.String("tokenizer.chat_template")
	e.info = ModelInfo{ID: id, Arch: m.Arch, ContextLength: e.context, VocabSize: m.Vocab, ChatTemplate: tmpl,
		BOSToken: tokenText(v, v.BOS), EOSToken: tokenText(v, v.EOS), AddBOS: v.AddBOS}

	drafters, err := e.initSpeculation(cfg, v.Tokens, max(kvTokens, e.context+model.BlockTokens))
	if err != nil {
		return err
	}
	e.inbox = make(chan message, 256)
	e.done = make(chan struct{})
	e.loopDone = make(chan struct{})
	e.warmed = make(chan struct{})
	e.sched = &scheduler{e: e, cache: m.NewCache(max(kvTokens, e.context+model.BlockTokens)),
		tenants: newTenants(namespace(id)), drafters: drafters}

	e.stats.total.Store(int64(e.sched.cache.Blocks()))
	go e.sched.loop()
	e.workers.Add(1)
	go e.warmGuests()
	return nil
}

// warmGuests starts a tokenizer and a sampler instance for every sequence that may run at once, in the
// background: without it the first burst of requests pays for their start and misses its first step. A
// failure here surfaces again, where it matters, on a request.
func (e *Engine) warmGuests() {
	defer e.workers.Done()
	defer close(e.warmed)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-e.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	_ = e.tok.Warm(ctx, e.parallel)
	_ = e.smp.Warm(ctx, e.parallel)
}

// Warmed is closed once the engine has started its guest instances in the background (or given up, on
// Close); a benchmark waits for it so that the start does not share the CPU with what it times.
func (e *Engine) Warmed() <-chan struct{} { return e.warmed }

// orDefault is v, or d when v is not positive.
func orDefault(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}

func tokenText(v *abi.Vocab, id int32) string {
	if id < 0 || int(id) >= len(v.Tokens) {
		return ""
	}
	return v.Tokens[id]
}

// Close stops the scheduler, fails queued and running requests with ErrClosed, waits for their workers,
// and releases the model and the kernel threads. Calling it again does nothing.
func (e *Engine) Close() error {
	var err error
	e.closeOnce.Do(func() {
		e.closeMu.Lock()
		e.closing = true
		e.closeMu.Unlock()
		if e.done != nil {
			close(e.done)
			<-e.loopDone
		}
		e.workers.Wait()
		if e.pool != nil {
			e.pool.Close()
		}
		for _, m := range e.models {
			m.Close()
		}
		if e.drafts != nil {
			e.drafts.close()
		}
		e.policies.closeRuntimes()
		err = e.model.Close()
	})
	return err
}

// Info describes the model.
func (e *Engine) Info() ModelInfo { return e.info }

// Model is the loaded model, for tools that run it directly (eval, benchmarks).
func (e *Engine) Model() *model.Model { return e.model }

// Pool is the kernel thread pool.
func (e *Engine) Pool() *kernels.Pool { return e.pool }

// Tokenize turns text into token ids in the tokenizer guest.
func (e *Engine) Tokenize(ctx context.Context, text string, addBOS, parseSpecial bool) ([]int32, error) {
	return e.tok.Encode(ctx, text, addBOS, parseSpecial)
}

// Detokenize turns token ids back into text (special tokens included) in the tokenizer guest.
func (e *Engine) Detokenize(ctx context.Context, ids []int32) (string, error) {
	b, err := e.tok.Decode(ctx, ids, true)
	return string(b), err
}
