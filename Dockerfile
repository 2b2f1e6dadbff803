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
#
# podman/buildah: build with `--format docker`; the default OCI format has no HEALTHCHECK and
# drops it (with only a warning).

# Where the binary comes from: "compiled" (default: the Rust stage below compiles it) or
# "prebuilt" (`--build-arg BINARY=prebuilt`: a binary compiled outside, for Debian bookworm's
# glibc, at target/container/shopmirror in the build context; what .ci/container uses, since
# no registry serves it the Rust image). Only the chosen stage is built.
ARG BINARY=compiled

FROM docker.io/library/rust:1-bookworm AS compiled
WORKDIR /src
# The commit for --version when the build context has no .git (see build.rs).
ARG SHOPMIRROR_COMMIT=
ENV SHOPMIRROR_COMMIT=${SHOPMIRROR_COMMIT}
COPY . .
RUN cargo build --release --locked && strip target/release/shopmirror

FROM scratch AS prebuilt
COPY target/container/shopmirror /src/target/release/shopmirror

FROM ${BINARY} AS build

FROM docker.io/library/debian:bookworm-slim
# A fixed, unprivileged uid/gid so volume permissions are predictable (also for Kubernetes'
# runAsUser/fsGroup in deploy/kubernetes/). Not --system: system ids end at 999, and 10001
# would make useradd warn; --no-log-init keeps a high uid from growing lastlog/faillog.
RUN groupadd --gid 10001 shopmirror \
 && useradd --uid 10001 --gid 10001 --home-dir /data --no-create-home --no-log-init \
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
