package main

import (
	"fmt"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/wasmoe/wasmoe/internal/tenant"
)

// wranglerConfig is the part of a wrangler.toml (Cloudflare Workers' format) that an edge node reads.
type wranglerConfig struct {
	Name              string `toml:"name"`
	Main              string `toml:"main"` // the sampler guest (.wasm); relative to the config file
	CompatibilityDate string `toml:"compatibility_date"`
	Vars              struct {
		Model   string `toml:"MODEL"` // GGUF path; empty = the default model
		Addr    string `toml:"ADDR"`
		Context int    `toml:"CONTEXT"`
		Threads int    `toml:"THREADS"`
		// Directory of the policy plugins (NAME.wasm) requests may name; relative to the config file.
		PluginDir string `toml:"PLUGIN_DIR"`
		// "vllm": /metrics also shows every metric under vLLM's name (--metrics-names).
		MetricsNames string `toml:"METRICS_NAMES"`
		// The node's store file: deployed plugins and the tenants; relative to the config file; "" = none.
		Store string `toml:"STORE"`
		// More names the model answers to, each listed by /v1/models (--alias): ALIASES = ["a", "b"].
		Aliases []string `toml:"ALIASES"`
		// Access-Control-Allow-Origin of every response; "" = no CORS headers (--cors-origin).
		CORSOrigin string `toml:"CORS_ORIGIN"`
		// true: no web playground at / (--no-playground).
		NoPlayground bool `toml:"NO_PLAYGROUND"`
		// Speculative decoding unless a request picks its own: off, ngram, draft or mtp (--spec); the draft
		// model, relative to the config file (--draft-model); the most tokens drafted a step (--spec-tokens).
		Spec       string `toml:"SPEC"`
		DraftModel string `toml:"DRAFT_MODEL"`
		SpecTokens int    `toml:"SPEC_TOKENS"`
		// The plugin limits: a step's deadline, a request's CPU time inside its plugin (both durations, e.g.
		// "100ms"), an instance's memory cap and what idle instances keep per slot (MiB); 0 or left out: the
		// flag's default (--plugin-step-timeout, --plugin-cpu-budget, --plugin-memory-mb, --plugin-keep-memory-mb).
		PluginStepTimeout  duration `toml:"PLUGIN_STEP_TIMEOUT"`
		PluginCPUBudget    duration `toml:"PLUGIN_CPU_BUDGET"`
		PluginMemoryMB     int      `toml:"PLUGIN_MEMORY_MB"`
		PluginKeepMemoryMB int      `toml:"PLUGIN_KEEP_MEMORY_MB"`
	} `toml:"vars"`
	Limits struct {
		MaxQueue       int      `toml:"max_queue"`        // requests waiting for the model before 503
		MaxBodyBytes   int      `toml:"max_body_bytes"`   // largest request body
		MaxHeaderBytes int      `toml:"max_header_bytes"` // largest request line and headers
		MaxTokens      int      `toml:"max_tokens"`       // default max_tokens of a request
		Parallel       int      `toml:"parallel"`         // sequences running at once
		BatchTokens    int      `toml:"batch_tokens"`     // tokens one forward step may take
		KVCacheTokens  int      `toml:"kv_cache_tokens"`  // tokens the KV cache holds; 0 = sized from free memory
		WriteTimeout   duration `toml:"write_timeout"`    // longest a stream may go unread, e.g. "30s"
	} `toml:"limits"`
	// Who may use the node: the admin key's hash, and each tenant's name, key hashes and limits.
	Admin   tenant.Admin    `toml:"admin"`
	Tenants []tenant.Tenant `toml:"tenants"`
}

// duration is a time.Duration written as Go writes one ("30s", "1m30s"); a bare number is refused, as it
// would be nanoseconds.
type duration time.Duration

// UnmarshalText parses a duration string.
func (d *duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = duration(v)
	return err
}

// readWrangler parses path; unknown keys are an error that names them, so typos do not pass silently.
func readWrangler(path string) (*wranglerConfig, error) {
	var c wranglerConfig
	md, err := toml.DecodeFile(path, &c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if undec := md.Undecoded(); len(undec) > 0 {
		return nil, fmt.Errorf("%s: unknown key %q", path, undec[0].String())
	}
	return &c, nil
}

// tenancy returns the registry of the file's [admin] and [[tenants]]; an error names the file, the tenant
// and the field.
func (c *wranglerConfig) tenancy(path string) (*tenant.Registry, error) {
	reg, err := tenant.New(tenant.Config{Admin: c.Admin, Tenants: c.Tenants})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return reg, nil
}

// applyPluginVars sets the plugin limits the file's [vars] give (non-zero) and the command line does not
// (given[flag] false), and notes each as read from path, so that engineFlags.checkPluginLimits names the var.
func (c *wranglerConfig) applyPluginVars(path string, ef *engineFlags, given map[string]bool) {
	v := &c.Vars
	for _, s := range []struct {
		flag, name string
		set        bool
		apply      func()
	}{
		{"plugin-step-timeout", "PLUGIN_STEP_TIMEOUT", v.PluginStepTimeout != 0, func() { ef.stepTimeout = time.Duration(v.PluginStepTimeout) }},
		{"plugin-cpu-budget", "PLUGIN_CPU_BUDGET", v.PluginCPUBudget != 0, func() { ef.cpuBudget = time.Duration(v.PluginCPUBudget) }},
		{"plugin-memory-mb", "PLUGIN_MEMORY_MB", v.PluginMemoryMB != 0, func() { ef.pluginMemory = v.PluginMemoryMB }},
		{"plugin-keep-memory-mb", "PLUGIN_KEEP_MEMORY_MB", v.PluginKeepMemoryMB != 0, func() { ef.pluginKeep = v.PluginKeepMemoryMB }},
	} {
		if s.set && !given[s.flag] {
			s.apply()
			ef.fromVar(s.flag, s.name+" in "+path)
		}
	}
}
