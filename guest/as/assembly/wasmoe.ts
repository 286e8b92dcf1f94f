// wasmoe.ts is the AssemblyScript side of the wasmoe plugin ABI v1 (guest/abi/v1.go is the contract): the
// host imports of module "wasmoe_v1", the ABI's constants, the action packer, the log, the buffer allocator
// the host writes through and the v1 marker. A policy's entry file re-exports the last three:
//
//   export { wasmoe_abi_v1, wasmoe_alloc, wasmoe_free } from "./wasmoe";
//
// and exports ctl_init, ctl_open, ctl_step, ctl_close (and ctl_pick if it uses FlagPick). Build with
// build.sh, which maps abort to wasmoeAbort so the module imports nothing but wasmoe_v1.

// ---- Host imports (wasmoe_v1). "len or error" results are the full length of the answer, written only
// when it fits cap (call again with a bigger buffer), or a negative status.

/** Appends len bytes at ptr to this instance's bounded log (level: LogDebug … LogError). */
// @ts-ignore: decorator
@external("wasmoe_v1", "log")
export declare function host_log(level: i32, ptr: usize, len: i32): void;

/** Writes the ModelInfo record (ModelInfoSize bytes) at ptr: len or error. */
// @ts-ignore: decorator
@external("wasmoe_v1", "model_info")
export declare function model_info(ptr: usize, cap: i32): i32;

/** Writes the TokenTable blob ("WTOK") at ptr: len or error. */
// @ts-ignore: decorator
@external("wasmoe_v1", "vocab")
export declare function vocab(ptr: usize, cap: i32): i32;

/** Registers a guest region of len bytes the host reads (or writes) in place as buffer kind BufMask …. */
// @ts-ignore: decorator
@external("wasmoe_v1", "buf_register")
export declare function buf_register(kind: i32, ptr: usize, len: i32): i32;

/** Writes the request's plugin config bytes at ptr (only during ctl_open): len or error. */
// @ts-ignore: decorator
@external("wasmoe_v1", "config")
export declare function config(ptr: usize, cap: i32): i32;

/** A weight of the request's model by name: handle or error. */
// @ts-ignore: decorator
@external("wasmoe_v1", "tensor")
export declare function tensor(name: usize, len: i32): i32;

/** Writes a tensor's dtype, rows, cols as 3×u32 at ptr: status. */
// @ts-ignore: decorator
@external("wasmoe_v1", "tensor_info")
export declare function tensor_info(handle: i32, ptr: usize): i32;

/** y[n][rows] = x[n][cols] · Wᵀ in f32: status. */
// @ts-ignore: decorator
@external("wasmoe_v1", "matmul")
export declare function matmul(w: i32, x: usize, n: i32, y: usize): i32;

/** Runs layer's experts ids (k per row, weighted) over x[n] into y: status. */
// @ts-ignore: decorator
@external("wasmoe_v1", "moe")
export declare function moe(layer: i32, x: usize, n: i32, ids: usize, weights: usize, k: i32, y: usize): i32;

/** The model's routing of x[n] at layer into ids and weights: k or error. */
// @ts-ignore: decorator
@external("wasmoe_v1", "moe_route")
export declare function moe_route(layer: i32, x: usize, n: i32, ids: usize, weights: usize): i32;

/** A model by name ("" = the request's model): handle or error. */
// @ts-ignore: decorator
@external("wasmoe_v1", "model")
export declare function model(name: usize, len: i32): i32;

/** An empty sequence (KV cache) on a model: handle or error. */
// @ts-ignore: decorator
@external("wasmoe_v1", "seq_new")
export declare function seq_new(model: i32): i32;

/** Appends n ids to seq and writes the last token's logits at logits (cap floats): vocab size or error. */
// @ts-ignore: decorator
@external("wasmoe_v1", "seq_forward")
export declare function seq_forward(seq: i32, ids: usize, n: i32, logits: usize, cap: i32): i32;

/** Drops seq's cached tokens past keep: status. */
// @ts-ignore: decorator
@external("wasmoe_v1", "seq_trim")
export declare function seq_trim(seq: i32, keep: i32): i32;

/** The tokens cached in seq, or error. */
// @ts-ignore: decorator
@external("wasmoe_v1", "seq_len")
export declare function seq_len(seq: i32): i32;

