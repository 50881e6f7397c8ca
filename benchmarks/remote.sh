#!/usr/bin/env bash
# Delivery to a server that is far away: how many messages/s a few SMTP connections carry when every reply
# takes a round trip. smtp-sink sits behind benchmarks/delay_proxy.py (a fixed delay each way, as netem would
# add), one node relays to it with one delivery instance and --connections connections, and the load generator
# offers more than they can carry, so delivered/s is what the connections deliver.
#
#   benchmarks/remote.sh [--rtt-ms 20] [--connections 2] [--rate 400] [--jar target/mailgate.jar]
#
# Uses the machine's PostgreSQL (database mailgate_remote, recreated) and Redis, like run.sh. Not part of run.sh
# (nothing here is CPU-bound; it measures round trips per message). Needs python3, smtp-sink (postfix), psql.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RTT_MS=20; CONNECTIONS=2; RATE=400; JAR="$ROOT/target/mailgate.jar"
while [ $# -gt 0 ]; do
  case "$1" in
    --rtt-ms) RTT_MS="$2"; shift ;;
    --connections) CONNECTIONS="$2"; shift ;;
    --rate) RATE="$2"; shift ;;
    --jar) JAR="$2"; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
PG="${BENCH_PG_URL:-postgresql://postgres@127.0.0.1:5432}"
REDIS="${BENCH_REDIS_URL:-redis://127.0.0.1:6379}"
SINK_PORT=12535; PROXY_PORT=12536; HTTP_PORT=18090
OUT="$(mktemp -d)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
[ -f "$JAR" ] || (cd "$ROOT" && ./mvnw -B -q -DskipTests package)
LOADGEN="$ROOT/benchmarks/loadgen/target/loadgen.jar"
[ -f "$LOADGEN" ] || (cd "$ROOT/benchmarks/loadgen" && ../../mvnw -B -q -DskipTests package)

smtp-sink -u nobody -c -m 512 "127.0.0.1:$SINK_PORT" 256 >"$OUT/sink.count" 2>&1 & PIDS+=($!)
python3 "$ROOT/benchmarks/delay_proxy.py" "$PROXY_PORT" "$SINK_PORT" "$(awk "BEGIN { print $RTT_MS / 2 }")" & PIDS+=($!)
psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS mailgate_remote" -c "CREATE DATABASE mailgate_remote" >/dev/null 2>&1
MAILGATE_PG_URL="$PG/mailgate_remote" MAILGATE_REDIS_URL="$REDIS" MAILGATE_REDIS_KEY_PREFIX=mgremote: \
  MAILGATE_RELAY_URL="smtp://127.0.0.1:$PROXY_PORT" MAILGATE_DELIVERY_INSTANCES=1 \
  MAILGATE_DELIVERY_MAX_CONNECTIONS="$CONNECTIONS" MAILGATE_HTTP_PORT="$HTTP_PORT" \
  MAILGATE_SMTP_SUBMISSION_PORT=0 MAILGATE_SMTP_INBOUND_PORT=0 \
  java -Xmx512m -jar "$JAR" start-dev >"$OUT/node.log" 2>&1 & PIDS+=($!)
for _ in $(seq 1 120); do curl -sf -o /dev/null "http://127.0.0.1:$HTTP_PORT/_mailgate/health" && break; sleep 0.5; done
curl -sf -o /dev/null "http://127.0.0.1:$HTTP_PORT/_mailgate/health" \
  || { echo "the node is not healthy after 60 s, see $OUT/node.log" >&2; trap - EXIT; cleanup; exit 1; }
result="$(java -jar "$LOADGEN" --mode rate --rate "$RATE" --connections 8 --url "http://127.0.0.1:$HTTP_PORT" \
  --warmup 10 --duration 20 --sink-file "$OUT/sink.count" --progress 0 | grep '^result')"
delivered="$(echo "$result" | tr ' ' '\n' | sed -n 's/^delivered_per_s=//p')"
echo "remote: round trip $RTT_MS ms, $CONNECTIONS connection(s), offered $RATE/s: delivered $delivered/s" \
  "($(awk "BEGIN { printf \"%.1f\", $delivered / $CONNECTIONS }")/s per connection; one round trip per message" \
  "would allow $(awk "BEGIN { printf \"%.0f\", 1000 / $RTT_MS }")/s)"
rm -rf "$OUT"
