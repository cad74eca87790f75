#!/usr/bin/env bash
# Fuzzes every emulated Particle route (openapi/particle.json) with schemathesis against
# the real binary, on a short budget: zero 5xx, zero hangs (each request times out after
# 5 s, which schemathesis reports as a failure), every error body JSON (custom check in
# hooks.py). Two passes: one with generated path parameters (mostly unknown resources),
# one pinned to the default fixtures' product, org, device and API user so that the
# handlers behind the 404s are reached too. The event streams (tag `stream`) are left out:
# an SSE stream never ends, so every case would be a timeout; tests/api/events.rs covers them.
#
# One worker: with two, hypothesis' lambda-source parsing (CPython 3.11 `ast`, not
# thread-safe) now and then fails a case with "AST constructor recursion depth mismatch",
# an error of the fuzzer, not of the mock.
#
# Env: ST_MAX_EXAMPLES (cases per operation and phase, default 25), ST_SEED (default 1).
set -euo pipefail
cd "$(dirname "$0")/../.."

# schemathesis from the CI virtualenv (scripts/setup.sh), else from PATH, else installed.
ST=target/ci-venv/bin/st
if [ ! -x "$ST" ]; then
    if ! command -v st >/dev/null 2>&1; then
        python3 -m pip install --quiet 'schemathesis>=4,<5'
    fi
    ST=st
fi
cargo build --quiet --bin particle-auth-mock

work="$(mktemp -d)"
PARTICLE_MOCK_NO_RATE_LIMITS=true target/debug/particle-auth-mock --listen 127.0.0.1:0 \
    >"$work/stdout" 2>"$work/stderr" &
mock_pid=$!
cleanup() {
    kill "$mock_pid" 2>/dev/null || true
    wait "$mock_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 100); do
    grep -q '^listening on ' "$work/stdout" 2>/dev/null && break
    sleep 0.1
done
url="$(sed -n 's/^listening on //p' "$work/stdout")"
[ -n "$url" ] || { echo "the mock did not start"; cat "$work/stderr"; exit 1; }
export MOCK_URL="$url"

token=1111111111111111111111111111111111111111
common=(
    --url "$url"
    -H "Authorization: Bearer $token"
    --checks not_a_server_error,error_bodies_are_json
    --request-timeout 5
    --max-examples "${ST_MAX_EXAMPLES:-25}"
    --seed "${ST_SEED:-1}"
    --workers 1
    --phases examples,coverage,fuzzing
    --exclude-tag stream
    --suppress-health-check all
    --warnings "${ST_WARNINGS:-off}"
    --no-color
)
cat >"$work/pinned.toml" <<TOML
[parameters]
"path.productIdOrSlug" = "demo-product"
"path.orgIdOrSlug" = "demo-org"
"path.deviceId" = "89abcdef0123456789abcdef"
"path.username" = "demo-api-user+abcde12345@api.particle.io"
TOML

status=0
total=0
for pass in generated pinned; do
    config=()
    [ "$pass" = pinned ] && config=(--config-file "$work/pinned.toml")
    echo "== schemathesis: $pass path parameters"
    if ! PYTHONPATH=tests/fuzz SCHEMATHESIS_HOOKS=hooks \
        "$ST" "${config[@]}" run openapi/particle.json "${common[@]}" >"$work/$pass.log" 2>&1; then
        status=1
        cat "$work/$pass.log"
    fi
    sed -n '/^Test cases:/,/^$/p' "$work/$pass.log"
    cases="$(sed -n 's/^ *\([0-9][0-9]*\) generated.*/\1/p' "$work/$pass.log" | head -1)"
    total=$((total + ${cases:-0}))
done
if grep -q 'panicked' "$work/stderr"; then
    echo "the mock panicked:"; cat "$work/stderr"; status=1
fi
echo "schemathesis: $total cases against $url, exit $status"
exit "$status"
