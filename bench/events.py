#!/usr/bin/env python3
"""Event fan-out benchmark: the mock's event streams beside baselines, in one run.

The server runs on CPU 0 and the client (bench/events.rs, one thread, raw HTTP/1.1) on
CPU 1. Each round starts fresh servers and measures, each beside its baseline from the
same client in the same round:

- publish -> delivery latency p50/p99 with STREAMS open streams (each publish timed from
  its request's first byte to its frame's arrival on every stream), beside the same
  client against the fan-out floor (bench/floor.rs: a server that only writes each frame
  to each socket, the least any server pays for the same sockets and bytes), and beside
  the request -> response latency of a plain bearer GET /v1/user on the mock,
  interleaved one for one;
- deliveries per second: PUBLISHES publishes back to back to STREAMS streams, beside the
  floor's, and beside plain GET /v1/user responses per second on 16 connections;
- memory per idle stream: the server's RSS growth with IDLE idle streams open, beside
  its RSS growth with IDLE idle keep-alive connections that made one GET each (each on a
  fresh server).

Rounds alternate the measurements; the table gives each figure's median over the rounds
and the median of the per-round ratios to the floor. Not a timed test: it prints
figures, it does not fail on them.

Usage: bench/run.sh [--smoke]   (runs bench.py, then this)
       python3 bench/events.py [--smoke]
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET_DIR = os.path.join(ROOT, "target/x86_64-unknown-linux-gnu/release")
MOCK = os.path.join(TARGET_DIR, "particle-auth-mock")
CLIENT = os.path.join(TARGET_DIR, "examples/bench-events")
FLOOR = os.path.join(TARGET_DIR, "examples/bench-floor")
SERVER_CPU, LOAD_CPU = "0", "1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mock:
    """A fresh mock: no rate limits (the event-streams rule would stop at 100 streams),
    room for every connection, on the server CPU. `floor=True` starts the fan-out floor
    instead."""

    def __init__(self, connections, floor=False):
        self.port = free_port()
        self.addr = f"127.0.0.1:{self.port}"
        cmd = [MOCK, "--listen", self.addr, "--no-rate-limits",
               "--max-connections", str(connections + 100)]
        if floor:
            cmd = [FLOOR, self.addr]
        self.proc = subprocess.Popen(["taskset", "-c", SERVER_CPU, *cmd],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.01)
        raise RuntimeError("the mock did not start")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def client(*args):
    out = subprocess.run(["taskset", "-c", LOAD_CPU, CLIENT, *map(str, args)],
                         check=True, capture_output=True, text=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true", help="small counts, one round (CI)")
    ap.add_argument("--no-build", action="store_true", help="use the binaries already built")
    args = ap.parse_args()
    rounds = 1 if args.smoke else 5
    streams = 100 if args.smoke else 1_000
    publishes = 50 if args.smoke else 200
    idle = 500 if args.smoke else 10_000
    if not args.no_build:
        env = dict(os.environ, RUSTFLAGS="-C target-feature=+crt-static")
        subprocess.run(["cargo", "build", "--release", "--locked", "--quiet",
                        "--target", "x86_64-unknown-linux-gnu", "--bin", "particle-auth-mock",
                        "--example", "bench-events", "--example", "bench-floor"], cwd=ROOT, check=True, env=env)
    runs = {"latency": [], "floor-latency": [], "throughput": [], "floor-throughput": [],
            "idle-stream": [], "idle-get": []}
    for _ in range(rounds):
        for mode, floor in (("latency", False), ("floor-latency", True),
                            ("throughput", False), ("floor-throughput", True)):
            m = Mock(streams, floor=floor)
            runs[mode].append(client(m.addr, mode.removeprefix("floor-"), streams, publishes))
            m.stop()
        for mode in ("idle-get", "idle-stream"):
            m = Mock(idle)
            runs[mode].append(client(m.addr, mode, idle, m.proc.pid))
            m.stop()

    def med(mode, key):
        return statistics.median(r[key] for r in runs[mode])

    def ratio(mode, key):
        """The median over the rounds of the mock's figure over the floor's."""
        return statistics.median(m[key] / f[key]
                                 for m, f in zip(runs[mode], runs["floor-" + mode]))

    missing = sum(r["missing"] for r in runs["latency"] + runs["floor-latency"]) + sum(
        r["delivered"] != streams * publishes
        for r in runs["throughput"] + runs["floor-throughput"])
    rows = [
        (f"publish->delivery p50, {streams} streams", med("latency", "p50_us") / 1000,
         med("floor-latency", "p50_us") / 1000, ratio("latency", "p50_us"), "ms"),
        (f"publish->delivery p99, {streams} streams", med("latency", "p99_us") / 1000,
         med("floor-latency", "p99_us") / 1000, ratio("latency", "p99_us"), "ms"),
        (f"deliveries/s, {streams} streams x {publishes} publishes",
         med("throughput", "deliveries_per_sec"), med("floor-throughput", "deliveries_per_sec"),
         ratio("throughput", "deliveries_per_sec"), "/s"),
    ]
    baselines = [
        ("GET /v1/user p50 (interleaved with the publishes)",
         med("latency", "get_p50_us") / 1000, med("latency", "p50_us") / 1000, "ms"),
        ("GET /v1/user p99 (interleaved with the publishes)",
         med("latency", "get_p99_us") / 1000, med("latency", "p99_us") / 1000, "ms"),
        ("GET /v1/user responses/s, 16 connections", med("throughput", "gets_per_sec"),
         med("throughput", "deliveries_per_sec"), "/s"),
        (f"memory per idle keep-alive connection, {idle} open",
         med("idle-get", "bytes_per_connection") / 1024,
         med("idle-stream", "bytes_per_connection") / 1024, "KiB"),
    ]
    opened = min(r["connections"] for r in runs["idle-stream"])
    print(f"event fan-out | mode {'smoke' if args.smoke else 'full'} | rounds {rounds} | "
          f"server CPU {SERVER_CPU}, client CPU {LOAD_CPU} | idle streams opened {opened}/{idle} | "
          f"deliveries missing {missing}")
    print(f"{'metric':52} {'mock':>12} {'floor':>12} {'mock/floor':>11}  unit")
    for name, mock, floor, r, unit in rows:
        print(f"{name:52} {mock:12.2f} {floor:12.2f} {r:10.2f}x  {unit}")
    print(f"{'baseline (the mock itself)':52} {'baseline':>12} {'streams':>12} {'':>11}  unit")
    for name, base, mock, unit in baselines:
        print(f"{name:52} {base:12.2f} {mock:12.2f} {'':>11}  {unit}")
    print("raw:", json.dumps(runs))
    if opened < idle or missing:
        sys.exit("bench: not every stream opened or not every event was delivered")


if __name__ == "__main__":
    main()
