// index.ts is the conformance policy guest (the same behaviour in every SDK), and the example to copy.
// Config bytes: byte 0 = mode; little-endian i32 X at offset 4 and Y at offset 8 (missing bytes read as 0).
//
//   0 free       every step samples with no flags
//   1 mask       every step samples with only token X allowed
//   2 bias       every step samples with the bias pair (X, +Inf)
//   3 splice     the prompt step splices [X, Y]; the step reporting them stops
//   4 fork       the prompt step forks into 2; each sequence samples once, then stops
//   5 pick       every step samples through ctl_pick among the 4 best, picking the worst
//   6 hide       generated step 1 holds its token, generated step 2 hides both, later steps sample
//   7 backtrack  the prompt step splices [X]; the next takes X back and splices [Y]; the next stops

import {
  ActFork, ActSample, ActSplice, ActStop, BufBias, BufCands, BufMask, BufSplice, CandidateSize,
  ErrBadInput, FlagBias, FlagHide, FlagHold, FlagMask, FlagPick, LogError, OK,
  action, lastError, log, maskAllow, maskClear, maskWords, readConfig, readModelInfo, registerBuffer,
} from "./wasmoe";

export { wasmoe_abi_v1, wasmoe_alloc, wasmoe_free } from "./wasmoe";

const ModeFree = 0;
const ModeMask = 1;
const ModeBias = 2;
const ModeSplice = 3;
const ModeFork = 4;
const ModePick = 5;
const ModeHide = 6;
const ModeBacktrack = 7;

const PickK = 4;

/** The per-sequence state; a fork copies its parent's. */
class State {
  mode: i32 = 0;
  x: i32 = 0;
  y: i32 = 0;
  steps: i32 = 0; // ctl_step calls so far
  generated: i32 = 0; // generated steps so far
  lastKind: i32 = -1; // kind of the last action (-1 before the first step)

  clone(): State {
    const s = new State();
    s.mode = this.mode;
    s.x = this.x;
    s.y = this.y;
    s.steps = this.steps;
    s.generated = this.generated;
    s.lastKind = this.lastKind;
    return s;
  }
}

const states = new Map<i32, State>();

let maskBuf: usize = 0;
let maskLen: i32 = 0; // words
let maskFor: i32 = -1; // the token the mask buffer allows now (-1: none written yet)
let biasBuf: usize = 0;
let spliceBuf: usize = 0;

/** Reads model_info and registers the mask, bias, splice and candidates buffers. */
export function ctl_init(): i32 {
  const info = readModelInfo();
  if (info == null) {
    log(LogError, "model_info failed: " + lastError.toString());
    return lastError;
  }
  maskLen = maskWords(info.nLogits);
  maskBuf = registerBuffer(BufMask, maskLen << 2);
  biasBuf = registerBuffer(BufBias, 8); // one (id, bias) pair
  spliceBuf = registerBuffer(BufSplice, 2 << 2); // at most two tokens
  const cands = registerBuffer(BufCands, PickK * CandidateSize);
  if (maskBuf == 0 || biasBuf == 0 || spliceBuf == 0 || cands == 0) {
    log(LogError, "buf_register failed: " + lastError.toString());
    return lastError;
  }
  return OK;
}

/** Opens seq: a new request (parent -1) reads the config; a fork copies the parent's state. */
export function ctl_open(seq: i32, parent: i32): i32 {
  if (parent != -1) {
    if (!states.has(parent)) {
      log(LogError, "ctl_open: unknown parent " + parent.toString());
      return ErrBadInput;
    }
    states.set(seq, states.get(parent).clone());
    return OK;
  }
  const cfg = readConfig();
  if (cfg == null) {
    log(LogError, "config failed: " + lastError.toString());
    return lastError;
  }
  const s = new State();
  s.mode = cfg.length > 0 ? cfg[0] : 0;
  s.x = le32(cfg, 4);
  s.y = le32(cfg, 8);
  if (s.mode > ModeBacktrack) {
    log(LogError, "ctl_open: unknown mode " + s.mode.toString() + " (config byte 0; modes are 0 to 7)");
    return ErrBadInput;
  }
  states.set(seq, s);
  return OK;
}

/** Answers one step of seq: n ids at ids were appended since the last step. */
export function ctl_step(seq: i32, ids: usize, n: i32): i64 {
  if (!states.has(seq)) {
    log(LogError, "ctl_step: unknown sequence " + seq.toString());
    return ErrBadInput;
  }
  const s = states.get(seq);
  const generated = s.lastKind == ActSample && n > 0; // ids report a sampled token
  if (generated) s.generated++;
  const a = decide(s, generated);
  s.steps++;
  s.lastKind = <i32>(a & 0xf);
  return a;
}

/** The action of state s at its step number s.steps (generated: this step reports a sampled token). */
function decide(s: State, generated: bool): i64 {
  switch (s.mode) {
    case ModeMask:
      if (maskFor != s.x) {
        maskClear(maskBuf, maskLen);
        if (s.x >= 0 && (s.x >>> 5) < maskLen) maskAllow(maskBuf, s.x);
        maskFor = s.x;
      }
      return action(ActSample, FlagMask, 0, 0);
    case ModeBias:
      store<i32>(biasBuf, s.x);
      store<f32>(biasBuf, Infinity, 4);
      return action(ActSample, FlagBias, 1, 0);
    case ModeSplice:
      if (s.steps == 0) {
        store<i32>(spliceBuf, s.x);
        store<i32>(spliceBuf, s.y, 4);
        return action(ActSplice, 0, 2, 0);
      }
      return action(ActStop, 0, 0, 0);
    case ModeFork:
      if (s.steps == 0) return action(ActFork, 0, 2, 0);
      if (s.steps == 1) return action(ActSample, 0, 0, 0);
      return action(ActStop, 0, 0, 0);
    case ModePick:
      return action(ActSample, FlagPick, 0, PickK);
    case ModeHide:
      if (generated && s.generated == 1) return action(ActSample, FlagHold, 0, 0);
      if (generated && s.generated == 2) return action(ActSample, FlagHide, 0, 0);
      return action(ActSample, 0, 0, 0);
    case ModeBacktrack:
      if (s.steps == 0) {
        store<i32>(spliceBuf, s.x);
        return action(ActSplice, 0, 1, 0);
      }
      if (s.steps == 1) {
        store<i32>(spliceBuf, s.y);
        return action(ActSplice, 0, 1, 1);
      }
      return action(ActStop, 0, 0, 0);
    case ModeFree:
    default:
      return action(ActSample, 0, 0, 0);
  }
}

/** Picks the last (worst) of the k candidates for seq. */
export function ctl_pick(seq: i32, k: i32): i32 {
  if (!states.has(seq)) {
    log(LogError, "ctl_pick: unknown sequence " + seq.toString());
    return ErrBadInput;
  }
  if (k <= 0) {
    log(LogError, "ctl_pick: no candidates");
    return ErrBadInput;
  }
  return k - 1;
}

/** Forgets seq. */
export function ctl_close(seq: i32): i32 {
  states.delete(seq);
  return OK;
}

/** The little-endian i32 at offset off of b, missing bytes read as 0. */
function le32(b: Uint8Array, off: i32): i32 {
  let v: u32 = 0;
  for (let i = 0; i < 4; i++) {
    if (off + i < b.length) v |= (<u32>b[off + i]) << (8 * i);
  }
  return <i32>v;
}
