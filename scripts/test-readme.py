#!/usr/bin/env python3
"""Runs the README's examples as printed.

1. "A first session" and "Events": every ```sh block of those sections, in order, in one bash
   (set -euo pipefail), against the binary listening on 127.0.0.1:8080, the address the
   snippets name. The server runs in a network namespace of its own (unshare --net) when
   that is allowed (root, or unprivileged user namespaces), so port 8080 is free whatever
   else runs on the machine; otherwise on the host's loopback, said so, and 8080 must be free.
   Each `# {...}` line under a command is the output the README promises: the block's output
   must contain them in order (`…`/`...` stand for any text, `<40 hex>` for a token).
2. "In your tests": the ```js block as a node:test file, with `particle-auth-mock` from
   packages/npm and `particle-api-js` from tests/clients/node_modules; the ```python block
   as a pytest file with the package's plugin (`target/ci-venv`, from scripts/setup.sh).
   Both run the binary given ($PARTICLE_AUTH_MOCK_BIN).
Usage: test-readme.py BINARY"""
import os
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
SECTION = "## A first session"
WALK_THROUGH = (SECTION, "## Events")


def blocks(section_title=SECTION, lang="sh"):
    text = (ROOT / "README.md").read_text()
    start = text.index(section_title)
    end = text.find("\n## ", start + len(section_title))
    section = text[start:end if end != -1 else None]
    return re.findall(rf"^```{lang}\n(.*?)^```", section, flags=re.S | re.M)


def isolation():
    """`unshare --net` when this machine allows it, else nothing (and why)."""
    try:
        ok = subprocess.run(["unshare", "--net", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    if ok:
        return ["unshare", "--net"], ["ip link set lo up"]
    print("readme: network isolation unavailable (unshare --net needs root or user namespaces); "
          "running the walk-through on the host's loopback: 127.0.0.1:8080 must be free")
    return [], []


def run_examples(binary):
    """The JavaScript and Python examples of "In your tests", as printed; failures."""
    failed = 0
    env = {**os.environ, "PARTICLE_AUTH_MOCK_BIN": str(pathlib.Path(binary).resolve())}
    env.pop("PARTICLE_MOCK_URL", None)
    with tempfile.TemporaryDirectory(prefix="readme-") as tmp:
        tmp = pathlib.Path(tmp)
        (js,) = blocks("## In your tests", "js")
        modules = tmp / "node_modules"
        modules.mkdir()
        api_js = ROOT / "tests/clients/node_modules/particle-api-js"
        if not api_js.is_dir():
            print(f"readme: FAIL: {api_js} missing: run scripts/setup.sh (npm ci in tests/clients)",
                  file=sys.stderr)
            return 1
        (modules / "particle-auth-mock").symlink_to(ROOT / "packages/npm")
        (modules / "particle-api-js").symlink_to(api_js)
        (tmp / "readme.test.js").write_text(js)
        result = subprocess.run(["node", "--test", str(tmp / "readme.test.js")], cwd=tmp, env=env,
                                capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            failed += 1
            print(f"readme: FAIL: the JavaScript example\n{result.stdout}\n{result.stderr}", file=sys.stderr)
        else:
            print("readme: the JavaScript example passed as printed")
        (py,) = blocks("## In your tests", "python")
        venv = pathlib.Path(os.environ.get("PARTICLE_MOCK_VENV", ROOT / "target/ci-venv"))
        python = venv / "bin/python"
        if not python.exists():
            print(f"readme: FAIL: {python} missing: run scripts/setup.sh", file=sys.stderr)
            return failed + 1
        (tmp / "test_readme.py").write_text(py)
        result = subprocess.run(
            [str(python), "-m", "pytest", "-q", "-p", "particle_auth_mock.pytest_plugin", "test_readme.py"],
            cwd=tmp, capture_output=True, text=True, timeout=120,
            env={**env, "PYTHONPATH": str(ROOT / "packages/python/python")})
        if result.returncode != 0:
            failed += 1
            print(f"readme: FAIL: the Python example\n{result.stdout}\n{result.stderr}", file=sys.stderr)
        else:
            print("readme: the Python example passed as printed")
    return failed


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
    found = [block for title in WALK_THROUGH for block in blocks(title)]
    if len(found) < 4:
        print(f"readme: FAIL: only {len(found)} sh blocks under '{SECTION}'", file=sys.stderr)
        return 1
    wrapper, setup = isolation()
    script = ["set -euo pipefail", *setup,
              f"'{binary}' --listen 127.0.0.1:8080 > /tmp/readme-mock.$$ 2>/dev/null &",
              # The mock's pid kept apart: a snippet may start background jobs of its own.
              "readme_mock_pid=$!",
              "trap 'kill $readme_mock_pid 2>/dev/null || true' EXIT",
              "for _ in $(seq 100); do grep -q '^listening on' /tmp/readme-mock.$$ && break; sleep 0.05; done",
              "rm -f /tmp/readme-mock.$$"]
    for i, block in enumerate(found):
        # curl prints no final newline: the marker starts a line of its own.
        script += [f"printf '\\n@@block {i}\\n'", block]
    result = subprocess.run([*wrapper, "bash", "-c", "\n".join(script)],
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
    failed += run_examples(binary)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
