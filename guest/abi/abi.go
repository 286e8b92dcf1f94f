// Package abi is the contract between the wasmoe host and its WebAssembly guests (guest/ABI.md, v0): the
// host module name, the names of the exports, the error codes, and the binary layouts of the blobs that
// cross the boundary. Both sides import it; it imports neither.
package abi

// HostModule is the import module name of the host functions.
const HostModule = "wasmoe_v0"

// ImportLog is the host function (level, ptr, len i32) that appends len bytes at ptr to the instance's
// bounded log.
const ImportLog = "log"

// Marker is the export every v0 guest carries; the host checks for it before anything else.
const Marker = "wasmoe_abi_v0"

// Exports every guest has.
const (
	ExportAlloc = "wasmoe_alloc" // (size i32) -> ptr i32: a guest buffer the host may write, kept until freed
	ExportFree  = "wasmoe_free"  // (ptr i32): release a buffer from wasmoe_alloc
)

// Exports of the tokenizer guest.
const (
	ExportTokInit   = "tok_init"   // (blob ptr, len i32) -> status: build the tokenizer from a Vocab blob
	ExportTokEncode = "tok_encode" // (text ptr, len, flags i32) -> count | error: ids at tok_result
	ExportTokResult = "tok_result" // () -> ptr: the int32 ids (or bytes) of the last call
	ExportTokPiece  = "tok_piece"  // (id, special i32) -> len | error: the token's bytes at tok_result
	ExportTokDecode = "tok_decode" // (ids ptr, n, special i32) -> len | error: the bytes at tok_result
)

// Exports of the sampler guest.
const (
	ExportSmpConfig = "smp_config" // (params ptr, len i32) -> status: start a request with SamplerParams
	ExportSmpAccept = "smp_accept" // (ids ptr, n i32) -> status: append tokens to the history
	ExportSmpLogits = "smp_logits" // (n i32) -> ptr: a float32[n] buffer the host writes the logits into
	ExportSmpSample = "smp_sample" // (n i32) -> token | error: pick from the logits buffer
)

// Encode flags (tok_encode).
const (
	FlagAddSpecial   = 1 << 0 // prepend BOS / append EOS as the vocabulary asks
	FlagParseSpecial = 1 << 1 // match control tokens written in the text
)

// Status codes returned by guest exports; negative values are errors.
const (
	OK          = 0
	ErrBadInput = -1 // a blob or argument the guest cannot decode
	ErrNotReady = -2 // called before tok_init / smp_config
	ErrInternal = -3 // the guest failed in some other way (details in its log)
	ErrNoMemory = -4 // the guest could not allocate
	ErrNoToken  = -5 // smp_sample: every logit is -Inf or NaN, so no token can be picked
)

// Log levels of the host's log import.
const (
	LogDebug = 0
	LogInfo  = 1
	LogWarn  = 2
	LogError = 3
)
