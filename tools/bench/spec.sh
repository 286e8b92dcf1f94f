#!/usr/bin/env bash
# Speculative decoding's decode tok/s: wasmoe plain, drafted by prompt lookup (--spec ngram, on a
# repetitive prompt) and by a Q4_K_M copy of the weights (--draft-model), next to llama.cpp's
# llama-speculative with the same draft, on the random-weight Qwen2-1.5B-shaped Q8_0 file of
# tools/bench/model.sh, same threads each, rounds alternating. Prints one JSON line (wasmoe) or
# llama-speculative's summary per engine and round.
#   tools/bench/spec.sh [ROUNDS] [GEN_TOKENS]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
ng=${2:-64}
np=128
period=16 # the repetitive prompt repeats its first 16 tokens
threads=${THREADS:-2}
draft_max=${SPEC_TOKENS:-5}
llama_bin=${LLAMA_BIN:-/root/.cache/llama-build/src/build/bin}
model=$(tools/bench/model.sh qwen2-1.5b)
draft=${model%-q8_0.gguf}-q4_k_m.gguf
if [ ! -f "$draft" ]; then
  "$llama_bin/llama-quantize" "$model" "$draft.tmp" Q4_K_M >&2
  mv "$draft.tmp" "$draft"
fi
echo "model: $model, draft: $draft, prompt $np tokens, generate $ng, $threads threads, $(nproc) cores"
# llama-speculative takes text: a repetitive one (wasmoe's prompt is ids, bench --prompt-period).
prompt="the quick brown fox jumps over the lazy dog. the quick brown fox jumps over the lazy dog. the quick brown fox"
for round in $(seq "$rounds"); do
  echo "round $round"
  ./bin/wasmoe bench --model "$model" --prompt-tokens $np --prompt-period $period --gen-tokens "$ng" --threads "$threads" | sed 's/^/wasmoe plain: /'
  ./bin/wasmoe bench --model "$model" --prompt-tokens $np --prompt-period $period --gen-tokens "$ng" --threads "$threads" \
    --spec ngram --spec-tokens "$draft_max" | sed 's/^/wasmoe ngram: /'
  ./bin/wasmoe bench --model "$model" --prompt-tokens $np --prompt-period $period --gen-tokens "$ng" --threads "$threads" \
    --draft-model "$draft" --spec-tokens "$draft_max" | sed 's/^/wasmoe draft: /'
  "$llama_bin/llama-speculative" -m "$model" -md "$draft" -p "$prompt" -n "$ng" -t "$threads" -td "$threads" --temp 0 \
    --spec-draft-n-max "$draft_max" --spec-draft-n-min 0 -c 1024 -ngl 0 2>&1 | grep -E "decoded|accept|n_draft" | tr '\n' ' ' | sed 's/^/llama.cpp draft: /'
  echo
done
