package abi

// ABI v1 (guest/ABI.md): one host module, one marker, three kinds of guest (tokenizer, sampler, policy) and
// the host kernels as imports. v0 guests (module wasmoe_v0, marker wasmoe_abi_v0) still load.

// Host module and marker of ABI v1.
const (
	HostModuleV1 = "wasmoe_v1"     // import module of every v1 host function
	MarkerV1     = "wasmoe_abi_v1" // export every v1 guest carries (never called)
	Version      = 1               // ABI version model_info reports
)

// Host imports of wasmoe_v1. Every parameter and result is i32 unless marked; "len or error" results are
// the full length of the answer (written only when it fits cap: call again with a bigger buffer) or a
// negative status.
const (
	ImportModelInfo   = "model_info"   // (ptr, cap) -> len | error: a ModelInfo record
	ImportVocab       = "vocab"        // (ptr, cap) -> len | error: the TokenTable blob
	ImportBufRegister = "buf_register" // (kind, ptr, len) -> status: a guest region the host reads in place
	ImportConfig      = "config"       // (ptr, cap) -> len | error: the request's plugin config bytes

	ImportTensor     = "tensor"      // (name ptr, len) -> handle | error: a weight of the request's model
	ImportTensorInfo = "tensor_info" // (handle, ptr) -> status: dtype, rows, cols as 3×u32 at ptr
	ImportMatMul     = "matmul"      // (w, x ptr, n, y ptr) -> status: y[n][rows] = x[n][cols] · Wᵀ (f32)
	ImportMoE        = "moe"         // (layer, x ptr, n, ids ptr, weights ptr, k, y ptr) -> status
	ImportRoute      = "moe_route"   // (layer, x ptr, n, ids ptr, weights ptr) -> k | error: the model's routing
	ImportModel      = "model"       // (name ptr, len) -> handle | error: "" = the request's model
	ImportSeqNew     = "seq_new"     // (model) -> handle | error: an empty sequence (KV cache) on a model
	ImportSeqForward = "seq_forward" // (seq, ids ptr, n, logits ptr, cap) -> vocab | error: logits of the last token
	ImportSeqTrim    = "seq_trim"    // (seq, keep) -> status: drop cached tokens past keep
	ImportSeqLen     = "seq_len"     // (seq) -> tokens | error
	ImportSeqFree    = "seq_free"    // (seq) -> status

	// (seq, ids ptr, n, logits ptr, cap) -> n·vocab | error: the logits after every one of the n tokens
	// ([n][vocab] f32, one batched forward), written only when they fit cap; when they do not, nothing
	// runs and the sequence is unchanged. A guest that does not import it runs as before.
	ImportSeqForwardAll = "seq_forward_all"

	// (grammar ptr, len, text ptr, len, mask ptr, words) -> GBNF* flags | error: the streamed tokens a
	// GBNF grammar takes after text, as a mask of words ≥ ⌈n_tokens/32⌉ (words past that cleared),
	// computed on the host. ErrBadInput: the grammar does not compile or refuses text; ErrNotReady: the
	// host offers no mask here (not a policy, a grammar over 1 MiB): compute it in the guest. Added to
	// v1 after the first v1 guests, like seq_forward_all.
	ImportGBNFMask = "gbnf_mask"

	// (schema ptr, len, text ptr, len, mask ptr, words) -> GBNF* flags | error: gbnf_mask for a JSON
	// Schema (its JSON text, as guest/constraint's JSONSchema reads it), with the same answers. Added to
	// v1 with gbnf_mask.
	ImportJSONSchemaMask = "json_schema_mask"
)

// Flags of gbnf_mask's and json_schema_mask's answers.
const (
	GBNFAccepting = 1 // the text is a whole word of the grammar: the output may end here
	GBNFDone      = 2 // and no byte may follow it (the mask is empty)
)

// Exports of a policy guest.
const (
	ExportCtlInit  = "ctl_init"  // () -> status: once per instance, after _initialize
	ExportCtlOpen  = "ctl_open"  // (seq, parent i32) -> status: parent -1 = a new request, else a fork
	ExportCtlStep  = "ctl_step"  // (seq, ids ptr, n i32) -> action i64: tokens appended since the last step
	ExportCtlPick  = "ctl_pick"  // (seq, k i32) -> index | error: pick one of k candidates (ActionPick)
	ExportCtlClose = "ctl_close" // (seq i32) -> status: the sequence is gone
)

// Kinds of buffer a policy registers with buf_register.
const (
	BufMask    = 1 // u32 words: bit i%32 of word i/32 set = token i allowed; ceil(n_logits/32) words
	BufBias    = 2 // (i32 id, f32 bias) pairs
	BufSplice  = 3 // i32 token ids
	BufCands   = 4 // Candidate records the host writes before ctl_pick
	bufKindMax = 4
)

