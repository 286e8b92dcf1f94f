#!/usr/bin/env bash
# Speculative decoding's decode tok/s, wasmoe (`wasmoe bench`) next to llama.cpp (`llama-server`, its
# /completion timings), same prompt ids, greedy, EOS ignored, same threads, rounds alternating. Per round,
# each engine runs: plain; prompt lookup (wasmoe --spec ngram, llama-server --spec-type ngram-simple); a
# draft model (wasmoe --draft-model, llama-server -md --spec-type draft-simple: without the type it loads the
# draft and never drafts) that is the Q4_K_M copy of the same weights, then the Q4_K_M copy of their first
# 4 blocks. The model is the predictable Qwen2-1.5B-shaped Q8_0 file (tools/bench/model.sh
# qwen2-1.5b-cycle16: random weights whose greedy output walks cycles of 16 token ids, so drafts made from
# the same weights agree with it as they do with real weights; the compute per token is the shape's), the
# prompt repeats its first 16 ids. Prints one JSON line per engine, mode and round.
#   tools/bench/spec.sh [ROUNDS] [GEN_TOKENS]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
ng=${2:-64}
np=128
period=16
threads=${THREADS:-2}
draft_max=${SPEC_TOKENS:-5}
llama_bin=${LLAMA_BIN:-/root/.cache/llama-build/src/build/bin}
port=${PORT:-8391}
model=$(tools/bench/model.sh qwen2-1.5b-cycle16)
small=$(tools/bench/model.sh qwen2-1.5b-cycle16-4layers)
quantized() { # the Q4_K_M copy of $1, made once
  local q=${1%-q8_0.gguf}-q4_k_m.gguf
  [ -f "$q" ] || ./bin/wasmoe quantize --model "$1" --type Q4_K_M --out "$q" --quiet >&2
  echo "$q"
}
draft=$(quantized "$model")
small=$(quantized "$small")
prompt=$(./bin/wasmoe bench --model "$model" --prompt-tokens $np --prompt-period $period --print-prompt)
echo "model: $model, drafts: $draft, $small; prompt $np tokens, generate $ng, $threads threads, $(nproc) cores"

wasmoe() { # MODE FLAGS...
  local mode=$1
  shift
  ./bin/wasmoe bench --model "$model" --prompt-tokens $np --prompt-period $period --gen-tokens "$ng" \
    --threads "$threads" "$@" | jq -c --arg mode "$mode" '{engine, mode: $mode, decode_tok_s, draft_tokens, accepted_draft_tokens}'
}
llama() { # MODE FLAGS...
  local mode=$1
  shift
  local log
  log=$(mktemp)
  "$llama_bin/llama-server" -m "$model" -t "$threads" -c 1024 -np 1 --port "$port" --no-webui "$@" >"$log" 2>&1 &
  local pid=$!
  until curl -sf "localhost:$port/health" >/dev/null; do
    kill -0 $pid 2>/dev/null || { echo "llama-server ($mode) did not start" >&2; return 1; }
    sleep 1
  done
  curl -s "localhost:$port/completion" -d "{\"prompt\": $prompt, \"n_predict\": $ng, \"temperature\": 0, \"ignore_eos\": true, \"cache_prompt\": false}" |
    jq -c --arg mode "$mode" '{engine: "llama.cpp", mode: $mode, decode_tok_s: .timings.predicted_per_second,
      draft_tokens: .timings.draft_n, accepted_draft_tokens: .timings.draft_n_accepted}'
  kill $pid
  wait $pid 2>/dev/null || true
  grep -o "draft acceptance = .*" "$log" | sed "s/^/  llama.cpp $mode: /" || true
  rm -f "$log"
}
for round in $(seq "$rounds"); do
  echo "round $round"
  wasmoe plain
  llama plain
  wasmoe ngram --spec ngram --spec-tokens "$draft_max"
  llama ngram --spec-type ngram-simple --spec-draft-n-max "$draft_max"
  wasmoe draft-q4_k_m --draft-model "$draft" --spec-tokens "$draft_max"
  llama draft-q4_k_m -md "$draft" --spec-type draft-simple -td "$threads" --spec-draft-n-max "$draft_max" --spec-draft-n-min 0
  wasmoe draft-4-blocks --draft-model "$small" --spec-tokens "$draft_max"
  llama draft-4-blocks -md "$small" --spec-type draft-simple -td "$threads" --spec-draft-n-max "$draft_max" --spec-draft-n-min 0
done
