#!/usr/bin/env bash
# Builds the Go guests reproducibly: the built-in guests into DIR (the binary embeds internal/builtin/*.wasm)
# and the Go conformance guest beside its source (guest/examples/conformance/conformance.wasm).
#   internal/builtin/build.sh DIR            build tokenizer.wasm, sampler.wasm and policy.wasm into DIR, and
#                                            the conformance guest
#   internal/builtin/build.sh --check DIR    rebuild into a temporary directory and fail unless DIR's files
#                                            and the conformance guest are byte-identical (the committed
#                                            binaries match their source)
set -euo pipefail
cd "$(dirname "$0")/../.."
check=0
if [ "${1:-}" = "--check" ]; then check=1; shift; fi
dir=${1:?usage: build.sh [--check] DIR}
# Each guest: its package, then where its committed binary lives.
guests=(
  "guest/tokenizer $dir/tokenizer.wasm"
  "guest/sampler $dir/sampler.wasm"
  "guest/policy $dir/policy.wasm"
  "guest/examples/conformance guest/examples/conformance/conformance.wasm"
)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
stale=0
for g in "${guests[@]}"; do
  read -r pkg dst <<<"$g"
  out=$dst
  if [ $check = 1 ]; then out="$tmp/$(basename "$pkg").wasm"; fi
  GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 go build -buildmode=c-shared -trimpath -buildvcs=false -ldflags='-s -w' \
    -o "$out" "./$pkg"
  if [ $check = 1 ] && ! cmp -s "$out" "$dst"; then
    echo "internal/builtin: $dst is stale: ./$pkg builds a different binary with $(go env GOVERSION)." >&2
    stale=1
  fi
done
if [ $check = 1 ]; then
  if [ $stale = 1 ]; then
    echo "Run 'make guests' and commit (the committed guests are built with the Go version in guest/ABI.md)." >&2
    exit 1
  fi
  echo "internal/builtin: committed guests match their source"
fi
