#!/usr/bin/env python3
"""A/B of two mock binaries against the bare-axum baseline, in one run, interleaved.

Each round runs, back to back: the baseline, binary A and binary B, each on token
requests (POST /oauth/token, no limits), bearer GET /v1/access_tokens/current, and token
requests with limits on and a distinct X-Forwarded-For per request. A figure is the median
over rounds of that round's ratio to the baseline (drift between rounds cancels out), and
B/A is the median of the rounds' B/A ratios. Used to decide changes such as the
dispatcher's (docs/performance.md): build A from the commit before, B from the commit after.

Usage: bench/ab.py A_BINARY B_BINARY [--rounds 20] [--secs 3]
(the baseline is this checkout's `bench-baseline` example, built by bench/run.sh)
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the same servers, wrk runs and pinning as bench/run.sh)

CASES = {
    "token req/s": (["--no-rate-limits"], {}),
    "current req/s": (["--no-rate-limits"], {"BENCH_PATH": "/v1/access_tokens/current",
                                             "BENCH_METHOD": "GET", "BENCH_AUTH": bench.BEARER}),
    "token req/s, limits on, distinct IPs": (["--trust-forwarded"], {"BENCH_XFF": "1"}),
}


def run(binary, extra, env, secs):
    bench.MOCK = binary
    s = bench.Server("mock" if binary else "baseline", extra if binary else ())
    s.wait_ready()
    r = bench.wrk(s.port, secs, env=env)
    s.stop()
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--secs", type=int, default=3)
    args = ap.parse_args()
    got = {case: {"base": [], "a": [], "b": []} for case in CASES}
    for i in range(args.rounds):
        for case, (extra, env) in CASES.items():
            got[case]["base"].append(run(None, (), env, args.secs))
            got[case]["a"].append(run(args.a, extra, env, args.secs))
            got[case]["b"].append(run(args.b, extra, env, args.secs))
        print(f"round {i + 1}/{args.rounds}: " + ", ".join(
            f"{c}: base {g['base'][-1]['rps']:.0f} a {g['a'][-1]['rps']:.0f} "
            f"b {g['b'][-1]['rps']:.0f}" for c, g in got.items()), flush=True)
    print(f"\n{'metric':40} {'A/base':>8} {'B/base':>8} {'B/A':>8}   (medians of per-round ratios)")
    for case, g in got.items():
        for field in ("rps", "p99"):
            ratio = lambda xs, ys: statistics.median(x[field] / y[field] for x, y in zip(xs, ys))
            name = case if field == "rps" else case.replace("req/s", "p99")
            print(f"{name:40} {ratio(g['a'], g['base']):8.3f} {ratio(g['b'], g['base']):8.3f} "
                  f"{ratio(g['b'], g['a']):8.3f}")


if __name__ == "__main__":
    main()
