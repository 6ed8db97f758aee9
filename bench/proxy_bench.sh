#!/usr/bin/env bash
# Load on loopback with wrk against the proxy's hit path and miss path (fake upstream), 2 KB answers.
# Usage: bench/proxy_bench.sh [BUILD_DIR] [SECONDS]   (make bench-proxy)
# HOST_PIN / WRK_PIN: optional command prefixes, e.g. HOST_PIN="taskset -c 0" WRK_PIN="taskset -c 1"
# to give the host and the load generator one core each instead of letting them compete.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
seconds=${2:-10}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

node tests/e2e/fake_upstream.mjs 0 > "$work/upstream.log" &
until grep -q listening "$work/upstream.log"; do sleep 0.1; done
upstream_port=$(awk '/listening/ {print $2}' "$work/upstream.log")
start_host() { # extra serve flags
  ${HOST_PIN:-} "$build/bin/aicache" serve --data "$work/data" --listen 127.0.0.1:0 --no-watch --upstream "http://127.0.0.1:$upstream_port/v1" \
    --capacity 1GiB --threads "${AICACHE_THREADS:-2}" "$@" > "$work/serve.log" 2>&1 &
  host_pid=$!
  until grep -q "serving http" "$work/serve.log"; do sleep 0.1; done
  port=$(sed -n 's/.*serving http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/serve.log")
}
stop_host() { kill -TERM "$host_pid"; wait "$host_pid" 2>/dev/null || true; }
start_host

hit_body='{"model":"bench","temperature":0,"messages":[{"role":"user","content":"the hit path SIZE=2048"}]}'
curl -s -o /dev/null "http://127.0.0.1:$port/v1/chat/completions" -H 'content-type: application/json' -d "$hit_body"
answer_bytes=$(curl -s "http://127.0.0.1:$port/v1/chat/completions" -H 'content-type: application/json' -d "$hit_body" | wc -c)

cat > "$work/hit.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '$hit_body'
LUA
cat > "$work/miss.lua" <<'LUA'
-- every request is new, so every request is a miss that goes upstream
local counter = 0
request = function()
  counter = counter + 1
  local body = '{"model":"bench","temperature":0,"messages":[{"role":"user","content":"miss ' .. counter .. ' ' .. math.random(1e9) .. ' SIZE=2048"}]}'
  return wrk.format("POST", "/v1/chat/completions", {["Content-Type"] = "application/json"}, body)
end
LUA

load() { # SCRIPT: wrk against the proxy, the figures that matter
  ${WRK_PIN:-} wrk -t2 -c16 -d"${seconds}s" --latency -s "$work/$1" "http://127.0.0.1:$port/v1/chat/completions" | grep -E "Requests/sec|50%|99%|Non-2xx"
}

echo "aicache proxy on 127.0.0.1:$port, answer $answer_bytes bytes, wrk -t2 -c16 -d${seconds}s (wrk shares the 2 cores)"
echo "--- hit path"
load hit.lua
echo "--- miss path (fake Node upstream, new prompt each request)"
load miss.lua

# The data plane beside learning (issue 7: cycles at low priority, never starving the data plane).
# The same host restarted on the same data directory, with a learning cycle every second on the
# latest 300,000 recorded requests (the runs above recorded them), so that cycles run back to back
# on their thread (SCHED_IDLE); then the hit path again, and once more without learning.
decisions() { "$build/bin/aicache" learn --data "$work/data" history --last 100000 --json | grep -o '"decision": *"[a-z-]*"' || true; }
finished_cycles() { decisions | grep -vc running || true; }
stop_host
start_host --learn-every 1 --learn-history 300000 --learn-trials 30
before=$(finished_cycles)
until [ -n "$(decisions)" ]; do sleep 0.2; done # the first cycle has begun
echo "--- hit path while learning cycles run back to back (SCHED_IDLE)"
load hit.lua
echo "    learning cycles finished during the run: $(( $(finished_cycles) - before ))"
stop_host
start_host
echo "--- hit path again, no learning"
load hit.lua
