package vocab

import (
	"slices"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// Token texts llama.cpp (llama-vocab.cpp, llama_vocab::impl::load) recognises when the GGUF leaves the
// corresponding id unset.
var (
	eotTexts = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
		"<|end_of_text|>", "<EOT>", "_<EOT>", "<｜end▁of▁sentence｜>", "<end_of_utterance>"}
	eomTexts    = []string{"<|eom_id|>"}
	fimPreTexts = []string{"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>",
		"▁<PRE>", "<|code_prefix|>"}
	fimSufTexts = []string{"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>",
		"▁<SUF>", "<|code_suffix|>"}
	fimMidTexts = []string{"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>",
		"▁<MID>", "<|code_middle|>"}
	fimPadTexts = []string{"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>"}
	fimRepTexts = []string{"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"}
	fimSepTexts = []string{"<|file_sep|>"}

	// eogTexts end generation wherever they are in the vocabulary (llama.cpp's list).
	eogTexts = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<end_of_turn>",
		"<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>", "<end_of_utterance>"}

	// extraEOGTexts end generation too although llama.cpp does not list them: DeepSeek's `<|EOT|>` closes
	// an assistant turn in the DeepSeek-Coder and V3 chat templates. Their token type is left alone.
	extraEOGTexts = []string{"<|EOT|>"}

	// forcedUserDefined are gpt-oss (o200k_harmony) markers llama.cpp always renders.
	forcedUserDefined = []string{"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}
)

// firstWithText returns the lowest id whose text is one of texts, or -1.
func firstWithText(v *abi.Vocab, texts []string) int32 {
	for id, s := range v.Tokens {
		if slices.Contains(texts, s) {
			return int32(id)
		}
	}
	return -1
}

// detectSpecial fills an unset EOT/EOM from the token texts and retypes the tokens llama.cpp treats as
// control tokens, in llama.cpp's order.
func detectSpecial(v *abi.Vocab) {
	control := func(id int32) {
		if id >= 0 {
			v.Types[id] = abi.TokenControl
		}
	}
	if v.EOT < 0 {
		v.EOT = firstWithText(v, eotTexts)
		control(v.EOT)
	}
	if v.EOM < 0 {
		v.EOM = firstWithText(v, eomTexts)
		control(v.EOM)
	}
	for _, texts := range [][]string{fimPreTexts, fimSufTexts, fimMidTexts, fimPadTexts, fimRepTexts, fimSepTexts} {
		control(firstWithText(v, texts))
	}
	for id, s := range v.Tokens {
		if slices.Contains(eogTexts, s) {
			v.Types[id] = abi.TokenControl
		}
	}
	for id, s := range v.Tokens {
		if slices.Contains(forcedUserDefined, s) {
			v.Types[id] = abi.TokenUserDefined
		}
	}
	if end := harmonyEnd(v); end >= 0 {
		v.Types[end] = abi.TokenUserDefined
	}
}

// harmonyEnd returns the id of `<|end|>` when the vocabulary also has `<|return|>` and `<|call|>`
// (gpt-oss), where `<|end|>` closes a message but not the generation; otherwise -1.
func harmonyEnd(v *abi.Vocab) int32 {
	ret := firstWithText(v, []string{"<|return|>"})
	call := firstWithText(v, []string{"<|call|>"})
	end := firstWithText(v, []string{"<|end|>"})
	if ret >= 0 && call >= 0 {
		return end
	}
	return -1
}

// EOGTokens returns the ids that end generation, sorted and without duplicates, found the way llama.cpp
// finds them: EOS, EOT and EOM, the FIM pad/repo/file-separator tokens, and every CONTROL or USER_DEFINED
// token whose text is an end-of-generation marker (`<|eot_id|>`, `<|im_end|>`, `<|end|>`, `<end_of_turn>`,
// `<|endoftext|>`, `<|eom_id|>`, `<EOT>`, `<|end_of_text|>`, …, and DeepSeek's `<|EOT|>`). As in llama.cpp,
// `<|end|>` is left out when `<|return|>` and `<|call|>` exist (gpt-oss).
func EOGTokens(v *abi.Vocab) []int32 {
	var ids []int32
	add := func(id int32) {
		if id >= 0 && int(id) < len(v.Tokens) {
			ids = append(ids, id)
		}
	}
	add(v.EOS)
	add(v.EOT)
	add(v.EOM)
	for _, texts := range [][]string{fimPadTexts, fimRepTexts, fimSepTexts} {
		add(firstWithText(v, texts))
	}
	end := harmonyEnd(v)
	for id, s := range v.Tokens {
		if int32(id) == end || !slices.Contains(eogTexts, s) && !slices.Contains(extraEOGTexts, s) {
			continue
		}
		if t := tokenType(v, id); t == abi.TokenControl || t == abi.TokenUserDefined {
			add(int32(id))
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

func tokenType(v *abi.Vocab, id int) int32 {
	if len(v.Types) == 0 {
		return abi.TokenNormal
	}
	return v.Types[id]
}
