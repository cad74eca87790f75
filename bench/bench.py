#!/usr/bin/env python3
"""Benchmark particle-auth-mock against a bare-axum baseline, in one run on one machine.

Builds both in release mode, then measures for each: cold start (spawn to first 200 from
POST /oauth/token, median of several starts), token throughput and p50/p99 latency with
Basic client auth (wrk; server pinned to core 0, wrk to core 1), the same with rate limits
on and a distinct X-Forwarded-For per request, bearer GET /v1/access_tokens/current
throughput, RSS idle and peak, bytes per live token (RSS growth over N issued tokens) and
memory with N distinct client IPs tracked, then after their window has passed.
Prints one table; every figure is also given as a ratio to the baseline of the same run.
A third figure is the cost of watching: token throughput of the same mock with one journal
stream viewer connected (`curl -N /__mock/journal/stream`, on the load CPU) against none,
in the same rounds.
A second table gives the throughput of a *reference*: the baseline that also keeps its
tokens and one record per client (`bench-baseline --store`), i.e. what storing alone costs
a bare handler, and the mock's throughput as a ratio to it.

Devices: in the same rounds as the mock's token runs, bearer `GET /v1/user`, a function call
(`POST /v1/devices/demo-argon/echo`) and a variable read (`GET /v1/devices/demo-argon/temperature`)
on the default fixtures, the last two given as ratios to `GET /v1/user` (median of the
rounds' ratios).

Usage: bench/run.sh [--smoke]   (--smoke: short runs and small counts, for CI)
"""
import argparse
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Both built like the Docker image's binary: static, release profile (LTO, one codegen unit).
TARGET_DIR = os.path.join(ROOT, "target/x86_64-unknown-linux-gnu/release")
MOCK = os.path.join(TARGET_DIR, "particle-auth-mock")
BASELINE = os.path.join(TARGET_DIR, "examples/bench-baseline")
LUA = os.path.join(ROOT, "bench/wrk/token.lua")
FORM = "grant_type=password&username=user%40example.com&password=password"
BASIC = "Basic cGFydGljbGU6cGFydGljbGU="
BEARER = "Bearer 1111111111111111111111111111111111111111"
SERVER_CPU, LOAD_CPU = "0", "1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def token_ok(port):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        c.request("POST", "/oauth/token", FORM, {
            "Authorization": BASIC, "Content-Type": "application/x-www-form-urlencoded"})
        ok = c.getresponse().status == 200
        c.close()
        return ok
    except OSError:
        return False


