#!/usr/bin/env bash
# Mailgate load benchmarks against Postfix on the same machine, in one command:
#
#   benchmarks/run.sh            full run (about 10 minutes), writes the "full run" section of benchmarks/RESULTS.md
#   benchmarks/run.sh --quick    the same scenarios, shorter (under 3 minutes), writes the "quick run" section
#
# What it does (benchmarks/README.md explains each scenario and how it is measured):
#   1. installs Postfix (for smtp-sink, smtp-source, postfix) when missing; builds target/mailgate.jar and
#      benchmarks/loadgen/target/loadgen.jar when missing or older than their sources;
#   2. postfix:    a throwaway Postfix instance (own config and queue under a temp dir, durable queue, process and
#                  concurrency limits raised) relaying to its own smtp-sink; smtp-source injects N messages of 2 KB;
#                  messages/s = N / time until the sink has counted all of them;
#   3. rsa:        raw RSA-2048 signatures/s on all cores (openssl speed; and the JDK provider, for reference);
#   4. Mailgate:   drops and recreates the mailgate_bench database, clears the benchmark's Redis keys, starts
#                  smtp-sink and one node (java $NODE_JVM -jar target/mailgate.jar start-dev, the JVM options
#                  ./mailgate and the container image run with) against the machine's
#                  PostgreSQL and Redis (CHECKPOINT before each scenario, as pgbench does), then
#        max:      SendEmail Simple 2 KB, 1 recipient, max throughput: accepted/s, delivered/s in the same window,
#                  then waits until the sink has received every accepted message (the drain);
#        rate:     fixed rate at half of max's accepted/s: p50/p90/p99/p99.9/max from each request's intended
#                  send time (coordinated omission corrected);
#        large:    100 KB text bodies, max throughput: delivered/s;
#        dkim:     creates the domain identity dkim-bench.example (start-dev verifies it and makes its RSA-2048
#                  key at once), then max throughput of 2 KB messages from it, every one DKIM-signed: sends/s,
#                  beside the raw RSA rate of the rsa scenario; checks in PostgreSQL that the stored messages
#                  carry a DKIM-Signature;
#        events:   a configuration set whose event destination (Send and Delivery) is the load generator's webhook
#                  receiver on 127.0.0.1 (answers 204, counts posts); 2 KB, max throughput with that set:
#                  sends/s and events posted/s, then waits until every event (two per message) has been posted;
#        tracking: a configuration set whose destination (Open, Click) is the webhook receiver; 1,000 messages with
#                  a link sent with it, their tracked links read from the stored messages, then wrk (installed when
#                  missing), BENCH_MAX_CONNECTIONS connections, follows those links in turn for the measured time
#                  (a message records at most 1,000 Clicks): clicks/s answered with a 302 (each Click committed to
#                  the outbox first), then waits until every Click has been posted;
#        direct:   a second node in direct delivery mode: dnsmasq (installed when missing) answers the MX of
#                  example.org with a host on 127.0.0.1, and the node delivers to its port (the sink); 2 KB, max
#                  throughput: delivered/s through the MX path (DNS, site, shaping), beside relay mode's;
#        submission: the load generator's smtp mode (smtp-source cannot AUTH): 50 sessions, AUTH PLAIN with the dev
#                  account's SES SMTP credentials, 2 KB messages one after another per session (MAIL, RCPT
#                  and DATA each after the reply to the one before, as smtp-source sends them to Postfix), into
#                  the node's submission port: accepted/s, beside Postfix's smtpd;
#        receiving: a domain identity and an active receipt rule set (SES v1 API) whose rule stores each message
#                  (an S3 action); smtp-source, 50 sessions, 2 KB, into the node's inbound port: received/s
#                  (each message committed before its 250), beside Postfix's smtpd, and the stored count checked;
#   5. peak RSS (VmHWM from /proc) and heap (jstat) of the node; stops everything it started, also on Ctrl-C.
#
# Options:
#   --quick              shorter durations, and without the events and tracking scenarios unless --scenarios names them
#   --scenarios LIST     comma-separated subset of: postfix,rsa,max,rate,large,dkim,events,tracking,direct,submission,
#                        receiving (default: all);
#                        a subset does not write RESULTS.md unless --write-results is given
#   --rate R             offered rate for the rate scenario (default: half of max's accepted/s, or 1000 without max)
#   --jfr                record the node with Java Flight Recorder during the max scenario (profile settings) and
#                        print where its CPU samples are (benchmarks/out/<run>/max.jfr, jfr-top.txt)
#   --write-results / --no-results
#   --keep-logs          keep benchmarks/out/<run>/ even after a successful run (always kept on failure)
#   --wait-quiet [MIN]   before starting, wait up to MIN minutes (default 30) for the 1-minute load average to fall
#                        below 1.0 (other work on the machine lowers every number)
# Environment:
#   NODE_JAVA_OPTS       extra JVM options for the node, e.g. -XX:StartFlightRecording=filename=node.jfr,settings=profile
#   BENCH_PG_URL         PostgreSQL server (default postgresql://postgres@127.0.0.1:5432); database mailgate_bench
#   BENCH_REDIS_URL      Redis (default redis://127.0.0.1:6379); keys under the prefix mgbench: are deleted
#   BENCH_HTTP_PORT, BENCH_SINK_PORT, BENCH_PF_PORT, BENCH_PF_SINK_PORT, BENCH_SUBMISSION_PORT, BENCH_WEBHOOK_PORT
#                        ports (18080, 12525, 12526, 12527, 12528, 18090)
#   BENCH_LOADGEN_JAVA_OPTS  extra JVM options for the load generator, e.g. -Xlog:gc:file=/tmp/loadgen-gc.log
#   BENCH_RATE_CONNECTIONS   connections of the rate scenario (default: BENCH_MAX_CONNECTIONS; 64 before 2026-11-30)
#   BENCH_MAX_CONNECTIONS  connections of the max-throughput scenarios, dkim, events, direct and tracking (default 128;
#                        runs recorded before 2026-11-30 used 64, which left a tenth of the machine idle at max)
#
# The last line of the output is:
#   summary accepted_per_s=A delivered_per_s=D postfix_per_s=P p99_ms=X p999_ms=Y dkim_per_s=K rsa_sign_per_s=R large_per_s=L rss_mb=M
# with "na" for what was not measured.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
COMMAND_LINE="benchmarks/run.sh${*:+ $*}"

QUICK=0
SCENARIOS="postfix,rsa,max,rate,large,dkim,events,tracking,direct,submission,receiving"
SUBSET=0
WRITE=""
JFR=0
KEEP_LOGS=0
RATE_OVERRIDE=""
WAIT_QUIET=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --scenarios) SCENARIOS="$2"; SUBSET=1; shift ;;
    --rate) RATE_OVERRIDE="$2"; shift ;;
    --jfr) JFR=1 ;;
    --write-results) WRITE=1 ;;
    --no-results) WRITE=0 ;;
    --keep-logs) KEEP_LOGS=1 ;;
    --wait-quiet)
      WAIT_QUIET=30
      if [[ "${2:-}" =~ ^[0-9]+$ ]]; then WAIT_QUIET="$2"; shift; fi ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$WRITE" ] || { [ "$SUBSET" = 1 ] && WRITE=0 || WRITE=1; }
# the quick run leaves events out unless asked for (its drain alone can take longer than the rest)
[ "$QUICK" = 1 ] && [ "$SUBSET" = 0 ] && SCENARIOS="${SCENARIOS/,events,tracking/}"
want() { [[ ",$SCENARIOS," == *",$1,"* ]]; }

if [ "$QUICK" = 1 ]; then
  MAX_WARMUP=15; MAX_DURATION=15; RATE_WARMUP=5; RATE_DURATION=15; LARGE_WARMUP=5; LARGE_DURATION=10
  PF_MESSAGES=8000; RSA_SECONDS=1; DRAIN_TIMEOUT=60; RUN_KIND=quick; DIRECT_WARMUP=10
else
  MAX_WARMUP=60; MAX_DURATION=60; RATE_WARMUP=20; RATE_DURATION=60; LARGE_WARMUP=10; LARGE_DURATION=30
  PF_MESSAGES=20000; RSA_SECONDS=3; DRAIN_TIMEOUT=180; RUN_KIND=full; DIRECT_WARMUP=60
fi
MAX_CONNECTIONS="${BENCH_MAX_CONNECTIONS:-128}"
# as many as max: the generator can then hold as many requests as max showed the node keeps (with 64 at half of
# 128 connections' max, its own lag behind schedule reached 11-25 ms at p99, waiting for a free connection)
RATE_CONNECTIONS="${BENCH_RATE_CONNECTIONS:-$MAX_CONNECTIONS}"
# enough to keep the machine busy with 100 KB requests, as max does with 2 KB ones: with 16, a request's ~17 ms (most of
# it the wait for its commit) left the machine 15 % idle and the figure was the generator's (16 / 17 ms); on the Intel
# host of the thirtieth round 16, 32 and 64 connections gave 885-937, 979 and 1,059/s, the machine at 1.70, 1.77, 1.86
LARGE_CONNECTIONS="${BENCH_LARGE_CONNECTIONS:-64}"
# start-dev's access key (the load generator's default too)
BENCH_ACCESS_KEY=AKIAMAILGATEDEV00001
BENCH_SECRET_KEY=mailgate/dev/secret/key/0000000000000000
PF_SESSIONS=50

PG_BASE="${BENCH_PG_URL:-postgresql://postgres@127.0.0.1:5432}"
PG_DB=mailgate_bench
REDIS_URL="${BENCH_REDIS_URL:-redis://127.0.0.1:6379}"
REDIS_PREFIX="mgbench:"
HTTP_PORT="${BENCH_HTTP_PORT:-18080}"
SINK_PORT="${BENCH_SINK_PORT:-12525}"
DNS_PORT="${BENCH_DNS_PORT:-15353}"
PF_PORT="${BENCH_PF_PORT:-12526}"
PF_SINK_PORT="${BENCH_PF_SINK_PORT:-12527}"
SUBMISSION_PORT="${BENCH_SUBMISSION_PORT:-12528}"
WEBHOOK_PORT="${BENCH_WEBHOOK_PORT:-18090}"
INBOUND_PORT="${BENCH_INBOUND_PORT:-12529}"

