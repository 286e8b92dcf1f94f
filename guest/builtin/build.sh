#!/usr/bin/env bash
# Builds the built-in guests reproducibly into DIR (the binary embeds guest/builtin/*.wasm).
#   guest/builtin/build.sh DIR            build tokenizer.wasm and sampler.wasm into DIR
#   guest/builtin/build.sh --check DIR    rebuild into a temporary directory and fail unless DIR's files
#                                         are byte-identical (the committed binaries match their source)
set -euo pipefail
cd "$(dirname "$0")/../.."
check=0
if [ "${1:-}" = "--check" ]; then check=1; shift; fi
dir=${1:?usage: build.sh [--check] DIR}
out=$dir
if [ $check = 1 ]; then out=$(mktemp -d); trap 'rm -rf "$out"' EXIT; fi
for g in tokenizer sampler; do
  GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 go build -buildmode=c-shared -trimpath -buildvcs=false -ldflags='-s -w' \
    -o "$out/$g.wasm" "./guest/$g"
done
if [ $check = 1 ]; then
  for g in tokenizer sampler; do
    if ! cmp -s "$out/$g.wasm" "$dir/$g.wasm"; then
      echo "guest/builtin: $dir/$g.wasm is stale: its source builds a different binary with $(go env GOVERSION)." >&2
      echo "Run 'make guests' and commit (the committed guests are built with the Go version in guest/ABI.md)." >&2
      exit 1
    fi
  done
  echo "guest/builtin: committed guests match their source"
fi
