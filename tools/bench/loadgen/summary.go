package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
)

// runKey identifies the runs of one label at one client count.
type runKey struct {
	label   string
	clients int
}

// summarize reads loadgen's JSON lines from path and prints, per client count, the medians of ours and of the
// best of theirs (the label with the highest median gen tok/s at that count) and the medians of the per-round
// ratios ours/theirs, pairing runs by round. Lines that are not JSON objects are skipped.
func summarize(w io.Writer, path, ours string, theirs []string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	runs := map[runKey][]Result{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), maxLineBytes)
	for sc.Scan() {
		var r Result
		if line := strings.TrimSpace(sc.Text()); !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &r) != nil {
			continue
		}
		k := runKey{r.Label, r.Clients}
		runs[k] = append(runs[k], r)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	var counts []int
	for k := range runs {
		if k.label == ours {
			counts = append(counts, k.clients)
		}
	}
	if len(counts) == 0 {
		return fmt.Errorf("%s has no runs labelled %q", path, ours)
	}
	sort.Ints(counts)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "clients\t%s tok/s\tbest other\tother tok/s\tratio\t%s TTFT p99 ms\tother\tratio\t%s ITL p99 ms\tother\tratio\terrors\t\n", ours, ours, ours)
	for _, c := range counts {
		our := runs[runKey{ours, c}]
		best, bestTPS := "", -1.0
		for _, t := range theirs {
			if rs := runs[runKey{t, c}]; len(rs) > 0 {
				if m := median(field(rs, genTPS)); m > bestTPS {
					best, bestTPS = t, m
				}
			}
		}
		errs := 0
		for _, r := range our {
			errs += r.Errors
		}
		if best == "" {
			fmt.Fprintf(tw, "%d\t%.2f\t-\t-\t-\t%.0f\t-\t-\t%.0f\t-\t-\t%d\t\n", c, median(field(our, genTPS)),
				median(field(our, ttftP99)), median(field(our, itlP99)), errs)
			continue
		}
		other := runs[runKey{best, c}]
		for _, r := range other {
			errs += r.Errors
		}
		fmt.Fprintf(tw, "%d\t%.2f\t%s\t%.2f\t%.2f\t%.0f\t%.0f\t%.2f\t%.0f\t%.0f\t%.2f\t%d\t\n", c,
			median(field(our, genTPS)), best, bestTPS, median(pairedRatios(our, other, genTPS)),
			median(field(our, ttftP99)), median(field(other, ttftP99)), median(pairedRatios(our, other, ttftP99)),
			median(field(our, itlP99)), median(field(other, itlP99)), median(pairedRatios(our, other, itlP99)), errs)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "ratios are medians over rounds of ours/other, paired by round; tok/s: higher is better for ours, latencies: lower")
	if lo, hi := counts[0], counts[len(counts)-1]; lo != hi {
		r := median(pairedRatios(runs[runKey{ours, hi}], runs[runKey{ours, lo}], itlP99))
		fmt.Fprintf(w, "%s inter-token p99 at %d clients / at %d: %.2f\n", ours, hi, lo, r)
	}
	return nil
}

// Accessors of the Result fields the summary compares.
func genTPS(r Result) float64  { return r.GenTokPerSec }
func ttftP99(r Result) float64 { return r.TTFTp99 }
func itlP99(r Result) float64  { return r.ITLp99 }

// field collects one field of each run.
func field(rs []Result, f func(Result) float64) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}

// pairedRatios is f(a)/f(b) for each round both a and b ran, skipping zero denominators.
func pairedRatios(a, b []Result, f func(Result) float64) []float64 {
	var out []float64
	for _, x := range a {
		for _, y := range b {
			if x.Round == y.Round && f(y) != 0 {
				out = append(out, f(x)/f(y))
			}
		}
	}
	return out
}

// median of xs; 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}
