// Command quanttypes regenerates internal/host/quantize/testdata/llama_quant_types.json.gz, the truth the
// quantize package's type-choice test compares with: for each case of quantize.TypeCases it writes the
// tiny F32 model with modelgen (a 256-token stand-in vocabulary: llama-quantize does not load the
// tokenizer), runs llama.cpp's llama-quantize on it for every preset, and records the type of every tensor
// of the output file and the file's SHA-256. The test then needs neither llama.cpp nor this command.
//
//	go run ./tools/quanttypes [-quantize PATH/llama-quantize] [-out internal/host/quantize/testdata/llama_quant_types.json.gz]
package main

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/host/modelgen"
	"github.com/wasmoe/wasmoe/internal/host/quantize"
)

func main() {
	bin := flag.String("quantize", "/root/.cache/llama-build/src/build/bin/llama-quantize", "llama-quantize binary")
	out := flag.String("out", "internal/host/quantize/testdata/llama_quant_types.json.gz", "output file")
	flag.Parse()
	if err := run(*bin, *out); err != nil {
		fmt.Fprintln(os.Stderr, "quanttypes:", err)
		os.Exit(1)
	}
}

// run quantizes every case with every preset and writes the table.
func run(bin, out string) error {
	tmp, err := os.MkdirTemp("", "quanttypes")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	vocab, err := quantize.TinyVocab(256)
	if err != nil {
		return err
	}
	table := quantize.TypeTable{Tool: bin}
	if v, err := exec.Command(bin, "--version").CombinedOutput(); err == nil {
		table.Version = string(v)
	}
	for _, c := range quantize.TypeCases() {
		in := filepath.Join(tmp, c.Name+".gguf")
		w, err := modelgen.Generate(c.Options, vocab)
		if err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
		if err := w.WriteFile(in); err != nil {
			return err
		}
		rec := quantize.TypeRecord{Name: c.Name, Presets: map[string][]string{}, SHA256: map[string]string{}}
		for _, p := range quantize.Presets {
			dst := filepath.Join(tmp, c.Name+"-"+p.Name+".gguf")
			cmd := exec.Command(bin, in, dst, p.Name, "2")
			if msg, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("%s %s: %v\n%s", c.Name, p.Name, err, msg)
			}
			raw, err := os.ReadFile(dst)
			if err != nil {
				return err
			}
			rec.SHA256[p.Name] = fmt.Sprintf("%x", sha256.Sum256(raw))
			f, err := gguf.Open(dst)
			if err != nil {
				return err
			}
			var names, types []string
			for _, t := range f.Tensors {
				names = append(names, t.Name)
				types = append(types, t.Type.String())
			}
			if ft, ok := f.Int("general.file_type"); !ok || quantize.FileType(ft) != p.FileType {
				f.Close()
				return fmt.Errorf("%s %s: general.file_type %d, want %d", c.Name, p.Name, ft, p.FileType)
			}
			f.Close()
			os.Remove(dst)
			if rec.Tensors == nil {
				rec.Tensors = names
			} else if fmt.Sprint(names) != fmt.Sprint(rec.Tensors) {
				return fmt.Errorf("%s %s: tensor order differs between presets", c.Name, p.Name)
			}
			rec.Presets[p.Name] = types
			fmt.Fprintf(os.Stderr, "%s %s: %d tensors\n", c.Name, p.Name, len(types))
		}
		table.Models = append(table.Models, rec)
	}
	b, err := json.Marshal(table)
	if err != nil {
		return err
	}
	fd, err := os.Create(out)
	if err != nil {
		return err
	}
	zw, _ := gzip.NewWriterLevel(fd, gzip.BestCompression)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		fd.Close()
		return err
	}
	return fd.Close()
}