class Server:
    def __init__(self, kind, extra=()):
        self.kind = kind
        self.port = free_port()
        addr = f"127.0.0.1:{self.port}"
        if kind == "baseline":
            cmd = [BASELINE, addr]
        elif kind == "reference":
            cmd = [BASELINE, addr, "--store"]
        else:
            cmd = [MOCK, "--listen", addr, "--max-tokens", "4000000", *extra]
        self.cmd = ["taskset", "-c", SERVER_CPU, *cmd]
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait_ready(self, timeout=10.0):
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if token_ok(self.port):
                return time.perf_counter() - self.t0
            time.sleep(0.0005)
        raise RuntimeError(f"{self.kind} did not answer: {self.cmd}")

    def rss(self):
        return rss_kib(self.proc.pid)

    def peak(self):
        return rss_kib(self.proc.pid, "VmHWM")

    def control(self, method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        c.request(method, path, json.dumps(body) if body is not None else None,
                  {"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def wrk(port, seconds, connections=64, env=None):
    e = dict(os.environ)
    e.update(env or {})
    out = subprocess.run(
        ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s",
         "--latency", "-s", LUA, f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, env=e, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)

    def pct(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        v, unit = float(m.group(1)), m.group(2)
        return v * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {"rps": rps, "p50": pct(50), "p99": pct(99), "total": total,
            "non2xx": int(non2xx.group(1)) if non2xx else 0}


def wrk_count(port, requests, env=None):
    """Sends exactly `requests` requests (64 connections); returns (answers, non-2xx)."""
    e = dict(os.environ)
    e.update(env or {})
    e["BENCH_REQUESTS"] = str(requests)
    out = subprocess.run(
        ["taskset", "-c", LOAD_CPU, "wrk", "-t1", "-c64", "-d3600s", "-s", LUA,
         f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, env=e, check=True, timeout=3600).stdout
    m = re.search(r"BENCH_DONE (\d+) (\d+)", out)
    if not m:
        raise RuntimeError(f"wrk did not finish its {requests} requests: {out}")
    return int(m.group(1)), int(m.group(2))


class Viewer:
    """A journal stream viewer: `curl -N` on the load CPU, its output kept in a file so
    that the events received and the losses reported can be counted afterwards."""

    def __init__(self, port, path):
        self.path = path
        self.out = open(path, "wb")
        self.proc = subprocess.Popen(
            ["taskset", "-c", LOAD_CPU, "curl", "-sN", f"http://127.0.0.1:{port}/__mock/journal/stream"],
            stdout=self.out, stderr=subprocess.DEVNULL)
        # The stream's opening comment: the viewer is subscribed.
        deadline = time.perf_counter() + 10
        while os.path.getsize(path) == 0:
            if time.perf_counter() > deadline:
                raise RuntimeError("the journal stream did not open")
            time.sleep(0.005)

    def stop(self):
        """Stops the viewer; (events received, entries reported dropped)."""
        self.proc.terminate()
        self.proc.wait(5)
        self.out.close()
        with open(self.path, "rb") as f:
            text = f.read()
        os.unlink(self.path)
        events = text.count(b"\nid: ") + text.startswith(b"id: ")
        dropped = sum(int(m) for m in re.findall(rb'"dropped":(\d+)\}', text))
        return events, dropped


def cold_start(kind, runs):
    times = []
    for _ in range(runs):
        s = Server(kind, ["--no-rate-limits"] if kind == "mock" else [])
        times.append(s.wait_ready() * 1000)
        s.stop()
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true", help="short runs and small counts (CI)")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench: wrk is missing (apt-get install wrk)")
    secs = 2 if args.smoke else 3
    rounds = 1 if args.smoke else 9
    starts = 3 if args.smoke else 9
    tokens = 20_000 if args.smoke else 1_000_000
    ips = 20_000 if args.smoke else 1_000_000
    env = dict(os.environ, RUSTFLAGS="-C target-feature=+crt-static")
    subprocess.run(["cargo", "build", "--release", "--locked", "--quiet",
                    "--target", "x86_64-unknown-linux-gnu", "--bin", "particle-auth-mock",
                    "--example", "bench-baseline"], cwd=ROOT, check=True, env=env)
    rows = []  # (metric, baseline, mock, unit, better[, ratio: median of per-round ratios])

    b_cold, m_cold = cold_start("baseline", starts), cold_start("mock", starts)
    rows.append(("cold start (median)", b_cold, m_cold, "ms", "lower"))

    # Throughput runs alternate baseline and mock, `rounds` times each, and keep each
    # figure's median: this machine's noise is larger than the differences measured.
    runs = {k: {"tok": [], "cur": [], "xff": [], "idle": [], "peak": [],
                "user": [], "fn": [], "var": []}
            for k in ("baseline", "mock", "reference", "viewer")}
    watched = []  # per round: (requests answered, events the viewer received, reported dropped)
    for _ in range(rounds):
        for kind in ("baseline", "mock", "reference"):
            r = runs[kind]
            if kind == "reference":  # throughput only: token requests, one and many clients
                for key, extra in (("tok", {}), ("xff", {"BENCH_XFF": "1"})):
                    s = Server(kind)
                    s.wait_ready()
                    r[key].append(wrk(s.port, secs, env=extra))
                    s.stop()
                continue
            s = Server(kind, ["--no-rate-limits"])
            s.wait_ready()
            r["idle"].append(s.rss())
            r["tok"].append(wrk(s.port, secs))
            r["cur"].append(wrk(s.port, secs, env={"BENCH_PATH": "/v1/access_tokens/current",
                                                   "BENCH_METHOD": "GET", "BENCH_AUTH": BEARER}))
            if kind == "mock":  # the simulated devices against GET /v1/user, same server
                for key, path, method, body in (
                        ("user", "/v1/user", "GET", None),
                        ("fn", "/v1/devices/demo-argon/echo", "POST", "args=hello"),
                        ("var", "/v1/devices/demo-argon/temperature", "GET", None)):
                    extra = {"BENCH_PATH": path, "BENCH_METHOD": method, "BENCH_AUTH": BEARER}
                    if body:
                        extra["BENCH_BODY"] = body
                    r[key].append(wrk(s.port, secs, env=extra))
            r["peak"].append(s.peak())
            s.stop()
            s = Server(kind, ["--trust-forwarded"])
            s.wait_ready()
            r["xff"].append(wrk(s.port, secs, env={"BENCH_XFF": "1"}))
            s.stop()
            if kind == "mock":  # the same token run, with a stream viewer connected
                s = Server(kind, ["--no-rate-limits"])
                s.wait_ready()
                viewer = Viewer(s.port, os.path.join(ROOT, "target", f"bench-viewer-{s.port}.sse"))
                result = wrk(s.port, secs)
                runs["viewer"]["tok"].append(result)
                watched.append((result["total"], *viewer.stop()))
                s.stop()

    def med(kind, key, field=None):
        values = runs[kind][key]
        return statistics.median(v[field] if field else v for v in values)

    results = {
        kind: {
            "idle": med(kind, "idle"), "peak": med(kind, "peak"),
            **{key: {f: med(kind, key, f) for f in ("rps", "p50", "p99", "non2xx")}
               for key in ("tok", "cur", "xff")},
        }
        for kind in ("baseline", "mock")
    }
    reference = {key: {f: med("reference", key, f) for f in ("rps", "non2xx")}
                 for key in ("tok", "xff")}

    def round_ratio(kind, key, field, base_key="tok", base_kind="baseline"):
        """Median over rounds of the round's ratio: a round runs its servers back to back,
        so a drift of the machine between rounds cancels out."""
        return statistics.median(x[field] / y[field] for x, y in
                                 zip(runs[kind][key], runs[base_kind][base_key]))

    print("per round (req/s):")
    for i in range(rounds):
        print(f"  round {i + 1}: " + ", ".join(
            f"{kind} {key} {runs[kind][key][i]['rps']:.0f}"
            for kind in ("baseline", "mock", "reference", "viewer") for key in ("tok", "xff", "cur")
            if runs[kind][key]))
    b, m = results["baseline"], results["mock"]
    rows += [
        ("token req/s", b["tok"]["rps"], m["tok"]["rps"], "req/s", "higher",
         round_ratio("mock", "tok", "rps")),
        ("token p50", b["tok"]["p50"], m["tok"]["p50"], "ms", "lower",
         round_ratio("mock", "tok", "p50")),
        ("token p99", b["tok"]["p99"], m["tok"]["p99"], "ms", "lower",
         round_ratio("mock", "tok", "p99")),
        ("token req/s, a stream viewer connected", b["tok"]["rps"], med("viewer", "tok", "rps"),
         "req/s", "higher", round_ratio("viewer", "tok", "rps")),
        ("token req/s, limits on, distinct IPs", b["tok"]["rps"], m["xff"]["rps"], "req/s",
         "higher", round_ratio("mock", "xff", "rps")),
        ("token p99, limits on, distinct IPs", b["tok"]["p99"], m["xff"]["p99"], "ms", "lower",
         round_ratio("mock", "xff", "p99")),
        ("GET /v1/access_tokens/current req/s", b["cur"]["rps"], m["cur"]["rps"], "req/s",
         "higher", round_ratio("mock", "cur", "rps", base_key="cur")),
        ("RSS idle", b["idle"] / 1024, m["idle"] / 1024, "MiB", "lower"),
        ("peak RSS after load", b["peak"] / 1024, m["peak"] / 1024, "MiB", "lower"),
    ]
    for kind in ("baseline", "mock"):
        for key in ("tok", "cur", "xff"):
            if results[kind][key]["non2xx"]:
                print(f"warning: {kind} {key}: {results[kind][key]['non2xx']} non-2xx answers")
    for key in ("tok", "xff"):
        if reference[key]["non2xx"]:
            print(f"warning: reference {key}: {reference[key]['non2xx']} non-2xx answers")

    # Bytes per live token: RSS growth over `tokens` logins (each: access + refresh token).
    s = Server("mock", ["--no-rate-limits"])
    s.wait_ready()
    before = s.rss()
    logins, bad = wrk_count(s.port, tokens)
    grown = (s.rss() - before) * 1024
    s.stop()
    if bad:
        print(f"warning: {bad} of {logins} logins were not 200")
    rows.append((f"bytes per login: access + refresh token ({logins})", None,
                 grown / max(logins, 1), "B", "lower"))
    rows.append(("bytes per live token (2 per login)", None, grown / max(2 * logins, 1), "B", "lower"))

    # Distinct client IPs tracked by the limiter, then after their window has passed.
    s = Server("mock", ["--trust-forwarded", "--max-tracked-clients", str(max(ips, 1_000_000))])
    s.wait_ready()
    before = s.rss()
    clients, _ = wrk_count(s.port, ips, env={"BENCH_XFF": "1", "BENCH_PATH": "/v1/devices",
                                            "BENCH_METHOD": "GET"})
    tracked = s.rss()
    s.control("POST", "/__mock/clock/advance", {"seconds": 1801})
    after = tracked
    for _ in range(40):  # the periodic sweep runs every few seconds
        time.sleep(0.5)
        after = s.rss()
        if after <= before + 4096:
            break
    s.stop()
    rows.append((f"RSS with {clients} client IPs tracked", b["idle"] / 1024, tracked / 1024, "MiB", "lower"))
    rows.append(("RSS after their window passed", b["idle"] / 1024, after / 1024, "MiB", "lower"))
    rows.append(("  idle RSS of that mock, for comparison", b["idle"] / 1024, before / 1024, "MiB", "lower"))

    print()
    print(f"{'metric':<44} {'baseline':>12} {'mock':>12} {'unit':>6} {'mock/baseline':>14}")
    print("-" * 92)
    for name, base, mock, unit, _, *per_round in rows:
        ratio = f"{(per_round[0] if per_round else mock / base):.2f}x" if base else "n/a"
        bs = f"{base:.2f}" if base is not None else "-"
        print(f"{name:<44} {bs:>12} {mock:>12.2f} {unit:>6} {ratio:>14}")
    print()
    print("reference: the baseline that also keeps its two tokens and one record per client,")
    print("each in a 64-shard map (bench-baseline --store): what storing alone costs a bare handler")
    print(f"{'metric':<44} {'reference':>12} {'ref/baseline':>14} {'mock/reference':>16}")
    print("-" * 90)
    for name, key in (("token req/s, one client", "tok"),
                      ("token req/s, distinct IPs (mock: limits on)", "xff")):
        ref = reference[key]["rps"]
        print(f"{name:<44} {ref:>12.2f} {round_ratio('reference', key, 'rps'):>13.2f}x "
              f"{round_ratio('mock', key, 'rps', base_key=key, base_kind='reference'):>15.2f}x")
    print()
    print("devices: throughput of the simulated devices against bearer GET /v1/user, same mock, same rounds")
    print(f"{'metric':<44} {'req/s':>12} {'/ GET /v1/user':>16}")
    print("-" * 74)
    for name, key in (("GET /v1/user", "user"),
                      ("POST /v1/devices/{id}/{function}", "fn"),
                      ("GET /v1/devices/{id}/{variable}", "var")):
        ratio = round_ratio("mock", key, "rps", base_key="user", base_kind="mock")
        print(f"{name:<44} {med('mock', key, 'rps'):>12.2f} {ratio:>15.2f}x")
        bad = sum(v["non2xx"] for v in runs["mock"][key])
        if bad:
            print(f"warning: mock {key}: {bad} non-2xx answers")
    print()
    ratio = round_ratio("viewer", "tok", "rps", base_kind="mock")
    print(f"watching: token req/s with one journal stream viewer / with none, same rounds: "
          f"{ratio:.3f}x (median of the rounds' ratios)")
    for i, (answered, events, dropped) in enumerate(watched):
        print(f"  round {i + 1}: {answered} requests answered (wrk's count), the viewer received "
              f"{events} events and was told of {dropped} dropped")
    print()
    print("baseline and mock columns: medians over the rounds; throughput and latency ratios:")
    print("the median over the rounds of each round's ratio (one round runs its servers back")
    print("to back); other ratios: mock / baseline.")
    print("mode:", "smoke" if args.smoke else "full", "| server on CPU", SERVER_CPU,
          "| wrk on CPU", LOAD_CPU)


if __name__ == "__main__":
    main()
