#!/usr/bin/env bash
# A short run of every fuzz target in the module: tools/fuzz-smoke.sh [FUZZTIME] (default 5s).
# A target that finds a failing input fails the run, with the fuzzer's output. Go's fuzzing coordinator
# sometimes ends a clean run with only "context deadline exceeded" (a worker still busy when -fuzztime
# runs out, no input written): such a run is tried once more before it counts as a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-5s}
go=${GO:-go}
for t in $(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do
  for f in $(grep -h '^func Fuzz' "$t"/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do
    echo "fuzz $t $f"
    for try in 1 2; do
      if out=$("$go" test "$t" -run '^$' -fuzz "^$f\$" -fuzztime "$fuzztime" 2>&1); then
        break
      fi
      if [ "$try" = 1 ] && grep -q 'context deadline exceeded' <<< "$out" &&
        ! grep -q 'Failing input written\|failure while testing seed corpus\|panic:' <<< "$out"; then
        echo "  the fuzzing coordinator ended with 'context deadline exceeded' and no finding; running $f again"
        continue
      fi
      echo "$out"
      exit 1
    done
  done
done