NODE_JAR="$ROOT/target/mailgate.jar"
LOADGEN_DIR="$ROOT/benchmarks/loadgen"
LOADGEN_JAR="$LOADGEN_DIR/target/loadgen.jar"
# the node's JVM options: those ./mailgate and the container image run it with (NODE_JAVA_OPTS adds to them)
NODE_JVM="-Xms256m -Xmx512m -XX:+UseG1GC"
RUN_ID="$(date -u +%Y%m%dT%H%M%SZ)-$RUN_KIND"
OUT="$ROOT/benchmarks/out/$RUN_ID"
mkdir -p "$OUT"
PF_DIR=""

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------------------------
# Cleanup: everything started here is tracked by PID and stopped on exit, also on failure or Ctrl-C.
PIDS=()
NODE_PID=""
track() { PIDS+=("$1"); }
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
stop_pid() { # pid [seconds before SIGKILL]
  local pid="$1" wait="${2:-10}" i
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < wait * 10; i++)); do alive "$pid" || return 0; sleep 0.1; done
  log "pid $pid did not stop in ${wait}s, killing it"
  kill -KILL "$pid" 2>/dev/null || true
}
postfix_stop() {
  [ -n "$PF_DIR" ] && [ -d "$PF_DIR" ] || return 0
  local master
  master="$(head -1 "$PF_DIR/queue/pid/master.pid" 2>/dev/null | tr -d ' ' || true)"
  postfix -c "$PF_DIR/etc" stop >/dev/null 2>&1 || true
  if alive "$master"; then stop_pid "$master" 15; fi
  # the master's children exit when it does; wait for them so the queue directory can go
  for _ in $(seq 1 50); do pgrep -P "${master:-0}" >/dev/null 2>&1 || break; sleep 0.1; done
  cp "$PF_DIR/maillog" "$OUT/postfix-maillog" 2>/dev/null || true
  rm -rf "$PF_DIR"
  PF_DIR=""
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [ -n "$NODE_PID" ] && stop_pid "$NODE_PID" 60
  postfix_stop
  local pid
  for pid in "${PIDS[@]}"; do stop_pid "$pid" 5; done
  if [ $rc -ne 0 ]; then
    log "failed (exit $rc); logs are in ${OUT#"$ROOT"/}"
  elif [ "$KEEP_LOGS" = 0 ] && [ "$JFR" = 0 ]; then
    rm -rf "$OUT"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------------------------
# Preparation
load1() { cut -d' ' -f1 /proc/loadavg; }
log "Mailgate benchmarks ($RUN_KIND): $COMMAND_LINE"
if [ "$WAIT_QUIET" -gt 0 ]; then
  quiet_deadline=$((SECONDS + WAIT_QUIET * 60))
  while awk -v l="$(load1)" 'BEGIN { exit !(l >= 1.0) }' && [ $SECONDS -lt $quiet_deadline ]; do
    log "waiting for a quiet machine: load average $(cut -d' ' -f1-3 /proc/loadavg)"
    sleep 30
  done
fi
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
START_SECONDS=$SECONDS
log "load average before: $LOAD_BEFORE (nproc $(nproc))"
# What a system call costs on this machine: every message crosses several sockets on loopback, and a virtual
# machine's kernel entries can cost ten times a bare machine's (page-table isolation, a paravirtual switcher)
# while its signing runs at full speed, so the same code's rates differ by half between hosts of equal RSA speed.
# dd copying 200,000 single bytes makes 400,000 read and write calls.
syscall_us() {
  local start end
  start=$(date +%s%N)
  dd if=/dev/zero of=/dev/null bs=1 count=200000 2>/dev/null || { echo na; return; }
  end=$(date +%s%N)
  awk -v ns=$((end - start)) 'BEGIN { printf "%.3f", ns / 400000 / 1000 }'
}
SYSCALL_US="$(syscall_us)"
log "a system call costs $SYSCALL_US µs here (dd bs=1)"
if awk -v l="$(load1)" 'BEGIN { exit !(l > 1.5) }'; then
  log "WARNING: load average above 1.5 before starting: other work shares this machine; numbers will be lower"
fi

if ! command -v smtp-sink >/dev/null || ! command -v smtp-source >/dev/null || ! command -v postfix >/dev/null; then
  log "installing postfix (smtp-sink, smtp-source)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >"$OUT/apt.log" 2>&1
  apt-get install -y -qq postfix >>"$OUT/apt.log" 2>&1 || die "apt-get install postfix failed, see $OUT/apt.log"
fi
if want direct && ! command -v dnsmasq >/dev/null; then
  log "installing dnsmasq-base (the DNS server of the direct scenario)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >>"$OUT/apt.log" 2>&1
  apt-get install -y -qq dnsmasq-base >>"$OUT/apt.log" 2>&1 || die "apt-get install dnsmasq-base failed, see $OUT/apt.log"
fi
if want tracking && ! command -v wrk >/dev/null; then
  log "installing wrk (the HTTP load of the tracking scenario)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >>"$OUT/apt.log" 2>&1
  apt-get install -y -qq wrk >>"$OUT/apt.log" 2>&1 || die "apt-get install wrk failed, see $OUT/apt.log"
fi
for tool in java psql redis-cli curl; do command -v "$tool" >/dev/null || die "$tool is required"; done

stale() { # jar dir...: true when the jar is missing or older than a file under the dirs
  local jar="$1"; shift
  [ ! -f "$jar" ] || [ -n "$(find "$@" -newer "$jar" -type f -print -quit 2>/dev/null)" ]
}
if stale "$NODE_JAR" src/main pom.xml; then
  log "building $NODE_JAR"
  ./mvnw -q -DskipTests package >"$OUT/build-node.log" 2>&1 || die "node build failed, see $OUT/build-node.log"
fi
if stale "$LOADGEN_JAR" "$LOADGEN_DIR/src" "$LOADGEN_DIR/pom.xml"; then
  log "building $LOADGEN_JAR"
  ./mvnw -f "$LOADGEN_DIR/pom.xml" -q package >"$OUT/build-loadgen.log" 2>&1 \
    || die "loadgen build failed, see $OUT/build-loadgen.log"
fi
java -jar "$LOADGEN_JAR" --self-test >/dev/null || die "the load generator's SigV4 self-test failed"

port_free() { ! ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }
for p in "$HTTP_PORT" "$SINK_PORT" "$PF_PORT" "$PF_SINK_PORT" "$SUBMISSION_PORT" "$WEBHOOK_PORT"; do
  port_free "$p" || die "port $p is in use (set BENCH_HTTP_PORT, BENCH_SINK_PORT, BENCH_PF_PORT, BENCH_PF_SINK_PORT, BENCH_SUBMISSION_PORT, BENCH_WEBHOOK_PORT)"
done

# smtp-sink -c rewrites "sess=N quit=N mesg=N" + CR after every session end, QUIT and end of DATA, unbuffered; the
# last complete record is the count. -u nobody: it refuses to run as root. -m: simultaneous connections.
start_sink() { # port countfile; sets LAST_PID
  smtp-sink -u nobody -c -m 512 "127.0.0.1:$1" 1024 >"$2" 2>&1 &
  LAST_PID=$!
  track "$LAST_PID"
}
sink_count() { # countfile -> messages received so far (0 before the first complete record)
  local t rec
  t="$(tail -c 512 "$1" 2>/dev/null | tr -d '\n'; echo x)"
  t="${t%x}"
  [[ "$t" == *$'\r'* ]] || { echo 0; return; }
  t="${t%$'\r'*}"          # drop what follows the last CR: a record the sink may be writing right now
  rec="${t##*$'\r'}"       # the last complete record
  rec="${rec##*mesg=}"
  [[ "$rec" =~ ^[0-9]+$ ]] && echo "$rec" || echo 0
}
wait_port() { # port seconds
  local i
  for ((i = 0; i < $2 * 10; i++)); do port_free "$1" || return 0; sleep 0.1; done
  return 1
}
now_s() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.1f\", $* }"; }
# value of key=... in a "result ..." line
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

na() { echo "${1:-na}"; }
R_POSTFIX=na; R_POSTFIX_ACCEPT=na; R_POSTFIX_SECONDS=na; R_POSTFIX_STEADY=na
R_RSA=na; R_RSA_JDK=na
R_ACCEPTED=na; R_DELIVERED=na; R_MAX_ERRORS=na; R_MAX_P50=na; R_MAX_P99=na
R_DRAIN_MAX=na
R_RATE=na; R_RATE_ACC=na; R_P50=na; R_P90=na; R_P99=na; R_P999=na; R_PMAX=na; R_RATE_ERRORS=na; R_RATE_LAG=na
R_DRAIN_RATE=na
R_LARGE=na; R_LARGE_ACC=na; R_LARGE_ERRORS=na; R_DRAIN_LARGE=na
R_DIRECT=na; R_DIRECT_ACC=na; R_DIRECT_ERRORS=na; R_DIRECT_CPU=na; R_DRAIN_DIRECT=na; R_ALL_ACCEPTED=0
R_RECV=na; R_RECV_STORED=na; R_RECV_CPU=na; R_RECV_SECONDS=na
R_SUB=na; R_SUB_DELIVERED=na; R_SUB_ERRORS=na; R_SUB_CPU=na; R_SUB_PG=na; R_DRAIN_SUB=na
R_DKIM=na; R_DKIM_DELIVERED=na; R_DKIM_ERRORS=na; R_DKIM_SIGNED=na; R_DKIM_CPU=na; R_DKIM_PG=na; R_DRAIN_DKIM=na
R_EVENTS=na; R_EVENTS_DELIVERED=na; R_EVENTS_ERRORS=na; R_EVENTS_CPU=na; R_EVENTS_PG=na; R_EVENTS_POSTED=na
R_CLICKS=na; R_CLICKS_ANSWERED=na; R_CLICK_P50=na; R_CLICK_P99=na; R_CLICKS_POSTED=na; R_CLICKS_DRAIN=na; R_CLICK_ERRORS=na
R_TRACKING_CPU=na
R_EVENTS_PER_S=na; R_EVENTS_DRAIN=na; R_DRAIN_EVENTS=na
R_RSS=na; R_HEAP=na; R_HEAP_COMMITTED=na; R_GC=na
R_MAX_CPU=na; R_RATE_CPU=na; R_LARGE_CPU=na; R_MAX_PG=na; R_RATE_PG=na; R_LARGE_PG=na
R_MAX_TIMES=na; R_RATE_TIMES=na; R_LARGE_TIMES=na; R_SUB_TIMES=na; R_DKIM_TIMES=na; R_EVENTS_TIMES=na
R_TOTAL_ACCEPTED=0
DRAIN_OK=na
NOTES=()

