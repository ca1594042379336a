#!/usr/bin/env bash
# Load benchmark of the anomaly-list endpoint: wrk (a second process, on
# loopback) for DURATION seconds (<= 10) while a backtest of the demo
# detector runs against the same state store. Prints requests/s and p99.
#   bench/api_load.sh [BUILD_DIR] [DURATION]
set -euo pipefail
BUILD=${1:-build/release}
DURATION=${2:-10}
(( DURATION <= 10 )) || DURATION=10
OSPREY=$BUILD/src/osprey/cli/osprey
WORK=$BUILD/api-bench
command -v wrk >/dev/null || { echo "api-bench: wrk is not installed (scripts/install-deps.sh)"; exit 1; }
rm -rf "$WORK" && mkdir -p "$WORK"
"$OSPREY" demo --config examples/ecommerce.yaml --dir "$WORK" >/dev/null
STATE=$WORK/state.db
TOKEN=$("$OSPREY" token create --role viewer --name bench --state "$STATE" 2>/dev/null)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$OSPREY" serve --state "$STATE" --port "$PORT" --threads 4 >/dev/null &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; [[ -n ${BACKTEST:-} ]] && kill $BACKTEST 2>/dev/null; true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
# A backtest over the whole demo range, writing to the same store, in the background.
OSPREY_DEMO_WAREHOUSE=$WORK/warehouse.db "$OSPREY" backtest -c examples/ecommerce.yaml --state "$STATE" \
  --from 2024-12-30 --to 2025-06-30 --quiet >/dev/null &
BACKTEST=$!
URL="http://127.0.0.1:$PORT/api/v1/anomaly-groups?limit=50&min_severity=50"
echo "api-bench: wrk -t2 -c16 -d${DURATION}s --latency $URL (backtest running: pid $BACKTEST)"
OUT=$(wrk -t2 -c16 -d"${DURATION}s" --latency -H "Authorization: Bearer $TOKEN" "$URL")
echo "$OUT"
if kill -0 "$BACKTEST" 2>/dev/null; then echo "api-bench: the backtest was still running at the end"; else echo "api-bench: the backtest finished during the run"; fi
RPS=$(echo "$OUT" | awk '/Requests\/sec/ {print $2}')
P99=$(echo "$OUT" | awk '$1 == "99%" {print $2}')
NON2XX=$(echo "$OUT" | awk '/Non-2xx/ {print $4}')
echo "api-bench: anomaly list under load: ${RPS} requests/s, p99 ${P99}, non-2xx ${NON2XX:-0}"
