#!/usr/bin/env bash
# Builds the npm and PyPI packages from the static release binary and tests them as a user
# would: installed from their tarballs / wheel into a fresh scratch project under
# target/pkg/, then that project's own test suite runs there.
#   test-packages.sh npm      @particle-auth-mock/linux-x64 + particle-auth-mock (npm pack),
#                             node:test suite with particle-api-js, tsc on the types
#   test-packages.sh python   maturin wheel (reusing the release build), fresh venv, pytest
# Needs: node >= 18 and npm; python3 and target/ci-venv (maturin) from scripts/setup.sh;
# $PARTICLE_MOCK_BIN or the release build (scripts/test.sh builds it).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/target/pkg
VENV=${PARTICLE_MOCK_VENV:-$ROOT/target/ci-venv}
TRIPLE=x86_64-unknown-linux-gnu
BIN=${PARTICLE_MOCK_BIN:-$ROOT/target/$TRIPLE/release/particle-auth-mock}
fail() { echo "packages: FAIL: $*" >&2; exit 1; }
[ -x "$BIN" ] || fail "$BIN missing: build the release binary first (scripts/test.sh does)"
VERSION=$(sed -n '/^\[package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
size() { du -sk "$1" | awk '{ if ($1 < 1024) printf "%d kB", $1; else printf "%.1f MB", $1 / 1024 }'; }

npm_suite() {
  for tool in node npm; do command -v $tool >/dev/null || fail "$tool not installed"; done
  node packages/npm/platforms.js check
  rm -rf "$OUT/npm" && mkdir -p "$OUT/npm"
  node packages/npm/platforms.js make linux-x64 "$BIN" "$OUT/npm/linux-x64"
  (cd "$OUT/npm" && npm pack --silent ./linux-x64 "$ROOT/packages/npm" >/dev/null) || fail "npm pack"
  local main=$OUT/npm/particle-auth-mock-$VERSION.tgz plat=$OUT/npm/particle-auth-mock-linux-x64-$VERSION.tgz
  [ -f "$main" ] && [ -f "$plat" ] || fail "npm pack made no tarballs"
  # The scratch project: only the tarballs, particle-api-js and typescript, from the registry.
  local proj=$OUT/npm/project
  mkdir -p "$proj/test"
  cp packages/npm/test/helper.test.js packages/npm/test/esm.test.mjs "$proj/test/" && cp packages/npm/test/types.ts "$proj/"
  cat >"$proj/package.json" <<JSON
{ "name": "scratch", "private": true, "scripts": { "test": "node --test" },
  "devDependencies": { "particle-auth-mock": "file:$main", "@particle-auth-mock/linux-x64": "file:$plat",
                       "particle-api-js": "12.0.3", "typescript": "5.9.3" } }
JSON
  local t0 t1 t2; t0=$(now)
  (cd "$proj" && npm install --no-audit --no-fund --loglevel=error) || fail "npm install in the scratch project"
  t1=$(now)
  (cd "$proj" && env -u PARTICLE_AUTH_MOCK_BIN node --test --test-timeout=60000 test/) || fail "npm package suite"
  t2=$(now)
  (cd "$proj" && npx --no-install tsc --noEmit --strict --module nodenext --moduleResolution nodenext types.ts) \
    || fail "tsc on index.d.ts"
  echo "packages: npm tarballs $(size "$main") + $(size "$plat"); installed particle-auth-mock" \
       "$(size "$proj/node_modules/particle-auth-mock") + $(size "$proj/node_modules/@particle-auth-mock/linux-x64");" \
       "npm install $(secs "$t0" "$t1") s, suite $(secs "$t1" "$t2") s"
}

python_suite() {
  [ -x "$VENV/bin/maturin" ] || fail "maturin missing from $VENV: run scripts/setup.sh"
  rm -rf "$OUT/python" && mkdir -p "$OUT/python"
  # Same target, profile and RUSTFLAGS as the release binary: cargo finds it up to date.
  (cd packages/python && RUSTFLAGS="-C target-feature=+crt-static" CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target} \
    "$VENV/bin/maturin" build --release --locked --target $TRIPLE --compatibility manylinux2014 --out "$OUT/python") \
    || fail "maturin build"
  local wheel; wheel=$(ls "$OUT/python"/particle_auth_mock-"$VERSION"-*.whl 2>/dev/null | head -1)
  [ -n "$wheel" ] || fail "maturin built no wheel"
  local proj=$OUT/python/project t0 t1 t2
  mkdir -p "$proj" && cp packages/python/tests/test_*.py "$proj/"
  python3 -m venv "$proj/venv" || fail "python3 -m venv"
  t0=$(now)
  "$proj/venv/bin/pip" install --quiet --disable-pip-version-check "$wheel" pytest==9.2.0 requests==2.34.2 \
    || fail "pip install in the scratch venv"
  t1=$(now)
  (cd "$proj" && env -u PARTICLE_AUTH_MOCK_BIN -u PARTICLE_MOCK_URL venv/bin/python -m pytest -q -p no:cacheprovider) \
    || fail "python package suite"
  t2=$(now)
  local site; site=$("$proj/venv/bin/python" -c 'import particle_auth_mock, os; print(os.path.dirname(particle_auth_mock.__file__))')
  echo "packages: wheel $(basename "$wheel") $(size "$wheel"); installed $(size "$proj/venv/bin/particle-auth-mock") binary +" \
       "$(size "$site") module; pip install $(secs "$t0" "$t1") s, suite $(secs "$t1" "$t2") s"
}

case "${1:-}" in
  npm) npm_suite ;;
  python) python_suite ;;
  *) fail "usage: test-packages.sh npm|python" ;;
esac
