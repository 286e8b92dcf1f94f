package main

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/wasmoe/wasmoe/internal/store"
)

// pluginWrangler is the part of a plugin's wrangler.toml that `wasmoe deploy` reads: the plugin's name,
// its module (main) and compatibility date, and a [limits] table with the limits it asks to run under.
// Other tables (a Worker's [vars], routes…) are left alone; an unknown key in [limits] is an error.
type pluginWrangler struct {
	Name              string             `toml:"name"`
	Main              string             `toml:"main"`
	CompatibilityDate string             `toml:"compatibility_date"`
	Limits            store.PluginLimits `toml:"limits"`
}

// apiFlags are the flags of every command that talks to a node's plugin API.
type apiFlags struct {
	url, key, tenant string
}

// register adds --url, --key and --tenant; the environment's WASMOE_URL and WASMOE_API_KEY are their
// defaults.
func (a *apiFlags) register(fs *flag.FlagSet) {
	def := os.Getenv("WASMOE_URL")
	if def == "" {
		def = "http://127.0.0.1:8080"
	}
	fs.StringVar(&a.url, "url", def, "the node's base URL (default $WASMOE_URL or http://127.0.0.1:8080)")
	fs.StringVar(&a.key, "key", os.Getenv("WASMOE_API_KEY"), "API key: the tenant's, or the admin key with --tenant (default $WASMOE_API_KEY)")
	fs.StringVar(&a.tenant, "tenant", "", "with the admin key: the tenant to act for")
}

// deployCmd is `wasmoe deploy`: it builds a bundle from a .wasm or a plugin's wrangler.toml and uploads
// it as a new version.
func deployCmd(args []string) error {
	fs := flag.NewFlagSet("deploy", flag.ContinueOnError)
	var api apiFlags
	api.register(fs)
	name := fs.String("name", "", "plugin name (default: the wrangler.toml's name, or the .wasm file's name)")
	tag := fs.String("tag", "", "a tag for the version (NAME@TAG names it in requests)")
	message := fs.String("message", "", "a message kept with the version")
	percent := fs.Int("percent", 100, "traffic the new version gets: 100 all; 1-99 a split with the current version; 0 upload only")
	date := fs.String("compatibility-date", "", "for a bare .wasm: the manifest's compatibility_date (YYYY-MM-DD)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("want one FILE.wasm or wrangler.toml (wasmoe deploy [flags] FILE)")
	}
	if *percent < 0 || *percent > 100 {
		return fmt.Errorf("--percent %d: want 0 to 100", *percent)
	}
	b, err := readBundle(fs.Arg(0), *name, *date)
	if err != nil {
		return err
	}
	raw, err := store.EncodeBundle(b)
	if err != nil {
		return err
	}
	q := url.Values{"percentage": {strconv.Itoa(*percent)}}
	if *tag != "" {
		q.Set("tag", *tag)
	}
	if *message != "" {
		q.Set("message", *message)
	}
	var out struct {
		Version   store.Version `json:"version"`
		Plugin    store.Plugin  `json:"plugin"`
		CompileMS float64       `json:"compile_ms"`
	}
	if err := api.call("POST", "/v1/plugins/"+url.PathEscape(b.Manifest.Name)+"/versions", q, store.BundleContentType, raw, &out); err != nil {
		return err
	}
	v := out.Version
	fmt.Printf("deployed %s version %d (sha256 %s, %d bytes, %d compressed; compiled and started in %.0f ms)\n",
		out.Plugin.Name, v.ID, v.SHA256[:12], v.Size, len(raw), out.CompileMS)
	fmt.Printf("traffic: %s\n", traffic(out.Plugin.Deployment))
	return nil
}

// readBundle builds the bundle of path: a plugin's wrangler.toml (its main module, name, date and
// limits) or a .wasm file (named by name, or the file's name).
func readBundle(path, name, date string) (store.Bundle, error) {
	var b store.Bundle
	if strings.HasSuffix(path, ".toml") {
		var w pluginWrangler
		md, err := toml.DecodeFile(path, &w)
		if err != nil {
			return b, fmt.Errorf("%s: %w", path, err)
		}
		for _, k := range md.Undecoded() {
			if len(k) > 1 && k[0] == "limits" {
				return b, fmt.Errorf("%s: unknown key %q (a plugin's [limits] has memory_mb, step_timeout and cpu_budget)", path, k.String())
			}
		}
		if w.Main == "" {
			return b, fmt.Errorf("%s: no main: name the plugin's .wasm module", path)
		}
		mod := w.Main
		if !filepath.IsAbs(mod) {
			mod = filepath.Join(filepath.Dir(path), mod)
		}
		if b.Module, err = os.ReadFile(mod); err != nil {
			return b, fmt.Errorf("%s: main: %w", path, err)
		}
		b.Manifest = store.Manifest{Name: w.Name, CompatibilityDate: w.CompatibilityDate, Limits: w.Limits}
		if name != "" {
			b.Manifest.Name = name
		}
		if date != "" {
			b.Manifest.CompatibilityDate = date
		}
		if err := b.Manifest.Validate(); err != nil {
			return b, fmt.Errorf("%s: %w", path, err)
		}
		return b, nil
	}
	mod, err := os.ReadFile(path)
	if err != nil {
		return b, err
	}
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	b = store.Bundle{Manifest: store.Manifest{Name: name, CompatibilityDate: date}, Module: mod}
	if err := b.Manifest.Validate(); err != nil {
		return b, fmt.Errorf("%s: %w (choose one with --name)", path, err)
	}
	return b, nil
}

// traffic describes a deployment: "version 3 100%" or "version 2 90%, version 3 10%".
func traffic(d store.Deployment) string {
	if len(d.Versions) == 0 {
		return "none (nothing deployed)"
	}
	var parts []string
	for _, s := range d.Versions {
		parts = append(parts, fmt.Sprintf("version %d %d%%", s.Version, s.Percentage))
	}
	return strings.Join(parts, ", ")
}