# ---------------------------------------------------------------------------------------------------------------
# Postfix baseline
run_postfix() {
  log "postfix: throwaway instance on 127.0.0.1:$PF_PORT relaying to smtp-sink on :$PF_SINK_PORT"
  PF_DIR="$(mktemp -d /tmp/mailgate-bench-postfix.XXXXXX)"
  chmod 755 "$PF_DIR"
  mkdir -p "$PF_DIR/etc" "$PF_DIR/queue" "$PF_DIR/data"
  chown postfix "$PF_DIR/data"
  cat >"$PF_DIR/etc/main.cf" <<EOF
# Throwaway Postfix for benchmarks/run.sh: relays everything to smtp-sink. Durable as shipped (queue files are
# fsynced before the 250 to DATA); only the limits a busy relay's admin raises are raised.
compatibility_level = 3.6
queue_directory = $PF_DIR/queue
data_directory = $PF_DIR/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file = $PF_DIR/maillog
maillog_file_prefixes = $PF_DIR
myhostname = postfix-bench.localdomain
mydomain = localdomain
myorigin = \$myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost = [127.0.0.1]:$PF_SINK_PORT
smtpd_peername_lookup = no
biff = no
# tuning: room for 50 concurrent SMTP clients plus the delivery agents, and more parallel deliveries to the relay
default_process_limit = 200
default_destination_concurrency_limit = 50
smtp_connection_cache_destinations = [127.0.0.1]:$PF_SINK_PORT
EOF
  cat >"$PF_DIR/etc/master.cf" <<EOF
127.0.0.1:$PF_PORT inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
  local sink_pid
  start_sink "$PF_SINK_PORT" "$OUT/postfix-sink.count"
  sink_pid="$LAST_PID"
  wait_port "$PF_SINK_PORT" 10 || die "smtp-sink for postfix did not start"
  postfix -c "$PF_DIR/etc" check >"$OUT/postfix-start.log" 2>&1 || true
  postfix -c "$PF_DIR/etc" start >>"$OUT/postfix-start.log" 2>&1 || die "postfix did not start, see $OUT/postfix-start.log and postfix-maillog"
  wait_port "$PF_PORT" 20 || die "postfix is not listening on $PF_PORT, see $OUT/postfix-start.log"
  # a few messages first, so every daemon is running and the relay connection is made before timing
  smtp-source -s 2 -m 20 -l 2048 -f bench-sender@example.com -t rcpt@example.org -M bench.example.com \
    "127.0.0.1:$PF_PORT" >>"$OUT/postfix-start.log" 2>&1 || die "smtp-source warmup failed"
  local base=20 t0 t1 t2 n i
  for ((i = 0; i < 300; i++)); do [ "$(sink_count "$OUT/postfix-sink.count")" -ge $base ] && break; sleep 0.1; done
  base="$(sink_count "$OUT/postfix-sink.count")"
  log "postfix: injecting $PF_MESSAGES messages of 2 KB with smtp-source -s $PF_SESSIONS -d"
  local source_pid t25="" t75="" t1=""
  t0="$(now_s)"
  smtp-source -s "$PF_SESSIONS" -d -m "$PF_MESSAGES" -l 2048 -f bench-sender@example.com -t rcpt@example.org \
    -M bench.example.com "127.0.0.1:$PF_PORT" >"$OUT/postfix-source.log" 2>&1 &
  source_pid=$!
  local deadline=$((SECONDS + 300))
  while :; do
    n="$(sink_count "$OUT/postfix-sink.count")"
    # the middle half of the deliveries: Postfix's steady rate, without its start and its last messages' tail
    [ -z "$t25" ] && [ $((n - base)) -ge $((PF_MESSAGES / 4)) ] && t25="$(now_s)"
    [ -z "$t75" ] && [ $((n - base)) -ge $((PF_MESSAGES * 3 / 4)) ] && t75="$(now_s)"
    [ -z "$t1" ] && ! kill -0 "$source_pid" 2>/dev/null && t1="$(now_s)"
    [ "$n" -ge $((base + PF_MESSAGES)) ] && break
    [ $SECONDS -lt $deadline ] || die "postfix delivered only $((n - base)) of $PF_MESSAGES in 300 s"
    sleep 0.05
  done
  t2="$(now_s)"
  wait "$source_pid" || die "smtp-source failed, see $OUT/postfix-source.log"
  [ -n "$t1" ] || t1="$(now_s)"
  R_POSTFIX_SECONDS="$(calc "$t2 - $t0")"
  R_POSTFIX="$(calc "$PF_MESSAGES / ($t2 - $t0)")"
  R_POSTFIX_ACCEPT="$(calc "$PF_MESSAGES / ($t1 - $t0)")"
  R_POSTFIX_STEADY="$(calc "($PF_MESSAGES * 3 / 4 - $PF_MESSAGES / 4) / ($t75 - $t25)")"
  log "postfix: $PF_MESSAGES accepted in $(calc "$t1 - $t0") s ($R_POSTFIX_ACCEPT/s), all at the sink after" \
    "$R_POSTFIX_SECONDS s: $R_POSTFIX messages/s end to end ($R_POSTFIX_STEADY/s over the middle half)"
  postfix_stop
  stop_pid "$sink_pid" 5
}

# ---------------------------------------------------------------------------------------------------------------
run_rsa() {
  local out cores
  cores="$(nproc)"
  out="$(openssl speed -seconds "$RSA_SECONDS" -multi "$cores" rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ { v = $6 } END { print v }')"
  R_RSA="$(printf '%.0f' "${out:-0}")"
  [ "$R_RSA" != 0 ] || R_RSA=na
  out="$(java -jar "$LOADGEN_JAR" --mode rsa --duration "$RSA_SECONDS" --threads "$cores" | grep '^result')"
  R_RSA_JDK="$(field "$out" sign_per_s)"
  log "rsa: RSA-2048 signatures/s on $cores cores: OpenSSL $R_RSA, JDK provider $R_RSA_JDK"
}

# ---------------------------------------------------------------------------------------------------------------
# Mailgate
SINK_PID=""
JSTAT_PID=""
REDIS_PID=""
start_node() { # [NAME=value ...]: extra environment of the node
  log "mailgate: recreating database $PG_DB, clearing Redis keys $REDIS_PREFIX*"
  psql "$PG_BASE/postgres" -qAt -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" \
    -c "CREATE DATABASE $PG_DB" >"$OUT/db.log" 2>&1 || die "cannot recreate $PG_DB, see $OUT/db.log"
  PG_INFO="$(psql "$PG_BASE/$PG_DB" -qAt -c "SELECT current_setting('server_version') || ', synchronous_commit=' \
    || current_setting('synchronous_commit') || ', fsync=' || current_setting('fsync') || ', autovacuum=' \
    || current_setting('autovacuum') || ', shared_buffers=' || current_setting('shared_buffers')")"
  redis-cli -u "$REDIS_URL" --scan --pattern "${REDIS_PREFIX}*" | xargs -r redis-cli -u "$REDIS_URL" del >/dev/null
  start_sink "$SINK_PORT" "$OUT/sink.count"
  SINK_PID="$LAST_PID"
  wait_port "$SINK_PORT" 10 || die "smtp-sink did not start"
  local jfr_opts=""
  # deep Vert.x future chains: the default depth of 64 frames cuts most stacks short
  [ "$JFR" = 0 ] || jfr_opts="-XX:FlightRecorderOptions=stackdepth=256"
  log "mailgate: starting the node (java $NODE_JVM ${NODE_JAVA_OPTS:+$NODE_JAVA_OPTS }${jfr_opts:+$jfr_opts }-jar target/mailgate.jar start-dev) on :$HTTP_PORT"
  # shellcheck disable=SC2086
  env MAILGATE_CONFIG="$ROOT/conf/mailgate.json" \
    MAILGATE_HTTP_PORT="$HTTP_PORT" \
    MAILGATE_SMTP_SUBMISSION_PORT="$SUBMISSION_PORT" \
    MAILGATE_SMTP_INBOUND_PORT="$INBOUND_PORT" \
    MAILGATE_RELAY_URL="smtp://127.0.0.1:$SINK_PORT" \
    MAILGATE_PG_URL="$PG_BASE/$PG_DB" \
    MAILGATE_REDIS_URL="$REDIS_URL" \
    MAILGATE_REDIS_KEY_PREFIX="$REDIS_PREFIX" \
    MAILGATE_DEV_MAX_SEND_RATE=1000000 \
    MAILGATE_DEV_MAX_24_HOUR_SEND=1000000000 \
    "$@" \
    java $NODE_JVM ${NODE_JAVA_OPTS:-} $jfr_opts -jar "$NODE_JAR" start-dev >"$OUT/node.log" 2>&1 &
  NODE_PID=$!
  local i
  for ((i = 0; i < 1200; i++)); do
    alive "$NODE_PID" || die "the node exited during start, see $OUT/node.log"
    curl -sf "http://127.0.0.1:$HTTP_PORT/_mailgate/health" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -sf "http://127.0.0.1:$HTTP_PORT/_mailgate/health" >/dev/null || die "the node is not healthy after 120 s"
  log "mailgate: node $NODE_PID is up"
  REDIS_PID="$(redis_pid)"
  if command -v jstat >/dev/null; then
    jstat -gc "$NODE_PID" 1000 >"$OUT/jstat.log" 2>&1 &
    JSTAT_PID=$!
    track "$JSTAT_PID"
  fi
}

