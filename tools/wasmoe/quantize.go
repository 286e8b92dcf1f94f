package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/wasmoe/wasmoe/internal/host/quantize"
)

// quantizeCmd is `wasmoe quantize`: llama-quantize's presets, from a GGUF file or a Hugging Face directory.
func quantizeCmd(args []string) error {
	fs := flag.NewFlagSet("quantize", flag.ContinueOnError)
	model := fs.String("model", "", "input: a GGUF file (F32, F16, BF16, Q8_0, … tensors), a Hugging Face directory, or hf:org/repo[:QUANT]")
	typ := fs.String("type", "", "preset, as llama-quantize names them: Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K_S Q3_K_M Q3_K_L Q4_K_S Q4_K_M Q5_K_S Q5_K_M Q6_K IQ4_NL IQ4_XS F16 BF16 F32")
	out := fs.String("out", "", "output GGUF path (written as OUT.tmp, renamed when complete)")
	threads := fs.Int("threads", 0, "goroutines quantizing rows (default: all CPUs)")
	dry := fs.Bool("dry-run", false, "print each tensor's type and size without writing anything")
	compare := fs.String("compare", "", "REF.gguf: instead of quantizing, compare --out (ours) and REF (e.g. llama-quantize's) against --model, per tensor RMSE")
	tol := fs.Float64("tolerance", 0.02, "--compare: allowed relative excess of our RMSE over REF's")
	quiet := fs.Bool("quiet", false, "no progress output")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *model == "" || (*out == "" && !*dry) {
		return fmt.Errorf("usage: wasmoe quantize --model IN.gguf|HF_DIR --type PRESET --out OUT.gguf")
	}
	path, err := resolveModel(context.Background(), *model)
	if err != nil {
		return err
	}
	*model = path
	if _, err := isHFDir(*model); err != nil {
		return err
	}
	if *compare != "" {
		return compareCmd(*model, *out, *compare, *tol)
	}
	p, err := quantize.ParsePreset(*typ)
	if err != nil {
		return fmt.Errorf("--type: %w", err)
	}
	if *dry {
		plan, err := quantize.PlanFile(*model, p)
		if err != nil {
			return err
		}
		for _, t := range plan {
			fmt.Printf("%-40s %-10v %-8s -> %s\n", t.Name, t.Dims, t.Type, t.Out)
		}
		return nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o := quantize.Options{Input: *model, Output: *out, Preset: p, Threads: *threads}
	if !*quiet {
		o.Log = os.Stderr
		if st, err := os.Stderr.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			o.Terminal = true
		}
	}
	return quantize.Run(ctx, o)
}

// compareCmd prints, per tensor, the RMSE of ours and ref against the input, and fails when ours exceeds
// ref's by more than tol (relative).
func compareCmd(input, ours, ref string, tol float64) error {
	rows, err := quantize.Compare(input, ours, ref)
	if err != nil {
		return err
	}
	bad := 0
	fmt.Printf("%-40s %-8s %-8s %12s %12s %8s\n", "tensor", "ours", "ref", "rmse ours", "rmse ref", "ratio")
	for _, r := range rows {
		mark := ""
		if !r.Within(tol) {
			mark = "  <-- worse"
			bad++
		}
		fmt.Printf("%-40s %-8s %-8s %12.4g %12.4g %8.4f%s\n", r.Name, r.Ours, r.Ref, r.RMSEOurs, r.RMSERef, r.Ratio(), mark)
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d tensors have an RMSE more than %.1f%% above the reference's", bad, len(rows), 100*tol)
	}
	fmt.Printf("all %d tensors within %.1f%% of the reference's RMSE\n", len(rows), 100*tol)
	return nil
}
