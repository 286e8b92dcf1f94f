#!/usr/bin/env bash
# The benchmark models: a random-weight Q8_0 file with a real model's shapes and tokenizer, generated once
# into the cache (WASMOE_CACHE, default ~/.cache/wasmoe) with bin/wasmoe mkmodel. Prints its path.
#   tools/bench/model.sh SHAPE     # qwen2-1.5b (DeepSeek-R1-Distill-Qwen-1.5B) or deepseek-v2-lite (MoE + MLA)
# qwen2-1.5b-cycle16 is the Qwen2 shape as a predictable model (mkmodel --cycle 16: greedy decoding walks
# cycles of 16 token ids, for speculative decoding), qwen2-1.5b-cycle16-4layers its first 4 blocks.
set -euo pipefail
cd "$(dirname "$0")/../.."
shape=${1:?usage: tools/bench/model.sh SHAPE}
base=$shape extra=()
case "$shape" in
  qwen2-1.5b) vocab=qwen2; arch=qwen2 ;;
  qwen2-1.5b-cycle16) vocab=qwen2; arch=qwen2; base=qwen2-1.5b; extra=(--cycle 16) ;;
  qwen2-1.5b-cycle16-4layers) vocab=qwen2; arch=qwen2; base=qwen2-1.5b; extra=(--cycle 16 --layers 4) ;;
  deepseek-v2-lite) vocab=deepseek-llm; arch=deepseek2 ;;
  *) echo "model.sh: unknown shape $shape (qwen2-1.5b, qwen2-1.5b-cycle16[-4layers], deepseek-v2-lite)" >&2; exit 2 ;;
esac
cache=${WASMOE_CACHE:-$HOME/.cache/wasmoe}
model="$cache/bench-$shape-q8_0.gguf"
mkdir -p "$cache"
if [ ! -f "$model" ]; then
  [ -x bin/wasmoe ] || make build >&2
  v=$(mktemp -d)/ggml-vocab-$vocab.gguf
  gunzip -c "testdata/vocab/ggml-vocab-$vocab.gguf.gz" > "$v"
  ./bin/wasmoe mkmodel --arch "$arch" --shape "$base" "${extra[@]}" --type q8_0 --vocab "$v" --out "$model.tmp" >&2
  mv "$model.tmp" "$model"
fi
echo "$model"
