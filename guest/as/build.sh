#!/usr/bin/env bash
# Builds the AssemblyScript policy guest reproducibly into guest/as/policy.wasm.
#   guest/as/build.sh           install the pinned compiler (npm ci) if node_modules is missing or stale,
#                               then compile assembly/index.ts to policy.wasm
#   guest/as/build.sh --check   rebuild into a temporary file and fail unless policy.wasm is byte-identical
#                               (the committed binary matches its source)
set -euo pipefail
cd "$(dirname "$0")"
check=0
case "${1:-}" in
--check) check=1 ;;
"") ;;
*) echo "usage: guest/as/build.sh [--check]" >&2; exit 2 ;;
esac

# node_modules is stale when the lockfile changed after the last install or holds another compiler.
pinned=$(node -p 'require("./package.json").devDependencies.assemblyscript')
installed=$(node -p 'try { require("./node_modules/assemblyscript/package.json").version } catch { "" }')
if [ "$installed" != "$pinned" ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund >&2
fi

out=policy.wasm
if [ $check = 1 ]; then out=$(mktemp); trap 'rm -f "$out"' EXIT; fi
# Incremental GC frees closed sequences' state; abort goes to the SDK's handler (logs, then traps), so the
# module imports nothing but wasmoe_v1; the start function is the reactor's _initialize.
node_modules/.bin/asc assembly/index.ts --outFile "$out" -O3 --runtime incremental \
  --use abort=assembly/wasmoe/wasmoeAbort --exportStart _initialize

if [ $check = 1 ]; then
  if ! cmp -s "$out" policy.wasm; then
    echo "guest/as: policy.wasm is stale: its source builds a different binary with assemblyscript $pinned." >&2
    echo "Run guest/as/build.sh and commit policy.wasm." >&2
    exit 1
  fi
  echo "guest/as: committed policy.wasm matches its source"
fi
