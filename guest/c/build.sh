#!/usr/bin/env bash
# Builds the C guests reproducibly with Debian bookworm's clang-14 and lld-14 (installed when missing):
# guest/c/examples/*.c into DIR/guest/c/*.wasm and internal/host/wasm/testdata/hostile/*.c into
# DIR/host/wasm/testdata/hostile/*.wasm (DIR is the repository root, "." by default).
#   guest/c/build.sh [DIR]            build every C guest under DIR
#   guest/c/build.sh --check [DIR]    rebuild into a temporary directory and fail unless DIR's files are
#                                     byte-identical (the committed binaries match their source)
set -euo pipefail
cd "$(dirname "$0")/../.."
check=0
if [ "${1:-}" = "--check" ]; then check=1; shift; fi
dir=${1:-.}
out=$dir
if [ $check = 1 ]; then out=$(mktemp -d); trap 'rm -rf "$out"' EXIT; fi

# The toolchain: clang and wasm-ld of LLVM 14, installed with apt when missing.
have_tools() {
  command -v clang >/dev/null && { command -v wasm-ld || command -v wasm-ld-14 || [ -x /usr/lib/llvm-14/bin/wasm-ld ]; } >/dev/null
}
if ! have_tools; then
  sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get install -y clang lld || { $sudo apt-get update && $sudo apt-get install -y clang lld; }
fi
if [ -x /usr/lib/llvm-14/bin/wasm-ld ]; then PATH=/usr/lib/llvm-14/bin:$PATH; fi
cc=clang
if [ -x /usr/lib/llvm-14/bin/clang ]; then cc=/usr/lib/llvm-14/bin/clang; fi

# Every guest: its source and its binary, relative to the repository root.
guests=()
for src in guest/c/examples/*.c internal/host/wasm/testdata/hostile/*.c; do
  name=$(basename "$src" .c)
  case $src in
    guest/c/examples/*) guests+=("$src:guest/c/$name.wasm") ;;
    *) guests+=("$src:internal/host/wasm/testdata/hostile/$name.wasm") ;;
  esac
done

for g in "${guests[@]}"; do
  src=${g%%:*} bin=${g#*:}
  mkdir -p "$out/$(dirname "$bin")"
  "$cc" --target=wasm32 -O2 -nostdlib -ffreestanding -std=c11 -Wall -Wextra -Werror \
    -I guest/c -Wl,--no-entry -Wl,--stack-first -Wl,-z,stack-size=65536 -Wl,--strip-all \
    -o "$out/$bin" "$src"
  chmod 644 "$out/$bin"
done

if [ $check = 1 ]; then
  for g in "${guests[@]}"; do
    bin=${g#*:}
    if ! cmp -s "$out/$bin" "$dir/$bin"; then
      echo "guest/c: $dir/$bin is stale: its source builds a different binary with $("$cc" --version | head -1)." >&2
      echo "Run 'make guests-c' and commit (the committed C guests are built with Debian bookworm's clang-14)." >&2
      exit 1
    fi
  done
  echo "guest/c: committed C guests match their source"
fi