/** Frees seq: status. */
// @ts-ignore: decorator
@external("wasmoe_v1", "seq_free")
export declare function seq_free(seq: i32): i32;

/** Appends n ids (i32[n] at ids) to seq in one forward and writes the logits after every one, n rows of
 *  n_logits f32 at logits: n·n_logits, or an error; when that exceeds cap (floats), nothing runs. */
// @ts-ignore: decorator
@external("wasmoe_v1", "seq_forward_all")
export declare function seq_forward_all(seq: i32, ids: usize, n: i32, logits: usize, cap: i32): i32;

/** Writes the mask (words u32 words at mask) of the streamed tokens a GBNF grammar (grammarLen bytes)
 *  takes after text (textLen bytes), computed on the host: GBNFAccepting/GBNFDone flags, or an error
 *  (ErrBadInput: the grammar does not compile or refuses text; ErrNotReady: mask it yourself). */
// @ts-ignore: decorator
@external("wasmoe_v1", "gbnf_mask")
export declare function gbnf_mask(grammar: usize, grammarLen: i32, text: usize, textLen: i32, mask: usize, words: i32): i32;

/** gbnf_mask for a JSON Schema (its JSON text, schemaLen bytes), with the same flags and errors. */
// @ts-ignore: decorator
@external("wasmoe_v1", "json_schema_mask")
export declare function json_schema_mask(schema: usize, schemaLen: i32, text: usize, textLen: i32, mask: usize, words: i32): i32;

// ---- Constants (guest/abi/abi.go, guest/abi/v1.go).

/** ABI version model_info reports. */
export const Version: u32 = 1;

/** gbnf_mask's and json_schema_mask's flags: the text is a whole word, the output may end here. */
export const GBNFAccepting: i32 = 1;
/** And no byte may follow it (the mask is empty). */
export const GBNFDone: i32 = 2;

/** Status: success. */
export const OK: i32 = 0;
/** Status: a blob or argument the guest cannot decode. */
export const ErrBadInput: i32 = -1;
/** Status: called before initialisation. */
export const ErrNotReady: i32 = -2;
/** Status: the guest failed in some other way (details in its log). */
export const ErrInternal: i32 = -3;
/** Status: the guest could not allocate. */
export const ErrNoMemory: i32 = -4;
/** Status: no token can be picked. */
export const ErrNoToken: i32 = -5;
/** Status: no tensor, model or layer by that name or number. */
export const ErrNotFound: i32 = -6;
/** Status: a per-request limit (sequences, tokens, forks) would be exceeded. */
export const ErrLimit: i32 = -7;
/** Status: a handle that is not open in this request. */
export const ErrHandle: i32 = -8;

/** Log level: debug. */
export const LogDebug: i32 = 0;
/** Log level: info. */
export const LogInfo: i32 = 1;
/** Log level: warning. */
export const LogWarn: i32 = 2;
/** Log level: error. */
export const LogError: i32 = 3;

/** Buffer kind: u32 words, bit i%32 of word i/32 set = token i allowed; ceil(n_logits/32) words. */
export const BufMask: i32 = 1;
/** Buffer kind: (i32 id, f32 bias) pairs. */
export const BufBias: i32 = 2;
/** Buffer kind: i32 token ids to splice. */
export const BufSplice: i32 = 3;
/** Buffer kind: Candidate records (CandidateSize bytes each) the host writes before ctl_pick. */
export const BufCands: i32 = 4;

/** Action kind: sample the next token (with the flags' mask, bias and custom pick). */
export const ActSample: i32 = 0;
/** Action kind: take back arg tokens, then append count tokens from the splice buffer, no sampling. */
export const ActSplice: i32 = 1;
/** Action kind: end this sequence. */
export const ActStop: i32 = 2;
/** Action kind: become count sequences; the host opens count-1 copies with ctl_open(child, seq). */
export const ActFork: i32 = 3;

/** Flag: the mask buffer holds this step's allowed tokens. */
export const FlagMask: i32 = 1 << 4;
/** Flag: count (id, bias) pairs in the bias buffer are added to the logits. */
export const FlagBias: i32 = 1 << 5;
/** Flag: the host hands the best arg candidates to ctl_pick instead of sampling. */
export const FlagPick: i32 = 1 << 6;
/** Flag: drop the tokens this step reported (and any held ones) from the client's stream. */
export const FlagHide: i32 = 1 << 7;
/** Flag: hold the tokens this step reported back from the stream until a later step. */
export const FlagHold: i32 = 1 << 8;