// ValidBufKind reports whether k names a buffer kind.
func ValidBufKind(k int32) bool { return k >= 1 && k <= bufKindMax }

// An action is what ctl_step returns, packed in an i64 (a negative value is an error status):
//
//	bits  0–3   kind: ActSample, ActSplice, ActStop, ActFork
//	bits  4–15  flags: FlagMask, FlagBias, FlagPick, FlagHide, FlagHold
//	bits 16–39  count: bias pairs (FlagBias), splice tokens (ActSplice) or sequences (ActFork)
//	bits 40–55  arg: tokens to take back before a splice (ActSplice), or K candidates (FlagPick)
const (
	ActSample = 0 // sample the next token (with the flags' mask, bias and custom pick)
	ActSplice = 1 // take back arg tokens, then append count tokens from the splice buffer, no sampling
	ActStop   = 2 // end this sequence
	ActFork   = 3 // become count sequences: count-1 copies open with ctl_open(child, seq), then all step again

	FlagMask = 1 << 4 // the mask buffer holds this step's allowed tokens
	FlagBias = 1 << 5 // count (id, bias) pairs in the bias buffer are added to the logits
	FlagPick = 1 << 6 // the host hands the best arg candidates to ctl_pick instead of sampling
	FlagHide = 1 << 7 // drop the tokens this ctl_step reported (and any held ones) from the client's stream
	FlagHold = 1 << 8 // hold the tokens this ctl_step reported back from the stream until a later step
	// releases them (a step with neither flag streams held and reported tokens) or drops them (FlagHide).
	// The host streams a token only after the policy's step that reports it, so a policy decides with the
	// token in hand; the prompt is never streamed. Hidden tokens still count as completion tokens.

	MaxCount = 1<<24 - 1
	MaxArg   = 1<<16 - 1
	MaxPickK = 1024 // largest K a guest may ask ctl_pick to choose from
)

// Action is ctl_step's answer unpacked.
type Action struct {
	Kind  int   // ActSample …
	Flags int   // FlagMask | …
	Count int   // see the packing above
	Arg   int   // see the packing above
	Err   int32 // a negative status instead of an action; 0 otherwise
}

// PackAction packs an action for ctl_step to return.
func PackAction(kind, flags, count, arg int) int64 {
	return int64(kind&0xf) | int64(flags&0xfff0) | int64(count&MaxCount)<<16 | int64(arg&MaxArg)<<40
}

// UnpackAction unpacks ctl_step's result.
func UnpackAction(v int64) Action {
	if v < 0 {
		if v < -1<<31 {
			return Action{Err: ErrBadInput}
		}
		return Action{Err: int32(v)}
	}
	return Action{Kind: int(v & 0xf), Flags: int(v & 0xfff0), Count: int(v>>16) & MaxCount, Arg: int(v>>40) & MaxArg}
}

// Candidate is one record of the candidates buffer before ctl_pick: 12 bytes, best first.
//
//	id      i32  token id
//	logit   f32  its logit after mask and bias
//	logprob f32  its log-probability over the whole vocabulary (after mask and bias, temperature 1)
const CandidateSize = 12

// ModelInfo is the record model_info writes, 12 little-endian 32-bit fields (48 bytes):
//
//	abi_version u32  Version
//	n_logits    u32  logits per step (the mask covers this many tokens)
//	n_tokens    u32  tokens in the tokenizer (≤ n_logits; ids past it are never allowed)
//	n_ctx       u32  tokens of context per sequence
//	bos, eos, eot           i32  special ids, -1 when absent
//	think_open, think_close i32  ids of "<think>" and "</think>", -1 when the vocabulary has none
//	max_forks   u32  sequences a request may have at once
//	max_splice  u32  tokens one splice may add
//	max_bias    u32  bias pairs one step may give
const ModelInfoSize = 48

// TokenTable blob that vocab writes, all little-endian:
//
//	magic   [4]byte "WTOK"
//	n       u32     tokens
//	offsets (n+1)×u32: token i's bytes are bytes[offsets[i]:offsets[i+1]]
//	types   n×u8    TokenNormal … (control tokens carry their text, e.g. "</think>")
//	bytes   the raw bytes of every token, byte-level encoding undone
const TokenTableMagic = "WTOK"

// More status codes of v1 (abi.go has -1 … -5).
const (
	ErrNotFound = -6 // no tensor, model or layer by that name or number
	ErrLimit    = -7 // a per-request limit (sequences, tokens, forks) would be exceeded
	ErrHandle   = -8 // a handle that is not open in this request
)
