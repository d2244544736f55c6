#!/usr/bin/env bash
# `make run-cluster` (issue 13): two Brook nodes on this machine as one service,
# on the PostgreSQL and Redis already running here, behind a small round-robin
# proxy (testkit's `round-robin`, no sticky sessions; WebSocket and SSE pass).
#
#   http://127.0.0.1:3000  the proxy (CLUSTER_PORT)
#   http://127.0.0.1:3001  node 1, http://127.0.0.1:3002  node 2 (CLUSTER_NODE_PORTS)
#
# Each run gets a fresh database (brook_cluster_<time>) on CLUSTER_POSTGRES_URL
# (default postgres://postgres@127.0.0.1:5432, created with createdb; set
# CLUSTER_DATABASE_URL to reuse one) and its own BROOK_REDIS_PREFIX on
# REDIS_URL (default redis://127.0.0.1:6379). The nodes share a JWT secret
# generated for the run. BROOK_BIN and ROUND_ROBIN_BIN choose the binaries
# (default: the release builds). Ctrl-C stops the three processes.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
brook="${BROOK_BIN:-$target/release/brook}"
proxy="${ROUND_ROBIN_BIN:-$target/release/round-robin}"
port="${CLUSTER_PORT:-3000}"
read -r -a node_ports <<< "${CLUSTER_NODE_PORTS:-3001 3002}"
for bin in "$brook" "$proxy"; do
    [ -x "$bin" ] || { echo "run-cluster: $bin is missing (make run-cluster builds it)" >&2; exit 1; }
done

run_id="$(date +%Y%m%d%H%M%S)_$$"
if [ -z "${CLUSTER_DATABASE_URL:-}" ]; then
    admin="${CLUSTER_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
    admin="${admin%/}"
    db="brook_cluster_$run_id"
    createdb --maintenance-db="$admin/postgres" "$db"
    CLUSTER_DATABASE_URL="$admin/$db"
    echo "run-cluster: fresh database $db (drop it with: dropdb --maintenance-db=$admin/postgres $db)"
fi
export DATABASE_URL="$CLUSTER_DATABASE_URL"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
export BROOK_REDIS_PREFIX="${BROOK_REDIS_PREFIX:-brook-cluster-$run_id:}"
export BROOK_JWT_SECRET="${BROOK_JWT_SECRET:-$(openssl rand -hex 32)}"
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-target/site}"

pids=()
stop() {
    stopping=1
    trap - EXIT INT TERM
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap stop EXIT INT TERM

wait_health() {
    for _ in $(seq 1 600); do
        curl -fsS "http://127.0.0.1:$1/health" >/dev/null 2>&1 && return 0
        kill -0 "$2" 2>/dev/null || { echo "run-cluster: the node on $1 exited" >&2; return 1; }
        sleep 0.1
    done
    echo "run-cluster: the node on $1 did not come up within 60 s" >&2
    return 1
}

targets=()
for p in "${node_ports[@]}"; do
    # One at a time: the first node runs the migrations.
    LEPTOS_SITE_ADDR="127.0.0.1:$p" "$brook" serve &
    pids+=("$!")
    wait_health "$p" "$!"
    targets+=(--to "127.0.0.1:$p")
done
"$proxy" --listen "127.0.0.1:$port" "${targets[@]}" &
pids+=("$!")
echo "run-cluster: http://127.0.0.1:$port -> nodes on ${node_ports[*]} (prefix $BROOK_REDIS_PREFIX); Ctrl-C stops"
wait -n "${pids[@]}" || true
[ -n "${stopping:-}" ] || echo "run-cluster: a process exited; stopping the others" >&2
