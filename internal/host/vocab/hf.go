package vocab

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// HF is a tokenizer read from Hugging Face's tokenizer.json and tokenizer_config.json: the vocabulary the
// tokenizer guest builds from, and what serving the model needs besides it.
type HF struct {
	// Vocab is the vocabulary as llama.cpp's converter (convert_hf_to_gguf.py) would write it to a GGUF,
	// read back as FromGGUF reads it: the same tokens, types, merges and special ids.
	Vocab *abi.Vocab
	// ChatTemplate is tokenizer_config.json's chat_template (of a list of named templates, the one named
	// "default"); "" when there is none.
	ChatTemplate string
	// BOSToken and EOSToken are the texts of Vocab.BOS and Vocab.EOS ("" when unset), the bos_token and
	// eos_token variables of the chat template.
	BOSToken, EOSToken string
}

// ConfigFile is the name of the file LoadHF reads beside tokenizer.json.
const ConfigFile = "tokenizer_config.json"

// LoadHF reads the tokenizer.json at path and, when there is one, the tokenizer_config.json beside it.
func LoadHF(path string) (*HF, error) {
	tok, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("vocab: %w", err)
	}
	cfg, err := os.ReadFile(filepath.Join(filepath.Dir(path), ConfigFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("vocab: %w", err)
	}
	return FromHF(tok, cfg, path)
}

// FromHF reads a Hugging Face byte-level BPE tokenizer: tokenizerJSON is its tokenizer.json and configJSON
// its tokenizer_config.json (nil when there is none). source is the path of tokenizer.json; errors name it,
// or the tokenizer_config.json beside it, and the field at fault.
//
// What it accepts is what the tokenizer guest reproduces exactly:
//   - model: type "BPE" without byte fallback, dropout or subword affixes; vocab (token → id); merges as
//     "a b" strings or [a, b] pairs, each part and their concatenation tokens of the vocab; ignore_merges
//     as the pre-tokenizer has it;
//   - pre_tokenizer: a Sequence of Split (Regex, Isolated) steps ending in ByteLevel without prefix space
//     or regex, recognised by its regexes as DeepSeek-V3's ("deepseek-v3"), Qwen2's ("qwen2") or Llama 3's
//     ("llama-bpe"); or ByteLevel alone with its GPT-2 regex ("gpt2");
//   - normalizer: none, or NFC (which, as in llama.cpp, is not applied: text that is not NFC may tokenize
//     differently from transformers); decoder ByteLevel; post_processor none, ByteLevel or a
//     TemplateProcessing that adds BOS and/or EOS;
//   - added_tokens: ids may lie beyond the vocab; lstrip, rstrip and single_word are not supported.
//
// Token types and texts follow llama.cpp's converter (get_vocab_base): added tokens that are special or
// look special (`<|…|>`, `<｜…｜>`, `<pad>`, …) are CONTROL, other added tokens USER_DEFINED with "▁" spelled
// " ", ids nobody uses "[PAD<id>]" of type UNUSED, the rest NORMAL. BOS, EOS, PAD and UNK come from
// tokenizer_config.json's bos_token … (a string or {"content": …}; an added token of that text, else a
// vocab token), UNK also from model.unk_token. BOS is added when add_bos_token says so, else when the
// post-processor adds it, else, if there is a BOS token, for the LlamaTokenizer(Fast) classes (DeepSeek-V3's)
// and the llama-bpe pre-tokenizer; EOS when add_eos_token or the post-processor says so. EOT, EOM and the
// texts llama.cpp treats as control tokens are then found as FromGGUF finds them.
func FromHF(tokenizerJSON, configJSON []byte, source string) (*HF, error) {
	tf := hfFile(source)
	cf := hfFile(filepath.Join(filepath.Dir(source), ConfigFile))
	var t hfTokenizer
	if err := json.Unmarshal(tokenizerJSON, &t); err != nil {
		return nil, tf.jsonErr(err)
	}
	var cfg hfConfig
	if len(configJSON) > 0 {
		if err := json.Unmarshal(configJSON, &cfg); err != nil {
			return nil, cf.jsonErr(err)
		}
	}
	if err := t.checkModel(tf); err != nil {
		return nil, err
	}
	pre, err := t.preTokenizer(tf)
	if err != nil {
		return nil, err
	}
	if err := t.checkNormalizer(tf); err != nil {
		return nil, err
	}
	if t.Decoder == nil || t.Decoder.Type != "ByteLevel" {
		return nil, tf.errorf("decoder", "%s, want ByteLevel", describe(t.Decoder))
	}
	if t.Model.IgnoreMerges != pre.ignoreMerges {
		return nil, tf.errorf("model.ignore_merges", "%v, but the %s pre-tokenizer needs %v", t.Model.IgnoreMerges,
			pre.name, pre.ignoreMerges)
	}
	v := &abi.Vocab{Model: "gpt2", Pre: pre.name, BOS: -1, EOS: -1, EOT: -1, EOM: -1, PAD: -1, UNK: -1}
	added, err := t.tokens(tf, v)
	if err != nil {
		return nil, err
	}
	if v.Merges, err = t.merges(tf); err != nil {
		return nil, err
	}
	ids := specialLookup{tokens: t.Model.Vocab, added: added}
	for _, s := range []struct {
		field string
		raw   json.RawMessage
		dst   *int32
	}{
		{"bos_token", cfg.BOS, &v.BOS}, {"eos_token", cfg.EOS, &v.EOS},
		{"pad_token", cfg.PAD, &v.PAD}, {"unk_token", cfg.UNK, &v.UNK},
	} {
		if err := ids.resolve(cf, s.field, s.raw, s.dst); err != nil {
			return nil, err
		}
	}
	if v.UNK < 0 && t.Model.UNK != nil {
		var ok bool
		if v.UNK, ok = ids.id(*t.Model.UNK); !ok {
			return nil, tf.errorf("model.unk_token", "%q is not a token", *t.Model.UNK)
		}
	}
	if err := t.addSpecial(tf, cf, &cfg, v, pre.name, ids); err != nil {
		return nil, err
	}
	tmpl, err := cfg.template(cf)
	if err != nil {
		return nil, err
	}
	detectSpecial(v)
	h := &HF{Vocab: v, ChatTemplate: tmpl}
	if v.BOS >= 0 {
		h.BOSToken = v.Tokens[v.BOS]
	}
	if v.EOS >= 0 {
		h.EOSToken = v.Tokens[v.EOS]
	}
	return h, nil
}

