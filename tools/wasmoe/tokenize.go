package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/wasmoe/wasmoe/internal/builtin"
	"github.com/wasmoe/wasmoe/internal/host/vocab"
	"github.com/wasmoe/wasmoe/internal/host/wasm"
)

// tokenize prints, as JSON arrays, the token ids of its text (or of each JSON string on stdin, with --jsonl)
// under the tokenizer of a model (a GGUF file or a Hugging Face directory) or of a tokenizer.json.
func tokenize(args []string) error {
	fs := flag.NewFlagSet("tokenize", flag.ContinueOnError)
	model := fs.String("model", "", "GGUF file with tokenizer metadata (a model or a vocab-only file), a Hugging Face model directory, or hf:org/repo[:QUANT]")
	hf := fs.String("tokenizer", "", "Hugging Face tokenizer.json instead of --model (reads tokenizer_config.json beside it)")
	jsonl := fs.Bool("jsonl", false, "read one JSON string per stdin line, print one JSON array per line")
	bos := fs.Bool("bos", false, "prepend BOS when the model asks for it")
	special := fs.Bool("special", false, "parse control tokens written in the text")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if (*model == "") == (*hf == "") {
		return fmt.Errorf("give either --model or --tokenizer")
	}
	ctx := context.Background()
	var tok *wasm.Tokenizer
	var err error
	if *model != "" {
		tok, err = openTokenizer(ctx, *model)
	} else {
		tok, err = openHFTokenizer(ctx, *hf)
	}
	if err != nil {
		return err
	}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	emit := func(text string) error {
		ids, err := tok.Encode(ctx, text, *bos, *special)
		if err != nil {
			return err
		}
		if ids == nil {
			ids = []int32{}
		}
		b, _ := json.Marshal(ids)
		out.Write(append(b, '\n'))
		return nil
	}
	if !*jsonl {
		text := strings.Join(fs.Args(), " ")
		if fs.NArg() == 0 {
			b, err := io.ReadAll(os.Stdin)
			if err != nil {
				return err
			}
			text = string(b)
		}
		return emit(text)
	}
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		var text string
		if err := json.Unmarshal(sc.Bytes(), &text); err != nil {
			return fmt.Errorf("stdin line %d: want a JSON string: %v", line, err)
		}
		if err := emit(text); err != nil {
			return fmt.Errorf("stdin line %d: %w", line, err)
		}
	}
	return sc.Err()
}

// openHFTokenizer starts the tokenizer guest on a Hugging Face tokenizer.json (and the tokenizer_config.json
// beside it).
func openHFTokenizer(ctx context.Context, path string) (*wasm.Tokenizer, error) {
	h, err := vocab.LoadHF(path)
	if err != nil {
		return nil, err
	}
	rt, err := newRuntime(ctx, wasm.EngineWazero)
	if err != nil {
		return nil, err
	}
	return wasm.NewTokenizer(rt, builtin.Tokenizer, h.Vocab, 1)
}
