#!/usr/bin/env bash
# Measures what a VDM pass costs: computing one day of Virtual Deliverability Manager metrics
# (BatchGetMetricData's figures) for an account with N messages that day, as the node's VdmVerticle
# does every vdm.intervalSeconds for today and yesterday. It runs io.mailgate.store.VdmBenchmark
# from the shaded jar against a database of its own (mailgate_vdm_bench, dropped and made again)
# on the machine's PostgreSQL: a day of N messages of the account, one in SHARE of the day's
# (the others another account's, interleaved, which the walk reads past), with recipients,
# bounces, complaints, opens and clicks, then the day counted (VdmStore.count: statements of
# 20,000 messages along the primary key) and written (VdmStore.replace).
#
# Usage: benchmarks/vdm.sh [messages [share [bytes]]]
#   default 500000 2 2048: half of a day's 1,000,000 messages of 2 KB (stored in their rows)
# Environment: PGHOST (127.0.0.1), PGPORT (5432), PGUSER (postgres; trust authentication).
#
# Last line:
#   summary vdm_messages=N read_messages=M count_s=S read_per_s=R groups=G replace_ms=W
set -euo pipefail
cd "$(dirname "$0")/.."
MESSAGES="${1:-500000}"
SHARE="${2:-2}"
BYTES="${3:-2048}"
PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
export PGHOST PGPORT PGUSER
DB=mailgate_vdm_bench
JAR=target/mailgate.jar
if [[ ! -f "$JAR" || -n "$(find src pom.xml -newer "$JAR" -print -quit)" ]]; then
  ./mvnw -B -q -DskipTests -Djacoco.skip=true package >&2
fi
psql -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
trap 'psql -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true' EXIT
CPU="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs)"
echo "machine: $(nproc) cores, $CPU; commit $(git rev-parse --short HEAD); $(date -u +%Y-%m-%dT%H:%MZ)"
java -cp "$JAR" io.mailgate.store.VdmBenchmark "postgresql://$PGUSER@$PGHOST:$PGPORT/$DB" "$MESSAGES" "$SHARE" "$BYTES"
