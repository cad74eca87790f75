"""pytest plugin (entry point ``pytest11``): the ``particle_mock`` fixture.

One server per test session (started from the wheel's binary, or, when
``$PARTICLE_MOCK_URL`` is set, the mock already running there, such as a CI service
container), and a fresh tenant per test, so tests never share tokens, MFA state, clocks
or rate limits, and may run in parallel (pytest-xdist) against the same server::

    def test_mfa_login(particle_mock):
        r = requests.post(f"{particle_mock.url}/oauth/token", ...)
        code = particle_mock.totp("mfa@example.com")
        particle_mock.advance_clock(3600)
"""

from __future__ import annotations

import os
from typing import Iterator

import pytest

from . import Mock, Tenant, connect, start


@pytest.fixture(scope="session")
def particle_mock_server() -> Iterator[Mock]:
    """The session's server: ``$PARTICLE_MOCK_URL`` if set, else a fresh local one."""
    if os.environ.get("PARTICLE_MOCK_URL"):
        yield connect(control_secret=os.environ.get("PARTICLE_MOCK_CONTROL_SECRET"))
        return
    with start() as mock:
        yield mock


@pytest.fixture
def particle_mock(particle_mock_server: Mock) -> Iterator[Tenant]:
    """A fresh tenant of the session's server for this test, deleted afterwards."""
    with particle_mock_server.tenant() as tenant:
        yield tenant