# CPU accounting: clock ticks used by a process (utime + stime), by PostgreSQL's processes, and by the machine.
# The CPU and PostgreSQL snapshots taken inside a measured window spawn no process and open no connection (the
# metrics' is one curl): on a slow VM a fork and exec costs milliseconds of a core the node is using (measured on one
# with 2.5 us system calls: a process about 4 ms, a psql with its connection about 70 ms; a psql alone at a known
# second of the rate window there doubled that second's answers over 20 ms, and an edge spawned some 15 processes,
# two of them psql). /proc is read with bash's read, the time taken from $EPOCHREALTIME, PostgreSQL over one psql
# session opened before the window (pg_open), results kept in variables rather than command substitutions (each one
# a fork of bash).
CLK_TCK="$(getconf CLK_TCK)"
TICKS=0
ticks_of() { # pid... -> TICKS: their ticks summed; a process that is gone (or none given) counts 0
  local p line f
  TICKS=0
  for p in "$@"; do
    [ -n "$p" ] || continue
    { IFS= read -r line <"/proc/$p/stat"; } 2>/dev/null || continue
    read -r -a f <<<"${line##*) }" # from the state on: utime and stime are the stat file's 14th and 15th fields
    TICKS=$((TICKS + f[11] + f[12]))
  done
}
MACHINE_TICKS=""
machine_ticks() { # -> MACHINE_TICKS: "busy total" (busy: user nice system irq softirq steal; total: also idle, iowait)
  local cpu user nice system idle iowait irq softirq steal rest busy
  read -r cpu user nice system idle iowait irq softirq steal rest </proc/stat
  busy=$((user + nice + system + irq + softirq + steal))
  MACHINE_TICKS="$busy $((busy + idle + iowait))"
}
# One psql session for the reads of a window (coproc; bash holds one at a time): a read is a query on it, not a
# process and a backend
PGQ_PID=""
pg_open() {
  coproc PGQ { exec psql "$PG_BASE/$PG_DB" -qAtX -F ' ' 2>/dev/null; }
  PGQ_IN="${PGQ[1]}"
  PGQ_OUT="${PGQ[0]}"
  track "$PGQ_PID"
  pg_read "SELECT 1;" # connected before the window, not at its first read
}
epoch_us() { # expression in epoch seconds -> its microseconds (computed before a window, read by sleep_until)
  awk "BEGIN { printf \"%.0f\", ($*) * 1e6 }"
}
sleep_until() { # epoch-microseconds: sleeps until then (at once if past), with no process but the sleep
  local us="${EPOCHREALTIME/,/.}" frac
  us=$(($1 - ${us%.*} * 1000000 - 10#${us#*.}))
  [ "$us" -gt 0 ] || return 0
  printf -v frac '%06d' $((us % 1000000))
  sleep "$((us / 1000000)).$frac"
}
PG_OUT=""
pg_read() { # sql (one statement ending in ;) -> PG_OUT: its rows, a line each ("" on an error or without a session)
  local line
  PG_OUT=""
  [ -n "$PGQ_PID" ] || return 0
  printf '%s\n\\echo __end__\n' "$1" >&"$PGQ_IN" 2>/dev/null || return 0
  while IFS= read -r -t 10 line <&"$PGQ_OUT"; do
    [ "$line" = __end__ ] && return 0
    PG_OUT+="${PG_OUT:+$'\n'}$line"
  done
  return 0
}
pg_close() {
  [ -n "$PGQ_PID" ] || return 0
  local pid="$PGQ_PID"
  exec {PGQ_IN}>&-
  wait "$pid" 2>/dev/null || true
  PGQ_PID=""
}
redis_pid() { # the process listening on the Redis URL's port
  local port="${REDIS_URL##*:}"
  port="${port%%/*}"
  ss -Htlnp "sport = :$port" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1
}
# PostgreSQL's share: its background processes and the backends serving the benchmark database, not backends of
# other databases (the server may be shared) nor the snapshots' own session. Processes that come or go between two
# snapshots are not counted. Needs pg_open.
declare -A PG_TICKS=()
SNAP=""
cpu_snapshot() { # loadgen-pid [first] -> SNAP: "time node loadgen postgres redis sink busy total"
  local p pg=0 now="${EPOCHREALTIME/,/.}" node loadgen redis sink
  if [ "${2:-}" = first ]; then
    PG_TICKS=()
    pg_read "SELECT pid FROM pg_stat_activity WHERE (datname IS NULL OR datname = '$PG_DB')
      AND pid <> pg_backend_pid();"
    for p in $PG_OUT; do ticks_of "$p"; PG_TICKS[$p]="$TICKS"; done
  else
    for p in "${!PG_TICKS[@]}"; do
      ticks_of "$p"
      if [ "$TICKS" -ge "${PG_TICKS[$p]}" ]; then pg=$((pg + TICKS - PG_TICKS[$p])); fi # less: it is gone
    done
  fi
  ticks_of "$NODE_PID"; node="$TICKS"
  ticks_of "$1"; loadgen="$TICKS"
  ticks_of "$REDIS_PID"; redis="$TICKS"
  ticks_of "$SINK_PID"; sink="$TICKS"
  machine_ticks
  SNAP="$now $node $loadgen $pg $redis $sink $MACHINE_TICKS"
}
cpu_share() { # snapshot1 snapshot2 -> "node=1.23 loadgen=0.20 ..." in cores (CPU seconds per second)
  awk -v a="$1" -v b="$2" -v hz="$CLK_TCK" 'BEGIN { split(a, x, " "); split(b, y, " "); dt = y[1] - x[1]
    n = split("node loadgen postgres redis sink", names, " "); ours = 0
    for (i = 1; i <= n; i++) {
      d = names[i] == "postgres" ? y[i + 1] : y[i + 1] - x[i + 1]   # postgres: already a difference
      c = d / hz / dt; ours += c; printf "%s=%.2f ", names[i], c }
    # per-process and machine counters are read a few ms apart: a small negative rest is 0
    busy = (y[7] - x[7]) / hz / dt; other = busy - ours; if (other < 0) other = 0
    printf "other=%.2f machine_busy=%.2f", other, busy }'
}

metrics_snapshot() { # file: the node's metrics, as scraped (one curl, no filter inside the window)
  curl -sf -o "$1" "http://127.0.0.1:$HTTP_PORT/_mailgate/metrics" 2>/dev/null || : >"$1"
}
time_buckets() { # metrics-file -> the node's time histograms' bucket lines (HTTP requests, sends, waits, loop delay)
  grep -E '^mailgate_(http_request|send|send_wait|event_loop_delay)_seconds_bucket' "$1" || true
}
node_times() { # snapshot1-file snapshot2-file -> "http (N): p50<=.. p99<=.. p99.9<=.. ms, over 20 ms ..%; send ..; .."
  # bucket lines come in ascending order of their bound, each histogram's together, as the node writes them
  awk 'FILENAME == ARGV[1] { a[$1] = $2; next }
    { h = $1; sub(/le=.*/, "", h); le = $1; sub(/.*le="/, "", le); sub(/".*/, "", le)
      if (!(h in n)) { order[++hn] = h; n[h] = 0 }
      i = ++n[h]; bound[h, i] = (le == "+Inf") ? -1 : le * 1000; cum[h, i] = $2 - a[$1] }
    END {
      for (j = 1; j <= hn; j++) {
        h = order[j]; total = cum[h, n[h]]
        if (total <= 0) continue
        name = h ~ /limits/ ? "limits wait" : h ~ /commit/ ? "commit wait" : h ~ /http/ ? "HTTP request" \
          : h ~ /loop/ ? "event loop delay" : "send"
        out = sprintf("%s (%d):", name, total); over = total
        split("50 99 99.9", qs, " ")
        for (q = 1; q <= 3; q++) for (i = 1; i <= n[h]; i++) if (cum[h, i] >= qs[q] / 100 * total) {
          out = out sprintf(" p%s<=%s", qs[q], bound[h, i] < 0 ? "inf" : bound[h, i]); break }
        over50 = total; over100 = total # beyond the largest bound at or below 20, 50 and 100 ms
        for (i = 1; i <= n[h]; i++) if (bound[h, i] >= 0) {
          if (bound[h, i] <= 20) over = total - cum[h, i]
          if (bound[h, i] <= 50) over50 = total - cum[h, i]
          if (bound[h, i] <= 100) over100 = total - cum[h, i] }
        printf "%s%s ms, over 20 / 50 / 100 ms %.2f / %.3f / %.3f%%", (j > 1 ? "; " : ""), out, 100 * over / total,
          100 * over50 / total, 100 * over100 / total
      }
      print "" }' "$1" "$2"
}

LAST_RESULT=""
LAST_NODE_TIMES=""
LAST_CPU=""
LAST_PG=na
pg_snapshot() { # -> PG_OUT: "commits wal_records wal_fpi wal_bytes wal_sync" (commits of the benchmark database, WAL
  # of the server); needs pg_open
  pg_read "SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = '$PG_DB'),
    wal_records, wal_fpi, wal_bytes, wal_sync FROM pg_stat_wal;"
}
loadgen() { # name warmup duration args...; sets LAST_RESULT (the result line) and LAST_CPU (cores used per process)
  local name="$1" warmup="$2" duration="$3"; shift 3
  # as pgbench does before each run: write out what the previous scenario dirtied now, so that
  # scenario's checkpoint does not land in this one's window (max writes more than max_wal_size)
  psql "$PG_BASE/$PG_DB" -qAt -c "CHECKPOINT" >/dev/null 2>&1 || log "$name: CHECKPOINT failed (not a superuser?)"
  # shellcheck disable=SC2086
  java -Xms64m -Xmx256m -XX:+UseSerialGC ${BENCH_LOADGEN_JAVA_OPTS:-} -jar "$LOADGEN_JAR" --url "http://127.0.0.1:$HTTP_PORT" \
    --sink-file "$OUT/sink.count" --warmup "$warmup" --duration "$duration" "$@" >"$OUT/$name.log" 2>&1 &
  local pid=$!
  track "$pid"
  tail -n +1 -f --pid="$pid" "$OUT/$name.log" 2>/dev/null | sed -u "s/^/  $name | /" &
  track $!
  # CPU shares over the measured window, one second in from each edge (the JVM starts in about half a second);
  # between the two snapshots nothing here spawns a process but one sleep (see ticks_of)
  local s1 s2 p1 p2 started second_us
  pg_open
  started="$(now_s)"
  # the second snapshot 1.5 s before the generator's end, however long the first one took
  second_us="$(epoch_us "$started + $warmup + $duration - 1.5")"
  sleep "$(calc "$warmup + 1.5")"
  cpu_snapshot "$pid" first
  s1="$SNAP"
  pg_snapshot
  p1="$PG_OUT"
  metrics_snapshot "$OUT/$name.metrics1"
  sleep_until "$second_us"
  cpu_snapshot "$pid"
  s2="$SNAP"
  pg_snapshot
  p2="$PG_OUT"
  metrics_snapshot "$OUT/$name.metrics2"
  wait "$pid" || die "loadgen ($name) failed, see $OUT/$name.log"
  pg_close
  time_buckets "$OUT/$name.metrics1" >"$OUT/$name.times1"
  time_buckets "$OUT/$name.metrics2" >"$OUT/$name.times2"
  LAST_NODE_TIMES="$(node_times "$OUT/$name.times1" "$OUT/$name.times2")"
  LAST_CPU="$(cpu_share "$s1" "$s2")"
  LAST_PG="$(awk -v a="$p1" -v b="$p2" -v t1="${s1%% *}" -v t2="${s2%% *}" 'BEGIN { split(a, x, " "); split(b, y, " ")
    dt = t2 - t1; if (dt <= 0 || x[1] == "") { print "na"; exit }
    printf "%.0f %.0f %.0f %.0f", (y[1] - x[1]) / dt, (y[2] - x[2]) / dt, (y[4] - x[4]) / dt, (y[5] - x[5]) / dt }')"
  sleep 0.2
  LAST_RESULT="$(grep '^result ' "$OUT/$name.log" | tail -1)"
  NODE_WARM=1
  log "$name: CPU in cores during the window: $LAST_CPU"
  if [ -n "$LAST_NODE_TIMES" ]; then log "$name: time in the node during the window: $LAST_NODE_TIMES"; fi
  echo "$name $LAST_CPU" >>"$OUT/cpu.txt"
  if [ "$LAST_PG" != na ]; then
    # commits/s, WAL records/s, WAL bytes/s, WAL syncs/s -> per accepted message
    LAST_PG="$(awk -v p="$LAST_PG" -v a="$(field "$LAST_RESULT" accepted_per_s)" 'BEGIN { split(p, v, " ")
      if (a + 0 == 0) a = 1
      printf "%.0f commits/s (%.1f accepted messages per commit, message and outcome batches together), %.1f WAL records and %.1f KB of WAL per message, %.0f WAL syncs/s",
        v[1], a / (v[1] > 0 ? v[1] : 1), v[2] / a, v[3] / a / 1024, v[4] }')"
    log "$name: PostgreSQL during the window: $LAST_PG"
  fi
}

