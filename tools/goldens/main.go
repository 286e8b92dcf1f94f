// Command goldens regenerates testdata/golden: for each case it writes a tiny random model with modelgen,
// runs llama.cpp on it through llama-ref (../shared/tools/llama-ref/llama-ref, or $LLAMA_REF), and saves
// llama.cpp's next-token probabilities beside the model's options and hash. Tests compare wasmoe's eval
// with these files, so `make test` needs neither npm nor llama.cpp.
//
//	go run ./tools/goldens [-only NAME] [-out testdata/golden]
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/wasmoe/wasmoe/host/golden"
	"github.com/wasmoe/wasmoe/host/modelgen"
)

func main() {
	out := flag.String("out", "testdata/golden", "output directory")
	only := flag.String("only", "", "regenerate one case")
	vocabDir := flag.String("vocab", "../shared/testdata/vocab", "directory of llama.cpp vocab GGUFs")
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
	model := filepath.Join(tmp, c.Name+".gguf")
	if err := modelgen.WriteFile(c.Options, filepath.Join(vocabDir, c.Vocab), model); err != nil {
		return err
	}
	b, err := os.ReadFile(model)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(b)
	cmd := exec.Command(ref, model, "--text", c.Text, "--top", fmt.Sprint(c.Top))
	cmd.Stderr = os.Stderr
	res, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("llama-ref: %w", err)
	}
	var steps []golden.Step
	if err := json.Unmarshal(res, &steps); err != nil {
		return fmt.Errorf("llama-ref output: %w", err)
	}
	f := golden.File{Case: c, SHA256: hex.EncodeToString(sum[:]), Ref: steps}
	j, err := json.MarshalIndent(f, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(outDir, c.Name+".json"), append(j, '\n'), 0o644)
}
