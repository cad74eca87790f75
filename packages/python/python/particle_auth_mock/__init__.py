"""particle-auth-mock for Python tests: start the mock binary on a free port, or connect to
one already running (a CI service container), and drive its control API (``/__mock/…``).

    from particle_auth_mock import start

    with start() as mock:
        requests.post(f"{mock.url}/oauth/token", ...)
        code = mock.totp("mfa@example.com")
        mock.advance_clock(3600)

The pytest plugin (``particle_mock`` fixture: a fresh tenant per test on one server per
session) is in :mod:`particle_auth_mock.pytest_plugin`. Standard library only.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Mapping, Optional, Sequence, Union

__all__ = ["start", "connect", "binary_path", "start_receiver", "Receiver", "Mock", "Tenant", "World", "MockError"]

_EXE = "particle-auth-mock.exe" if sys.platform == "win32" else "particle-auth-mock"


class MockError(RuntimeError):
    """A control call answered non-2xx, or the server did not start."""

    def __init__(self, message: str, status: Optional[int] = None, body: Any = None):
        super().__init__(message)
        self.status = status
        self.body = body


def binary_path() -> str:
    """The binary to run: ``$PARTICLE_AUTH_MOCK_BIN`` when set, else the one this wheel
    installed into the environment's scripts folder (``bin/`` of a venv)."""
    override = os.environ.get("PARTICLE_AUTH_MOCK_BIN")
    if override:
        if not os.path.isfile(override):
            raise MockError(f"PARTICLE_AUTH_MOCK_BIN={override}: no such file")
        return override
    candidates = [sysconfig.get_path("scripts")]
    user_scheme = "nt_user" if os.name == "nt" else "posix_user"
    try:
        candidates.append(sysconfig.get_path("scripts", scheme=user_scheme))
    except KeyError:
        pass
    candidates.append(os.path.dirname(sys.executable))
    for folder in candidates:
        path = os.path.join(folder, _EXE)
        if os.path.isfile(path):
            return path
    found = shutil.which(_EXE)
    if found:
        return found
    raise MockError(
        f"particle-auth-mock binary not found in {candidates} or on PATH: reinstall the "
        "particle-auth-mock wheel, or set PARTICLE_AUTH_MOCK_BIN to a binary"
    )