/** Largest count an action carries. */
export const MaxCount: i32 = (1 << 24) - 1;
/** Largest arg an action carries. */
export const MaxArg: i32 = (1 << 16) - 1;
/** Largest K a guest may ask ctl_pick to choose from. */
export const MaxPickK: i32 = 1024;

/** Bytes of one candidate record: id i32, logit f32, logprob f32. */
export const CandidateSize: i32 = 12;
/** Bytes of the ModelInfo record. */
export const ModelInfoSize: i32 = 48;

/** Packs an action for ctl_step to return, exactly as abi.PackAction. */
export function action(kind: i32, flags: i32, count: i32, arg: i32): i64 {
  return (
    i64(kind & 0xf) |
    i64(flags & 0xfff0) |
    (i64(count & MaxCount) << 16) |
    (i64(arg & MaxArg) << 40)
  );
}

// ---- Log and abort.

/** Writes msg (as UTF-8) to the host's log for this instance. */
export function log(level: i32, msg: string): void {
  if (msg.length == 0) return;
  const b = String.UTF8.encode(msg);
  host_log(level, changetype<usize>(b), b.byteLength);
}

let aborting = false;

/** The abort handler build.sh installs (--use abort=...): logs the failure, then traps. */
export function wasmoeAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  if (!aborting) {
    aborting = true; // an abort while logging (out of memory) traps at once
    const m = message != null ? message : "abort";
    const f = fileName != null ? fileName : "?";
    log(LogError, m + " at " + f + ":" + line.toString() + ":" + column.toString());
  }
  unreachable();
}

// ---- Exports every guest has.

/** The ABI v1 marker (never called). */
export function wasmoe_abi_v1(): void {}

/** A zeroed, 8-byte aligned buffer of size bytes the host may write; it stays put until wasmoe_free. */
export function wasmoe_alloc(size: u32): usize {
  const n = max<usize>(size, 1);
  const p = heap.alloc(n); // TLSF: 16-byte aligned, never moved, not managed by the GC
  memory.fill(p, 0, n);
  return p;
}

/** Releases a buffer from wasmoe_alloc. */
export function wasmoe_free(ptr: usize): void {
  if (ptr != 0) heap.free(ptr);
}

// ---- Helpers.

/** The status of the last helper that returned null or 0: the host's negative answer. */
export let lastError: i32 = OK;

/** ModelInfo is the record model_info writes. */
export class ModelInfo {
  /** ABI version (Version). */
  abiVersion: u32 = 0;
  /** Logits per step: the mask covers this many tokens. */
  nLogits: u32 = 0;
  /** Tokens in the tokenizer (≤ nLogits). */
  nTokens: u32 = 0;
  /** Tokens of context per sequence. */
  nCtx: u32 = 0;
  /** Begin-of-sequence id, or -1. */
  bos: i32 = -1;
  /** End-of-sequence id, or -1. */
  eos: i32 = -1;
  /** End-of-turn id, or -1. */
  eot: i32 = -1;
  /** Id of "<think>", or -1. */
  thinkOpen: i32 = -1;
  /** Id of "</think>", or -1. */
  thinkClose: i32 = -1;
  /** Sequences a request may have at once. */
  maxForks: u32 = 0;
  /** Tokens one splice may add. */
  maxSplice: u32 = 0;
  /** Bias pairs one step may give. */
  maxBias: u32 = 0;
}

/** Reads model_info, or returns null (lastError says why). */
export function readModelInfo(): ModelInfo | null {
  const b = new ArrayBuffer(ModelInfoSize);
  const p = changetype<usize>(b);
  const n = model_info(p, ModelInfoSize);
  if (n < 0) {
    lastError = n;
    return null;
  }
  if (n < ModelInfoSize) {
    lastError = ErrBadInput;
    return null;
  }
  const m = new ModelInfo();
  m.abiVersion = load<u32>(p, 0);
  m.nLogits = load<u32>(p, 4);
  m.nTokens = load<u32>(p, 8);
  m.nCtx = load<u32>(p, 12);
  m.bos = load<i32>(p, 16);
  m.eos = load<i32>(p, 20);
  m.eot = load<i32>(p, 24);
  m.thinkOpen = load<i32>(p, 28);
  m.thinkClose = load<i32>(p, 32);
  m.maxForks = load<u32>(p, 36);
  m.maxSplice = load<u32>(p, 40);
  m.maxBias = load<u32>(p, 44);
  return m;
}

