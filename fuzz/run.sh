#!/usr/bin/env bash
# Builds every fuzz target and runs each for a bounded time, starting from
# its committed corpus (fuzz/corpus/<target>/; new inputs go to a scratch
# directory, so the committed corpus stays as it is). Fails as soon as a
# target crashes; libFuzzer then names the input it saved under
# fuzz/artifacts/<target>/. See docs/FUZZING.md.
#
#     bash fuzz/run.sh [SECONDS_PER_TARGET]    (default 20)
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-20}"

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

# No sanitizer: the code is safe Rust (unsafe_code is forbidden), and
# AddressSanitizer needs a nightly compiler; this way the stable toolchain
# builds the targets (optimised, with debug assertions and overflow checks).
# The build is kept outside the checkout, so a later run on the same machine
# (CI clones afresh) rebuilds only the service's crates, not the ~10 minutes
# of dependencies.
target_dir="${MONETRO_FUZZ_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/monetro-fuzz-target}"
flags=(--sanitizer none --target-dir "$target_dir")

cargo fuzz build "${flags[@]}"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for target in $(cargo fuzz list); do
  printf '\n== %s: %ss ==\n' "$target" "$seconds"
  mkdir -p "$scratch/$target" "corpus/$target"
  dictionary=()
  [ -f "dicts/$target.dict" ] && dictionary=("-dict=dicts/$target.dict")
  # TMPDIR: the stored_passkey target's SQLite file goes with the scratch.
  TMPDIR="$scratch" cargo fuzz run "${flags[@]}" "$target" "$scratch/$target" "corpus/$target" -- \
    "${dictionary[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
done
