#!/usr/bin/env bash
# Decode and prefill tok/s of wasmoe next to llama.cpp on the same Qwen2-1.5B-shaped Q8_0 file (random
# weights, real shapes and tokenizer), in one run, 2 threads each. Prints one JSON line per engine.
#   tools/bench/decode.sh [PROMPT_TOKENS] [GEN_TOKENS]
set -euo pipefail
cd "$(dirname "$0")/../.."
np=${1:-128}
ng=${2:-64}
threads=${THREADS:-2}
cache=${WASMOE_CACHE:-$HOME/.cache/wasmoe}
model="$cache/bench-qwen2-1.5b-q8_0.gguf"
mkdir -p "$cache"
if [ ! -f "$model" ]; then
  vocab=$(mktemp -d)/ggml-vocab-qwen2.gguf
  gunzip -c testdata/vocab/ggml-vocab-qwen2.gguf.gz > "$vocab"
  ./bin/wasmoe mkmodel --shape qwen2-1.5b --type q8_0 --vocab "$vocab" --out "$model"
fi
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
