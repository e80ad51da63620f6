#!/usr/bin/env bash
# The HTTP table of docs/BENCHMARKS.md: full passkey sign-ins on SQLite and
# on PostgreSQL at concurrency 1, 8, 32 and 128 (closed loop), then an
# open-loop run at half the best rate for the p99 target. Each run starts a
# fresh server (scripts/bench-ab.sh) on the store's database, whose 1,000
# users are created by the first run and reused by the others.
#
#   scripts/bench-matrix.sh [SECONDS]        # `just bench-http`
#
# Needs the local PostgreSQL (127.0.0.1:5432, user postgres); its database
# monetro_bench_matrix is dropped and created afresh. Prints one line per run
# and the Markdown table; the JSON reports stay in /tmp/monetro-bench/.
set -euo pipefail
seconds=${1:-15}
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bins -p monetro-http -p monetro-loadgen
binary=$root/target/release/monetro
# Old figures from a previous matrix must not mix with these.
rm -rf /tmp/monetro-bench/matrix-sqlite /tmp/monetro-bench/matrix-postgres
database=monetro_bench_matrix
dropdb -h 127.0.0.1 -U postgres --if-exists "$database"
createdb -h 127.0.0.1 -U postgres "$database"
# TLS on loopback costs ~20 % (docs/BENCHMARKS.md): a same-host database goes without.
postgres_url="postgres://postgres@127.0.0.1:5432/$database?sslmode=disable"

echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), load average $(cut -d' ' -f1-3 /proc/loadavg), $(git -C "$root" rev-parse --short HEAD)"
for store in sqlite postgres; do
  url=$postgres_url
  [ "$store" = sqlite ] && url=sqlite:///tmp/monetro-bench/matrix-sqlite/data/monetro.db
  for concurrency in 1 8 32 128; do
    # Run from /tmp: the binary reads config/ from its working directory.
    (cd /tmp && "$root/scripts/bench-ab.sh" "matrix-$store" "$binary" "$url" "$concurrency" "$seconds")
  done
  peak=$(python3 - "$store" <<'PY'
import glob, json, sys
rates = [json.load(open(f))["signIns"]["perSecond"] for f in glob.glob(f"/tmp/monetro-bench/matrix-{sys.argv[1]}/c*.json")]
print(round(max(rates) / 2))
PY
)
  # Open loop at half the peak: 64 virtual users, each starting a sign-in
  # every 64 / rate seconds, far longer than a sign-in takes.
  (cd /tmp && "$root/scripts/bench-ab.sh" "matrix-$store" "$binary" "$url" 64 "$seconds" --rate "$peak")
done

python3 - <<'PY'
import json
print("\n| store | load | sign-ins/s | p50 | p90 | p99 | max | errors |")
print("|---|---|---|---|---|---|---|---|")
for store in ["sqlite", "postgres"]:
    for c in [1, 8, 32, 128, 64]:
        report = json.load(open(f"/tmp/monetro-bench/matrix-{store}/c{c}.json"))
        s = report["signIns"]
        latency = s["latencyMs"]
        rate = report["settings"].get("rate")
        load = f"{rate:.0f}/s paced (half the peak)" if rate else f"C={c}"
        print(f"| {store} | {load} | {s['perSecond']:.0f} | {latency['p50']:.1f} ms | {latency['p90']:.1f} ms "
              f"| {latency['p99']:.1f} ms | {latency['max']:.0f} ms | {report['errors']['total']} |")
PY