DRAINED=""
EXCESS=0
drain() { # name; sets DRAINED: seconds until the sink count equals every message accepted so far, or "never"
  local expected="$R_TOTAL_ACCEPTED" t0 n deadline
  t0="$(now_s)"
  deadline=$((SECONDS + DRAIN_TIMEOUT))
  while :; do
    n="$(sink_count "$OUT/sink.count")"
    [ "$n" -ge "$expected" ] && break
    if [ $SECONDS -ge $deadline ]; then
      log "$1: DRAIN INCOMPLETE: the sink has $n of $expected accepted messages after ${DRAIN_TIMEOUT}s"
      NOTES+=("After $1, the sink had $n of $expected accepted messages ${DRAIN_TIMEOUT} s after the load stopped.")
      DRAIN_OK=no
      DRAINED=never
      return
    fi
    sleep 0.2
  done
  local took
  took="$(calc "$(now_s) - $t0")"
  if [ $((n - expected)) -gt "$EXCESS" ]; then
    log "$1: the sink received $((n - expected - EXCESS)) more messages than were accepted (duplicate deliveries)"
    NOTES+=("By the end of $1 the sink had received $n messages for $expected accepted: $((n - expected - EXCESS)) more than accepted appeared during $1.")
    EXCESS=$((n - expected))
    DRAIN_OK=no
  fi
  # the sink counts messages; the database says which: every recipient delivered (its outcome recorded), none left
  local states queued=-1 delivered=-1 i
  for ((i = 0; i < 50; i++)); do
    states="$(psql "$PG_BASE/$PG_DB" -qAt -F ' ' -c "SELECT count(*) FILTER (WHERE state = 'queued'),
      count(*) FILTER (WHERE state = 'delivered') FROM recipients" 2>/dev/null)" || break
    queued="${states%% *}"
    delivered="${states##* }"
    [ "$queued" = 0 ] && [ "$delivered" -ge "$expected" ] && break
    sleep 0.2 # outcomes are written a few milliseconds after their delivery
  done
  if [ "$queued" != 0 ] || [ "$delivered" != "$expected" ]; then
    log "$1: the database has $delivered recipients delivered and $queued queued for $expected accepted"
    NOTES+=("After $1 the database had $delivered recipients delivered and $queued still queued for $expected accepted messages.")
    DRAIN_OK=no
  fi
  [ "$DRAIN_OK" = no ] || DRAIN_OK=yes
  log "$1: drained: sink count $n, accepted $expected, delivered in the database $delivered, ${took}s after the load stopped"
  DRAINED="$took"
}

run_max() {
  log "max: SendEmail Simple 2 KB, 1 recipient, $MAX_CONNECTIONS connections, warmup ${MAX_WARMUP}s, ${MAX_DURATION}s measured"
  if [ "$JFR" = 1 ]; then
    jcmd "$NODE_PID" JFR.start name=bench settings=profile filename="$OUT/max.jfr" >"$OUT/jfr.log" 2>&1 \
      || die "jcmd JFR.start failed, see $OUT/jfr.log"
  fi
  local r
  loadgen max "$MAX_WARMUP" "$MAX_DURATION" --mode max --connections "$MAX_CONNECTIONS" --body-bytes 2048 --recipients 1
  r="$LAST_RESULT"
  R_MAX_CPU="$LAST_CPU"
  R_MAX_PG="$LAST_PG"
  R_MAX_TIMES="${LAST_NODE_TIMES:-na}"
  if [ "$JFR" = 1 ]; then
    jcmd "$NODE_PID" JFR.stop name=bench >>"$OUT/jfr.log" 2>&1 || log "jcmd JFR.stop failed, see $OUT/jfr.log"
  fi
  R_ACCEPTED="$(field "$r" accepted_per_s)"
  R_DELIVERED="$(field "$r" delivered_per_s)"
  R_MAX_ERRORS="$(field "$r" errors)"
  R_MAX_P50="$(field "$r" p50_ms)"
  R_MAX_P99="$(field "$r" p99_ms)"
  R_TOTAL_ACCEPTED=$((R_TOTAL_ACCEPTED + $(field "$r" total_accepted)))
  drain max
  R_DRAIN_MAX="$DRAINED"
  if [ "$JFR" = 1 ] && [ -s "$OUT/max.jfr" ]; then
    java -cp "$LOADGEN_JAR" io.mailgate.loadgen.JfrTop "$OUT/max.jfr" 25 >"$OUT/jfr-top.txt" 2>&1 || true
    log "jfr: recording $OUT/max.jfr; CPU samples summarised in $OUT/jfr-top.txt"
  fi
}

# The node's JIT needs about half a minute of load before it runs at full speed: whichever scenario comes first on
# a fresh node gets max's long warm-up.
NODE_WARM=0
warmup_for() { [ "$NODE_WARM" = 1 ] && echo "$1" || echo "$MAX_WARMUP"; }

run_rate() {
  local rate="$RATE_OVERRIDE"
  if [ -z "$rate" ]; then
    if [ "$R_ACCEPTED" != na ]; then rate="$(awk -v a="$R_ACCEPTED" 'BEGIN { printf "%d", a / 2 }')"; else rate=1000; fi
  fi
  [ "$rate" -ge 1 ] || rate=1
  R_RATE="$rate"
  local warmup
  warmup="$(warmup_for "$RATE_WARMUP")"
  log "rate: fixed $rate requests/s, $RATE_CONNECTIONS connections, warmup ${warmup}s, ${RATE_DURATION}s measured"
  local r
  loadgen rate "$warmup" "$RATE_DURATION" --mode rate --rate "$rate" --connections "$RATE_CONNECTIONS" \
    --body-bytes 2048 --recipients 1
  r="$LAST_RESULT"
  R_RATE_CPU="$LAST_CPU"
  R_RATE_PG="$LAST_PG"
  R_RATE_TIMES="${LAST_NODE_TIMES:-na}"
  R_RATE_ACC="$(field "$r" accepted_per_s)"
  R_P50="$(field "$r" p50_ms)"; R_P90="$(field "$r" p90_ms)"; R_P99="$(field "$r" p99_ms)"
  R_P999="$(field "$r" p999_ms)"; R_PMAX="$(field "$r" max_ms)"
  R_RATE_ERRORS="$(field "$r" errors)"; R_RATE_LAG="$(field "$r" lag_p99_ms)"
  R_TOTAL_ACCEPTED=$((R_TOTAL_ACCEPTED + $(field "$r" total_accepted)))
  drain rate
  R_DRAIN_RATE="$DRAINED"
}

run_large() {
  local warmup
  warmup="$(warmup_for "$LARGE_WARMUP")"
  log "large: 100 KB text bodies, $LARGE_CONNECTIONS connections, warmup ${warmup}s, ${LARGE_DURATION}s measured"
  local r
  loadgen large "$warmup" "$LARGE_DURATION" --mode max --connections "$LARGE_CONNECTIONS" \
    --body-bytes 102400 --recipients 1
  r="$LAST_RESULT"
  R_LARGE_CPU="$LAST_CPU"
  R_LARGE_PG="$LAST_PG"
  R_LARGE_TIMES="${LAST_NODE_TIMES:-na}"
  R_LARGE="$(field "$r" delivered_per_s)"
  R_LARGE_ACC="$(field "$r" accepted_per_s)"
  R_LARGE_ERRORS="$(field "$r" errors)"
  R_TOTAL_ACCEPTED=$((R_TOTAL_ACCEPTED + $(field "$r" total_accepted)))
  drain large
  R_DRAIN_LARGE="$DRAINED"
}

run_submission() {
  local warmup r
  warmup="$(warmup_for "$LARGE_WARMUP")"
  log "submission: SMTP, 50 sessions with AUTH PLAIN, 2 KB, MAIL/RCPT/DATA not pipelined (as smtp-source), warmup ${warmup}s, ${LARGE_DURATION}s measured"
  loadgen submission "$warmup" "$LARGE_DURATION" --mode smtp --smtp-port "$SUBMISSION_PORT" --connections 50 \
    --body-bytes 2048 --pipelining false
  r="$LAST_RESULT"
  R_SUB_CPU="$LAST_CPU"
  R_SUB_PG="$LAST_PG"
  R_SUB_TIMES="${LAST_NODE_TIMES:-na}"
  R_SUB="$(field "$r" accepted_per_s)"
  R_SUB_DELIVERED="$(field "$r" delivered_per_s)"
  R_SUB_ERRORS="$(field "$r" errors)"
  R_TOTAL_ACCEPTED=$((R_TOTAL_ACCEPTED + $(field "$r" total_accepted)))
  drain submission
  R_DRAIN_SUB="$DRAINED"
}

RECV_DOMAIN=inbox-bench.example
RECV_MESSAGES=30000
run_receiving() {
  local req code t0 t1 snap1 stored
  # the domain (start-dev verifies it on creation), then the rule set through the SES v1 Query API
  for req in "/v2/email/identities|{\"EmailIdentity\":\"$RECV_DOMAIN\"}" \
    "/|Action=CreateReceiptRuleSet&RuleSetName=bench" \
    "/|Action=CreateReceiptRule&RuleSetName=bench&Rule.Name=store&Rule.Enabled=true&Rule.Recipients.member.1=$RECV_DOMAIN&Rule.Actions.member.1.S3Action.BucketName=inbox&Rule.Actions.member.1.S3Action.ObjectKeyPrefix=bench/" \
    "/|Action=SetActiveReceiptRuleSet&RuleSetName=bench"; do
    code="$(curl -s -o "$OUT/receiving-setup.txt" -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:ses" \
      --user "$BENCH_ACCESS_KEY:$BENCH_SECRET_KEY" \
      -H "Content-Type: $([ "${req%%|*}" = / ] && echo application/x-www-form-urlencoded || echo application/json)" \
      --data "${req#*|}" "http://127.0.0.1:$HTTP_PORT${req%%|*}")"
    if [ "$code" != 200 ]; then
      log "receiving: ${req#*|} answered $code: $(head -c 300 "$OUT/receiving-setup.txt")"
      NOTES+=("receiving: the receipt rule setup answered HTTP $code, nothing measured")
      return 0
    fi
  done
  log "receiving: smtp-source -s 50 -d, $RECV_MESSAGES messages of 2 KB to $RECV_DOMAIN on the inbound port (an S3 action stores each)"
  smtp-source -s 2 -m 20 -l 2048 -f sender@outside.example -t "warm@$RECV_DOMAIN" -M client.example \
    "127.0.0.1:$INBOUND_PORT" >"$OUT/receiving-warmup.log" 2>&1 || log "receiving: the warmup failed"
  pg_open
  cpu_snapshot "" first # smtp-source is in "other"
  snap1="$SNAP"
  t0="$(now_s)"
  smtp-source -s 50 -d -m "$RECV_MESSAGES" -l 2048 -f sender@outside.example -t "rcpt@$RECV_DOMAIN" \
    -M client.example "127.0.0.1:$INBOUND_PORT" >"$OUT/receiving-source.log" 2>&1 \
    || NOTES+=("receiving: smtp-source reported errors, see receiving-source.log")
  t1="$(now_s)"
  cpu_snapshot ""
  pg_close
  R_RECV_CPU="$(cpu_share "$snap1" "$SNAP")"
  R_RECV_SECONDS="$(calc "$t1 - $t0")"
  stored="$(psql "$PG_BASE/$PG_DB" -qAt -c "SELECT count(*) FROM received_objects WHERE bucket = 'inbox' \
    AND convert_from(substring(content FROM 1 FOR 400), 'UTF8') LIKE '%rcpt@$RECV_DOMAIN%'" 2>/dev/null || echo '?')"
  R_RECV_STORED="$stored of $RECV_MESSAGES"
  R_RECV="$(calc "$RECV_MESSAGES / ($t1 - $t0)")"
  log "receiving: $R_RECV messages/s ($RECV_MESSAGES in $R_RECV_SECONDS s), $R_RECV_STORED stored; cores: $R_RECV_CPU"
}

