package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/wasmoe/wasmoe/internal/hub"
)

// modelCache is where pulled models live: $WASMOE_CACHE/models.
func modelCache() hub.Cache { return hub.Cache{Dir: filepath.Join(cacheDir(), "models")} }

// parseHFRef reads a model reference, with or without the hf: prefix.
func parseHFRef(s string) (hub.Ref, error) {
	return hub.ParseRef(strings.TrimPrefix(s, "hf:"))
}

// pullModel pulls r into the cache, reporting progress on stderr (unless quiet), and returns the model.
func pullModel(ctx context.Context, r hub.Ref, quiet bool) (*hub.Model, error) {
	var p hub.Progress
	if !quiet {
		bar := newPullBar(os.Stderr, isTerminal(os.Stderr))
		defer bar.end()
		p = bar
	}
	waiting := func() { fmt.Fprintf(os.Stderr, "wasmoe: waiting for another pull of %s to finish\n", r.Repo) }
	m, err := modelCache().Pull(ctx, hub.FromEnv(), r, p, waiting)
	if err == nil && !quiet {
		var size int64
		for _, f := range m.Files {
			size += f.Size
		}
		fmt.Fprintf(os.Stderr, "wasmoe: %s (%s, %d files, %s) at commit %.12s\n", m.Ref, m.Quant, len(m.Files), humanBytes(size), m.Commit)
	}
	return m, err
}

// pullCmd downloads a model from the hub into the cache and prints its local path.
func pullCmd(args []string) error {
	fs := flag.NewFlagSet("pull", flag.ContinueOnError)
	quiet := fs.Bool("quiet", false, "no progress output")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: wasmoe pull [--quiet] org/repo[:QUANT][@REVISION]")
	}
	r, err := parseHFRef(fs.Arg(0))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m, err := pullModel(ctx, r, *quiet)
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: wasmoe pull %s resumes where it stopped", r)
	}
	if err != nil {
		return err
	}
	fmt.Println(m.Path)
	return nil
}

// listCmd prints the cache's models: reference, files, size and the path --model takes.
func listCmd(args []string) error {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("usage: wasmoe list")
	}
	c := modelCache()
	entries, err := c.List()
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		fmt.Fprintf(os.Stderr, "no pulled models in %s (wasmoe pull org/repo[:QUANT] adds one)\n", c.Dir)
		return nil
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tFILES\tSIZE\tPATH")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", e.Ref, e.Files, humanBytes(e.Size), e.Path)
	}
	return tw.Flush()
}

// rmCmd deletes models from the cache.
func rmCmd(args []string) error {
	fs := flag.NewFlagSet("rm", flag.ContinueOnError)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("usage: wasmoe rm org/repo[:QUANT][@REVISION]...")
	}
	var errs []error
	for _, a := range fs.Args() {
		r, err := parseHFRef(a)
		if err == nil {
			err = modelCache().Remove(r)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Printf("removed %s\n", r)
	}
	return errors.Join(errs...)
}

// humanBytes formats a size in binary units.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), -1
	for v >= unit && i < 4 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTP"[i])
}
