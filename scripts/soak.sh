#!/usr/bin/env bash
# The soak of docs/SECURITY.md: a mixed load for SECONDS (default 600)
# against a release build on a fresh PostgreSQL database, with the server's
# RSS sampled every 30 s. Needs `cargo build --release -p monetro-http -p
# monetro-loadgen` first. Exits with the load generator's status (1 when any
# answer was not 2xx; the report lists them by endpoint, status and code).
#
#   scripts/soak.sh [SECONDS]
set -uo pipefail
seconds=${1:-600}
root=$(cd "$(dirname "$0")/.." && pwd)
database=monetro_soak
dir=/tmp/monetro-soak
dropdb -h 127.0.0.1 -U postgres --if-exists "$database"
createdb -h 127.0.0.1 -U postgres "$database"
rm -rf "$dir" && mkdir -p "$dir/data" && cd "$dir"
MONETRO_BIND=127.0.0.1:18090 MONETRO_RP_ORIGINS=http://localhost:18090 \
  DATABASE_URL="postgres://postgres@127.0.0.1:5432/$database?sslmode=disable" \
  MONETRO__SECRETS__DATA_DIR="$dir/data" MONETRO__RATE_LIMIT__ENABLED=false RUST_LOG=warn \
  "$root/target/release/monetro" >"$dir/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:18090/readyz >/dev/null && break; sleep 0.2; done
kill -0 $server 2>/dev/null || { echo "the server did not start: $dir/server.log" >&2; exit 1; }
(while kill -0 $server 2>/dev/null; do
   echo "$(date +%s) $(awk '/VmRSS/{print $2}' /proc/$server/status 2>/dev/null)"
   sleep 30
 done) >"$dir/rss.txt" &
"$root/target/release/loadgen" --base-url http://127.0.0.1:18090 --origin http://localhost:18090 \
  --rp-id localhost --users 500 --concurrency 8 --duration "${seconds}s" --warmup 5s \
  --mix signin=80,register=5,list=10,password=5 --state "$dir/state.json" --json "$dir/soak.json" \
  >"$dir/out.txt" 2>&1
status=$?
grep -vE '^loadgen: (run|set-up|warm-up) ' "$dir/out.txt"
echo "server RSS (KiB) every 30 s: $(awk '{print $2}' "$dir/rss.txt" | tr '\n' ' ')"
exit $status
