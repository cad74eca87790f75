#!/usr/bin/env python3
"""Before/after figures of the hardening (caps, paging, bounded journal reads), for one
mock binary: loopback only, bounded in count and time.

    python3 bench/hardening.py target/release/particle-auth-mock [--scale N]

Prints one JSON object:
- login_at_cap: p99 and worst latency (ms) of sequential password logins once the token
  table is at --max-tokens (an eviction must not scan the table), and as many logins
  into a nearly empty table after a warm-up (the baseline, same binary, same run), with the ratios at-cap / baseline;
- tokens_read: time and RSS (kB) before, at the peak during, and after reading every
  live token through GET /__mock/tokens (one answer where the binary sends them all,
  following next_cursor with limit=1000 where it pages);
- journal_limit_10: time (ms) of GET /__mock/journal?limit=10 on a full journal,
  against GET /__mock/health (the baseline).

Run it once on the binary before the change and once after; compare the two objects.
"""

import base64
import http.client
import json
import subprocess
import sys
import threading
import time

BASIC = "Basic " + base64.b64encode(b"particle:particle").decode()
FORM = "grant_type=password&username=user%40example.com&password=password"


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


def request(conn, method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    return response.status, response.read()


def login(conn):
    return request(
        conn,
        "POST",
        "/oauth/token",
        FORM,
        {"Authorization": BASIC, "Content-Type": "application/x-www-form-urlencoded"},
    )


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def timed_logins(conn, logins):
    times = []
    for _ in range(logins):
        began = time.perf_counter()
        status, _ = login(conn)
        times.append((time.perf_counter() - began) * 1000)
        assert status in (200, 503), status
    times.sort()
    return round(times[int(len(times) * 0.99) - 1], 3), round(times[-1], 3)


def login_at_cap(binary, cap, logins):
    proc, addr = start(binary, "--max-tokens", str(cap))
    try:
        conn = http.client.HTTPConnection(*addr, timeout=30)
        for _ in range(500):  # warm up: allocator, page faults, first table growths
            login(conn)
        base_p99, base_worst = timed_logins(conn, logins)  # the baseline: far from the cap
        for _ in range(cap - logins - 500):  # fill the table
            login(conn)
        p99, worst = timed_logins(conn, logins)
        return {
            "cap": cap,
            "logins": logins,
            "baseline_p99_ms": base_p99,
            "baseline_worst_ms": base_worst,
            "p99_ms": p99,
            "worst_ms": worst,
            "p99_vs_baseline": round(p99 / base_p99, 2),
            "worst_vs_baseline": round(worst / base_worst, 2),
        }
    finally:
        proc.kill()


def tokens_read(binary, tokens):
    proc, addr = start(binary, "--max-tokens", str(tokens + 16))
    try:
        conn = http.client.HTTPConnection(*addr, timeout=120)
        for _ in range(tokens):
            login(conn)
        before = rss_kb(proc.pid)
        peak = [before]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], rss_kb(proc.pid))
                time.sleep(0.005)

        sampler = threading.Thread(target=sample)
        sampler.start()
        began = time.perf_counter()
        status, body = request(conn, "GET", "/__mock/tokens?limit=1000")
        if status == 400:  # a binary without paging: limit is unknown, it sends them all
            status, body = request(conn, "GET", "/__mock/tokens")
        read, size, pages = len(json.loads(body)["tokens"]), len(body), 1
        cursor = json.loads(body).get("next_cursor")
        while cursor:
            status, body = request(conn, "GET", f"/__mock/tokens?limit=1000&cursor={cursor}")
            page = json.loads(body)
            read, size, pages = read + len(page["tokens"]), size + len(body), pages + 1
            cursor = page.get("next_cursor")
        took = (time.perf_counter() - began) * 1000
        done.set()
        sampler.join()
        time.sleep(0.5)
        return {
            "tokens": tokens,
            "status": status,
            "read": read,
            "pages": pages,
            "bytes": size,
            "ms": round(took, 1),
            "rss_before_kb": before,
            "rss_peak_kb": peak[0],
            "rss_after_kb": rss_kb(proc.pid),
        }
    finally:
        proc.kill()


def journal_limit_10(binary, size):
    # One tenant at most: --journal-size × (--max-tenants + 1) is capped at 5,000,000.
    proc, addr = start(binary, "--journal-size", str(size), "--max-tenants", "1")
    try:
        conn = http.client.HTTPConnection(*addr, timeout=60)
        for _ in range(size):
            request(conn, "GET", "/v1/user")
        def median(path):
            times = []
            for _ in range(5):
                began = time.perf_counter()
                status, _ = request(conn, "GET", path)
                times.append((time.perf_counter() - began) * 1000)
                assert status == 200, status
            return sorted(times)[2]

        journal, health = median("/__mock/journal?limit=10"), median("/__mock/health")
        return {
            "journal_size": size,
            "median_ms": round(journal, 3),
            "baseline_health_ms": round(health, 3),
            "vs_baseline": round(journal / health, 1),
        }
    finally:
        proc.kill()


def main():
    binary = sys.argv[1]
    scale = int(sys.argv[sys.argv.index("--scale") + 1]) if "--scale" in sys.argv else 1
    print(
        json.dumps(
            {
                "binary": binary,
                # At the cap for a quarter of the cap's logins: a batch eviction (1/16 of
                # the table) would come round four times.
                "login_at_cap": login_at_cap(binary, 10_000 * scale, 2_500 * scale),
                "tokens_read": tokens_read(binary, 5_000 * scale),
                "journal_limit_10": journal_limit_10(binary, min(10_000 * scale, 100_000)),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
