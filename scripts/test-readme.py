#!/usr/bin/env python3
"""Runs the README's "A first session" and "Events" walk-throughs as written: every ```sh
block of those sections, in order, in one bash (set -euo pipefail), against the binary listening on
127.0.0.1:8080, the address the snippets name. The server runs in a network namespace of
its own (unshare --net, as root), so port 8080 is free whatever else runs on the machine.
Each `# {...}` line under a command is the output the README promises: the block's output
must contain them in order (`…`/`...` stand for any text, `<40 hex>` for a token).
Usage: test-readme.py BINARY"""
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SECTIONS = ("## A first session", "## Events")
SECTION = SECTIONS[0]


def blocks():
    text = (ROOT / "README.md").read_text()
    found = []
    for heading in SECTIONS:
        start = text.index(heading)
        end = text.find("\n## ", start + len(heading))
        section = text[start:end if end != -1 else None]
        found += re.findall(r"^```sh\n(.*?)^```", section, flags=re.S | re.M)
    return found


def expectation(block):
    parts = []
    for line in block.splitlines():
        if line.startswith("# {"):
            pattern = re.escape(line[2:]).replace(re.escape("<40 hex>"), "[0-9a-f]{40}")
            pattern = pattern.replace(re.escape("…"), ".*").replace(re.escape("..."), ".*")
            parts.append(pattern)
    return re.compile(".*".join(parts), re.S) if parts else None


def main():
    binary = sys.argv[1]
    found = blocks()
    if len(found) < 4:
        print(f"readme: FAIL: only {len(found)} sh blocks under '{SECTION}'", file=sys.stderr)
        return 1
    script = ["set -euo pipefail", "ip link set lo up",
              f"'{binary}' --listen 127.0.0.1:8080 > /tmp/readme-mock.$$ 2>/dev/null &",
              # The mock's pid kept apart: a snippet may start background jobs of its own.
              "readme_mock_pid=$!",
              "trap 'kill $readme_mock_pid 2>/dev/null || true' EXIT",
              "for _ in $(seq 100); do grep -q '^listening on' /tmp/readme-mock.$$ && break; sleep 0.05; done",
              "rm -f /tmp/readme-mock.$$"]
    for i, block in enumerate(found):
        # curl prints no final newline: the marker starts a line of its own.
        script += [f"printf '\\n@@block {i}\\n'", block]
    result = subprocess.run(["unshare", "--net", "bash", "-c", "\n".join(script)],
                            capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        print(f"readme: FAIL: the walk-through exited {result.returncode}\n{result.stdout}\n{result.stderr}",
              file=sys.stderr)
        return 1
    outputs = re.split(r"^@@block \d+\n", result.stdout, flags=re.M)[1:]
    if len(outputs) != len(found):
        print(f"readme: FAIL: {len(outputs)} outputs for {len(found)} blocks\n{result.stdout}", file=sys.stderr)
        return 1
    failed = 0
    for i, (block, out) in enumerate(zip(found, outputs)):
        want = expectation(block)
        if want and not want.search(out):
            failed += 1
            print(f"readme: FAIL: block {i} printed\n{out}\nnot matching the README's\n{want.pattern}",
                  file=sys.stderr)
    checked = sum(1 for b in found if expectation(b))
    print(f"readme: {len(found)} walk-through blocks ran; {checked - failed} passed, {failed} failed "
          "(outputs as documented)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
