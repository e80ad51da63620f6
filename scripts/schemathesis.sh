#!/usr/bin/env bash
# Property-based tests of the running service against its own OpenAPI
# document (schemathesis: pip install schemathesis). Builds the binary,
# starts it on a free port with a fresh SQLite database and rate limits off,
# signs up a user for the bearer operations, runs schemathesis, and stops the
# service. docs/ABUSE.md explains the choice of checks.
#
#   bash scripts/schemathesis.sh                # 50 examples per operation
#   MAX_EXAMPLES=200 bash scripts/schemathesis.sh
#   SEED=1234 bash scripts/schemathesis.sh      # replay a run's seed
#   SCHEMATHESIS_EXTRA="--report-har-path /tmp/run.har" bash scripts/schemathesis.sh
set -euo pipefail
cd "$(dirname "$0")/.."

command -v schemathesis >/dev/null || {
  echo "schemathesis is not installed: pip install schemathesis" >&2
  exit 1
}

cargo build -p monetro-http --bin monetro
binary="$PWD/target/debug/monetro"

work="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
service=""
stop() {
  if [ -n "$service" ]; then
    kill "$service" 2>/dev/null || true
    wait "$service" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop EXIT

MONETRO_BIND="127.0.0.1:$port" \
  DATABASE_URL="sqlite://$work/monetro.db" \
  MONETRO_RP_ORIGINS="http://localhost:$port" \
  MONETRO__SECRETS__DATA_DIR="$work" \
  MONETRO__RATE_LIMIT__ENABLED=false \
  MONETRO__LOG__FILTER=warn \
  "$binary" serve >"$work/service.log" 2>&1 &
service=$!

for _ in $(seq 1 100); do
  python3 -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
    "$base/readyz" 2>/dev/null && break
  kill -0 "$service" 2>/dev/null || { cat "$work/service.log" >&2; exit 1; }
  sleep 0.2
done

# A signed-in user, so the bearer operations get past 401.
token="$(python3 - "$base" <<'PY'
import json, sys, urllib.request
body = json.dumps({"email": "schemathesis@example.com", "password": "correct horse battery"})
request = urllib.request.Request(sys.argv[1] + "/api/auth/signup", data=body.encode(),
                                 headers={"Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(request))["token"])
PY
)"

# Every check but positive_data_acceptance: a finish call needs a live
# WebAuthn ceremony, so well-shaped credentials made up by schemathesis are
# rightly refused (400 CHALLENGE_NOT_FOUND), as are passkey ids it takes
# from audit events whose passkeyId is null. Without logout: signing out
# with the one bearer token ended its session, and every bearer operation
# tested after it got only 401. One worker: with two threads,
# hypothesis's descriptions of its filters raced in CPython 3.11's parser
# ("SystemError: AST constructor recursion depth mismatch") in CI.
cd "$work"
status=0
schemathesis run "$base/api/openapi.json" \
  --checks all \
  --exclude-checks positive_data_acceptance \
  --header "Authorization: Bearer $token" \
  --exclude-path /api/auth/logout \
  --max-examples "${MAX_EXAMPLES:-50}" \
  --workers 1 \
  --request-timeout 10 \
  ${SCHEMATHESIS_EXTRA:-} \
  --generation-database none \
  ${SEED:+--seed "$SEED"} || status=$?

if grep -q -i "panicked" "$work/service.log"; then
  echo "the service panicked:" >&2
  cat "$work/service.log" >&2
  status=1
fi
exit "$status"
