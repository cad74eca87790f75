#!/usr/bin/env python3
"""Issue 27's stall cases, for one mock binary: loopback only, bounded in count and time.

    python3 bench/stalls.py target/release/particle-auth-mock [--smoke | --scale N] [--tenant-rounds N]

Runs, each on a fresh mock with a `GET /__mock/health` probe polling every 5 ms beside it:
1. fixtures: `POST /__mock/reset` with a ~1.8 MB document (26,000 products, 28,000
   customers naming the last product), then three concurrent `POST /__mock/tenants` of
   the same document;
2. tokens: 30,000 live tokens, then `GET /__mock/tokens?page=15000&per_page=1`, then two
   concurrent `page=30000` calls;
3. journal: 250 requests to a 14 KB path, then `GET /__mock/journal?limit=1&path=*zzz…y`
   with 7,000 `z` (refused once patterns are bounded) and with 1,000 `z`;
4. pages: 9,000 customers of one product, each owning one of its 9,000 devices, then
   four concurrent deep pages (`page=90&per_page=100`) of the product's customers and
   four of its devices, with an API user's token;
and, with --tenant-rounds N (0 in smoke mode), the RSS (kB) after each of N rounds of
1,000 tenants created and deleted.
Prints one JSON object: per case, each operation's time (ms) and status, and the probe's
worst latency (ms) while the case ran (target < 50 ms); an operation past 120 s reports
"timeout". --smoke (or --scale 10) divides every count by 10.
Run it once on the binary before a change and once after; compare the two objects.
"""

import http.client
import json
import subprocess
import sys
import threading
import time


