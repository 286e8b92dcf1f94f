package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/wasmoe/wasmoe/internal/edge"
	"github.com/wasmoe/wasmoe/internal/host/engine"
	"github.com/wasmoe/wasmoe/internal/tenant"
)

// The bounds of --max-header-bytes: room for a request line and a few headers, and at most 1 MiB, which
// fasthttp allocates per connection.
const (
	minHeaderBytes = 1 << 10
	maxHeaderLimit = 1 << 20
)

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var ef engineFlags
	ef.register(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	config := fs.String("config", "", "wrangler.toml to read (flags given on the command line override it)")
	storePath := fs.String("store", "", "the node's store file (bbolt): deployed plugins and tenants; \"\" turns deploying off")
	maxQueue := fs.Int("max-queue", 64, "requests waiting for the model before answering 503")
	fs.IntVar(&ef.parallel, "parallel", 8, "sequences the engine runs at once (the rest wait in the queue)")
	fs.IntVar(&ef.batchTokens, "batch-tokens", 2048, "tokens one forward step may take, decoding sequences first")
	fs.IntVar(&ef.kvCacheTokens, "kv-cache-tokens", 0, "tokens the KV cache holds, all sequences together (0: sized from free memory)")
	fs.DurationVar(&ef.writeTimeout, "write-timeout", 30*time.Second, "longest a client may leave its stream unread before it is cut off")
	metricsNames := fs.String("metrics-names", edge.MetricsNamesWasmoe, "names of the /metrics metrics: wasmoe, or vllm for vLLM's names too")
	maxTenants := fs.Int("metrics-max-tenants", 100, "tenants /metrics labels by name; later ones are labelled \"other\"")
	drainDelay := fs.Duration("drain-delay", 0, "on SIGTERM, how long /ready answers 503 before the listener closes (for load balancers)")
	maxHeaderBytes := fs.Int("max-header-bytes", edge.DefaultConfig().MaxHeaderBytes, "largest request line and headers, bytes (larger: 431)")
	var aliases nameList
	fs.Var(&aliases, "alias", "another name the model answers to, listed by /v1/models as a model of its own (repeatable)")
	noPlayground := fs.Bool("no-playground", false, "serve no web playground at / (a 404 there, like any unknown path)")
	corsOrigin := fs.String("cors-origin", "", "Access-Control-Allow-Origin of every response (* or https://app.example); \"\" sends no CORS headers")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	ecfg := edge.DefaultConfig()
	if *config != "" {
		c, err := readWrangler(*config)
		if err != nil {
			return err
		}
		if ecfg.Tenants, err = c.tenancy(*config); err != nil {
			return err
		}
		dir := filepath.Dir(*config)
		rel := func(p string) string {
			if p == "" || filepath.IsAbs(p) || strings.HasPrefix(p, "hf:") {
				return p
			}
			return filepath.Join(dir, p)
		}
		apply := func(name string, fn func()) {
			if !set[name] {
				fn()
			}
		}
		apply("model", func() { ef.model = rel(c.Vars.Model) })
		apply("sampler", func() { ef.sampler = rel(c.Main) })
		apply("addr", func() {
			if c.Vars.Addr != "" {
				*addr = c.Vars.Addr
			}
		})
		apply("plugin-dir", func() { ef.pluginDir = rel(c.Vars.PluginDir) })
		apply("metrics-names", func() {
			if c.Vars.MetricsNames != "" {
				*metricsNames = c.Vars.MetricsNames
			}
		})
		apply("store", func() { *storePath = rel(c.Vars.Store) })
		apply("alias", func() { aliases = c.Vars.Aliases })
		apply("cors-origin", func() { *corsOrigin = c.Vars.CORSOrigin })
		apply("no-playground", func() { *noPlayground = c.Vars.NoPlayground })
		applyVar := func(flag, name string, fn func()) { // a var whose bad value engineFlags.open names
			apply(flag, func() {
				fn()
				ef.fromVar(flag, name+" in "+*config)
			})
		}
		applyVar("spec", "SPEC", func() { ef.spec = c.Vars.Spec })
		applyVar("draft-model", "DRAFT_MODEL", func() { ef.draftModel = rel(c.Vars.DraftModel) })
		applyVar("spec-tokens", "SPEC_TOKENS", func() { ef.specTokens = c.Vars.SpecTokens })
		c.applyPluginVars(*config, &ef, set)
		apply("ctx", func() { ef.ctx = c.Vars.Context })
		apply("threads", func() { ef.threads = c.Vars.Threads })
		apply("max-queue", func() {
			if c.Limits.MaxQueue > 0 {
				*maxQueue = c.Limits.MaxQueue
			}
		})
		apply("parallel", func() {
			if c.Limits.Parallel > 0 {
				ef.parallel = c.Limits.Parallel
			}
		})
		apply("batch-tokens", func() {
			if c.Limits.BatchTokens > 0 {
				ef.batchTokens = c.Limits.BatchTokens
			}
		})
		apply("kv-cache-tokens", func() {
			if c.Limits.KVCacheTokens > 0 {
				ef.kvCacheTokens = c.Limits.KVCacheTokens
			}
		})
		apply("write-timeout", func() {
			if c.Limits.WriteTimeout > 0 {
				ef.writeTimeout = time.Duration(c.Limits.WriteTimeout)
			}
		})
		apply("max-header-bytes", func() {
			if c.Limits.MaxHeaderBytes > 0 {
				*maxHeaderBytes = c.Limits.MaxHeaderBytes
			}
		})
		if c.Limits.MaxBodyBytes > 0 {
			ecfg.MaxBodyBytes = c.Limits.MaxBodyBytes
		}
		if c.Limits.MaxTokens > 0 {
			ecfg.DefaultMaxTokens = c.Limits.MaxTokens
		}
	}
	if ef.parallel < 0 || ef.batchTokens < 0 || ef.kvCacheTokens < 0 || ef.writeTimeout < 0 || *maxTenants < 0 || *drainDelay < 0 {
		return fmt.Errorf("--parallel, --batch-tokens, --kv-cache-tokens, --write-timeout, --metrics-max-tenants and --drain-delay must not be negative")
	}
	if *metricsNames != edge.MetricsNamesWasmoe && *metricsNames != edge.MetricsNamesVLLM {
		return fmt.Errorf("--metrics-names (METRICS_NAMES) is %q; want %q or %q", *metricsNames, edge.MetricsNamesWasmoe, edge.MetricsNamesVLLM)
	}
	if *maxHeaderBytes < minHeaderBytes || *maxHeaderBytes > maxHeaderLimit {
		return fmt.Errorf("--max-header-bytes (max_header_bytes in [limits]) %d: want %d to %d", *maxHeaderBytes, minHeaderBytes, maxHeaderLimit)
	}
	ecfg.MaxHeaderBytes = *maxHeaderBytes
	ef.maxQueue = *maxQueue
	ecfg.WriteTimeout = ef.writeTimeout
	ecfg.MetricsNames, ecfg.MaxTenantLabels = *metricsNames, *maxTenants
	ecfg.CORSOrigin = *corsOrigin
	ecfg.NoPlayground = *noPlayground
	if *storePath != "" {
		st, err := openStore(*storePath, &ecfg)
		if err != nil {
			return err
		}
		defer st.Close()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The port is bound before the model loads: /health answers at once, /ready says 503 until the model is in.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	port := newHandoff(ln)
	loading, loadingLn := loadingServer(), port.listener(false)
	go loading.Serve(loadingLn)
	fmt.Fprintf(os.Stderr, "wasmoe: listening on http://%s; loading the model (/ready answers 503 until it is in)\n", ln.Addr())
	e, err := ef.open(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	lctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err = loading.ShutdownWithContext(lctx)
	cancel()
	loadingLn.Close() // in case Shutdown came before Serve took the listener
	if err != nil {
		return fmt.Errorf("stopping the loading server: %w", err)
	}
	go func() { // the built-in policy (response_format, JSON schema) builds a token trie per instance: start one now
		if _, err := e.Policy(engine.BuiltinPolicy); err != nil {
			fmt.Fprintf(os.Stderr, "wasmoe: the built-in policy did not load: %v\n", err)
		}
	}()
	id := e.Info().ID
	ecfg.Aliases = map[string]string{}
	for _, a := range aliases {
		ecfg.Aliases[a] = id
	}
	srv := edge.NewServer(ecfg, e)
	fmt.Fprintf(os.Stderr, "wasmoe: serving %q on http://%s (OpenAI-compatible API)\n", id, ln.Addr())
	if !*noPlayground {
		fmt.Fprintf(os.Stderr, "wasmoe: web playground at http://%s/\n", ln.Addr())
	}
	if len(aliases) > 0 {
		fmt.Fprintf(os.Stderr, "wasmoe: %q also answers to %s\n", id, strings.Join(aliases, ", "))
	}
	fmt.Fprintf(os.Stderr, "wasmoe: %s\n", tenancyLine(ecfg.Tenants))
	fmt.Fprintf(os.Stderr, "try:\n  curl http://%s/v1/chat/completions -H 'Content-Type: application/json' \\\n"+
		"    -d '{\"model\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello!\"}],\"max_tokens\":32,\"stream\":true}'\n", ln.Addr(), id)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(port.listener(true)) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		srv.Drain()
		if *drainDelay > 0 {
			fmt.Fprintf(os.Stderr, "wasmoe: draining: /ready answers 503 for %v before the listener closes\n", *drainDelay)
			time.Sleep(*drainDelay)
		}
		fmt.Fprintln(os.Stderr, "wasmoe: shutting down, finishing open requests")
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
}

// nameList collects a repeated flag's values (--alias).
type nameList []string

// String joins the names.
func (n *nameList) String() string { return strings.Join(*n, ",") }

// Set adds a name; an empty one is refused.
func (n *nameList) Set(v string) error {
	if v == "" {
		return fmt.Errorf("want a name, got \"\"")
	}
	*n = append(*n, v)
	return nil
}

// tenancyLine says who may use the node: the tenants, who need a key, or anyone.
func tenancyLine(reg *tenant.Registry) string {
	if reg == nil || reg.Open() {
		return "no tenants configured: the node is open to anyone who reaches it"
	}
	switch n := len(reg.Config().Tenants); n {
	case 0:
		return "no tenants yet: only the admin key may use the node until the admin API adds some"
	case 1:
		return "1 tenant; requests need Authorization: Bearer KEY"
	default:
		return fmt.Sprintf("%d tenants; requests need Authorization: Bearer KEY", n)
	}
}
