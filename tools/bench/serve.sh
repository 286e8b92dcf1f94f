#!/usr/bin/env bash
# Serving throughput and latency of `wasmoe serve` next to llama.cpp's llama-server under concurrent streaming
# load, on the same random-weight Q8_0 file with real shapes and a real tokenizer, same threads each:
#   tools/bench/serve.sh
# It starts wasmoe (--parallel P) and llama-server at -np 8 and -np 32 (continuous batching, its default) side by
# side on loopback ports, then, for ROUNDS rounds, runs tools/bench/loadgen at each client count against each
# server in turn (wasmoe, llama np8, llama np32, wasmoe, ...), so drift hits all of them alike. Each run prints
# one JSON line; at the end a table gives, per client count, wasmoe next to llama-server's best -np setting (the
# one with the higher median gen tok/s there) and the medians of the per-round ratios. Every request bans the
# tokens that are not valid UTF-8 on their own (loadgen -utf8-only): llama-server parses each stream's text
# and fails the stream (500) when random-weight output is not valid UTF-8.
#
# Env knobs:
#   THREADS (2)            kernel threads of each server
#   SHAPE (qwen2-1.5b)     or deepseek-v2-lite (MoE + MLA; 8 clients only, llama-server -np 8 only)
#   ROUNDS (3)             alternating rounds
#   PROMPT_TOKENS (64)     rough prompt length; every request's prompt differs (cache_prompt is off too)
#   GEN_TOKENS (32)        tokens generated per request (ignore_eos)
#   REQUESTS               requests per run (at least the client count; default: loadgen's max(2 × clients, 4))
#   CLIENTS ("1 8 32")     client counts; LLAMA_NPS ("8 32") llama-server -np settings
#   PARALLEL               wasmoe serve --parallel (default: the largest client count), passed if serve has it
#   PORT (18180)           first of the loopback ports used (wasmoe, then one per llama-server)
#   REQUEST_TIMEOUT (600s) limit on each request; LLAMA_BIN: a directory holding llama-server (default: llama-build)
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=${THREADS:-2}
shape=${SHAPE:-qwen2-1.5b}
rounds=${ROUNDS:-3}
prompt_tokens=${PROMPT_TOKENS:-64}
gen_tokens=${GEN_TOKENS:-32}
requests=${REQUESTS:-0}
port=${PORT:-18180}
request_timeout=${REQUEST_TIMEOUT:-600s}
case "$shape" in
  qwen2-1.5b) clients=${CLIENTS:-1 8 32}; llama_nps=${LLAMA_NPS:-8 32} ;;
  deepseek-v2-lite) clients=${CLIENTS:-8}; llama_nps=${LLAMA_NPS:-8} ;;
  *) echo "serve.sh: unknown SHAPE $shape (qwen2-1.5b, deepseek-v2-lite)" >&2; exit 2 ;;
esac
max_clients=$(printf '%s\n' $clients | sort -n | tail -1)
parallel=${PARALLEL:-$max_clients}
# Context per sequence: the prompt (its token count is only estimated), the generation and some slack, rounded
# up to 256. llama-server splits -c evenly across its -np slots, so it gets this times -np.
slot_ctx=$(( (2 * prompt_tokens + gen_tokens + 64 + 255) / 256 * 256 ))

[ -x bin/wasmoe ] || make build
go build -o bin/loadgen ./tools/bench/loadgen
model=$(tools/bench/model.sh "$shape")
if [ -z "${LLAMA_BIN:-}" ]; then
  # A llama-build already under way would race a second one in the same tree: wait (at most an hour) for it.
  for _ in $(seq 1 360); do
    pgrep -f 'cmake --build .*llama-build' > /dev/null || break
    [ "${waiting:-}" ] || { echo "waiting for the llama-build that is running (its log: /tmp/llama-build.log?)"; waiting=1; }
    sleep 10
  done
fi
llama_bin=${LLAMA_BIN:-$(../shared/tools/llama-build/llama-build)}
llama_server="$llama_bin/llama-server"
[ -x "$llama_server" ] || { echo "serve.sh: no llama-server in $llama_bin" >&2; exit 1; }

