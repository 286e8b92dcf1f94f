// Package constraint holds byte-level acceptors of languages (RE2 regular expressions, JSON Schema,
// llama.cpp's GBNF grammars) and a token trie that turns an acceptor's state into a token mask for
// constrained decoding.
//
// Regex, JSONSchema and GBNF build Matchers, and Grammar combines them with literals (Seq, Alt, Repeat);
// NewTrie indexes a vocabulary once and Trie.Mask computes the
// allowed tokens for a Matcher's state. Matchers here also implement Snapshotter, and Mask has faster
// paths for some (a regex is a DFA over integer states); a GBNF matcher, a set of parse stacks as in
// llama.cpp, takes the generic Snapshotter path.
//
// Mask walks the trie depth first, one byte of the matcher's state per trie node, and asks the state
// which bytes it may take so it visits only those children. Its fast path is slicing (slice.go): where a
// state takes a whole class of characters freely (a JSON string's or key's text, a number's digits, a
// regex's character class) it says so with a free run: every text of up to so many characters of the
// class is taken, and the state after it depends only on how many it had. Mask then allows the tokens
// made only of such characters in bulk (a precomputed mask per trie node and class, by count of
// characters) and walks only what follows the free characters of the other tokens, from the state after
// that many characters. At DeepSeek-V3's vocabulary a mask costs some µs to tens of µs in every state,
// in wasm too (BENCHMARKS.md); building a slice the first time a class is met costs some ms.
//
// MaskBefore is Mask under a deadline, for a host that computes masks for guests (the gbnf_mask and
// json_schema_mask imports of internal/host/wasm), where no engine stops a walk that a hostile grammar makes long.
//
// Everything here is pure Go with no dependencies beyond the standard library, so it runs natively and
// in a GOOS=wasip1 guest. A Matcher, its clones and the automaton they share are not safe for concurrent
// use: build one per goroutine.
package constraint

// Matcher is an incremental byte-level acceptor of a language.
//
// Every Matcher in this package only accepts a byte when some continuation completes a word, so a caller
// that follows Advance never reaches a dead end: while !Done() at least one byte is accepted.
type Matcher interface {
	// Advance consumes b and reports whether b can continue a word of the language. After false the
	// state is undefined: Clone first, or use Snapshot and Restore where the Matcher is a Snapshotter.
	Advance(b byte) bool
	// Accepting reports whether the bytes so far form a complete word.
	Accepting() bool
	// Done reports whether the bytes so far are accepting and no byte can follow.
	Done() bool
	// Clone returns an independent copy of the Matcher in its current state.
	Clone() Matcher
}

// Snapshotter is an optional extension of Matcher that saves and restores states without cloning;
// Trie.Mask uses it when present. Handles are taken and given back in stack order.
type Snapshotter interface {
	Matcher
	// Snapshot saves the current state and returns its handle.
	Snapshot() int
	// Restore returns to the state saved as h and forgets h and every handle taken after it.
	Restore(h int)
}