DKIM_DOMAIN=dkim-bench.example
run_dkim() {
  local warmup r created
  # curl signs with SigV4 itself; start-dev verifies the domain and generates its RSA-2048 key on creation
  created="$(curl -s -o "$OUT/dkim-identity.json" -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:ses" \
    --user "$BENCH_ACCESS_KEY:$BENCH_SECRET_KEY" -H 'Content-Type: application/json' \
    --data "{\"EmailIdentity\":\"$DKIM_DOMAIN\"}" "http://127.0.0.1:$HTTP_PORT/v2/email/identities")"
  if [ "$created" != 200 ] || ! grep -q '"SigningEnabled":true' "$OUT/dkim-identity.json"; then
    log "dkim: creating the identity $DKIM_DOMAIN answered $created: $(head -c 300 "$OUT/dkim-identity.json")"
    NOTES+=("dkim: the domain identity could not be created (HTTP $created), nothing measured")
    return 0
  fi
  warmup="$(warmup_for "$LARGE_WARMUP")"
  log "dkim: SendEmail Simple 2 KB from $DKIM_DOMAIN (RSA-2048 DKIM), $MAX_CONNECTIONS connections, warmup ${warmup}s, ${LARGE_DURATION}s measured"
  loadgen dkim "$warmup" "$LARGE_DURATION" --mode max --connections "$MAX_CONNECTIONS" --body-bytes 2048 \
    --recipients 1 --from "Mailgate Bench <bench-sender@$DKIM_DOMAIN>"
  r="$LAST_RESULT"
  R_DKIM_CPU="$LAST_CPU"
  R_DKIM_PG="$LAST_PG"
  R_DKIM_TIMES="${LAST_NODE_TIMES:-na}"
  R_DKIM="$(field "$r" accepted_per_s)"
  R_DKIM_DELIVERED="$(field "$r" delivered_per_s)"
  R_DKIM_ERRORS="$(field "$r" errors)"
  R_TOTAL_ACCEPTED=$((R_TOTAL_ACCEPTED + $(field "$r" total_accepted)))
  # the stored content is what is delivered: count the messages from the domain that carry a signature by it
  R_DKIM_SIGNED="$(psql "$PG_BASE/$PG_DB" -qAt -c "SELECT count(*) FILTER (WHERE position(
      convert_to('DKIM-Signature:', 'UTF8') IN substring(content FROM 1 FOR 2048)) > 0
      AND position(convert_to('d=$DKIM_DOMAIN;', 'UTF8') IN substring(content FROM 1 FOR 2048)) > 0)
      || ' of ' || count(*) FROM messages WHERE source LIKE '%@$DKIM_DOMAIN%'" 2>/dev/null || echo '?')"
  log "dkim: $R_DKIM_SIGNED stored messages from $DKIM_DOMAIN are DKIM-signed by it"
  drain dkim
  R_DRAIN_DKIM="$DRAINED"
}

webhook_posts() { # countfile -> posts received so far
  local n
  n="$(sed -n 's/^posts=\([0-9]*\).*/\1/p' "$1" 2>/dev/null || true)"
  echo "${n:-0}"
}
start_webhook() { # port name: the load generator's webhook receiver, counting posts in $OUT/<name>.count
  java -Xms32m -Xmx128m -XX:+UseSerialGC -jar "$LOADGEN_JAR" --mode webhook --port "$1" \
    --count-file "$OUT/$2.count" >"$OUT/$2.log" 2>&1 &
  WEBHOOK_PID=$!
  track "$WEBHOOK_PID"
  wait_port "$1" 30 || die "the webhook receiver did not start, see $OUT/$2.log"
}
ses_setup() { # scenario "path|json"...: signed SES v2 POSTs in order (the last answer in $OUT/<scenario>-setup.json);
  # false, with a note, at the first that is not answered 200
  local name="$1" req code
  shift
  for req in "$@"; do
    code="$(curl -s -o "$OUT/$name-setup.json" -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:ses" \
      --user "$BENCH_ACCESS_KEY:$BENCH_SECRET_KEY" -H 'Content-Type: application/json' --data "${req#*|}" \
      "http://127.0.0.1:$HTTP_PORT${req%%|*}")"
    if [ "$code" != 200 ]; then
      log "$name: ${req%%|*} answered $code: $(head -c 300 "$OUT/$name-setup.json")"
      NOTES+=("$name: ${req%%|*} answered HTTP $code while setting up, nothing measured")
      return 1
    fi
  done
}
await_posts() { # scenario countfile posted-before expected what: waits up to DRAIN_TIMEOUT; sets POSTED
  local deadline=$((SECONDS + DRAIN_TIMEOUT))
  while :; do
    POSTED=$(($(webhook_posts "$2") - $3))
    [ "$POSTED" -ge "$4" ] && break
    if [ $SECONDS -ge $deadline ]; then
      NOTES+=("After $1, the webhook had $POSTED of $4 $5 ${DRAIN_TIMEOUT} s after the load stopped.")
      break
    fi
    sleep 0.2
  done
}
EVENTS_SET=bench-events
run_events() {
  local warmup r t0 expected n took posted0
  start_webhook "$WEBHOOK_PORT" webhook
  ses_setup events "/v2/email/configuration-sets|{\"ConfigurationSetName\":\"$EVENTS_SET\"}" \
    "/v2/email/configuration-sets/$EVENTS_SET/event-destinations|{\"EventDestinationName\":\"hook\",\"EventDestination\":{\"Enabled\":true,\"MatchingEventTypes\":[\"SEND\",\"DELIVERY\"],\"SnsDestination\":{\"TopicArn\":\"http://127.0.0.1:$WEBHOOK_PORT/ses-events\"}}}" \
    || return 0
  warmup="$(warmup_for "$LARGE_WARMUP")"
  posted0="$(webhook_posts "$OUT/webhook.count")"
  log "events: SendEmail Simple 2 KB with configuration set $EVENTS_SET (Send and Delivery to a webhook on 127.0.0.1), $MAX_CONNECTIONS connections, warmup ${warmup}s, ${LARGE_DURATION}s measured"
  t0="$(now_s)"
  loadgen events "$warmup" "$LARGE_DURATION" --mode max --connections "$MAX_CONNECTIONS" --body-bytes 2048 \
    --recipients 1 --configuration-set "$EVENTS_SET"
  r="$LAST_RESULT"
  R_EVENTS_CPU="$LAST_CPU"
  R_EVENTS_PG="$LAST_PG"
  R_EVENTS_TIMES="${LAST_NODE_TIMES:-na}"
  R_EVENTS="$(field "$r" accepted_per_s)"
  R_EVENTS_DELIVERED="$(field "$r" delivered_per_s)"
  R_EVENTS_ERRORS="$(field "$r" errors)"
  R_TOTAL_ACCEPTED=$((R_TOTAL_ACCEPTED + $(field "$r" total_accepted)))
  drain events
  R_DRAIN_EVENTS="$DRAINED"
  # every accepted message of the scenario has a Send and, once delivered, a Delivery to post
  expected=$((2 * $(field "$r" total_accepted)))
  await_posts events "$OUT/webhook.count" "$posted0" "$expected" events
  n="$POSTED"
  took="$(calc "$(now_s) - $t0")"
  R_EVENTS_POSTED="$n of $expected"
  R_EVENTS_PER_S="$(awk -v n="$n" -v t="$took" 'BEGIN { printf "%.0f", n / t }')"
  R_EVENTS_DRAIN="$(calc "$(now_s) - $t0 - $warmup - $LARGE_DURATION")"
  log "events: the webhook received $n of $expected events ($R_EVENTS_PER_S/s from the start of the scenario to the last)"
  stop_pid "$WEBHOOK_PID" 5
  WEBHOOK_PID=""
}

