#!/usr/bin/env bash
# API throughput: wrk (a second process, on loopback), 2 threads x 16
# keep-alive connections for DURATION seconds (<= 10) on each of
#   1. GET /api/v1/status
#   2. GET /api/v1/anomaly-groups?limit=50&min_severity=50
#   3. the anomaly list again while backtests of the demo detector, one
#      after the other for the whole run, write to the same state store
# against `osprey serve` on the demo state store (access log on, as by
# default). Prints requests/s, p50 and p99 for each.
#   bench/api_load.sh [BUILD_DIR] [DURATION] [THREADS]
set -euo pipefail
BUILD=${1:-build/release}
DURATION=${2:-10}
THREADS=${3:-8}
(( DURATION <= 10 )) || DURATION=10
OSPREY=$BUILD/src/osprey/cli/osprey
WORK=$BUILD/api-bench
command -v wrk >/dev/null || { echo "api-bench: wrk is not installed (scripts/install-deps.sh)"; exit 1; }
rm -rf "$WORK" && mkdir -p "$WORK"
"$OSPREY" demo --config examples/ecommerce.yaml --dir "$WORK" >/dev/null
STATE=$WORK/state.db
TOKEN=$("$OSPREY" token create --role viewer --name bench --state "$STATE" 2>/dev/null)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$OSPREY" serve --state "$STATE" --port "$PORT" --threads "$THREADS" 2>"$WORK/serve.log" >/dev/null &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; [[ -n ${BACKTEST:-} ]] && wait $BACKTEST 2>/dev/null; true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

# wrk's own summary, then one line: requests/s, p50, p99, non-2xx.
run() {
  local label=$1 url=$2 out
  out=$(wrk -t2 -c16 -d"${DURATION}s" --latency -H "Authorization: Bearer $TOKEN" "$url")
  echo "$out" | sed 's/^/  /'
  local rps p50 p99 non2xx
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $4}')
  SUMMARY+=("api-bench: ${label}: ${rps} requests/s, p50 ${p50}, p99 ${p99}, non-2xx ${non2xx:-0}")
}
SUMMARY=()
echo "api-bench: wrk -t2 -c16 -d${DURATION}s, serve --threads $THREADS, $(nproc) cores"
run "/api/v1/status" "http://127.0.0.1:$PORT/api/v1/status"
LIST="http://127.0.0.1:$PORT/api/v1/anomaly-groups?limit=50&min_severity=50"
run "anomaly list" "$LIST"
# Backtests over the whole demo range (each replaces what the one before
# wrote), one after the other until the run ends, in the background: the
# store changes all the time, as while a detector catches up.
BACKTESTS=$WORK/backtests
: >"$BACKTESTS"
(
  end=$((SECONDS + DURATION))
  while ((SECONDS < end)); do
    OSPREY_DEMO_WAREHOUSE=$WORK/warehouse.db "$OSPREY" backtest -c examples/ecommerce.yaml --state "$STATE" \
      --from 2024-12-30 --to 2025-06-30 --quiet >/dev/null || break
    echo done >>"$BACKTESTS"
  done
) &
BACKTEST=$!
run "anomaly list during backtests" "$LIST"
wait "$BACKTEST"
printf '%s\n' "${SUMMARY[@]}"
echo "api-bench: ($(wc -l <"$BACKTESTS") backtests ran during the run; access log lines written:" \
  "$(grep -c '^INFO access' "$WORK/serve.log" || true))"