class World:
    """The control API of one world: a server's default world, or a tenant."""

    def __init__(self, url: str, headers: Optional[Mapping[str, str]] = None):
        #: Base URL for Particle clients (their ``baseUrl`` / ``apiUrl``).
        self.url = url.rstrip("/")
        self._headers = dict(headers or {})

    def control(self, method: str, route: str, body: Any = None, *, timeout: float = 30) -> Any:
        """One control call: JSON in, JSON out; a non-2xx answer raises :class:`MockError`."""
        data = None
        headers = dict(self._headers)
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.url + route, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as res:
                text = res.read().decode()
        except urllib.error.HTTPError as e:
            text = e.read().decode()
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = text
            error = parsed.get("error") if isinstance(parsed, dict) else text
            raise MockError(f"{method} {route}: {e.code} {error}", e.code, parsed) from None
        return json.loads(text) if text else None

    def reset(self, fixtures: Optional[Mapping[str, Any]] = None) -> Any:
        """Back to the fixtures (or to ``fixtures``, which later resets keep)."""
        return self.control("POST", "/__mock/reset", fixtures)

    def export_state(self) -> dict:
        """This world as a state document (``GET /__mock/state``); restore it with
        :meth:`import_state`."""
        return self.control("GET", "/__mock/state")

    def import_state(self, state: Mapping[str, Any]) -> Any:
        """Replaces this world with a state document from :meth:`export_state`
        (``PUT /__mock/state``)."""
        return self.control("PUT", "/__mock/state", state)

    def totp(self, email: str) -> str:
        """The current TOTP code of ``email`` on this world's clock."""
        return self.totp_state(email)["code"]

    def totp_state(self, email: str) -> dict:
        """``{"code", "next_code", "seconds_remaining"}`` for ``email``."""
        return self.control("GET", f"/__mock/users/{urllib.parse.quote(email, safe='')}/totp")

    def advance_clock(self, seconds: float) -> dict:
        """Moves this world's clock forward; answers ``{"now_ms", "now", "frozen"}``."""
        return self.control("POST", "/__mock/clock/advance", {"seconds": seconds})

    def clock(self) -> dict:
        """Reads this world's clock."""
        return self.control("GET", "/__mock/clock")

    def devices(self) -> list:
        """Every simulated device with its state (``GET /__mock/devices``)."""
        return self.control("GET", "/__mock/devices")["devices"]

    def set_device_online(self, device_id: str, online: bool) -> dict:
        """Takes a device online (``True``) or offline (``False``)."""
        return self.control("PATCH", f"/__mock/devices/{device_id}", {"online": online})

    def set_variable(
        self, device_id: str, name: str, value: Any, type: Optional[str] = None
    ) -> dict:
        """Sets a device variable's value (with ``type``, adds the variable)."""
        body = {"value": value} if type is None else {"type": type, "value": value}
        path = f"/__mock/devices/{device_id}/variables/{urllib.parse.quote(name, safe='')}"
        return self.control("PUT", path, body)

    def set_function(self, device_id: str, name: str, **behaviour: Any) -> dict:
        """Sets what a device function does: ``returns=``, ``set=``, ``publish=``."""
        path = f"/__mock/devices/{device_id}/functions/{urllib.parse.quote(name, safe='')}"
        return self.control("PUT", path, behaviour)

    def device_calls(self, device_id: Optional[str] = None) -> list:
        """The function calls devices received, oldest first."""
        query = f"?device={urllib.parse.quote(device_id, safe='')}" if device_id else ""
        return self.control("GET", "/__mock/devices/calls" + query)["calls"]

    def webhook_deliveries(self, after: int = 0, timeout_ms: int = 0) -> list:
        """Webhook deliveries after ``after`` (what was sent where, what came back; secrets
        redacted), waiting up to ``timeout_ms`` for the first
        (``GET /__mock/webhooks/deliveries``)."""
        path = f"/__mock/webhooks/deliveries?after={int(after)}&timeout_ms={int(timeout_ms)}"
        return self.control("GET", path)["deliveries"]

    def claim_codes(self) -> list:
        """The claim codes handed out, oldest first."""
        return self.control("GET", "/__mock/devices/claim-codes")["claim_codes"]

    def publish_as_device(
        self,
        device_id: str,
        name: str,
        data: Optional[str] = None,
        *,
        private: bool = False,
        ttl: Optional[int] = None,
    ) -> dict:
        """Publishes an event as the simulated device ``device_id``; returns it as published."""
        body: dict = {"name": name, "private": private}
        if data is not None:
            body["data"] = data
        if ttl is not None:
            body["ttl"] = ttl
        path = f"/__mock/devices/{urllib.parse.quote(device_id, safe='')}/events"
        return self.control("POST", path, body)["event"]

    def last_event_seq(self) -> int:
        """The sequence number of the last event published in this world (0 before the first)."""
        return self.control("GET", "/__mock/events?timeout_ms=0")["last_seq"]

    def wait_for_event(self, prefix: str, *, after: int = 0, timeout: float = 5.0) -> dict:
        """The first event after sequence number ``after`` whose name starts with ``prefix``,
        waiting up to ``timeout`` seconds (at most 60); raises :class:`TimeoutError` when none
        came. Take ``after`` from :meth:`last_event_seq` before the action."""
        query = urllib.parse.urlencode(
            {"name": prefix, "after": after, "timeout_ms": int(timeout * 1000)}
        )
        events = self.control("GET", f"/__mock/events?{query}", timeout=timeout + 30)["events"]
        if not events:
            raise TimeoutError(f"no event named {prefix!r}... after #{after} within {timeout} s")
        return events[0]

    def journal(self, **filter: Union[str, int]) -> list:
        """The request journal, oldest first; ``path=``, ``status=``, ``client=``, ``limit=``."""
        query = urllib.parse.urlencode({k: str(v) for k, v in filter.items()})
        return self.control("GET", "/__mock/journal" + (f"?{query}" if query else ""))["entries"]