TRACKING_SET=bench-tracking
# messages whose links wrk follows in turn: Mailgate records at most 1,000 Clicks of one message (more are answered,
# not recorded), so the clicks are spread over enough messages to stay under that at any rate this machine reaches
TRACKING_MESSAGES=1000
run_tracking() {
  local link out requests posted0 n t0 took wrkpid s1 s2 links second_us
  # a receiver of its own (the next port): events of the events scenario still being retried must not count here
  local port=$((WEBHOOK_PORT + 1))
  port_free "$port" || die "port $port is in use (the tracking scenario's webhook: BENCH_WEBHOOK_PORT + 1)"
  start_webhook "$port" tracking-webhook
  local send="{\"FromEmailAddress\":\"news@tracking-bench.example\",\"Destination\":{\"ToAddresses\":[\"reader@example.org\"]},\"ConfigurationSetName\":\"$TRACKING_SET\",\"Content\":{\"Simple\":{\"Subject\":{\"Data\":\"Spring sale\"},\"Body\":{\"Html\":{\"Data\":\"<p><a href=\\\"https://shop.example/sale?id=1\\\" ses:tags=\\\"campaign:spring\\\">Shop</a></p>\"}}}}}"
  ses_setup tracking "/v2/email/configuration-sets|{\"ConfigurationSetName\":\"$TRACKING_SET\"}" \
      "/v2/email/configuration-sets/$TRACKING_SET/event-destinations|{\"EventDestinationName\":\"hook\",\"EventDestination\":{\"Enabled\":true,\"MatchingEventTypes\":[\"OPEN\",\"CLICK\"],\"SnsDestination\":{\"TopicArn\":\"http://127.0.0.1:$port/ses-events\"}}}" \
    || { stop_pid "$WEBHOOK_PID" 5; WEBHOOK_PID=""; return 0; }
  # the messages, 8 requests at a time; their ids from the answers
  seq "$TRACKING_MESSAGES" | xargs -P 8 -I{} curl -s --aws-sigv4 "aws:amz:us-east-1:ses" \
      --user "$BENCH_ACCESS_KEY:$BENCH_SECRET_KEY" -H 'Content-Type: application/json' --data "$send" \
      -w '\n' "http://127.0.0.1:$HTTP_PORT/v2/email/outbound-emails" >"$OUT/tracking-sends.json" 2>/dev/null || true
  # (answers written at the same moment may share a line)
  grep -o '"MessageId":"[^"]*"' "$OUT/tracking-sends.json" | cut -d'"' -f4 | paste -sd, >"$OUT/tracking-ids.txt"
  links="$OUT/tracking-links.txt"
  psql "$PG_BASE/$PG_DB" -qAt -c "SELECT convert_from(content, 'UTF8') FROM messages
      WHERE id = ANY(string_to_array('$(cat "$OUT/tracking-ids.txt")', ','))" \
    | grep -o "/t/c/[A-Za-z0-9_-]*" | sort -u >"$links" || true
  n="$(wc -l <"$links")"
  if [ "$n" -lt "$TRACKING_MESSAGES" ]; then
    NOTES+=("tracking: $n tracked links in the $TRACKING_MESSAGES messages sent for it, nothing measured")
    stop_pid "$WEBHOOK_PID" 5
    WEBHOOK_PID=""
    return 0
  fi
  # each wrk thread follows the links in turn, from its own place in the list
  cat >"$OUT/tracking.lua" <<'LUA'
local links = {}
for line in io.lines(os.getenv("TRACKING_LINKS")) do links[#links + 1] = line end
local i = 0
local threads = 0
function setup(thread)
  thread:set("first", threads * 500)
  threads = threads + 1
end
function init(args) i = first or 0 end
function request()
  i = i % #links + 1
  return wrk.format("GET", links[i])
end
LUA
  link="http://127.0.0.1:$HTTP_PORT"
  posted0="$(webhook_posts "$OUT/tracking-webhook.count")"
  log "tracking: wrk -t2 -c$MAX_CONNECTIONS -d${LARGE_DURATION}s on the tracked links of $n messages in turn (a 302 to https://shop.example/sale?id=1, a Click each)"
  pg_open
  t0="$(now_s)"
  second_us="$(epoch_us "$t0 + $LARGE_DURATION - 1")"
  TRACKING_LINKS="$links" wrk -t2 -c"$MAX_CONNECTIONS" -d"${LARGE_DURATION}s" --latency -s "$OUT/tracking.lua" "$link" \
    >"$OUT/tracking-wrk.txt" 2>&1 &
  wrkpid=$!
  track "$wrkpid"
  # CPU over the run, a second in from each edge ("loadgen" is wrk here)
  sleep 1
  cpu_snapshot "$wrkpid" first
  s1="$SNAP"
  # the second a second before wrk's end by the clock, not after a fixed sleep: on a slow machine the snapshot
  # itself takes long enough that wrk would be gone (its ticks read as 0, the share below zero)
  sleep_until "$second_us"
  cpu_snapshot "$wrkpid"
  s2="$SNAP"
  wait "$wrkpid" || die "wrk failed, see $OUT/tracking-wrk.txt"
  pg_close
  R_TRACKING_CPU="$(cpu_share "$s1" "$s2")"
  echo "tracking $R_TRACKING_CPU" >>"$OUT/cpu.txt"
  out="$OUT/tracking-wrk.txt"
  R_CLICKS="$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")"
  R_CLICK_P50="$(awk '$1 == "50%" { print $2 }' "$out")"
  R_CLICK_P99="$(awk '$1 == "99%" { print $2 }' "$out")"
  # answers other than 2xx/3xx, and connect, read, write errors and timeouts
  R_CLICK_ERRORS="$(awk '/Non-2xx or 3xx responses:/ { n += $5 }
    /Socket errors:/ { for (i = 3; i <= NF; i += 2) n += $(i + 1) + 0 } END { print n + 0 }' "$out")"
  requests="$(awk '/requests in/ { print $1 }' "$out")"
  if [ -z "$requests" ] || [ -z "$R_CLICKS" ]; then
    NOTES+=("tracking: wrk printed no result (see $out), nothing measured")
    R_CLICKS=na
    stop_pid "$WEBHOOK_PID" 5
    WEBHOOK_PID=""
    return 0
  fi
  # wrk counts the answers it read; a Click is recorded before its answer, so at least that many are posted
  await_posts tracking "$OUT/tracking-webhook.count" "$posted0" "$requests" "Click events"
  n="$POSTED"
  took="$(calc "$(now_s) - $t0")"
  R_CLICKS_POSTED="$n"
  R_CLICKS_ANSWERED="$requests"
  R_CLICKS_DRAIN="$(calc "$took - $LARGE_DURATION")"
  log "tracking: $R_CLICKS clicks/s (p50 $R_CLICK_P50, p99 $R_CLICK_P99); the webhook received $n Click events for $requests answers, the last $R_CLICKS_DRAIN s after the load stopped"
  log "tracking: CPU in cores during the window: $R_TRACKING_CPU"
  stop_pid "$WEBHOOK_PID" 5
  WEBHOOK_PID=""
}

max_of() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "na" || a == "") print b; else if (b == "na" || b == "") print a; else print (a + 0 > b + 0 ? a : b) }'; }

DNS_PID=""
run_direct() {
  local r shaping="$OUT/direct-shaping.json"
  log "direct: dnsmasq on 127.0.0.1:$DNS_PORT: example.org MX 10 mx.bench.test, mx.bench.test A 127.0.0.1"
  port_free "$DNS_PORT" || die "port $DNS_PORT is in use (set BENCH_DNS_PORT)"
  dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts --listen-address=127.0.0.1 --bind-interfaces \
    --port="$DNS_PORT" --user=root --pid-file= --local=/bench.test/ --local=/example.org/ \
    --mx-host=example.org,mx.bench.test,10 --host-record=mx.bench.test,127.0.0.1 >"$OUT/dnsmasq.log" 2>&1 &
  DNS_PID=$!
  track "$DNS_PID"
  # the sink is the site's only MX host: no per-minute connection cap, connections kept for the whole run
  printf '{"sites": [{"mx": "bench.test", "maxConnections": 32, "maxMessagesPerConnection": 1000000, "maxMessagesPerSecond": 0, "maxConnectionsPerMinute": 0}]}\n' >"$shaping"
  R_ALL_ACCEPTED=$((R_ALL_ACCEPTED + R_TOTAL_ACCEPTED))
  R_TOTAL_ACCEPTED=0 # a new node, database and sink
  NODE_WARM=0
  start_node MAILGATE_DELIVERY_MODE=direct MAILGATE_DNS_SERVERS="127.0.0.1:$DNS_PORT" MAILGATE_DELIVERY_ALLOW_PRIVATE_ADDRESSES=true \
    MAILGATE_DELIVERY_DIRECT_PORT="$SINK_PORT" MAILGATE_DELIVERY_SHAPING_FILE="$shaping"
  log "direct: SendEmail Simple 2 KB to example.org through its MX, $MAX_CONNECTIONS connections, warmup ${DIRECT_WARMUP}s, ${LARGE_DURATION}s measured"
  loadgen direct "$DIRECT_WARMUP" "$LARGE_DURATION" --mode max --connections "$MAX_CONNECTIONS" --body-bytes 2048 \
    --recipients 1
  r="$LAST_RESULT"
  R_DIRECT_CPU="$LAST_CPU"
  R_DIRECT="$(field "$r" delivered_per_s)"
  R_DIRECT_ACC="$(field "$r" accepted_per_s)"
  R_DIRECT_ERRORS="$(field "$r" errors)"
  R_TOTAL_ACCEPTED=$((R_TOTAL_ACCEPTED + $(field "$r" total_accepted)))
  drain direct
  R_DRAIN_DIRECT="$DRAINED"
  stop_node
  stop_pid "$DNS_PID" 5
  DNS_PID=""
}

stop_node() {
  [ -n "$NODE_PID" ] || return 0
  # VmHWM is the peak resident set size of the process over its life
  local rss heap committed
  rss="$(awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$NODE_PID/status" 2>/dev/null || echo na)"
  R_RSS="$(max_of "$R_RSS" "$rss")"
  if [ -n "$JSTAT_PID" ]; then
    stop_pid "$JSTAT_PID" 2
    # S0U S1U EU OU are columns 3,4,6,8 (KB); capacities S0C S1C EC OC are 1,2,5,7; YGC 13, FGC 15, GCT last
    read -r heap committed R_GC < <(awk '$1 ~ /^[0-9.]+$/ {
        used = ($3 + $4 + $6 + $8) / 1024; cap = ($1 + $2 + $5 + $7) / 1024
        if (used > mu) mu = used; if (cap > mc) mc = cap; gc = $13 " young, " $15 " full, " $NF " s total" }
        END { printf "%.0f %.0f %s\n", mu, mc, gc }' "$OUT/jstat.log") || true
    R_HEAP="$(max_of "$R_HEAP" "$heap")"
    R_HEAP_COMMITTED="$(max_of "$R_HEAP_COMMITTED" "$committed")"
  fi
  log "mailgate: stopping the node (peak RSS ${R_RSS} MB, peak heap used ${R_HEAP} MB of committed ${R_HEAP_COMMITTED} MB)"
  stop_pid "$NODE_PID" 60
  NODE_PID=""
  stop_pid "$SINK_PID" 5
}

# ---------------------------------------------------------------------------------------------------------------
want postfix && run_postfix
want rsa && run_rsa
if want max || want rate || want large || want submission || want dkim || want events || want tracking \
  || want receiving; then
  start_node
  want max && run_max
  want rate && run_rate
  want large && run_large
  want submission && run_submission
  want receiving && run_receiving
  want dkim && run_dkim
  want events && run_events
  want tracking && run_tracking
  stop_node
fi
want direct && run_direct
R_ALL_ACCEPTED=$((R_ALL_ACCEPTED + R_TOTAL_ACCEPTED))
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
ELAPSED=$((SECONDS - START_SECONDS))