def start(binary, *flags):
    proc = subprocess.Popen(
        [binary, "--listen", "127.0.0.1:0", "--no-rate-limits", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = proc.stdout.readline().strip()
    host, port = line.rsplit("/", 1)[-1].split(":")
    return proc, (host, int(port))


# How long one operation may take before it is reported as a timeout (the unfixed mock
# stalls for minutes on a loaded machine).
OP_TIMEOUT = 120


def call(addr, method, path, body=None, headers=None):
    started = time.perf_counter()
    try:
        conn = http.client.HTTPConnection(*addr, timeout=OP_TIMEOUT)
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        conn.close()
        status = response.status
    except OSError:
        status, data = "timeout", b""
    return status, (time.perf_counter() - started) * 1000, data


class Probe:
    """Polls /__mock/health every 5 ms on its own connection; keeps the worst latency."""

    def __init__(self, addr):
        self.addr = addr
        self.worst = 0.0
        self.count = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        conn = http.client.HTTPConnection(*self.addr, timeout=OP_TIMEOUT)
        while not self.stop.is_set():
            started = time.perf_counter()
            try:
                conn.request("GET", "/__mock/health")
                conn.getresponse().read()
            except OSError:
                conn.close()
                conn = http.client.HTTPConnection(*self.addr, timeout=OP_TIMEOUT)
            self.worst = max(self.worst, (time.perf_counter() - started) * 1000)
            self.count += 1
            time.sleep(0.005)
        conn.close()

    def __enter__(self):
        self.thread.start()
        time.sleep(0.05)
        return self

    def __exit__(self, *_):
        self.stop.set()
        self.thread.join()


def concurrently(*jobs):
    """Runs the jobs on threads; their results in order."""
    results = [None] * len(jobs)

    def run(i, job):
        results[i] = job()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def op(result):
    status, ms, _ = result
    return {"status": status, "ms": round(ms, 1)}


JSON = {"Content-Type": "application/json"}


def fixtures_case(binary, scale):
    products = 26_000 // scale
    customers = 28_000 // scale
    doc = {
        "users": [{"email": "user@example.com", "password": "password"}],
        "products": [{"id": i + 1, "slug": f"p{i + 1}"} for i in range(products)],
        "customers": [
            {"email": f"c{i}@x.io", "password": "pw", "product": f"p{products}"}
            for i in range(customers)
        ],
    }
    body = json.dumps(doc, separators=(",", ":")).encode()
    proc, addr = start(binary)
    try:
        with Probe(addr) as probe:
            reset = call(addr, "POST", "/__mock/reset", body, JSON)
            tenants = concurrently(
                *[lambda: call(addr, "POST", "/__mock/tenants", body, JSON)] * 3
            )
        return {
            "document_bytes": len(body),
            "reset": op(reset),
            "tenants": [op(t) for t in tenants],
            "probe_worst_ms": round(probe.worst, 1),
            "probes": probe.count,
        }
    finally:
        proc.kill()


def tokens_case(binary, scale):
    count = 30_000 // scale
    proc, addr = start(binary)
    try:
        def issue(n):
            conn = http.client.HTTPConnection(*addr, timeout=60)
            for _ in range(n):
                conn.request("POST", "/__mock/tokens",
                             json.dumps({"user": "user@example.com", "expires_in": 0}), JSON)
                conn.getresponse().read()
            conn.close()

        concurrently(*[lambda: issue(count // 4)] * 4)
        with Probe(addr) as probe:
            middle = call(addr, "GET", f"/__mock/tokens?page={count // 2}&per_page=1")
            last = concurrently(
                *[lambda: call(addr, "GET", f"/__mock/tokens?page={count}&per_page=1")] * 2
            )
        return {
            "tokens": count,
            "page_middle": op(middle),
            "page_last_x2": [op(x) for x in last],
            "probe_worst_ms": round(probe.worst, 1),
            "probes": probe.count,
        }
    finally:
        proc.kill()


def journal_case(binary, scale):
    proc, addr = start(binary, "--max-header-bytes", "65536")
    try:
        path = "/v1/" + "z" * 14_000
        conn = http.client.HTTPConnection(*addr, timeout=60)
        for _ in range(250 // scale):
            conn.request("GET", path)
            conn.getresponse().read()
        conn.close()
        results = {}
        with Probe(addr) as probe:
            for zs in (7_000, 1_000):
                pattern = "*" + "z" * zs + "y"
                results[f"filter_{zs}_z"] = op(
                    call(addr, "GET", f"/__mock/journal?limit=1&path={pattern}")
                )
        results["probe_worst_ms"] = round(probe.worst, 1)
        results["probes"] = probe.count
        return results
    finally:
        proc.kill()


def pages_case(binary, scale):
    count = 9_000 // scale
    token = "3" * 40
    doc = {
        "users": [{"email": "user@example.com", "password": "password"}],
        "products": [{"id": 1, "slug": "p1", "platform_id": 12}],
        "api_users": [{
            "friendly_name": "bench", "username": "bench+abcde12345@api.particle.io",
            "product": "p1", "scopes": ["devices:list", "customers:list"], "token": token,
        }],
        "customers": [
            {"email": f"c{i}@x.io", "password": "pw", "product": "p1"} for i in range(count)
        ],
        "devices": [
            {"id": f"{i:024x}", "product": "p1", "customer": f"c{i}@x.io", "platform_id": 12}
            for i in range(count)
        ],
    }
    body = json.dumps(doc, separators=(",", ":")).encode()
    proc, addr = start(binary)
    auth = {"Authorization": f"Bearer {token}"}
    page = max(1, count // 100)
    try:
        loaded = call(addr, "POST", "/__mock/reset", body, JSON)
        with Probe(addr) as probe:
            customers = concurrently(*[lambda: call(
                addr, "GET", f"/v1/products/p1/customers?page={page}&per_page=100", None, auth
            )] * 4)
            devices = concurrently(*[lambda: call(
                addr, "GET", f"/v1/products/p1/devices?page={page}&per_page=100", None, auth
            )] * 4)
        return {
            "reset": op(loaded),
            "customers_page_x4": [op(x) for x in customers],
            "devices_page_x4": [op(x) for x in devices],
            "probe_worst_ms": round(probe.worst, 1),
            "probes": probe.count,
        }
    finally:
        proc.kill()


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def tenants_memory(binary, rounds):
    proc, addr = start(binary, "--max-tenants", "1000")
    try:
        conn = http.client.HTTPConnection(*addr, timeout=60)
        series = [rss_kb(proc.pid)]
        for _ in range(rounds):
            ids = []
            for _ in range(1_000):
                conn.request("POST", "/__mock/tenants", b"", JSON)
                ids.append(json.loads(conn.getresponse().read())["id"])
            for tenant in ids:
                conn.request("DELETE", f"/__mock/tenants/{tenant}")
                conn.getresponse().read()
            series.append(rss_kb(proc.pid))
        conn.close()
        return {"rss_kb_after_each_round": series}
    finally:
        proc.kill()


def main():
    args = sys.argv[1:]
    binary = args[0]
    smoke = "--smoke" in args
    scale = 10 if smoke else 1
    if "--scale" in args:
        scale = int(args[args.index("--scale") + 1])
    rounds = 0 if smoke else 14
    if "--tenant-rounds" in args:
        rounds = int(args[args.index("--tenant-rounds") + 1])
    cases = [
        ("fixtures", fixtures_case),
        ("tokens", tokens_case),
        ("journal", journal_case),
        ("pages", pages_case),
    ]
    if rounds:
        cases.append(("tenants_memory", lambda b, _: tenants_memory(b, rounds)))
    out = {"scale": scale}
    for name, case in cases:
        out[name] = case(binary, scale)
        # One line per case as it ends, so a slow run still reports what it measured.
        print(json.dumps({name: out[name]}), flush=True)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
