#!/usr/bin/env bash
# Regenerates internal/host/gguf/testdata/split/: a tiny random qwen2 model made by `wasmoe mkmodel` (tiny.gguf.gz) and
# the 3 parts llama.cpp's own llama-gguf-split cuts it into (tiny-0000N-of-00003.gguf.gz), all gzipped.
# The model is as small as the generator allows with a real layout: 2 Q8_0 blocks of width 32 over a 64-token
# vocabulary (a vocab-only GGUF written below; the weights need no real tokenizer), 27 tensors, 10 a part.
#
#   LLAMA_BIN=/root/.cache/llama-build/src/build/bin tools/ggmlvectors/split.sh
set -euo pipefail
bin=${LLAMA_BIN:-/root/.cache/llama-build/src/build/bin}
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/host/gguf/testdata/split
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A vocab-only GGUF v3: tokenizer.ggml.model = "gpt2" and 64 tokens "t0".."t63", no tensors.
python3 - "$tmp/vocab.gguf" <<'PY'
import struct, sys
def s(x):
    b = x.encode()
    return struct.pack('<Q', len(b)) + b
toks = ["t%d" % i for i in range(64)]
kv = [s("tokenizer.ggml.model") + struct.pack('<I', 8) + s("gpt2"),
      s("tokenizer.ggml.tokens") + struct.pack('<IIQ', 9, 8, len(toks)) + b''.join(s(t) for t in toks)]
open(sys.argv[1], 'wb').write(struct.pack('<IIQQ', 0x46554747, 3, 0, len(kv)) + b''.join(kv))
PY

cd "$root"
go run ./tools/wasmoe mkmodel --arch qwen2 --type q8_0 --layers 2 --dim 32 --ffn 32 --heads 2 --kv-heads 1 \
	--ctx 64 --seed 7 --vocab "$tmp/vocab.gguf" --out "$tmp/tiny.gguf"
"$bin/llama-gguf-split" --split --split-max-tensors 10 "$tmp/tiny.gguf" "$tmp/tiny"

mkdir -p "$out"
rm -f "$out"/*.gguf.gz
for f in "$tmp"/tiny.gguf "$tmp"/tiny-000*-of-*.gguf; do
	gzip -9n -c "$f" >"$out/$(basename "$f").gz"
done
ls -l "$out"