# ---------------------------------------------------------------------------------------------------------------
# Results
ratio() { # a b -> "a/b x" or "-"
  awk -v a="$1" -v b="$2" 'BEGIN { if (a == "na" || b == "na" || b + 0 == 0) print "-"; else printf "%.2fx\n", a / b }'
}
num() { # a number with thousands separators, or the value as is
  awk -v v="$1" 'BEGIN { if (v ~ /^[0-9]+(\.[0-9]+)?$/) { s = sprintf("%.0f", v); o = "";
      while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) } print s o }
    else print v }'
}
COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
[ -z "$(git status --porcelain -- src pom.xml benchmarks/loadgen benchmarks/run.sh 2>/dev/null)" ] || COMMIT="$COMMIT (with uncommitted changes)"
CPU="$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)"
RAM="$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
JAVA_VERSION="$(java -version 2>&1 | head -1)"
PF_VERSION="$(postconf -h mail_version 2>/dev/null || echo '?')"
DRAIN_TIMES="sink caught up ${R_DRAIN_MAX} s after max, ${R_DRAIN_RATE} s after rate, ${R_DRAIN_LARGE} s after 100 KB, ${R_DRAIN_SUB} s after submission, ${R_DRAIN_DKIM} s after DKIM, ${R_DRAIN_EVENTS} s after events, ${R_DRAIN_DIRECT} s after direct (seconds after the load stopped; $(num "$R_ALL_ACCEPTED") messages in all)"
case "$DRAIN_OK" in
  yes) DRAIN_TEXT="yes: $DRAIN_TIMES" ;;
  no) DRAIN_TEXT="**no**: $([ "$EXCESS" -gt 0 ] && echo "$EXCESS more delivered than accepted, ")see the notes below; $DRAIN_TIMES" ;;
  *) DRAIN_TEXT=na ;;
esac

SECTION="$(cat <<EOF
## ${RUN_KIND^} run, $(date -u '+%Y-%m-%d %H:%M UTC')

- Command: \`$COMMAND_LINE\` ($ELAPSED s in all)
- Machine: $(nproc) CPUs ($CPU), $RAM RAM, $(uname -sr), $SYSCALL_US µs per system call (\`dd bs=1\`); load average before $LOAD_BEFORE, after $LOAD_AFTER
- Code: commit $COMMIT; $JAVA_VERSION; node \`java $NODE_JVM ${NODE_JAVA_OPTS:+$NODE_JAVA_OPTS }-jar target/mailgate.jar start-dev\`$([ "$JFR" = 0 ] || echo " (with a JFR recording during max)")
- Peers on the same machine: PostgreSQL ${PG_INFO:-?} (database $PG_DB, recreated), Redis $REDIS_URL, smtp-sink, Postfix $PF_VERSION, the load generator
- Load generator: SES v2 SendEmail, Simple, text body of 2,048 bytes (102,400 for 100 KB), 1 recipient, SigV4-signed, HTTP/1.1 keep-alive without pipelining; max: $MAX_CONNECTIONS connections, warmup ${MAX_WARMUP} s, ${MAX_DURATION} s measured; rate: $RATE_CONNECTIONS connections, warmup ${RATE_WARMUP} s, ${RATE_DURATION} s; 100 KB: $LARGE_CONNECTIONS connections, warmup ${LARGE_WARMUP} s, ${LARGE_DURATION} s

| | Mailgate | Postfix | Mailgate / Postfix | issue 5 target |
|---|---|---|---|---|
| Accepted/s, 2 KB, 1 recipient, max throughput | $(num "$R_ACCEPTED") | $(num "$R_POSTFIX") end to end ($(num "$R_POSTFIX_ACCEPT") accepted by smtpd; $(num "$R_POSTFIX_STEADY") delivered/s over the middle half, where the ratio would be $(ratio "$R_ACCEPTED" "$R_POSTFIX_STEADY")) | $(ratio "$R_ACCEPTED" "$R_POSTFIX") | >= 10,000/s and >= 10x |
| Delivered/s to smtp-sink, same window | $(num "$R_DELIVERED") | $(num "$R_POSTFIX") ($(num "$PF_MESSAGES") messages in $R_POSTFIX_SECONDS s) | $(ratio "$R_DELIVERED" "$R_POSTFIX") | >= 10x |
| Every accepted message at the sink after the load | $DRAIN_TEXT | yes | | yes |
| Latency at a fixed $(num "$R_RATE")/s (half of max), from intended send time: p50 / p90 / p99 / p99.9 / max | $R_P50 / $R_P90 / $R_P99 / $R_P999 / $R_PMAX ms (achieved $(num "$R_RATE_ACC")/s) | | | p99 < 20 ms, p99.9 < 50 ms |
| Delivered/s, direct MX mode (MX of example.org on the sink), 2 KB, max throughput (accepted/s) | $(num "$R_DIRECT") ($(num "$R_DIRECT_ACC")) | $(num "$R_POSTFIX") (relay mode) | $(ratio "$R_DIRECT" "$R_POSTFIX") | |
| 100 KB messages delivered/s (accepted/s) | $(num "$R_LARGE") ($(num "$R_LARGE_ACC")) | | | >= 1,000/s |
| DKIM RSA-2048 sends/s, 2 KB, max throughput (delivered/s) | $(num "$R_DKIM") ($(num "$R_DKIM_DELIVERED")); signed: $R_DKIM_SIGNED | | $(ratio "$R_DKIM" "$R_RSA") of raw RSA (OpenSSL) | >= 60% of raw RSA |
| Events: sends/s with a configuration set publishing Send and Delivery to a webhook, 2 KB (delivered/s); events posted | $(num "$R_EVENTS") ($(num "$R_EVENTS_DELIVERED")); $R_EVENTS_POSTED posted, $(num "$R_EVENTS_PER_S")/s over the scenario, the last $R_EVENTS_DRAIN s after the load stopped | | | |
| Open and click tracking: the tracked links of $TRACKING_MESSAGES messages followed in turn by wrk, $MAX_CONNECTIONS connections, ${LARGE_DURATION} s: 302s/s, p50 / p99 (Click events posted) | $(num "$R_CLICKS"), $R_CLICK_P50 / $R_CLICK_P99 ($(num "$R_CLICKS_POSTED") Click events posted for $(num "$R_CLICKS_ANSWERED") answers wrk read, the last $R_CLICKS_DRAIN s after the load stopped) | | | |
| Raw RSA-2048 signatures/s, all cores | OpenSSL $(num "$R_RSA"); JDK provider $(num "$R_RSA_JDK") | | | |
| SMTP submission accepted/s, 2 KB, 50 sessions with AUTH (delivered/s) | $(num "$R_SUB") ($(num "$R_SUB_DELIVERED")) | $(num "$R_POSTFIX_ACCEPT") (smtpd, durable queue, no AUTH) | $(ratio "$R_SUB" "$R_POSTFIX_ACCEPT") | >= 5x |
| Receiving: inbound SMTP received/s, 2 KB, 50 sessions, rule with an S3 action (stored) | $(num "$R_RECV") ($R_RECV_STORED) | $(num "$R_POSTFIX_ACCEPT") (smtpd, durable queue) | $(ratio "$R_RECV" "$R_POSTFIX_ACCEPT") | |
| Node peak RSS / peak heap used (committed), $NODE_JVM${NODE_JAVA_OPTS:+ $NODE_JAVA_OPTS} | $R_RSS MB / $R_HEAP MB ($R_HEAP_COMMITTED MB) | | | < 1 GB / <= 512 MB |

Errors (non-200 answers; for submission, replies other than 2xx/3xx) in the measured windows: max $R_MAX_ERRORS, rate $R_RATE_ERRORS, 100 KB $R_LARGE_ERRORS, submission $R_SUB_ERRORS, DKIM $R_DKIM_ERRORS, events $R_EVENTS_ERRORS, tracking $R_CLICK_ERRORS, direct $R_DIRECT_ERRORS.
Max-throughput closed-loop latency (from actual send, $MAX_CONNECTIONS requests outstanding): p50 $R_MAX_P50 ms, p99 $R_MAX_P99 ms.
Rate mode: the generator's own send lag behind schedule, p99 $R_RATE_LAG ms (included in the latencies above).
GC during the node's life: $R_GC.

CPU used during each measured window, in cores (CPU seconds per second; the machine has $(nproc)); "other" is
everything else on the machine, including other users' work:

- max: $R_MAX_CPU
- rate: $R_RATE_CPU
- 100 KB: $R_LARGE_CPU
- submission: $R_SUB_CPU
- receiving: $R_RECV_CPU
- DKIM: $R_DKIM_CPU
- events: $R_EVENTS_CPU
- tracking ("loadgen" is wrk; the webhook receiver is in "other"): $R_TRACKING_CPU
- direct: $R_DIRECT_CPU

PostgreSQL during each window (commits of the benchmark database; WAL of the whole server):

- max: $R_MAX_PG
- rate: $R_RATE_PG
- 100 KB: $R_LARGE_PG
- submission: $R_SUB_PG
- DKIM: $R_DKIM_PG
- events: $R_EVENTS_PG

Time in the node during each window, from its histograms (bucket bounds, in ms): HTTP requests (headers read to
answer written); sends (start of the send to its commit) and, within them, the waits for the sending-limit check and
for the commit; how late the HTTP event loops ran a probe due every 10 ms:

- max: $R_MAX_TIMES
- rate: $R_RATE_TIMES
- 100 KB: $R_LARGE_TIMES
- submission: $R_SUB_TIMES
- DKIM: $R_DKIM_TIMES
- events: $R_EVENTS_TIMES
EOF
)"
if [ ${#NOTES[@]} -gt 0 ]; then
  SECTION+=$'\n\n'"$(printf -- '- %s\n' "${NOTES[@]}")"
fi
if awk -v l="${LOAD_BEFORE%% *}" 'BEGIN { exit !(l > 1.5) }'; then
  SECTION+=$'\n\n'"Note: the load average was above 1.5 before the run: other work was using this machine."
fi

echo
echo "$SECTION"
echo

if [ "$WRITE" = 1 ]; then
  RESULTS="$ROOT/benchmarks/RESULTS.md"
  begin="<!-- run.sh $RUN_KIND: begin -->"
  end="<!-- run.sh $RUN_KIND: end -->"
  [ -f "$RESULTS" ] || printf '# Benchmark results\n\nWritten by `benchmarks/run.sh`; see benchmarks/README.md.\n' >"$RESULTS"
  printf '%s\n' "$SECTION" >"$OUT/section.md"
  if grep -qF "$begin" "$RESULTS"; then
    awk -v b="$begin" -v e="$end" -v f="$OUT/section.md" '
      $0 == b { print; while ((getline line < f) > 0) print line; skip = 1; next }
      $0 == e { skip = 0 }
      !skip { print }' "$RESULTS" >"$RESULTS.tmp" && mv "$RESULTS.tmp" "$RESULTS"
  else
    printf '\n%s\n%s\n%s\n' "$begin" "$SECTION" "$end" >>"$RESULTS"
  fi
  log "wrote the $RUN_KIND run section of benchmarks/RESULTS.md"
fi

echo "summary accepted_per_s=$R_ACCEPTED delivered_per_s=$R_DELIVERED postfix_per_s=$R_POSTFIX p99_ms=$R_P99" \
  "p999_ms=$R_P999 dkim_per_s=$R_DKIM rsa_sign_per_s=$R_RSA large_per_s=$R_LARGE rss_mb=$R_RSS"
