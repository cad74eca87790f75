#!/usr/bin/env bash
# The whole test suite: Rust unit, integration and doc tests, then the delivery suites:
# official-client conformance, the browser page, the examples and the container image.
# Each suite fails loudly on a missing requirement (scripts/setup.sh installs them).
# SUITES="rust fuzz clients browser examples container bench" selects a subset.
set -euo pipefail
cd "$(dirname "$0")/.."
SUITES=${SUITES:-rust fuzz clients browser examples container bench}
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
# One static release build shared by the clients, browser, examples and container suites:
# the same command as the Dockerfile's build stage.
release_binary() {
  RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release --locked --target x86_64-unknown-linux-gnu
}

suite rust rust_tests
# Fuzz every emulated Particle route with schemathesis against the binary (short budget).
suite fuzz tests/fuzz/schemathesis.sh
case " $SUITES " in
  *" clients "*|*" browser "*|*" examples "*|*" container "*)
    SUITES="$SUITES release-binary"
    suite release-binary release_binary ;;
esac
export PARTICLE_MOCK_BIN=$PWD/target/x86_64-unknown-linux-gnu/release/particle-auth-mock
suite clients tests/clients/run.sh clients
suite browser tests/clients/run.sh browser
suite examples examples/run.sh
suite container tests/container/run.sh
# The benchmark in smoke mode: it must run; its figures are not asserted.
suite bench bench/run.sh --smoke

echo "=== suite times: ${TIMES[*]}"
echo "suites: $passed passed, 0 failed"