// hfFile names a file in errors.
type hfFile string

func (f hfFile) errorf(field, format string, args ...any) error {
	return fmt.Errorf("vocab: %s: %s: %s", f, field, fmt.Sprintf(format, args...))
}

// jsonErr names the field of a JSON value of the wrong type, or the offset of a syntax error.
func (f hfFile) jsonErr(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "(top level)"
		}
		return f.errorf(field, "JSON %s where %s belongs", te.Value, te.Type)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("vocab: %s: invalid JSON at byte %d: %v", f, se.Offset, err)
	}
	return fmt.Errorf("vocab: %s: %v", f, err)
}

// hfTokenizer is the part of tokenizer.json FromHF reads.
type hfTokenizer struct {
	Model struct {
		Type                    string            `json:"type"`
		Vocab                   map[string]int64  `json:"vocab"`
		Merges                  []json.RawMessage `json:"merges"`
		IgnoreMerges            bool              `json:"ignore_merges"`
		ByteFallback            bool              `json:"byte_fallback"`
		Dropout                 *float64          `json:"dropout"`
		ContinuingSubwordPrefix *string           `json:"continuing_subword_prefix"`
		EndOfWordSuffix         *string           `json:"end_of_word_suffix"`
		UNK                     *string           `json:"unk_token"`
	} `json:"model"`
	AddedTokens []struct {
		ID         *int64 `json:"id"`
		Content    string `json:"content"`
		Special    bool   `json:"special"`
		SingleWord bool   `json:"single_word"`
		LStrip     bool   `json:"lstrip"`
		RStrip     bool   `json:"rstrip"`
	} `json:"added_tokens"`
	Normalizer    *hfComponent `json:"normalizer"`
	PreTokenizer  *hfComponent `json:"pre_tokenizer"`
	PostProcessor *hfComponent `json:"post_processor"`
	Decoder       *hfComponent `json:"decoder"`
}

