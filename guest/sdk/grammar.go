package sdk

import "github.com/wasmoe/wasmoe/guest/abi"

// GBNFMask sets mask to the tokens a GBNF grammar (llama.cpp's format) takes after text, computed on the
// host: the streamed tokens (ids below ModelInfo's NTokens that are not control, unknown or unused) whose
// bytes the grammar takes one by one after text. It is the mask guest/constraint's Trie.Mask gives for a
// GBNF matcher fed text, bit for bit, computed natively, where Go's wasm would run the same walk 15–20
// times slower. mask must hold at least MaskWords(NTokens) words; those past them are cleared.
//
// It also says whether text is a whole word of the grammar and whether any byte may follow. An error
// wrapping ErrNotReady means the host offers no grammar masks (outside a policy, on an older host, in
// native tests): compute the mask in the guest. ErrBadInput: the grammar does not compile or refuses
// text. Past the step's deadline the call does not return: the step fails as at any deadline.
func GBNFMask(grammar string, text []byte, mask []uint32) (GrammarState, error) {
	flags, err := gbnfMask(grammar, text, mask)
	return GrammarState{Accepting: flags&abi.GBNFAccepting != 0, Done: flags&abi.GBNFDone != 0}, err
}

// JSONSchemaMask is GBNFMask for a JSON Schema (its JSON text, as guest/constraint's JSONSchema reads
// it): the mask Trie.Mask gives for that schema's matcher fed text, computed on the host, with the same
// answers.
func JSONSchemaMask(schema []byte, text []byte, mask []uint32) (GrammarState, error) {
	flags, err := jsonSchemaMask(schema, text, mask)
	return GrammarState{Accepting: flags&abi.GBNFAccepting != 0, Done: flags&abi.GBNFDone != 0}, err
}

// GrammarState is what GBNFMask and JSONSchemaMask say of the text beside the mask.
type GrammarState struct {
	Accepting bool // the text is a whole word of the grammar: the output may end here
	Done      bool // it is, and no byte may follow it
}
