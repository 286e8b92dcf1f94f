package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
)

func eval(args []string) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	var ef engineFlags
	ef.register(fs)
	text := fs.String("text", "", "text to tokenize and evaluate (no BOS added, as llama-ref)")
	tokens := fs.String("tokens", "", "comma-separated token ids to evaluate")
	top := fs.Int("top", 10, "probabilities to print per position")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if (*text == "") == (*tokens == "") {
		return fmt.Errorf("give exactly one of --text and --tokens")
	}
	ctx := context.Background()
	e, err := ef.open(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	var ids []int32
	if *tokens != "" {
		for _, s := range strings.Split(*tokens, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			n, err := strconv.ParseInt(s, 10, 32)
			if err != nil {
				return fmt.Errorf("--tokens: %q is not a token id", s)
			}
			ids = append(ids, int32(n))
		}
	} else if ids, err = e.Tokenize(ctx, *text, false, false); err != nil {
		return err
	}
	if len(ids) == 0 {
		return fmt.Errorf("no tokens to evaluate")
	}
	steps, err := e.Model().Eval(e.Pool(), ids, *top)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(steps)
}