results=$(mktemp -d)/serve-$shape.jsonl
logs=$(dirname "$results")
pids=()
stop_servers() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
trap stop_servers EXIT
trap 'exit 130' INT TERM

# start NAME PORT PATH CMD...: runs a server in the background (log in $logs/NAME.log) and waits, at most
# 10 minutes, until PATH answers 200: wasmoe's /ready (its /health answers while the model still loads),
# llama-server's /health. The port must be free, so no stray server is measured instead.
start() {
  local name=$1 p=$2 path=$3
  shift 3
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "serve.sh: port $p is already in use (set PORT)" >&2
    exit 1
  fi
  echo "+ $*"
  "$@" > "$logs/$name.log" 2>&1 &
  pids+=($!)
  local pid=$! i
  for i in $(seq 1 600); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "serve.sh: $name exited; the end of $logs/$name.log:" >&2
      tail -20 "$logs/$name.log" >&2
      exit 1
    fi
    curl -sf --max-time 2 "http://127.0.0.1:$p$path" > /dev/null && return 0
    sleep 1
  done
  echo "serve.sh: $name did not answer $path in 10 minutes ($logs/$name.log)" >&2
  exit 1
}

echo "machine: $(nproc) cores:$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), $(free -g | awk '/^Mem:/{print $2}') GiB"
echo "model: $model ($(du -h "$model" | cut -f1)), prompt ~$prompt_tokens tokens, generate $gen_tokens, $threads threads," \
  "clients: $clients, $rounds rounds; wasmoe $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo +dirty)," \
  "llama.cpp $("$llama_server" --version 2>&1 | grep -m1 -i version || echo '?')"

labels=(wasmoe)
urls=("http://127.0.0.1:$port")
wasmoe_cmd=(./bin/wasmoe serve --model "$model" --threads "$threads" --ctx "$slot_ctx" --addr "127.0.0.1:$port")
serve_help=$(./bin/wasmoe serve -h 2>&1 || true) # -h exits 2; under pipefail a pipe from it would fail
if grep -q -- '-parallel' <<< "$serve_help"; then
  wasmoe_cmd+=(--parallel "$parallel")
else
  echo "note: this wasmoe serve has no --parallel yet: it serves one request at a time"
fi
start wasmoe "$port" /ready "${wasmoe_cmd[@]}"
for np in $llama_nps; do
  port=$((port + 1))
  labels+=("llama-np$np")
  urls+=("http://127.0.0.1:$port")
  start "llama-np$np" "$port" /health "$llama_server" -m "$model" -t "$threads" -np "$np" -c $((slot_ctx * np)) --reasoning-format none \
    --host 127.0.0.1 --port "$port"
done
for i in "${!labels[@]}"; do # one short request each, so no timed run pays for first-touch costs
  ./bin/loadgen -url "${urls[$i]}" -utf8-only "$model" -clients 1 -requests 1 -prompt-tokens 16 -max-tokens 4 -timeout "$request_timeout" \
    -label warmup > /dev/null
done

echo "+ ./bin/loadgen -url URL -utf8-only $model -clients C -requests R -prompt-tokens $prompt_tokens -max-tokens $gen_tokens" \
  "-timeout $request_timeout -label LABEL -round N   # results: $results"
for round in $(seq 1 "$rounds"); do
  for c in $clients; do
    n=$requests
    [ "$n" -eq 0 ] || [ "$n" -ge "$c" ] || n=$c
    for i in "${!labels[@]}"; do
      ./bin/loadgen -url "${urls[$i]}" -utf8-only "$model" -clients "$c" -requests "$n" -prompt-tokens "$prompt_tokens" \
        -max-tokens "$gen_tokens" -timeout "$request_timeout" -label "${labels[$i]}" -round "$round" | tee -a "$results"
    done
  done
done
stop_servers

theirs=$(IFS=,; echo "${labels[*]:1}")
echo
./bin/loadgen -summary "$results" -ours wasmoe -theirs "$theirs"
