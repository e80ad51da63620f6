# Multi-stage build: compile in the Rust image, run as a non-root user in a
# slim Debian with only the C libraries the binary links (libpq, SQLite).
FROM rust:1.89-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev libsqlite3-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p monetro-http --bin monetro

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 libsqlite3-0 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/monetro --create-home monetro
COPY --from=build /src/target/release/monetro /usr/local/bin/monetro
COPY config /etc/monetro/config
USER monetro
WORKDIR /etc/monetro
ENV MONETRO_BIND=0.0.0.0:8080 \
    DATABASE_URL=sqlite:///var/lib/monetro/monetro.db \
    MONETRO__SECRETS__DATA_DIR=/var/lib/monetro
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/monetro"]
CMD ["serve"]
