# particle-auth-mock: one statically linked binary in an empty image.
#
#   docker build -t particle-auth-mock .
#   docker run --rm -p 8080:8080 particle-auth-mock
#   docker run --rm -p 8080:8080 \
#     -v "$PWD/f.json:/fixtures/f.json:ro" -e PARTICLE_MOCK_FIXTURES=/fixtures/f.json \
#     -e PARTICLE_MOCK_SEED=42 particle-auth-mock
#
# Every option is also an environment variable (PARTICLE_MOCK_*; `--help` lists them).
# Stage `build` must produce /out/particle-auth-mock; CI replaces it with a folder holding
# the binary built on the host by the very same cargo command (tests/container/run.sh).

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# glibc, statically linked (crt-static): no musl target needed, and the result runs in
# `scratch`. Numeric addresses only are resolved inside the image (no NSS there).
RUN RUSTFLAGS="-C target-feature=+crt-static" \
      cargo build --release --locked --target x86_64-unknown-linux-gnu \
 && mkdir -p /out \
 && cp target/x86_64-unknown-linux-gnu/release/particle-auth-mock /out/particle-auth-mock

FROM scratch
COPY --from=build /out/particle-auth-mock /particle-auth-mock
# The default fixtures, as a template: `docker cp` it out, edit, mount it back.
COPY fixtures/default.json /fixtures/default.json
ENV PARTICLE_MOCK_LISTEN=0.0.0.0:8080
EXPOSE 8080
# Numeric, so no /etc/passwd is needed; mounted fixtures must be world-readable.
USER 65532:65532
# The binary probes itself: no shell or curl in the image.
HEALTHCHECK --interval=10s --timeout=3s --start-period=2s --retries=3 \
  CMD ["/particle-auth-mock", "healthcheck"]
ENTRYPOINT ["/particle-auth-mock"]
