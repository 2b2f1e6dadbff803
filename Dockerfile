# shopmirror container image: `docker build -t shopmirror .` (or podman/buildah).
# Multi-stage: the Rust toolchain builds a release binary; the runtime is Debian slim with that
# binary, the example config (no store) and nothing else, run as an unprivileged user.
#
#   docker run -d -v shopmirror-data:/data -p 9187:9187 \
#     -e SHOPMIRROR_STORES__MYSHOP__URL=https://shop.example.com shopmirror
#
# Config: mount a file over /etc/shopmirror/config.toml, or set SHOPMIRROR_* variables
# (SHOPMIRROR_<SECTION>__<KEY>, SHOPMIRROR_STORES__<NAME>__URL, SHOPMIRROR_SHARD); variables win
# over the file. The database lives in the /data volume.

FROM docker.io/library/rust:1-bookworm AS build
WORKDIR /src
# The commit for --version when the build context has no .git (see build.rs).
ARG SHOPMIRROR_COMMIT=
ENV SHOPMIRROR_COMMIT=${SHOPMIRROR_COMMIT}
COPY . .
RUN cargo build --release --locked && strip target/release/shopmirror

FROM docker.io/library/debian:bookworm-slim
# A fixed, unprivileged uid/gid so volume permissions are predictable (also for Kubernetes'
# runAsUser/fsGroup in deploy/kubernetes/).
RUN groupadd --system --gid 10001 shopmirror \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin shopmirror \
 && mkdir -p /data \
 && chown 10001:10001 /data
COPY --from=build /src/target/release/shopmirror /usr/bin/shopmirror
COPY config.toml /etc/shopmirror/config.toml
ENV SHOPMIRROR_CONFIG=/etc/shopmirror/config.toml \
    SHOPMIRROR_DB=/data/shopmirror.db \
    SHOPMIRROR_DAEMON__LISTEN=0.0.0.0:9187 \
    SHOPMIRROR_LOG__FORMAT=json
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 9187
HEALTHCHECK --interval=30s --timeout=10s --start-period=10s --retries=3 \
    CMD ["shopmirror", "healthcheck"]
ENTRYPOINT ["shopmirror"]
CMD ["daemon"]
