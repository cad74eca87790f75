#!/usr/bin/env bash
# One command for the benchmarks: `bench/run.sh` (full) or `bench/run.sh --smoke` (CI):
# bench.py (tokens, devices, memory; it builds the release binary), then stalls.py on that
# binary (fixtures, deep token pages, journal filters, each with a concurrent
# /__mock/health probe), then events.py (event-stream fan-out beside the fan-out floor of
# bench/floor.rs and a plain GET).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "bench: installing wrk"; apt-get install -y wrk >/dev/null; }
python3 bench/bench.py "$@"
smoke=()
for arg in "$@"; do [ "$arg" = "--smoke" ] && smoke=(--smoke); done
python3 bench/stalls.py target/x86_64-unknown-linux-gnu/release/particle-auth-mock "${smoke[@]}"
exec python3 bench/events.py "$@"
