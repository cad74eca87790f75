#!/usr/bin/env bash
# One command for the benchmark: `bench/run.sh` (full) or `bench/run.sh --smoke` (CI).
# The throughput tables (bench.py, which builds the release binary), then issue 27's stall
# cases on that binary (stalls.py: fixtures, deep token pages, journal filters, each with
# a concurrent /__mock/health probe).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "bench: installing wrk"; apt-get install -y wrk >/dev/null; }
python3 bench/bench.py "$@"
smoke=()
for arg in "$@"; do [ "$arg" = "--smoke" ] && smoke=(--smoke); done
exec python3 bench/stalls.py target/x86_64-unknown-linux-gnu/release/particle-auth-mock "${smoke[@]}"
