#!/usr/bin/env bash
# Decode and prefill tok/s of wasmoe next to llama.cpp on the same random-weight Q8_0 file with real shapes
# and a real tokenizer, in one run, same threads each. Prints one JSON line per engine and round.
#   tools/bench/decode.sh [PROMPT_TOKENS] [GEN_TOKENS]
# SHAPE picks the model: qwen2-1.5b (default; DeepSeek-R1-Distill-Qwen-1.5B) or deepseek-v2-lite (MoE + MLA).
set -euo pipefail
cd "$(dirname "$0")/../.."
np=${1:-128}
ng=${2:-64}
threads=${THREADS:-2}
shape=${SHAPE:-qwen2-1.5b}
model=$(tools/bench/model.sh "$shape")
ref_dir=${LLAMA_REF_DIR:-$HOME/.cache/llama-ref}
if [ ! -d "$ref_dir/node_modules/node-llama-cpp" ]; then
  mkdir -p "$ref_dir"
  (cd "$ref_dir" && { [ -f package.json ] || npm init -y >/dev/null; } && npm i -E --no-audit --no-fund node-llama-cpp@3.21.1 >&2)
fi
cp tools/bench/llamacpp.mjs "$ref_dir/bench.mjs"
echo "model: $model ($(du -h "$model" | cut -f1)), prompt $np tokens, generate $ng, $threads threads, $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
for round in 1 2; do
  ./bin/wasmoe bench --model "$model" --prompt-tokens "$np" --gen-tokens "$ng" --threads "$threads"
  node "$ref_dir/bench.mjs" "$model" "$np" "$ng" "$threads"
done
