// Command goldens regenerates testdata/golden: for each case it writes a tiny random model with modelgen
// (with the tokenizer of a testdata/vocab fixture), runs llama.cpp on it through llama-ref
// (../shared/tools/llama-ref/llama-ref, or $LLAMA_REF) — for a case with a Preset, on the file llama.cpp's
// llama-quantize makes of it, whose tensor types and hashes are saved too — and saves llama.cpp's next-token probabilities
// beside the model's options and hash. Tests compare wasmoe's eval
// with these files, so `make test` needs neither npm nor llama.cpp.
//
//	go run ./tools/goldens [-only NAME] [-out testdata/golden] [-vocab testdata/vocab]
package main

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/host/golden"
	"github.com/wasmoe/wasmoe/internal/host/modelgen"
)

func main() {
	out := flag.String("out", "testdata/golden", "output directory")
	only := flag.String("only", "", "regenerate one case")
	vocabDir := flag.String("vocab", "testdata/vocab", "directory of vocab GGUFs, plain or gzipped (NAME.gz), as the tests read them")
	flag.Parse()
	ref := os.Getenv("LLAMA_REF")
	if ref == "" {
		ref = "../shared/tools/llama-ref/llama-ref"
	}
	for _, c := range golden.Cases() {
		if *only != "" && c.Name != *only {
			continue
		}
		if err := generate(c, ref, *vocabDir, *out); err != nil {
			fmt.Fprintf(os.Stderr, "goldens: %s: %v\n", c.Name, err)
			os.Exit(1)
		}
		fmt.Println("wrote", c.Name)
	}
}

func generate(c golden.Case, ref, vocabDir, outDir string) error {
	tmp, err := os.MkdirTemp("", "golden")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	vocab, err := vocabFile(filepath.Join(vocabDir, c.Vocab), tmp)
	if err != nil {
		return err
	}
	model := filepath.Join(tmp, c.Name+".gguf")
	if err := modelgen.WriteFile(c.Options, vocab, model); err != nil {
		return err
	}
	b, err := os.ReadFile(model)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(b)
	f := golden.File{Case: c, SHA256: hex.EncodeToString(sum[:])}
	if c.Preset != "" {
		q := filepath.Join(tmp, c.Name+"-"+c.Preset+".gguf")
		if f.Tensors, err = llamaQuantize(model, q, c.Preset); err != nil {
			return err
		}
		model = q
	}
	cmd := exec.Command(ref, model, "--text", c.Text, "--top", fmt.Sprint(c.Top))
	cmd.Stderr = os.Stderr
	if c.Seq {
		cmd.Env = append(os.Environ(), "LLAMA_REF_SEQ=1")
	}
	res, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("llama-ref: %w", err)
	}
	if err := json.Unmarshal(res, &f.Ref); err != nil {
		return fmt.Errorf("llama-ref output: %w", err)
	}
	j, err := json.MarshalIndent(f, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(outDir, c.Name+".json"), append(j, '\n'), 0o644)
}

// llamaQuantize runs llama.cpp's llama-quantize ($LLAMA_QUANTIZE, or the one ../shared/tools/llama-build
// builds) on in with preset, writing out, and lists out's tensors.
func llamaQuantize(in, out, preset string) ([]golden.Tensor, error) {
	bin := os.Getenv("LLAMA_QUANTIZE")
	if bin == "" {
		dir, err := exec.Command("../shared/tools/llama-build/llama-build").Output()
		if err != nil {
			return nil, fmt.Errorf("llama-build: %w", err)
		}
		bin = filepath.Join(strings.TrimSpace(string(dir)), "llama-quantize")
	}
	cmd := exec.Command(bin, in, out, preset)
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("llama-quantize %s: %w\n%s", preset, err, b)
	}
	g, err := gguf.Open(out)
	if err != nil {
		return nil, err
	}
	defer g.Close()
	var ts []golden.Tensor
	for _, t := range g.Tensors {
		sum := sha256.Sum256(t.Data)
		ts = append(ts, golden.Tensor{Name: t.Name, Type: t.Type.String(), SHA256: hex.EncodeToString(sum[:])})
	}
	return ts, nil
}

// vocabFile returns path if it exists, or else unpacks path.gz into dir.
func vocabFile(path, dir string) (string, error) {
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	in, err := os.Open(path + ".gz")
	if err != nil {
		return "", err
	}
	defer in.Close()
	zr, err := gzip.NewReader(in)
	if err != nil {
		return "", fmt.Errorf("%s.gz: %w", path, err)
	}
	out := filepath.Join(dir, filepath.Base(path))
	f, err := os.Create(out)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(f, zr); err != nil {
		f.Close()
		return "", fmt.Errorf("%s.gz: %w", path, err)
	}
	return out, f.Close()
}