/** Reads the request's plugin config bytes (call it in ctl_open), or returns null (lastError says why). */
export function readConfig(): Uint8Array | null {
  let buf = new Uint8Array(256);
  let n = config(buf.dataStart, buf.length);
  if (n > buf.length) {
    buf = new Uint8Array(n);
    n = config(buf.dataStart, n);
  }
  if (n < 0 || n > buf.length) {
    lastError = n < 0 ? n : ErrInternal; // the config changed size between calls
    return null;
  }
  return buf.subarray(0, n);
}

/** Reads the vocabulary's TokenTable blob (see TokenTable), or returns null (lastError says why). */
export function readVocab(): TokenTable | null {
  const n = vocab(0, 0);
  if (n < 0) {
    lastError = n;
    return null;
  }
  const b = new Uint8Array(n);
  const got = vocab(b.dataStart, n);
  if (got != n) {
    lastError = got < 0 ? got : ErrInternal;
    return null;
  }
  const t = TokenTable.parse(b);
  if (t == null) lastError = ErrBadInput;
  return t;
}

/** TokenTable is the vocabulary vocab writes: each token's raw bytes and type. */
export class TokenTable {
  /** Number of tokens. */
  count: i32 = 0;
  private blob: Uint8Array = new Uint8Array(0);
  private offsets: usize = 0; // address of (count+1) u32 offsets
  private types: usize = 0; // address of count u8 types
  private bytes: i32 = 0; // index in blob of the first token byte

  /** Decodes a "WTOK" blob, or returns null if it is malformed. */
  static parse(b: Uint8Array): TokenTable | null {
    if (b.length < 8 || load<u32>(b.dataStart) != 0x4b4f5457) return null; // "WTOK"
    const n = load<u32>(b.dataStart, 4);
    const head = u64(8) + (u64(n) + 1) * 4 + u64(n);
    if (head > u64(b.length)) return null;
    const t = new TokenTable();
    t.count = <i32>n;
    t.blob = b;
    t.offsets = b.dataStart + 8;
    t.types = t.offsets + (<usize>n + 1) * 4;
    t.bytes = <i32>head;
    let prev: u32 = 0;
    for (let i: u32 = 0; i <= n; i++) {
      const o = load<u32>(t.offsets + (<usize>i << 2));
      if (o < prev || u64(o) > u64(b.length) - head) return null;
      prev = o;
    }
    return t;
  }

  /** Token id's raw bytes (a view into the blob); empty for an id out of range. */
  piece(id: i32): Uint8Array {
    if (id < 0 || id >= this.count) return new Uint8Array(0);
    const lo = load<u32>(this.offsets + (<usize>id << 2));
    const hi = load<u32>(this.offsets + (<usize>(id + 1) << 2));
    return this.blob.subarray(this.bytes + <i32>lo, this.bytes + <i32>hi);
  }

  /** Token id's type (abi.TokenNormal …), or -1 for an id out of range. */
  type(id: i32): i32 {
    if (id < 0 || id >= this.count) return -1;
    return load<u8>(this.types + <usize>id);
  }
}

/** Allocates a zeroed guest buffer of len bytes and registers it as kind; 0 on failure (lastError). */
export function registerBuffer(kind: i32, len: i32): usize {
  const p = wasmoe_alloc(len);
  const st = buf_register(kind, p, len);
  if (st < 0) {
    wasmoe_free(p);
    lastError = st;
    return 0;
  }
  return p;
}

/** Words of a mask over nLogits tokens: ceil(nLogits/32). */
export function maskWords(nLogits: u32): i32 {
  return <i32>((nLogits + 31) >> 5);
}

/** Clears every bit of a mask of words u32 words at mask (no token allowed). */
export function maskClear(mask: usize, words: i32): void {
  memory.fill(mask, 0, <usize>words << 2);
}

/** Allows token id in the mask at mask. */
export function maskAllow(mask: usize, id: i32): void {
  const w = mask + (<usize>(id >>> 5) << 2);
  store<u32>(w, load<u32>(w) | (1 << (id & 31)));
}
