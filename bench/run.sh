#!/usr/bin/env bash
# One command for the benchmarks: `bench/run.sh` (full) or `bench/run.sh --smoke` (CI):
# bench.py (tokens, devices, memory) then events.py (event-stream fan-out).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "bench: installing wrk"; apt-get install -y wrk >/dev/null; }
python3 bench/bench.py "$@"
# The event fan-out benchmark (streams against a plain GET), same build, same CPUs.
exec python3 bench/events.py "$@"
