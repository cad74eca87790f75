"""The PyPI package's own suite, run by scripts/test-packages.sh in a fresh venv that
installed the built wheel (plus pytest and requests): what a user's project sees."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import requests

import particle_auth_mock

CLIENT = ("particle", "particle")


def token(url, username="user@example.com", password="password", **fields):
    return requests.post(f"{url}/oauth/token", auth=CLIENT, timeout=10,
                         data={"grant_type": "password", "username": username, "password": password, **fields})


def user(url, access_token):
    return requests.get(f"{url}/v1/user", headers={"Authorization": f"Bearer {access_token}"}, timeout=10)


def test_the_binary_is_the_one_the_wheel_installed():
    path = particle_auth_mock.binary_path()
    assert path == os.path.join(os.path.dirname(sys.executable), "particle-auth-mock")
    assert "--listen" in subprocess.run([path, "--help"], capture_output=True, text=True, check=True).stdout


def test_the_fixture_logs_in(particle_mock):
    r = token(particle_mock.url)
    assert r.status_code == 200, r.text
    assert user(particle_mock.url, r.json()["access_token"]).json()["username"] == "user@example.com"


def test_mfa_with_a_code_from_the_mock(particle_mock):
    challenge = token(particle_mock.url, "mfa@example.com")
    assert challenge.status_code == 403 and challenge.json()["error"] == "mfa_required"
    r = requests.post(f"{particle_mock.url}/oauth/token", auth=CLIENT, timeout=10, data={
        "grant_type": "urn:custom:mfa-otp", "mfa_token": challenge.json()["mfa_token"],
        "otp": particle_mock.totp("mfa@example.com")})
    assert r.status_code == 200, r.text
    assert user(particle_mock.url, r.json()["access_token"]).json()["username"] == "mfa@example.com"


def test_mfa_again_in_a_fresh_tenant_the_same_code_is_accepted(particle_mock):
    # The previous test used this step's code in its own tenant; replay protection is per
    # world, so this tenant accepts it: tests never see each other's MFA state.
    test_mfa_with_a_code_from_the_mock(particle_mock)


def test_advance_clock_expires_a_token_at_its_lifetime(particle_mock):
    access = token(particle_mock.url, expires_in=3600).json()["access_token"]
    particle_mock.advance_clock(3599)
    assert user(particle_mock.url, access).status_code == 200
    particle_mock.advance_clock(1)
    r = user(particle_mock.url, access)
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"


def test_tenants_are_isolated_and_stop_deletes_them(particle_mock, particle_mock_server):
    access = token(particle_mock.url).json()["access_token"]
    assert user(particle_mock_server.url, access).status_code == 401
    other = particle_mock_server.tenant()
    assert user(other.url, access).status_code == 401
    other.stop()
    assert user(other.url, access).status_code == 404


def test_journal_says_why_and_reset_forgets(particle_mock):
    assert token(particle_mock.url, password="wrong").status_code == 400
    [entry] = particle_mock.journal(path="/oauth/token", status="4xx")
    assert entry["status"] == 400 and "wrong password" in entry["reason"]
    access = token(particle_mock.url).json()["access_token"]
    particle_mock.reset()
    assert particle_mock.journal() == []
    assert user(particle_mock.url, access).status_code == 401


def test_simulated_devices_are_scripted_and_their_calls_read_back(particle_mock):
    argon = "0123456789abcdef01234567"
    auth = {"Authorization": "Bearer 1111111111111111111111111111111111111111"}
    particle_mock.set_function(argon, "led", returns=7)
    particle_mock.set_variable(argon, "temperature", 30.5)
    called = requests.post(f"{particle_mock.url}/v1/devices/{argon}/led", data={"arg": "on"}, headers=auth)
    assert called.json()["return_value"] == 7
    read = requests.get(f"{particle_mock.url}/v1/devices/{argon}/temperature", headers=auth)
    assert read.json()["result"] == 30.5
    [call] = particle_mock.device_calls(argon)
    assert (call["function"], call["argument"], call["caller"]) == ("led", "on", "user")
    particle_mock.set_device_online(argon, False)
    assert particle_mock.devices()[0]["online"] is False
    offline = requests.post(f"{particle_mock.url}/v1/devices/{argon}/led", headers=auth)
    assert offline.status_code == 408


def test_publish_as_a_device_reaches_a_stream_and_a_client_publish_is_awaited(particle_mock):
    argon = "0123456789abcdef01234567"
    auth = {"Authorization": "Bearer 1111111111111111111111111111111111111111"}
    with requests.get(f"{particle_mock.url}/v1/devices/events", headers=auth, stream=True, timeout=10) as stream:
        assert stream.headers["content-type"] == "text/event-stream"
        lines = stream.iter_lines(decode_unicode=True)
        assert next(lines) == ":ok"
        published = particle_mock.publish_as_device(argon, "temp", "21.5")
        assert published["coreid"] == argon
        frame = [line for line in (next(lines), next(lines), next(lines)) if line]
        assert frame[0] == "event: temp"
        data = json.loads(frame[1][len("data: "):])
        assert (data["data"], data["coreid"], data["ttl"]) == ("21.5", argon, 60)
    after = particle_mock.last_event_seq()
    answer = requests.post(f"{particle_mock.url}/v1/devices/events", data={"name": "door/front", "data": "open"}, headers=auth)
    assert answer.json() == {"ok": True}
    seen = particle_mock.wait_for_event("door", after=after, timeout=5)
    assert (seen["name"], seen["data"], seen["coreid"]) == ("door/front", "open", "api")
    with pytest.raises(TimeoutError):
        particle_mock.wait_for_event("door", after=seen["seq"], timeout=0.01)
    with pytest.raises(particle_auth_mock.MockError) as missing:
        particle_mock.publish_as_device("ffffffffffffffffffffffff", "x")
    assert missing.value.status == 404


def test_start_with_fixtures_and_seed_as_a_context_manager():
    fixtures = {"users": [{"email": "ci@example.com", "password": "pw"}]}
    with particle_auth_mock.start(fixtures, seed=7) as a, particle_auth_mock.start(fixtures, seed=7) as b:
        ta = token(a.url, "ci@example.com", "pw").json()["access_token"]
        assert ta == token(b.url, "ci@example.com", "pw").json()["access_token"]
        assert token(a.url).status_code == 400
        url = a.url
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/__mock/health", timeout=5)


def test_rate_limits_option():
    with particle_auth_mock.start(rate_limits={"rules": {"oauth": "2/60s"}}) as mock:
        assert [token(mock.url).status_code for _ in range(3)] == [200, 200, 429]


def test_a_failed_control_call_raises_with_status(particle_mock):
    with pytest.raises(particle_auth_mock.MockError) as e:
        particle_mock.totp("nobody@example.com")
    assert e.value.status == 404


def test_the_bin_override(monkeypatch):
    monkeypatch.setenv("PARTICLE_AUTH_MOCK_BIN", "/nonexistent/particle-auth-mock")
    with pytest.raises(particle_auth_mock.MockError, match="no such file"):
        particle_auth_mock.start()


def test_python_m_runs_the_server():
    proc = subprocess.Popen([sys.executable, "-m", "particle_auth_mock", "--listen", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:"), line
        assert token(line.split()[-1]).status_code == 200
    finally:
        proc.terminate()
    assert proc.wait(timeout=10) == 0


def test_a_server_that_cannot_start_raises_with_its_message(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{ nope")
    with pytest.raises(particle_auth_mock.MockError, match="exited with 2.*malformed JSON"):
        particle_auth_mock.start(str(bad))


def test_a_webhook_delivers_to_a_receiver_the_test_started(particle_mock):
    bearer = {"Authorization": "Bearer 1111111111111111111111111111111111111111"}
    with particle_auth_mock.start_receiver(body="thanks") as receiver:
        created = requests.post(f"{particle_mock.url}/v1/integrations", headers=bearer, timeout=10,
                                json={"event": "py-hook", "url": f"{receiver.url}/hook"})
        assert created.status_code == 201
        requests.post(f"{particle_mock.url}/v1/devices/events", headers=bearer, timeout=10,
                      json={"name": "py-hook", "data": "42"})
        request = receiver.next()
        assert request["method"] == "POST" and request["path"] == "/hook"
        assert request["body"].startswith("event=py-hook&data=42&")
        [delivery] = particle_mock.webhook_deliveries(timeout_ms=5000)
        assert delivery["status"] == 200 and delivery["response"] == "thanks"


def test_export_state_and_import_state_restore_a_world(particle_mock):
    access = token(particle_mock.url).json()["access_token"]
    state = particle_mock.export_state()
    assert state["format"] == "particle-auth-mock/state"
    particle_mock.reset()
    assert user(particle_mock.url, access).status_code == 401
    assert particle_mock.import_state(state) == {"ok": True}
    assert user(particle_mock.url, access).json()["username"] == "user@example.com"
    with pytest.raises(particle_auth_mock.MockError) as refused:
        particle_mock.import_state({**state, "version": 99})
    assert refused.value.status == 400

