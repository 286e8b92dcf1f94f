package vocab

import (
	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/internal/host/gguf"
)

// KeyChatTemplate is the GGUF key of the chat template.
const KeyChatTemplate = "tokenizer.chat_template"

// SetGGUF writes v (and the chat template, if not empty) as the tokenizer metadata llama.cpp's converter
// writes, so that FromGGUF reads back the same vocabulary.
func SetGGUF(w *gguf.Writer, v *abi.Vocab, chatTemplate string) error {
	set := func(k string, val any) error { return w.Set(k, val) }
	for _, kv := range []struct {
		k string
		v any
	}{{KeyModel, v.Model}, {KeyTokens, v.Tokens}, {KeyAddBOS, v.AddBOS}, {KeyAddEOS, v.AddEOS}} {
		if err := set(kv.k, kv.v); err != nil {
			return err
		}
	}
	if v.Pre != "" {
		if err := set(KeyPre, v.Pre); err != nil {
			return err
		}
	}
	if len(v.Types) > 0 {
		if err := set(KeyTokenType, v.Types); err != nil {
			return err
		}
	}
	if len(v.Merges) > 0 {
		if err := set(KeyMerges, v.Merges); err != nil {
			return err
		}
	}
	for _, id := range []struct {
		k  string
		id int32
	}{{KeyBOS, v.BOS}, {KeyEOS, v.EOS}, {KeyEOT, v.EOT}, {KeyEOM, v.EOM}, {KeyPAD, v.PAD}, {KeyUNK, v.UNK}} {
		if id.id >= 0 {
			if err := set(id.k, uint32(id.id)); err != nil {
				return err
			}
		}
	}
	if chatTemplate != "" {
		return set(KeyChatTemplate, chatTemplate)
	}
	return nil
}
