#!/usr/bin/env bash
# One command for the benchmark: `bench/run.sh` (full) or `bench/run.sh --smoke` (CI).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "bench: installing wrk"; apt-get install -y wrk >/dev/null; }
exec python3 bench/bench.py "$@"
