# Brook: multi-stage image. The build stage runs the same `make build` as a
# developer's machine; the runtime stage holds only the binary, the site and CA
# certificates, and runs as a non-root user with its data in a volume.
# (Written with care but untested here: this machine has no Docker engine.)

FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make build

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin brook \
 && mkdir -p /data \
 && chown brook:brook /data
COPY --from=build /src/target/release/brook /usr/local/bin/brook
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
ENTRYPOINT ["/usr/local/bin/brook"]
CMD ["serve"]
