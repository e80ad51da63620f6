#!/usr/bin/env bash
# The soak of docs/SECURITY.md: a mixed load for SECONDS (default 600)
# against a release build on a fresh PostgreSQL database, with the server's
# RSS sampled every 30 s. Needs `cargo build --release -p monetro-http -p
# monetro-loadgen` first (binaries from ${CARGO_TARGET_DIR:-target}/release).
# Exits with the load generator's status (1 when any answer was not 2xx; the
# report lists them by endpoint, status and code).
#
#   scripts/soak.sh [SECONDS]
#
# Options (environment):
#   SOAK_HEAPTRACK=1     run the server under heaptrack; the profile is written
#                        to /tmp/monetro-soak/heap/monetro.zst at the graceful
#                        shutdown (read it with heaptrack_print; build with
#                        CARGO_PROFILE_RELEASE_DEBUG=line-tables-only for stacks)
#   SOAK_MALLOC_STATS=1  with each RSS sample, glibc's malloc_stats() through gdb:
#                        "system bytes" (held from the kernel) and "in use bytes"
#                        (allocated as glibc counts it, its per-thread caches
#                        included), in /tmp/monetro-soak/malloc.txt; each gdb
#                        call pauses the server for about a second
#   MALLOC_ARENA_MAX etc. pass through to the server.
set -uo pipefail
seconds=${1:-600}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${CARGO_TARGET_DIR:-$root/target}/release
database=monetro_soak
dir=/tmp/monetro-soak
dropdb -h 127.0.0.1 -U postgres --if-exists "$database"
createdb -h 127.0.0.1 -U postgres "$database"
rm -rf "$dir" && mkdir -p "$dir/data" "$dir/heap" && cd "$dir"
wrap=()
[ "${SOAK_HEAPTRACK:-0}" = 1 ] && wrap=(heaptrack -o "$dir/heap/monetro")
MONETRO_BIND=127.0.0.1:18090 MONETRO_RP_ORIGINS=http://localhost:18090 \
  DATABASE_URL="postgres://postgres@127.0.0.1:5432/$database?sslmode=disable" \
  MONETRO__SECRETS__DATA_DIR="$dir/data" MONETRO__RATE_LIMIT__ENABLED=false RUST_LOG=warn \
  "${wrap[@]}" "$bin/monetro" >"$dir/server.log" 2>&1 &
launcher=$!
server=$launcher
if [ ${#wrap[@]} -gt 0 ]; then # heaptrack runs the server as its child
  for _ in $(seq 100); do server=$(pgrep -P $launcher -x monetro) && break; sleep 0.2; done
fi
# SIGTERM to the server itself (graceful shutdown), then wait for the launcher
# (heaptrack writes its file after the server has exited)
trap 'kill $server 2>/dev/null; wait $launcher 2>/dev/null' EXIT
for _ in $(seq 300); do curl -sf http://127.0.0.1:18090/readyz >/dev/null && break; sleep 0.2; done
kill -0 $server 2>/dev/null || { echo "the server did not start: $dir/server.log" >&2; exit 1; }
(while kill -0 $server 2>/dev/null; do
   echo "$(date +%s) $(awk '/VmRSS/{print $2}' /proc/$server/status 2>/dev/null)"
   if [ "${SOAK_MALLOC_STATS:-0}" = 1 ]; then
     # malloc_stats() prints to the server's stderr: keep the last total
     gdb -p $server -batch -ex 'call (void)malloc_stats()' >/dev/null 2>&1
     awk -v t="$(date +%s)" '/^Total/{x=1} x&&/system bytes/{s=$NF} x&&/in use bytes/{u=$NF; x=0}
       END{if (u) print t, s, u}' "$dir/server.log" >>"$dir/malloc.txt"
   fi
   sleep 30
 done) >"$dir/rss.txt" &
"$bin/loadgen" --base-url http://127.0.0.1:18090 --origin http://localhost:18090 \
  --rp-id localhost --users 500 --concurrency 8 --duration "${seconds}s" --warmup 5s \
  --mix signin=80,register=5,list=10,password=5 --state "$dir/state.json" --json "$dir/soak.json" \
  >"$dir/out.txt" 2>&1
status=$?
grep -vE '^loadgen: (run|set-up|warm-up) ' "$dir/out.txt"
echo "server RSS (KiB) every 30 s: $(awk '{print $2}' "$dir/rss.txt" | tr '\n' ' ')"
[ -s "$dir/malloc.txt" ] && echo "glibc in use / system bytes every 30 s: $(awk '{printf "%s/%s ", $3, $2}' "$dir/malloc.txt")"
exit $status
