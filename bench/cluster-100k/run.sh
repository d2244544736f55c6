#!/bin/bash
# Issue 16's "100k connections as several nodes sharing Redis": 6 brook nodes sharing one
# PostgreSQL database and Redis, each held at 17,000 authenticated WebSockets by its own client
# process (hold.py; a process may hold 20,000 descriptors here) from its own loopback address.
# Usage: BIN=<release brook> SITE=<built site> bench/cluster-100k/run.sh, then read each node's
# /metrics (brook_connections) while the clients hold (120 s). Needs PostgreSQL and Redis on
# their standard ports and Python's websockets (make test-deps). A manual demonstration, not
# part of brook-bench or make test; results in BENCHMARKS.md.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-/tmp/k100}
mkdir -p "$OUT"
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS brook_100k" -c "CREATE DATABASE brook_100k"
redis-cli --scan --pattern 'k100:*' | xargs -r redis-cli del > /dev/null || true
BIN=${BIN:-target/release/brook}
SITE=${SITE:-target/site}
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/brook_100k REDIS_URL=redis://127.0.0.1:6379 BROOK_REDIS_PREFIX=k100: \
  BROOK_JWT_SECRET=k100-secret-0123456789abcdef0123456789abcdef BROOK_PROVIDER=demo BROOK_GUESTS=on \
  BROOK_RATE_LIMIT_PER_MIN=0 BROOK_AUTH_RATE_LIMIT_PER_MIN=0 BROOK_MAX_CONNECTIONS_PER_IDENTITY=0 BROOK_MAX_CONNECTIONS_PER_IP=0 RUST_LOG=warn
"$BIN" migrate > "$OUT/migrate.log" 2>&1
for k in 1 2 3 4 5 6; do
  "$BIN" serve --addr 127.0.0.1:$((4600+k)) --site-root "$SITE" > "$OUT/node$k.log" 2>&1 &
  echo $! > "$OUT/node$k.pid"
done
sleep 4
for k in 1 2 3 4 5 6; do curl -s -o /dev/null -w "node $k ready %{http_code}\n" http://127.0.0.1:$((4600+k))/ready; done
for k in 1 2 3 4 5 6; do
  python3 "$HERE/hold.py" $((4600+k)) 17000 127.0.0.$((k+1)) 120 > "$OUT/hold$k.log" 2>&1 &
done
# Every 5 s: the connections the nodes say they hold, their RSS in all, the load average.
for t in $(seq 1 60); do
  sleep 5
  total=0; rss=0
  for k in 1 2 3 4 5 6; do
    c=$(curl -s --max-time 2 http://127.0.0.1:$((4600+k))/metrics | grep '^brook_connections' | awk '{s+=$2} END {print s+0}')
    total=$((total + c)); rss=$((rss + $(awk '/VmRSS/{print $2}' /proc/"$(cat "$OUT/node$k.pid")"/status)))
  done
  echo "$(date +%T) connections $total, nodes' RSS $((rss / 1024)) MB, load $(cut -d' ' -f1 /proc/loadavg)"
  [ "$(cat "$OUT"/hold*.log | grep -c held || true)" = 6 ] && break
done
cat "$OUT"/hold*.log
echo "stop: kill \$(cat $OUT/node*.pid)"
