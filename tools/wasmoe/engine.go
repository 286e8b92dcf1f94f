package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wasmoe/wasmoe/internal/builtin"
	"github.com/wasmoe/wasmoe/internal/host/engine"
	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/host/hfmap"
	"github.com/wasmoe/wasmoe/internal/host/modelgen"
	"github.com/wasmoe/wasmoe/internal/host/vocab"
	"github.com/wasmoe/wasmoe/internal/host/wasm"
)

// engineFlags are the flags of every command that loads a model.
type engineFlags struct {
	model    string
	ctx      int
	threads  int
	sampler  string
	maxQueue int

	// The scheduler's settings, serve's flags; other commands leave them 0, the engine's defaults.
	parallel      int           // sequences running at once
	batchTokens   int           // tokens per forward step
	kvCacheTokens int           // KV cache size in tokens
	writeTimeout  time.Duration // longest a request's output may wait for its reader

	engine       string            // wasm engine
	pluginDir    string            // plugins requests may name
	stepTimeout  time.Duration     // per call into a plugin
	cpuBudget    time.Duration     // per request inside a plugin
	pluginMemory int               // MiB of linear memory per plugin instance
	pluginKeep   int               // MiB of memory per pool slot that idle plugin instances may keep
	models       modelList         // extra models for plugins, name=path
	fromVars     map[string]string // flag name -> "VAR in FILE" for the settings a config file's [vars] gave

	spec       string // speculative decoding's default drafting mode
	draftModel string // the draft model of --spec draft
	specTokens int    // the most tokens drafted per step
}

// modelList collects repeated --extra-model name=path flags.
type modelList map[string]string

func (m modelList) String() string { return fmt.Sprint(map[string]string(m)) }

func (m modelList) Set(v string) error {
	name, path, ok := strings.Cut(v, "=")
	if !ok || name == "" || path == "" {
		return fmt.Errorf("want name=path, got %q", v)
	}
	m[name] = path
	return nil
}

func (f *engineFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.model, "model", "", "GGUF model file, Hugging Face directory, or hf:org/repo[:QUANT][@REVISION] (pulled from the hub; default: a small random-weight model, generated once)")
	fs.IntVar(&f.ctx, "ctx", 0, "context tokens per sequence (default: min(model, 4096))")
	fs.IntVar(&f.threads, "threads", 0, "kernel threads (default: all cores)")
	fs.StringVar(&f.sampler, "sampler", "", "sampler guest .wasm (default: the built-in sampler)")
	fs.StringVar(&f.engine, "engine", wasm.EngineWazero, "wasm engine for every guest, one of this binary's: "+strings.Join(wasm.Engines(), ", "))
	fs.StringVar(&f.pluginDir, "plugin-dir", "", "directory of policy plugins (NAME.wasm) that requests may name")
	fs.DurationVar(&f.stepTimeout, "plugin-step-timeout", 100*time.Millisecond, "longest one call into a plugin may run")
	fs.DurationVar(&f.cpuBudget, "plugin-cpu-budget", 10*time.Second, "time one request may spend inside its plugin")
	fs.IntVar(&f.pluginMemory, "plugin-memory-mb", 512, "linear memory cap of each plugin instance, MiB")
	fs.IntVar(&f.pluginKeep, "plugin-keep-memory-mb", 64, "memory a plugin's idle instances keep between requests (their caches), MiB per --parallel slot")
	f.models = modelList{}
	fs.Var(f.models, "extra-model", "name=path of a further model plugins may run through the host kernels (repeatable)")
	fs.StringVar(&f.spec, "spec", "", "speculative decoding's drafting, unless a request picks its own: off, ngram (prompt lookup), "+
		"draft (--draft-model) or mtp (default: draft with --draft-model, else off)")
	fs.StringVar(&f.draftModel, "draft-model", "", "a smaller model with the same tokenizer that drafts tokens for the model to verify")
	fs.IntVar(&f.specTokens, "spec-tokens", 0, fmt.Sprintf("the most tokens drafted per step, 1 to %d (default %d; fewer while drafts are rejected)",
		engine.MaxSpecTokens, engine.DefaultSpecTokens))
}

// cacheDir is where generated models and compiled guests are kept.
func cacheDir() string {
	if d := os.Getenv("WASMOE_CACHE"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		d = os.TempDir()
	}
	return filepath.Join(d, "wasmoe")
}

