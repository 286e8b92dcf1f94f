package bpe

import "fmt"

// preTokenizer describes a tokenizer.ggml.pre name: its regex steps, in order, and whether whole pieces
// found in the vocabulary skip the merges (Hugging Face's ignore_merges, set for Llama 3).
type preTokenizer struct {
	steps        stepList
	ignoreMerges bool
}

// The regex lists are those of llama.cpp (llama-vocab.cpp, llm_tokenizer_bpe); each matcher's comment
// spells its regex.
var (
	llama3Pre = preTokenizer{stepList{isolate(llama3Words(3))}, true}
	qwen2Pre  = preTokenizer{steps: stepList{isolate(llama3Words(1))}}
	gpt2Pre   = preTokenizer{steps: stepList{isolate(gpt2Words)}}

	// llama.cpp's fallback when tokenizer.ggml.pre is absent or "default".
	defaultPre = preTokenizer{steps: stepList{
		isolate(defaultPunct), // [\p{P}\$\+<=>\^~\|]+
		isolate(gpt2Words),
		isolate(numbers(0)),   // \p{N}+
		isolate(asciiDigits3), // [0-9][0-9][0-9]
	}}

	deepseekLLMPre = preTokenizer{steps: stepList{
		isolate(newline),                   // [\r\n]
		isolate(spaceThen(deepseekLetter)), // \s?[A-Za-zµÀ-ÖØ-öø-ƺ…]+
		isolate(spaceThen(deepseekPunct)),  // \s?[!-/:-~！-／：-～‘-‟　-。]+
		trailingSpace,                      // \s+$
		isolate(runOf(deepseekCJK)),        // [一-龥ࠀ-一가-퟿]+
		isolate(numbers(0)),                // \p{N}+
	}}

	deepseekCoderPre = preTokenizer{steps: stepList{
		isolate(newline),                // [\r\n]
		isolate(spaceThen(letter)),      // \s?\p{L}+
		isolate(spaceThen(punctuation)), // \s?\p{P}+
		isolate(runOf(deepseekCJK)),     // [一-龥ࠀ-一가-퟿]+
		isolate(numbers(1)),             // \p{N}
	}}

	deepseekV3Pre = preTokenizer{steps: stepList{
		isolate(numbers(3)),       // \p{N}{1,3}
		isolate(runOf(kanjiKana)), // [一-龥぀-ゟ゠-ヿ]+
		isolate(deepseekV3Words),
	}}
)

// preTokenizers maps the supported tokenizer.ggml.pre names.
var preTokenizers = map[string]*preTokenizer{
	"":                 &defaultPre,
	"default":          &defaultPre,
	"gpt2":             &gpt2Pre,
	"gpt-2":            &gpt2Pre,
	"qwen2":            &qwen2Pre,
	"deepseek-r1-qwen": &qwen2Pre,
	"llama-bpe":        &llama3Pre,
	"llama3":           &llama3Pre,
	"llama-v3":         &llama3Pre,
	"deepseek-llm":     &deepseekLLMPre,
	"deepseek-coder":   &deepseekCoderPre,
	"deepseek-v3":      &deepseekV3Pre,
}

func lookupPre(name string) (*preTokenizer, error) {
	p, ok := preTokenizers[name]
	if !ok {
		return nil, fmt.Errorf("bpe: unsupported pre-tokenizer %q", name)
	}
	return p, nil
}