class Receiver:
    """A local HTTP server standing in for a webhook's backend (see :func:`start_receiver`):
    point a webhook at ``url``, then ``next()`` returns the request the mock delivered as a
    dict (``method``, ``path``, ``headers``, ``body``). ``close()`` (or leaving its ``with``
    block) stops it."""

    def __init__(self, status: int, body: str) -> None:
        import http.server
        import queue

        self._requests: "queue.Queue[dict]" = queue.Queue()
        requests_queue = self._requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length).decode("utf-8", "replace") if length else ""
                payload = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                requests_queue.put({"method": self.command, "path": self.path,
                                    "headers": dict(self.headers.items()), "body": data})

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def next(self, timeout: float = 10.0) -> dict:
        """The next request delivered; raises ``queue.Empty`` after ``timeout`` seconds."""
        return self._requests.get(timeout=timeout)

    def close(self) -> None:
        """Stops the server."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "Receiver":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def start_receiver(status: int = 200, body: str = "") -> Receiver:
    """Starts a :class:`Receiver` on a free loopback port answering every request ``status``
    with ``body``."""
    return Receiver(status, body)


class Tenant(World):
    """An isolated world on a shared server: its own users, tokens, clock, journal, faults
    and limits. ``stop()`` (or leaving its ``with`` block) deletes it."""

    def __init__(self, root: "Mock", info: Mapping[str, str]):
        super().__init__(info["base_url"], root._headers)
        self.id = info["id"]
        self._root = root

    def stop(self) -> None:
        """Deletes the tenant: its URLs answer 404 afterwards."""
        self._root.control("DELETE", f"/__mock/tenants/{self.id}")

    def __enter__(self) -> "Tenant":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Mock(World):
    """A server's default world, plus tenants. From :func:`start` it owns the process
    (``stop()`` ends it); from :func:`connect` it does not."""

    def __init__(self, url: str, process: Optional[subprocess.Popen] = None,
                 headers: Optional[Mapping[str, str]] = None, tmpdir: Optional[str] = None):
        super().__init__(url, headers)
        self._process = process
        self._tmpdir = tmpdir

    def tenant(self, fixtures: Optional[Mapping[str, Any]] = None) -> Tenant:
        """A fresh tenant with the server's fixtures, or with ``fixtures``."""
        return Tenant(self, self.control("POST", "/__mock/tenants", fixtures))

    def stop(self) -> None:
        """Ends the process :func:`start` started (SIGTERM, then waits); a no-op after connect."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self) -> "Mock":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _flags(fixtures, seed, rate_limits, args, tmpdir) -> list:
    flags = ["--listen", "127.0.0.1:0"]
    if isinstance(fixtures, (str, os.PathLike)):
        flags += ["--fixtures", os.fspath(fixtures)]
    elif fixtures is not None:
        path = os.path.join(tmpdir, "fixtures.json")
        with open(path, "w") as f:
            json.dump(fixtures, f)
        flags += ["--fixtures", path]
    if seed is not None:
        flags += ["--seed", str(seed)]
    if rate_limits is False:
        flags.append("--no-rate-limits")
    elif isinstance(rate_limits, Mapping):
        unknown = set(rate_limits) - {"enabled", "algorithm", "headers", "rules"}
        if unknown:
            raise TypeError(f"rate_limits: unknown field(s) {sorted(unknown)}")
        if rate_limits.get("enabled") is False:
            flags.append("--no-rate-limits")
        if rate_limits.get("algorithm"):
            flags += ["--rate-limit-algorithm", rate_limits["algorithm"]]
        if rate_limits.get("headers"):
            flags += ["--rate-limit-headers", rate_limits["headers"]]
        for name, limit in (rate_limits.get("rules") or {}).items():
            flags += ["--rate-limit", f"{name}={limit}"]
    return flags + list(args)


def start(fixtures: Union[None, str, os.PathLike, Mapping[str, Any]] = None, *,
          seed: Optional[int] = None, rate_limits: Union[None, bool, Mapping[str, Any]] = None,
          args: Sequence[str] = (), timeout: float = 10.0) -> Mock:
    """Starts the mock on 127.0.0.1 on a free port and returns once it listens (it prints
    ``listening on URL``). ``fixtures`` is a document or a file path; ``rate_limits`` is
    ``False`` (off) or ``{"enabled", "algorithm", "headers", "rules"}``; ``args`` are extra
    flags. Use it as a context manager, or call ``stop()``."""
    tmpdir = tempfile.mkdtemp(prefix="particle-auth-mock-")
    try:
        cmd = [binary_path(), *_flags(fixtures, seed, rate_limits, args, tmpdir)]
        process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    except BaseException:
        shutil.rmtree(tmpdir, ignore_errors=True)
        raise
    # Drain stderr (logs) on a thread so a chatty server never blocks on a full pipe; keep
    # the tail for error messages.
    tail: list = []

    def drain() -> None:
        for line in process.stderr:
            tail.append(line)
            del tail[:-50]

    drainer = threading.Thread(target=drain, daemon=True)
    drainer.start()
    found: list = []

    def read_url() -> None:
        for line in process.stdout:
            m = re.match(r"^listening on (http://\S+)", line)
            if m:
                found.append(m.group(1))
                return

    reader = threading.Thread(target=read_url, daemon=True)
    reader.start()
    reader.join(timeout)
    if not found:
        timed_out = reader.is_alive()  # still reading: no line yet; else stdout closed
        process.kill()
        process.wait()
        drainer.join(5)  # the whole of stderr, for the message
        shutil.rmtree(tmpdir, ignore_errors=True)
        why = "did not start in time" if timed_out else f"exited with {process.returncode}"
        raise MockError(f"particle-auth-mock {why}: {''.join(tail)}")
    return Mock(found[0], process, tmpdir=tmpdir)


def connect(url: Optional[str] = None, *, control_secret: Optional[str] = None) -> Mock:
    """Connects to a running mock (default ``$PARTICLE_MOCK_URL``, else
    http://127.0.0.1:8080); ``stop()`` leaves it running."""
    url = url or os.environ.get("PARTICLE_MOCK_URL", "http://127.0.0.1:8080")
    headers = {"X-Mock-Control-Secret": control_secret} if control_secret else {}
    mock = Mock(url, headers=headers)
    mock.control("GET", "/__mock/ready")
    return mock
