#!/usr/bin/env bash
# Installs what the test suites need beyond the Rust toolchain; idempotent, quick when all
# is there. Debian packages (podman, runc, chromium, wrk, shellcheck, jq, curl, iproute2), the npm
# projects (npm ci from their lockfiles), and a Python virtualenv target/ci-venv
# (scripts/requirements-ci.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
fail() { echo "setup: FAIL: $*" >&2; exit 1; }

missing=()
for pkg in podman runc chromium wrk shellcheck jq curl iproute2; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || fail "need root to apt-get install ${missing[*]}"
  echo "setup: apt-get install ${missing[*]}"
  apt-get update -qq || fail "apt-get update"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
    || fail "apt-get install ${missing[*]}"
fi

command -v node >/dev/null && command -v npm >/dev/null || fail "node/npm not installed"
for dir in tests/clients examples/node; do
  if ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.pam-lock-stamp"; then
    echo "setup: npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.pam-lock-stamp) \
      || fail "npm ci in $dir"
  fi
done

VENV=$ROOT/target/ci-venv
if ! cmp -s scripts/requirements-ci.txt "$VENV/.requirements-stamp"; then
  echo "setup: python venv $VENV"
  command -v python3 >/dev/null || fail "python3 not installed"
  python3 -m venv "$VENV" || fail "python3 -m venv"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r scripts/requirements-ci.txt \
    || fail "pip install -r scripts/requirements-ci.txt"
  cp scripts/requirements-ci.txt "$VENV/.requirements-stamp"
fi
echo "setup: ready"