// hfComponent is a normalizer, pre-tokenizer, post-processor or decoder of tokenizer.json, with the fields
// of the kinds FromHF accepts.
type hfComponent struct {
	Type string `json:"type"`
	// Sequence
	Normalizers   []hfComponent `json:"normalizers"`
	Pretokenizers []hfComponent `json:"pretokenizers"`
	Processors    []hfComponent `json:"processors"`
	// Split
	Pattern struct {
		Regex  *string `json:"Regex"`
		String *string `json:"String"`
	} `json:"pattern"`
	Behavior string `json:"behavior"`
	Invert   bool   `json:"invert"`
	// ByteLevel
	AddPrefixSpace bool  `json:"add_prefix_space"`
	UseRegex       *bool `json:"use_regex"` // absent means true
	// TemplateProcessing
	Single []struct {
		SpecialToken *struct {
			ID string `json:"id"`
		} `json:"SpecialToken"`
		Sequence *struct{} `json:"Sequence"`
	} `json:"single"`
}

// describe names a component in errors.
func describe(c *hfComponent) string {
	if c == nil {
		return "none"
	}
	return fmt.Sprintf("type %q", c.Type)
}

// hfConfig is the part of tokenizer_config.json FromHF reads.
type hfConfig struct {
	BOS            json.RawMessage `json:"bos_token"`
	EOS            json.RawMessage `json:"eos_token"`
	PAD            json.RawMessage `json:"pad_token"`
	UNK            json.RawMessage `json:"unk_token"`
	AddBOS         *bool           `json:"add_bos_token"`
	AddEOS         *bool           `json:"add_eos_token"`
	TokenizerClass string          `json:"tokenizer_class"`
	ChatTemplate   json.RawMessage `json:"chat_template"`
}

func (t *hfTokenizer) checkModel(f hfFile) error {
	m := &t.Model
	switch {
	case m.Type != "BPE":
		return f.errorf("model.type", "%q, want \"BPE\"", m.Type)
	case m.Vocab == nil:
		return f.errorf("model.vocab", "missing")
	case m.Merges == nil:
		return f.errorf("model.merges", "missing")
	case m.ByteFallback:
		return f.errorf("model.byte_fallback", "true is not supported")
	case m.Dropout != nil && *m.Dropout != 0:
		return f.errorf("model.dropout", "%g is not supported", *m.Dropout)
	case m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "":
		return f.errorf("model.continuing_subword_prefix", "%q is not supported", *m.ContinuingSubwordPrefix)
	case m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "":
		return f.errorf("model.end_of_word_suffix", "%q is not supported", *m.EndOfWordSuffix)
	}
	return nil
}

func (t *hfTokenizer) checkNormalizer(f hfFile) error {
	var check func(c *hfComponent, field string) error
	check = func(c *hfComponent, field string) error {
		if c == nil {
			return nil
		}
		switch c.Type {
		case "NFC":
			return nil
		case "Sequence":
			for i := range c.Normalizers {
				if err := check(&c.Normalizers[i], fmt.Sprintf("%s.normalizers[%d]", field, i)); err != nil {
					return err
				}
			}
			return nil
		}
		return f.errorf(field, "%s is not supported (none or NFC)", describe(c))
	}
	return check(t.Normalizer, "normalizer")
}

// hfPre is a pre-tokenizer of bpe (guest/internal/bpe) as tokenizer.json spells it.
type hfPre struct {
	name         string   // tokenizer.ggml.pre
	regexes      []string // the Split steps in order, CR and LF written as \r and \n
	ignoreMerges bool
}

// gpt2Regex is ByteLevel's own regex (use_regex true, no Split steps).
const gpt2Regex = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

