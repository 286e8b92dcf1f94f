// Command wasmoe serves and runs LLMs: an OpenAI-compatible edge server, a terminal runner, and the tools
// around them (eval, tokenize, mkmodel).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

const usage = `wasmoe — LLM serving at the edge, with decoding in wasm guests

usage:
  wasmoe serve    [--model M.gguf|HF_DIR] [--addr 127.0.0.1:8080] [--config wrangler.toml]   start an edge node
  wasmoe run      [--model M.gguf|HF_DIR] [--max-tokens N] [--temp T] [--seed S] [PROMPT|-]  stream a completion
                                                                                             (no PROMPT or "-": stdin)
  wasmoe chat     [--model M.gguf|HF_DIR] [--system TEXT] [--max-tokens N] [--temp T]        chat in the terminal
  wasmoe eval     --model M.gguf|HF_DIR (--text T | --tokens 1,2,3) [--top K]                next-token probabilities (JSON)
  wasmoe tokenize (--model M.gguf|HF_DIR | --tokenizer tokenizer.json) [--jsonl] [TEXT]      token ids (JSON)
  wasmoe inspect  [--json] MODEL.gguf|HF_DIR                                                 architecture, parameters, KV cache
  wasmoe bench    --model M.gguf|HF_DIR [--prompt-tokens N] [--gen-tokens N]                 prefill and decode tok/s
  wasmoe quantize --model IN.gguf|HF_DIR --type Q4_K_M --out OUT.gguf [--threads N]          llama-quantize's presets
  wasmoe mkmodel  --arch qwen2|llama|deepseek2 --type f32|f16|bf16|q8_0 --vocab V.gguf --out M.gguf [--format hf]
                                                                                             random-weight GGUF model
  wasmoe deploy   [--url U] [--key K] [--name N] [--tag T] [--message M] [--percent P] FILE.wasm|wrangler.toml
                                                                                             upload a plugin version
  wasmoe versions [--url U] [--key K] NAME                                                   a plugin's versions and traffic
  wasmoe rollback [--url U] [--key K] NAME [VERSION]                                         the previous deployment, or VERSION
  wasmoe promote  [--url U] [--key K] NAME [VERSION]                                         end a split: VERSION gets 100%
  wasmoe pull     [--quiet] org/repo[:QUANT][@REVISION]                                      download from the Hugging Face Hub
  wasmoe list                                                                                the pulled models
  wasmoe rm       org/repo[:QUANT][@REVISION]...                                             delete pulled models
  wasmoe version                                                                             this binary's version
Every --model also takes hf:org/repo[:QUANT][@REVISION]: pulled into $WASMOE_CACHE/models if not there.
Run "wasmoe COMMAND -h" for a command's flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "-h", "-help", "--help", "help":
		fmt.Print(usage)
		return
	case "-version", "--version", "version":
		fmt.Println(version())
		return
	}
	cmds := map[string]func([]string) error{
		"serve": serve, "run": run, "chat": chatCmd, "bench": bench, "eval": eval, "tokenize": tokenize, "mkmodel": mkmodel,
		"inspect": inspect, "quantize": quantizeCmd, "deploy": deployCmd, "versions": versionsCmd, "rollback": rollbackCmd,
		"promote": promoteCmd, "pull": pullCmd, "list": listCmd, "rm": rmCmd,
	}
	cmd, ok := cmds[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "wasmoe: unknown command %q\n\n", os.Args[1])
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err := cmd(os.Args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintf(os.Stderr, "wasmoe %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// parseFlags parses a command's flags. -h prints the flags on stdout and returns flag.ErrHelp, which main
// takes for success; a bad flag prints the flags on stderr and returns the error for main to report.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(os.Stdout)
	case err != nil:
		fs.SetOutput(os.Stderr)
	default:
		return nil
	}
	fmt.Fprintf(fs.Output(), "usage of wasmoe %s:\n", fs.Name())
	fs.PrintDefaults()
	return err
}