// open loads the model (or the default one) and its guests.
func (f *engineFlags) open(ctx context.Context) (*engine.Engine, error) {
	path, err := resolveModel(ctx, f.model)
	if err != nil {
		return nil, err
	}
	if path != "" {
		if _, err := isHFDir(path); err != nil {
			return nil, err
		}
	} else {
		if path, err = modelgen.EnsureDefault(cacheDir()); err != nil {
			return nil, fmt.Errorf("default model: %w", err)
		}
		fmt.Fprintf(os.Stderr, "wasmoe: no --model given: using %s, a small model with RANDOM weights (its output is noise).\n"+
			"wasmoe: serve a real model with --model path/to/model.gguf (e.g. a DeepSeek-R1-Distill-Qwen GGUF)\n", path)
	}
	if f.draftModel != "" {
		if _, err := isHFDir(f.draftModel); err != nil {
			return nil, fmt.Errorf("%s: %w", f.setting("draft-model"), err)
		}
	}
	switch f.spec {
	case "", engine.SpecOff, engine.SpecNgram, engine.SpecDraft, engine.SpecMTP:
	default:
		return nil, fmt.Errorf("%s %s: want %s, %s, %s or %s", f.setting("spec"), f.spec, engine.SpecOff, engine.SpecNgram, engine.SpecDraft, engine.SpecMTP)
	}
	if f.spec == engine.SpecDraft && f.draftModel == "" {
		return nil, fmt.Errorf("%s %s needs --draft-model", f.setting("spec"), f.spec)
	}
	if f.specTokens < 0 || f.specTokens > engine.MaxSpecTokens {
		return nil, fmt.Errorf("%s %d: want 1 to %d", f.setting("spec-tokens"), f.specTokens, engine.MaxSpecTokens)
	}
	if err := f.checkPluginLimits(); err != nil {
		return nil, err
	}
	for name, p := range f.models {
		if p, err = resolveModel(ctx, p); err == nil {
			f.models[name] = p
			_, err = isHFDir(p)
		}
		if err != nil {
			return nil, fmt.Errorf("--extra-model %s: %w", name, err)
		}
	}
	samplerWasm := builtin.Sampler
	if f.sampler != "" {
		b, err := os.ReadFile(f.sampler)
		if err != nil {
			return nil, fmt.Errorf("--sampler: %w", err)
		}
		samplerWasm = b
	}
	rt, err := newRuntime(ctx, f.engine)
	if err != nil {
		return nil, err
	}
	plugins, err := wasm.NewRuntime(ctx, f.pluginConfig())
	if err != nil {
		return nil, err
	}
	return engine.Open(engine.Config{ModelPath: path, Threads: f.threads, Context: f.ctx, Runtime: rt, MaxQueue: f.maxQueue,
		Parallel: f.parallel, BatchTokens: f.batchTokens, KVCacheTokens: f.kvCacheTokens, WriteTimeout: f.writeTimeout,
		TokenizerWasm: builtin.Tokenizer, SamplerWasm: samplerWasm, PluginRuntime: plugins, PluginDir: f.pluginDir, Models: f.models,
		Spec: f.spec, DraftModel: f.draftModel, SpecTokens: f.specTokens})
}

// checkPluginLimits refuses plugin limits out of range, naming each by setting.
func (f *engineFlags) checkPluginLimits() error {
	if f.stepTimeout < 0 {
		return fmt.Errorf("%s %v: must not be negative", f.setting("plugin-step-timeout"), f.stepTimeout)
	}
	if f.cpuBudget < 0 {
		return fmt.Errorf("%s %v: must not be negative", f.setting("plugin-cpu-budget"), f.cpuBudget)
	}
	if f.pluginMemory <= 0 || f.pluginMemory > 4096 {
		return fmt.Errorf("%s %d: want 1 to 4096", f.setting("plugin-memory-mb"), f.pluginMemory)
	}
	if f.pluginKeep <= 0 || f.pluginKeep > f.pluginMemory {
		return fmt.Errorf("%s %d: want 1 to %s (%d)", f.setting("plugin-keep-memory-mb"), f.pluginKeep, f.setting("plugin-memory-mb"), f.pluginMemory)
	}
	return nil
}

// fromVar notes that a config file's var (where: "VAR in FILE") gave the setting of flag, for setting.
func (f *engineFlags) fromVar(flag, where string) {
	if f.fromVars == nil {
		f.fromVars = map[string]string{}
	}
	f.fromVars[flag] = where
}

// setting names the setting of a flag in an error: the flag, and the file's var where a config file gave it.
func (f *engineFlags) setting(flag string) string {
	if v, ok := f.fromVars[flag]; ok {
		return "--" + flag + " (" + v + ")"
	}
	return "--" + flag
}

// pluginConfig is the configuration of the runtime that runs policy plugins, under the plugin limits.
func (f *engineFlags) pluginConfig() wasm.Config {
	return wasm.Config{Engine: f.engine, CacheDir: filepath.Join(cacheDir(), f.engine), StepTimeout: f.stepTimeout,
		CPUBudget: f.cpuBudget, MemoryLimitPages: uint32(f.pluginMemory * 16), KeepMemoryPages: uint32(f.pluginKeep * 16)}
}

// newRuntime starts the runtime of the built-in guests: trusted code, no deadlines.
func newRuntime(ctx context.Context, engineName string) (*wasm.Runtime, error) {
	return wasm.NewRuntime(ctx, wasm.Config{Engine: engineName, CacheDir: filepath.Join(cacheDir(), engineName)})
}

// openTokenizer starts the tokenizer guest on the vocabulary of a GGUF file or a Hugging Face directory,
// without loading weights. A directory's tokenizer is read as the engine reads it: through the GGUF
// metadata hfmap.Open makes of it.
func openTokenizer(ctx context.Context, path string) (*wasm.Tokenizer, error) {
	path, err := resolveModel(ctx, path)
	if err != nil {
		return nil, err
	}
	hf, err := isHFDir(path)
	if err != nil {
		return nil, err
	}
	var f *gguf.File
	if hf {
		_, f, err = hfmap.Open(path)
	} else {
		f, err = gguf.Open(path)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	v, err := vocab.FromGGUF(f)
	if err != nil {
		return nil, err
	}
	rt, err := newRuntime(ctx, wasm.EngineWazero)
	if err != nil {
		return nil, err
	}
	return wasm.NewTokenizer(rt, builtin.Tokenizer, v, 1)
}