// hfPres are the pre-tokenizers FromHF recognises, with the regexes of the models' tokenizer.json files.
var hfPres = []hfPre{
	{name: "deepseek-v3", regexes: []string{
		`\p{N}{1,3}`,
		`[一-龥぀-ゟ゠-ヿ]+`,
		`[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_` + "`" + `{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
	}},
	{name: "qwen2", regexes: []string{
		`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
	}},
	{name: "llama-bpe", ignoreMerges: true, regexes: []string{
		`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
	}},
	{name: "gpt2", regexes: []string{gpt2Regex}},
}

// preTokenizer recognises the pre_tokenizer of t.
func (t *hfTokenizer) preTokenizer(f hfFile) (*hfPre, error) {
	c := t.PreTokenizer
	if c == nil {
		return nil, f.errorf("pre_tokenizer", "missing (byte-level BPE needs ByteLevel)")
	}
	steps, field := []hfComponent{*c}, "pre_tokenizer"
	if c.Type == "Sequence" {
		steps, field = c.Pretokenizers, "pre_tokenizer.pretokenizers"
	}
	if len(steps) == 0 || steps[len(steps)-1].Type != "ByteLevel" {
		return nil, f.errorf(field, "does not end with ByteLevel")
	}
	last := steps[len(steps)-1]
	lastField := fmt.Sprintf("%s[%d]", field, len(steps)-1)
	if c.Type != "Sequence" {
		lastField = field
	}
	if last.AddPrefixSpace {
		return nil, f.errorf(lastField+".add_prefix_space", "true is not supported")
	}
	useRegex := last.UseRegex == nil || *last.UseRegex
	var regexes []string
	if useRegex {
		regexes = append(regexes, gpt2Regex)
	}
	for i, s := range steps[:len(steps)-1] {
		sf := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case s.Type != "Split":
			return nil, f.errorf(sf, "%s is not supported (Split or ByteLevel)", describe(&s))
		case s.Pattern.Regex == nil:
			return nil, f.errorf(sf+".pattern", "not a Regex")
		case s.Behavior != "Isolated" || s.Invert:
			return nil, f.errorf(sf, "behavior %q, invert %v: only Isolated, not inverted, is supported", s.Behavior, s.Invert)
		}
		regexes = append(regexes, strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(*s.Pattern.Regex))
	}
	for i := range hfPres {
		if p := &hfPres[i]; slices.Equal(p.regexes, regexes) {
			return p, nil
		}
	}
	return nil, f.errorf(field, "regexes %q (ByteLevel use_regex %v) match no supported pre-tokenizer "+
		"(DeepSeek-V3, Qwen2, Llama 3, GPT-2)", regexes, useRegex)
}

// looksSpecial reports whether llama.cpp's converter makes an added token CONTROL although it is not
// marked special (does_token_look_special).
func looksSpecial(s string) bool {
	switch s {
	case "<pad>", "<mask>", "<2mass>", "[@BOS@]":
		return true
	}
	return strings.HasPrefix(s, "<|") && strings.HasSuffix(s, "|>") ||
		strings.HasPrefix(s, "<｜") && strings.HasSuffix(s, "｜>") ||
		strings.HasPrefix(s, "<unused") && strings.HasSuffix(s, ">")
}

// tokens fills v.Tokens and v.Types from model.vocab and added_tokens and returns the added tokens' ids
// by text.
func (t *hfTokenizer) tokens(f hfFile, v *abi.Vocab) (map[string]int32, error) {
	const maxID = math.MaxInt32 - 1
	byID := make(map[int64]string, len(t.Model.Vocab)+len(t.AddedTokens))
	maxSeen := int64(-1)
	for s, id := range t.Model.Vocab {
		if id < 0 || id > maxID {
			return nil, f.errorf(fmt.Sprintf("model.vocab[%q]", s), "id %d out of range", id)
		}
		if other, dup := byID[id]; dup {
			a, b := min(s, other), max(s, other)
			return nil, f.errorf("model.vocab", "id %d is both %q and %q", id, a, b)
		}
		byID[id] = s
		maxSeen = max(maxSeen, id)
	}
	added := make(map[string]int32, len(t.AddedTokens))
	addedByID := make(map[int64]int, len(t.AddedTokens))
	for i, a := range t.AddedTokens {
		field := fmt.Sprintf("added_tokens[%d]", i)
		switch {
		case a.ID == nil:
			return nil, f.errorf(field+".id", "missing")
		case *a.ID < 0 || *a.ID > maxID:
			return nil, f.errorf(field+".id", "%d out of range", *a.ID)
		case a.Content == "":
			return nil, f.errorf(field+".content", "empty")
		case a.LStrip || a.RStrip || a.SingleWord:
			return nil, f.errorf(field, "%q: lstrip, rstrip and single_word are not supported", a.Content)
		}
		id := *a.ID
		if j, dup := addedByID[id]; dup {
			return nil, f.errorf(field+".id", "%d is also added_tokens[%d]", id, j)
		}
		if j, dup := added[a.Content]; dup {
			return nil, f.errorf(field+".content", "%q is also id %d", a.Content, j)
		}
		if s, ok := byID[id]; ok && s != a.Content {
			return nil, f.errorf(field, "id %d is %q, but model.vocab has %q there", id, a.Content, s)
		}
		if vid, ok := t.Model.Vocab[a.Content]; ok && vid != id {
			return nil, f.errorf(field, "%q has id %d, but model.vocab gives it %d", a.Content, id, vid)
		}
		addedByID[id] = i
		added[a.Content] = int32(id)
		byID[id] = a.Content
		maxSeen = max(maxSeen, id)
	}
	n := maxSeen + 1
	if holes := n - int64(len(byID)); holes > int64(len(byID)) {
		return nil, f.errorf("model.vocab, added_tokens", "ids reach %d but only %d are used", maxSeen, len(byID))
	}
	v.Tokens = make([]string, n)
	v.Types = make([]int32, n)
	for id := range v.Tokens {
		s, ok := byID[int64(id)]
		i, isAdded := addedByID[int64(id)]
		switch {
		case !ok:
			v.Tokens[id], v.Types[id] = fmt.Sprintf("[PAD%d]", id), abi.TokenUnused
		case !isAdded:
			v.Tokens[id], v.Types[id] = s, abi.TokenNormal
		case t.AddedTokens[i].Special || looksSpecial(s):
			v.Tokens[id], v.Types[id] = s, abi.TokenControl
		default:
			v.Tokens[id], v.Types[id] = strings.ReplaceAll(s, "▁", " "), abi.TokenUserDefined
		}
	}
	return added, nil
}

// merges reads model.merges, checked as Hugging Face's BPE checks them, into "left right" strings.
func (t *hfTokenizer) merges(f hfFile) ([]string, error) {
	out := make([]string, len(t.Model.Merges))
	for i, raw := range t.Model.Merges {
		field := fmt.Sprintf("model.merges[%d]", i)
		var pair []string
		var s string
		if json.Unmarshal(raw, &s) == nil {
			pair = strings.Split(s, " ")
		} else if err := json.Unmarshal(raw, &pair); err != nil {
			return nil, f.errorf(field, "%s is neither \"a b\" nor [\"a\", \"b\"]", raw)
		}
		if len(pair) != 2 {
			return nil, f.errorf(field, "%s is not a pair of tokens", raw)
		}
		if strings.Contains(pair[0], " ") || strings.Contains(pair[1], " ") {
			return nil, f.errorf(field, "%s: a token with a space cannot be merged", raw)
		}
		for _, p := range []string{pair[0], pair[1], pair[0] + pair[1]} {
			if _, ok := t.Model.Vocab[p]; !ok {
				return nil, f.errorf(field, "%s: %q is not in model.vocab", raw, p)
			}
		}
		out[i] = pair[0] + " " + pair[1]
	}
	return out, nil
}

// specialLookup finds a special token's id by its text: an added token first, as llama.cpp's converter
// looks, then a vocab token.
type specialLookup struct {
	tokens map[string]int64
	added  map[string]int32
}

// resolve sets *dst to the id of the token raw names (a string, {"content": string} or null).
func (l specialLookup) resolve(f hfFile, field string, raw json.RawMessage, dst *int32) error {
	text, ok, err := tokenText(raw)
	if err != nil {
		return f.errorf(field, "%v", err)
	}
	if !ok {
		return nil
	}
	if *dst, ok = l.id(text); !ok {
		return f.errorf(field, "%q is not a token", text)
	}
	return nil
}

// id returns the id of the token text, or -1 and false.
func (l specialLookup) id(text string) (int32, bool) {
	if id, ok := l.added[text]; ok {
		return id, true
	}
	if id, ok := l.tokens[text]; ok {
		return int32(id), true
	}
	return -1, false
}

// tokenText reads a special-token entry of tokenizer_config.json: a string, {"content": string, …} or
// null (ok false).
func tokenText(raw json.RawMessage) (text string, ok bool, err error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", false, nil
	}
	if json.Unmarshal(raw, &text) == nil {
		return text, true, nil
	}
	var obj struct {
		Content *string `json:"content"`
	}
	if json.Unmarshal(raw, &obj) != nil || obj.Content == nil {
		return "", false, fmt.Errorf("%s is neither a string nor {\"content\": string}", raw)
	}
	return *obj.Content, true, nil
}

// addSpecial sets v.AddBOS and v.AddEOS: tokenizer_config.json's add_bos_token / add_eos_token, else what
// the post-processor adds, else the tokenizer class's or pre-tokenizer's default when there is a BOS token.
func (t *hfTokenizer) addSpecial(tf, cf hfFile, cfg *hfConfig, v *abi.Vocab, pre string, ids specialLookup) error {
	v.AddBOS = v.BOS >= 0 && (isLlama3(pre) || cfg.TokenizerClass == "LlamaTokenizerFast" || cfg.TokenizerClass == "LlamaTokenizer")
	if err := t.templateSpecial(tf, v, ids); err != nil {
		return err
	}
	if cfg.AddBOS != nil {
		v.AddBOS = *cfg.AddBOS
	}
	if cfg.AddEOS != nil {
		v.AddEOS = *cfg.AddEOS
	}
	if v.AddBOS && v.BOS < 0 {
		return cf.errorf("bos_token", "missing, but BOS is to be added")
	}
	if v.AddEOS && v.EOS < 0 {
		return cf.errorf("eos_token", "missing, but EOS is to be added")
	}
	return nil
}

// templateSpecial reads what a TemplateProcessing post-processor adds around a single sequence: nothing,
// BOS before it, EOS after it. The token it adds must be the BOS (EOS) token, or becomes it when that is
// unset.
func (t *hfTokenizer) templateSpecial(f hfFile, v *abi.Vocab, ids specialLookup) error {
	c, field := t.PostProcessor, "post_processor"
	if c == nil {
		return nil
	}
	if c.Type == "Sequence" {
		var tp *hfComponent
		for i := range c.Processors {
			p := &c.Processors[i]
			switch p.Type {
			case "ByteLevel":
			case "TemplateProcessing":
				if tp != nil {
					return f.errorf(field, "more than one TemplateProcessing")
				}
				tp, field = p, fmt.Sprintf("post_processor.processors[%d]", i)
			default:
				return f.errorf(fmt.Sprintf("post_processor.processors[%d]", i), "%s is not supported", describe(p))
			}
		}
		if c = tp; c == nil {
			return nil
		}
	}
	switch c.Type {
	case "ByteLevel":
		return nil
	case "TemplateProcessing":
	default:
		return f.errorf(field, "%s is not supported (ByteLevel or TemplateProcessing)", describe(c))
	}
	seq := -1
	for i, p := range c.Single {
		switch {
		case p.Sequence != nil && seq < 0:
			seq = i
		case p.SpecialToken == nil:
			return f.errorf(field+".single", "piece %d is neither the sequence nor a special token", i)
		}
	}
	if seq < 0 {
		return f.errorf(field+".single", "no sequence")
	}
	addBOS, addEOS := seq == 1, len(c.Single)-seq == 2
	if seq > 1 || len(c.Single)-seq > 2 {
		return f.errorf(field+".single", "adds more than BOS before and EOS after the text")
	}
	for _, s := range []struct {
		add   bool
		piece int
		id    *int32
		name  string
	}{{addBOS, 0, &v.BOS, "BOS"}, {addEOS, len(c.Single) - 1, &v.EOS, "EOS"}} {
		if !s.add {
			continue
		}
		text := c.Single[s.piece].SpecialToken.ID
		if *s.id < 0 {
			*s.id, _ = ids.id(text)
		}
		if *s.id < 0 || v.Tokens[*s.id] != text {
			return f.errorf(field+".single", "adds %q, which is not the %s token", text, s.name)
		}
	}
	v.AddBOS, v.AddEOS = addBOS, addEOS
	return nil
}

// template reads chat_template: a string, or a list of {"name", "template"} of which "default" is taken.
func (c *hfConfig) template(f hfFile) (string, error) {
	if len(c.ChatTemplate) == 0 || string(c.ChatTemplate) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(c.ChatTemplate, &s) == nil {
		return s, nil
	}
	var named []struct {
		Name     string `json:"name"`
		Template string `json:"template"`
	}
	if err := json.Unmarshal(c.ChatTemplate, &named); err != nil {
		return "", f.errorf("chat_template", "neither a string nor a list of {\"name\", \"template\"}")
	}
	for _, n := range named {
		if n.Name == "default" {
			return n.Template, nil
		}
	}
	return "", nil
}
