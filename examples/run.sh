#!/usr/bin/env bash
# Runs every example twice against one running mock binary, as a shared CI service container
# would be used: each example works in tenants of its own, so a second run right after the
# first needs no reset (and no new TOTP step). Also checks the GitHub Actions snippet. The
# Rust example is tests/example_library.rs (run by `cargo test`).
# Needs: node+npm, the CI virtualenv (scripts/setup.sh: requests, pytest, pyyaml), curl.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${PARTICLE_MOCK_VENV:-$ROOT/target/ci-venv}
fail() { echo "examples: FAIL: $*" >&2; exit 1; }
for tool in node npm curl; do command -v "$tool" >/dev/null || fail "$tool not installed"; done
[ -x "$VENV/bin/python" ] || fail "$VENV missing: run scripts/setup.sh"
"$VENV/bin/python" -c 'import requests, pytest, yaml' 2>/dev/null || fail "requests/pytest/pyyaml missing from $VENV: run scripts/setup.sh"

if [ -z "${PARTICLE_MOCK_BIN:-}" ]; then
  RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release --locked --target x86_64-unknown-linux-gnu --quiet || fail "cargo build failed"
  PARTICLE_MOCK_BIN=$ROOT/target/x86_64-unknown-linux-gnu/release/particle-auth-mock
fi

MOCK_PID=""
stop_mock() { if [ -n "$MOCK_PID" ]; then kill "$MOCK_PID" 2>/dev/null || true; wait "$MOCK_PID" 2>/dev/null || true; MOCK_PID=""; fi; }
trap stop_mock EXIT
out=$(mktemp)
"$PARTICLE_MOCK_BIN" --listen 127.0.0.1:0 >"$out" 2>/dev/null &
MOCK_PID=$!
# The binary prints `listening on URL` once it accepts connections.
for _ in $(seq 1 100); do
  PARTICLE_MOCK_URL=$(sed -n 's/^listening on //p' "$out")
  [ -n "$PARTICLE_MOCK_URL" ] && break
  sleep 0.05
done
rm -f "$out"
[ -n "$PARTICLE_MOCK_URL" ] || fail "mock did not start"
export PARTICLE_MOCK_URL

(cd examples/node && { [ -d node_modules/particle-api-js ] && cmp -s package-lock.json node_modules/.pam-lock-stamp; } \
  || { npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.pam-lock-stamp; }) \
  || fail "npm ci in examples/node"

passed=0
run() { # name command...
  local name=$1; shift
  for round in 1 2; do
    echo "examples: $name, run $round ($PARTICLE_MOCK_URL)"
    "$@" || fail "$name (run $round)"
  done
  passed=$((passed + 1))
}
run node bash -c 'cd examples/node && node --test'
# The package's module from the source tree (a user gets it from `pip install particle-auth-mock`).
run python env PYTHONPATH="$ROOT/packages/python/python" "$VENV/bin/python" -m pytest -q -p no:cacheprovider \
  -p particle_auth_mock.pytest_plugin examples/python
run shell examples/shell/login.sh
# Each example deleted the tenants it made.
curl -fsS "$PARTICLE_MOCK_URL/__mock/tenants" | grep -q '"tenants":\[\]' || fail "tenants left behind: $(curl -sS "$PARTICLE_MOCK_URL/__mock/tenants")"
echo "examples: github-actions.yml parses"
"$VENV/bin/python" - <<'PY' || fail "examples/github-actions.yml"
import re, yaml
doc = yaml.safe_load(open("examples/github-actions.yml"))
svc = doc["jobs"]["test"]["services"]["particle"]
version = re.search(r'^version = "(.+)"', open("Cargo.toml").read(), re.M).group(1)
# The tag the release workflow pushes (ghcr.io/<repository>:<version>, see release.yml).
assert svc["image"] == f"ghcr.io/particle-auth-mock/particle-auth-mock:{version}", svc["image"]
assert "8080:8080" in svc["ports"], svc
PY
passed=$((passed + 1))
echo "examples: $passed passed, 0 failed"
