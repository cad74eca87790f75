#!/usr/bin/env python3
"""Issue 16's before/after figures, for one mock binary: loopback only, bounded in count
and time.

    python3 bench/hardening.py target/release/particle-auth-mock [--scale N]

Prints one JSON object:
- login_at_cap: p99 and worst latency (ms) of sequential password logins once the token
  table is at --max-tokens (finding 4);
- tokens_read: RSS (kB) before, at the peak during, and after one GET /__mock/tokens over
  that many live tokens (finding 6);
- journal_limit_10: time (ms) of GET /__mock/journal?limit=10 on a full journal (finding 6).

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


def login_at_cap(binary, cap, logins):
    proc, addr = start(binary, "--max-tokens", str(cap))
    try:
        conn = http.client.HTTPConnection(*addr, timeout=30)
        for _ in range(cap):  # fill the table
            login(conn)
        times = []
        for _ in range(logins):
            began = time.perf_counter()
            status, _ = login(conn)
            times.append((time.perf_counter() - began) * 1000)
            assert status in (200, 503), status
        times.sort()
        return {
            "cap": cap,
            "logins": logins,
            "p99_ms": round(times[int(len(times) * 0.99) - 1], 3),
            "worst_ms": round(times[-1], 3),
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
        status, body = request(conn, "GET", "/__mock/tokens")
        took = (time.perf_counter() - began) * 1000
        done.set()
        sampler.join()
        time.sleep(0.5)
        return {
            "tokens": tokens,
            "status": status,
            "bytes": len(body),
            "ms": round(took, 1),
            "rss_before_kb": before,
            "rss_peak_kb": peak[0],
            "rss_after_kb": rss_kb(proc.pid),
        }
    finally:
        proc.kill()


def journal_limit_10(binary, size):
    proc, addr = start(binary, "--journal-size", str(size))
    try:
        conn = http.client.HTTPConnection(*addr, timeout=60)
        for _ in range(size):
            request(conn, "GET", "/v1/user")
        times = []
        for _ in range(5):
            began = time.perf_counter()
            status, _ = request(conn, "GET", "/__mock/journal?limit=10")
            times.append((time.perf_counter() - began) * 1000)
            assert status == 200, status
        return {"journal_size": size, "median_ms": round(sorted(times)[2], 3)}
    finally:
        proc.kill()


def main():
    binary = sys.argv[1]
    scale = int(sys.argv[sys.argv.index("--scale") + 1]) if "--scale" in sys.argv else 1
    print(
        json.dumps(
            {
                "binary": binary,
                "login_at_cap": login_at_cap(binary, 2_000 * scale, 1_000),
                "tokens_read": tokens_read(binary, 5_000 * scale),
                "journal_limit_10": journal_limit_10(binary, 10_000 * scale),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
