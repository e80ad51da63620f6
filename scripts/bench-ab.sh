#!/usr/bin/env bash
# One load-generator run against a freshly started server, for side-by-side
# comparisons (docs/BENCHMARKS.md): call it alternately for two binaries or
# two databases and compare the lines it prints.
#
#   scripts/bench-ab.sh NAME BINARY DATABASE_URL CONCURRENCY SECONDS [loadgen args…]
#
# NAME keeps the run's data directory and load-generator state apart
# (/tmp/monetro-bench/NAME); LOADGEN overrides target/release/loadgen. Run it
# outside the checkout (or with MONETRO_ENV unset and no config/ directory
# in the working directory) when BINARY is older than the checkout's config.
set -euo pipefail
name=$1 binary=$2 database=$3 concurrency=$4 seconds=${5:-8}
shift $(( $# < 5 ? $# : 5 ))
loadgen=${LOADGEN:-$(cd "$(dirname "$0")/.." && pwd)/target/release/loadgen}
dir=/tmp/monetro-bench/$name
mkdir -p "$dir/data"
port=18081
MONETRO_BIND=127.0.0.1:$port MONETRO_RP_ORIGINS=http://localhost:$port DATABASE_URL="$database" \
  MONETRO__SECRETS__DATA_DIR="$dir/data" MONETRO__RATE_LIMIT__ENABLED=false \
  MONETRO__DATABASE__MAX_CONNECTIONS=16 RUST_LOG=warn "$binary" >"$dir/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
kill -0 $server 2>/dev/null || { echo "the server did not start: $dir/server.log" >&2; exit 1; }
"$loadgen" --base-url "http://127.0.0.1:$port" --origin "http://localhost:$port" --rp-id localhost \
  --users 1000 --concurrency "$concurrency" --duration "${seconds}s" --warmup 1s \
  --state "$dir/state.json" --json "$dir/c$concurrency.json" "$@" >"$dir/out.txt" 2>&1 \
  || { tail -5 "$dir/out.txt" >&2; echo "$name C=$concurrency: the load generator failed: $dir/out.txt" >&2; exit 1; }
rate=$(grep -oE '[0-9.]+ sign-ins/s' "$dir/out.txt")
latency=$(grep -E '^full sign-in  ' "$dir/out.txt" | awk '{print "p50="$6" p90="$7" p99="$8}')
errors=$(grep -E '^errors' "$dir/out.txt" || true)
echo "$name C=$concurrency $rate $latency rss=$(awk '/VmRSS/{print $2}' /proc/$server/status 2>/dev/null)KiB peak_rss=$(awk '/VmHWM/{print $2}' /proc/$server/status 2>/dev/null)KiB load=$(cut -d' ' -f1 /proc/loadavg) $errors"
