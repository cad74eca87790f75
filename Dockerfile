# particle-auth-mock: one statically linked binary in an empty image.
#
#   docker build -t particle-auth-mock .
#   docker buildx build --platform linux/amd64,linux/arm64 -t particle-auth-mock .
#   docker run --rm -p 8080:8080 particle-auth-mock
#   docker run --rm -p 8080:8080 \
#     -v "$PWD/f.json:/fixtures/f.json:ro" -e PARTICLE_MOCK_FIXTURES=/fixtures/f.json \
#     -e PARTICLE_MOCK_SEED=42 particle-auth-mock
#
# Every option is also an environment variable (PARTICLE_MOCK_*; `--help` lists them).
# Stage `build` must produce /out/particle-auth-mock; CI replaces it with a folder holding
# the binary built on the host by the very same cargo command (tests/container/run.sh).

# The build stage runs on the builder's own platform and cross-compiles for TARGETARCH
# (amd64 or arm64), so `docker buildx build --platform linux/amd64,linux/arm64` needs no
# emulation: the final stage has no RUN step.
FROM --platform=$BUILDPLATFORM docker.io/library/rust:1.95-bookworm AS build
ARG TARGETARCH
ARG BUILDARCH
ENV CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
    CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER=x86_64-linux-gnu-gcc
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# The cross compiler comes from the image's own Debian release: pinning its version would
# break the build at every Debian point release.
# hadolint ignore=DL3008
RUN case "$TARGETARCH" in \
      amd64) echo x86_64-unknown-linux-gnu > /triple; cross=x86-64 ;; \
      arm64) echo aarch64-unknown-linux-gnu > /triple; cross=aarch64 ;; \
      *) echo "unsupported TARGETARCH=$TARGETARCH (amd64, arm64)" >&2; exit 1 ;; \
    esac \
 && if [ "$TARGETARCH" != "$BUILDARCH" ]; then \
      apt-get update \
      && apt-get install -y --no-install-recommends "gcc-$cross-linux-gnu" "libc6-dev-$TARGETARCH-cross" \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
 && rustup target add "$(cat /triple)"
WORKDIR /src
COPY . .
# glibc, statically linked (crt-static): no musl target needed, and the result runs in
# `scratch`. Numeric addresses only are resolved inside the image (no NSS there).
RUN RUSTFLAGS="-C target-feature=+crt-static" \
      cargo build --release --locked --target "$(cat /triple)" \
 && mkdir -p /out /out/data \
 && cp "target/$(cat /triple)/release/particle-auth-mock" /out/particle-auth-mock

FROM scratch
COPY --from=build /out/particle-auth-mock /particle-auth-mock
# The default fixtures, as a template: `docker cp` it out, edit, mount it back.
COPY fixtures/default.json /fixtures/default.json
# Where a state file lives (docs/persistence.md): owned by the user the mock runs as, so a
# named volume (`-v particle-mock:/data -e PARTICLE_MOCK_STATE_FILE=/data/state.json`)
# starts writable.
COPY --from=build --chown=65532:65532 /out/data /data
VOLUME /data
ENV PARTICLE_MOCK_LISTEN=0.0.0.0:8080
EXPOSE 8080
# Numeric, so no /etc/passwd is needed; mounted fixtures must be world-readable.
USER 65532:65532
# The binary probes itself: no shell or curl in the image.
HEALTHCHECK --interval=10s --timeout=3s --start-period=2s --retries=3 \
  CMD ["/particle-auth-mock", "healthcheck"]
ENTRYPOINT ["/particle-auth-mock"]
