#!/usr/bin/env bash
# The whole test suite: Rust unit, integration and doc tests, then the other suites as
# they are added (client conformance, container, browser, examples).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --all-targets
cargo test --doc
# Fuzz every emulated Particle route with schemathesis against the binary (short budget).
tests/fuzz/schemathesis.sh
