# Monetro passkey service: `just` lists the recipes.

default:
    @just --list

# Run the service on the embedded SQLite store (no setup).
run:
    cargo run --release

# Run every test (PostgreSQL tests skip with a message when no server answers).
test:
    cargo test --workspace

# Browser tests of the web pages (headless Debian Chromium: apt-get install chromium).
e2e:
    cargo build -p monetro-http --bin monetro
    cd e2e && (test -d node_modules || npm ci --no-audit --no-fund) && npm test

# Format check and clippy, as CI runs them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Format the code.
fmt:
    cargo fmt --all

# Apply database migrations to DATABASE_URL and exit.
migrate:
    cargo run --release -- migrate

# Run against the local PostgreSQL (creates the database if needed).
run-postgres:
    psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname = 'monetro'" | grep -q 1 || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE monetro"
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/monetro cargo run --release

# Start PostgreSQL and the service with Docker Compose.
up:
    docker compose up --build -d

# Stop the Compose stack.
down:
    docker compose down

# In-process benchmarks of a sign-in's CPU floors (docs/BENCHMARKS.md).
bench:
    cargo bench -p monetro-bench

# The HTTP table of docs/BENCHMARKS.md: SQLite and PostgreSQL at C=1/8/32/128, then paced at half the peak.
bench-http seconds="15":
    bash scripts/bench-matrix.sh {{seconds}}

# Passkey sign-in load against the service on :8080 (start it with MONETRO__RATE_LIMIT__ENABLED=false).
load users="1000" concurrency="8" duration="30s":
    cargo run --release -p monetro-loadgen -- --users {{users}} --concurrency {{concurrency}} --duration {{duration}} --state data/loadgen-state.json

# The CI script, locally.
ci:
    bash .ci/run
