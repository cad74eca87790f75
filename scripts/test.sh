#!/usr/bin/env bash
# The test suite, in two tiers. Each suite fails loudly on a missing requirement
# (scripts/setup.sh installs them).
#   scripts/test.sh          Rust unit, integration and doc tests; official-client conformance;
#                            the browser page; the examples; the README walk-through; the npm
#                            and PyPI packages
#   scripts/test.sh --full   all of that, plus schemathesis fuzzing, the container image and
#                            the benchmark in smoke mode (what .ci/run runs)
#   SUITES="rust npm" scripts/test.sh   a chosen subset
set -euo pipefail
cd "$(dirname "$0")/.."
DEFAULT_SUITES="rust clients browser examples readme npm python"
FULL_SUITES="$DEFAULT_SUITES fuzz container bench"
case "${1:-}" in
  "") SUITES=${SUITES:-$DEFAULT_SUITES} ;;
  --full) SUITES=$FULL_SUITES ;;
  *) echo "usage: scripts/test.sh [--full]  (or SUITES=\"rust clients …\" scripts/test.sh)" >&2; exit 2 ;;
esac
declare -a TIMES=()
passed=0

suite() { # name command...
  local name=$1; shift
  case " $SUITES " in *" $name "*) ;; *) return 0 ;; esac
  local t0; t0=$(date +%s)
  echo "=== suite $name"
  if ! "$@"; then
    echo "=== suite $name FAILED" >&2
    exit 1
  fi
  TIMES+=("$name $(( $(date +%s) - t0 ))s")
  passed=$((passed + 1))
}

rust_tests() { cargo test --all-targets && cargo test --doc; }
# One static release build shared by the clients, browser, examples, container and package
# suites (the wheel build finds it up to date):
# the same command as the Dockerfile's build stage.
release_binary() {
  RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release --locked --target x86_64-unknown-linux-gnu
}

suite rust rust_tests
# Fuzz every emulated Particle route with schemathesis against the binary (short budget).
suite fuzz tests/fuzz/schemathesis.sh
case " $SUITES " in
  *" clients "*|*" browser "*|*" examples "*|*" readme "*|*" container "*|*" npm "*|*" python "*)
    SUITES="$SUITES release-binary"
    suite release-binary release_binary ;;
esac
export PARTICLE_MOCK_BIN=$PWD/target/x86_64-unknown-linux-gnu/release/particle-auth-mock
suite clients tests/clients/run.sh clients
suite browser tests/clients/run.sh browser
suite examples examples/run.sh
# The README's walk-through, run as written against the binary on 127.0.0.1:8080.
suite readme python3 scripts/test-readme.py "$PARTICLE_MOCK_BIN"
# The npm and PyPI packages, built from that binary, installed into fresh scratch projects.
suite npm scripts/test-packages.sh npm
suite python scripts/test-packages.sh python
suite container tests/container/run.sh
# The benchmark in smoke mode: it must run; its figures are not asserted.
suite bench bench/run.sh --smoke

echo "=== suite times: ${TIMES[*]}"
echo "suites: $passed passed, 0 failed"
