#!/usr/bin/env bash
# Decode (tg) and prefill (pp) tok/s of wasmoe next to llama.cpp's own llama-bench (built natively by
# ../shared/tools/llama-build) on the same GGUF file, THREADS threads each (default 2), ROUNDS alternating
# rounds (default 3). Prints one JSON line per engine and round, then the median ratios wasmoe/llama.cpp.
#   tools/bench/quant.sh SHAPE TYPE [PROMPT_TOKENS] [GEN_TOKENS]
# SHAPE: qwen2-1.5b or deepseek-v2-lite (tools/bench/model.sh). TYPE: q8_0, or a llama-quantize preset
# (Q4_K_M, Q4_0, IQ4_XS, ...) that bin/wasmoe quantize makes from the Q8_0 file once, into the same cache.
# LLAMA_BENCH names another llama-bench binary.
set -euo pipefail
cd "$(dirname "$0")/../.."
shape=${1:?usage: tools/bench/quant.sh SHAPE TYPE [PROMPT_TOKENS] [GEN_TOKENS]}
type=${2:?usage: tools/bench/quant.sh SHAPE TYPE [PROMPT_TOKENS] [GEN_TOKENS]}
np=${3:-128}
ng=${4:-64}
threads=${THREADS:-2}
rounds=${ROUNDS:-3}
model=$(tools/bench/model.sh "$shape")
if [ "$(echo "$type" | tr A-Z a-z)" != q8_0 ]; then
  q="${model%-q8_0.gguf}-$(echo "$type" | tr A-Z a-z).gguf"
  [ -f "$q" ] || ./bin/wasmoe quantize --model "$model" --type "$type" --out "$q" --quiet >&2
  model=$q
fi
bench=${LLAMA_BENCH:-"$(../shared/tools/llama-build/llama-build)/llama-bench"}
echo "model: $model ($(du -h "$model" | cut -f1)), pp$np tg$ng, $threads threads, $rounds rounds, $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
out=$(mktemp)
for round in $(seq "$rounds"); do
  ./bin/wasmoe bench --model "$model" --prompt-tokens "$np" --gen-tokens "$ng" --threads "$threads" | tee -a "$out"
  "$bench" -m "$model" -p "$np" -n "$ng" -t "$threads" -r 1 -fa off -o jsonl |
    jq -c --arg r "$round" '{engine: "llama-bench", test: (if .n_prompt > 0 then "pp" else "tg" end), tok_s: .avg_ts}' | tee -a "$out"
done
jq -s -r '
  def median: sort | if length % 2 == 1 then .[length/2|floor] else (.[length/2-1] + .[length/2]) / 2 end;
  [.[] | select(.engine == "wasmoe")] as $w | [.[] | select(.engine == "llama-bench")] as $l |
  [range(0; $w|length) | ($w[.].prefill_tok_s / ([$l[] | select(.test == "pp")][.].tok_s))] as $pp |
  [range(0; $w|length) | ($w[.].decode_tok_s / ([$l[] | select(.test == "tg")][.].tok_s))] as $tg |
  "median ratio wasmoe/llama-bench: prefill pp\($pp|median|.*100|round/100)x  decode tg\($tg|median|.*100|round/100)x  (rounds: pp \($pp|map(.*100|round/100)), tg \($tg|map(.*100|round/100)))"' "$out"
rm -f "$out"
