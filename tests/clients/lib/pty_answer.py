#!/usr/bin/env python3
"""Run a command in a pseudo-terminal and answer its prompts, in order.

    pty_answer.py '[["regex", "answer"], ...]' -- command args...

Each regex is searched in the output that follows the previous match; when it appears, the
answer is typed followed by Enter. Everything the command printed goes to stdout (ANSI
escapes removed), and the exit status is the command's. Gives up after 60 s.
(particle-cli's prompts read from a TTY; piped stdin does not answer them.)
"""
import json
import os
import pty
import re
import select
import signal
import sys
import time

ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\r")


def main() -> int:
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    script = [(re.compile(p.encode()), a.encode()) for p, a in json.loads(sys.argv[1])]
    argv = sys.argv[3:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    raw = b""
    clean = b""
    cursor = 0  # where in `clean` the next prompt is searched from
    deadline = time.monotonic() + 60
    status = None
    while True:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            sys.stdout.write(clean.decode(errors="replace"))
            print("\npty_answer: timed out; waiting for: "
                  + (script[0][0].pattern.decode() if script else "exit"), file=sys.stderr)
            os.waitpid(pid, 0)
            return 124
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                chunk = b""
            if not chunk:
                break
            raw += chunk
            clean = ANSI.sub(b"", raw)
            while script:
                m = script[0][0].search(clean, cursor)
                if not m:
                    break
                os.write(fd, script[0][1] + b"\r")
                cursor = m.end()
                script.pop(0)
        else:
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = st
                # drain what is left
                try:
                    while select.select([fd], [], [], 0.1)[0]:
                        chunk = os.read(fd, 4096)
                        if not chunk:
                            break
                        raw += chunk
                except OSError:
                    pass
                break
    if status is None:
        _, status = os.waitpid(pid, 0)
    sys.stdout.write(ANSI.sub(b"", raw).decode(errors="replace"))
    if script:
        print("\npty_answer: never prompted for: " + script[0][0].pattern.decode(), file=sys.stderr)
    return os.waitstatus_to_exitcode(status) if status is not None else 1


if __name__ == "__main__":
    sys.exit(main())
