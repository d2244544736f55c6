# Brook: multi-stage image. The build stage runs the same `make build` as a
# developer's machine; the runtime stage holds only the binary, the site, CA
# certificates and curl (for the health check), and runs as a non-root user with its data in a
# volume. (Written with care but untested here: this machine has no Docker
# engine.)
#
# Layer caching (issue 15): the system packages and the pinned build tools are
# layers of their own (rebuilt only when the Makefile changes); the crates'
# sources and the compiled dependencies live in BuildKit cache mounts, so a
# change to Brook's code recompiles Brook alone. `make build` copies the binary
# out of the mounted target directory into target/release.

FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The tools (wasm-bindgen, wasm-opt, esbuild), pinned in the Makefile.
COPY Makefile ./
RUN make tools
# Brook itself. With BuildKit, the registry and the compiled dependencies
# stay in cache mounts between builds: only what changed is recompiled.
COPY . .
ENV CARGO_TARGET_DIR=/cargo-target
RUN --mount=type=cache,target=/cargo-target \
    --mount=type=cache,target=/usr/local/cargo/registry \
    make build

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin brook \
 && mkdir -p /data \
 && chown brook:brook /data
COPY --from=build /src/target/release/brook /usr/local/bin/brook
# Beside the binary, where Leptos reads the bundle's hashed names.
COPY --from=build /src/target/release/hash.txt /usr/local/bin/hash.txt
COPY --from=build /src/target/site /srv/brook/site
ENV LEPTOS_SITE_ROOT=/srv/brook/site \
    LEPTOS_SITE_ADDR=0.0.0.0:3000 \
    DATABASE_URL=sqlite:///data/brook.db \
    BROOK_LOG_FORMAT=json
USER brook
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3000
STOPSIGNAL SIGTERM
# `/health` answers while the process serves; `/ready` also checks storage.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:3000/health || exit 1
ENTRYPOINT ["/usr/local/bin/brook"]
CMD ["serve"]
