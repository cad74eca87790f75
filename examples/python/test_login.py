"""Example: Python test code (requests + pytest) against particle-auth-mock, with the
particle-auth-mock package's pytest plugin: ``particle_mock`` is a fresh tenant per test,
so the suite can run again at once, or in parallel, against the same server.

``pip install particle-auth-mock pytest requests``, then ``pytest``: the plugin starts the
mock from the wheel, or uses the one at ``$PARTICLE_MOCK_URL`` (a CI service container).
"""
import requests

CLIENT = ("particle", "particle")  # the OAuth client the docs' examples use


def token_request(mock, **fields):
    return requests.post(f"{mock.url}/oauth/token", auth=CLIENT, data=fields, timeout=10)


def get(mock, path, token):
    return requests.get(f"{mock.url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_password_login_devices_and_logout(particle_mock):
    r = token_request(particle_mock, grant_type="password", username="user@example.com", password="password")
    assert r.status_code == 200
    token = r.json()["access_token"]

    assert "demo-argon" in [d["name"] for d in get(particle_mock, "/v1/devices", token).json()]

    r = requests.delete(f"{particle_mock.url}/v1/access_tokens/current",
                        headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 200
    r = get(particle_mock, "/v1/user", token)
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"


def test_mfa_login_with_a_code_from_the_mock(particle_mock):
    r = token_request(particle_mock, grant_type="password", username="mfa@example.com", password="password")
    assert r.status_code == 403 and r.json()["error"] == "mfa_required"

    otp = particle_mock.totp("mfa@example.com")
    r = token_request(particle_mock, grant_type="urn:custom:mfa-otp", mfa_token=r.json()["mfa_token"], otp=otp)
    assert r.status_code == 200, r.text
    assert get(particle_mock, "/v1/user", r.json()["access_token"]).json()["username"] == "mfa@example.com"


def test_a_token_expires_when_the_clock_passes_its_lifetime(particle_mock):
    r = token_request(particle_mock, grant_type="password", username="user@example.com", password="password",
                      expires_in=3600)
    token = r.json()["access_token"]
    particle_mock.advance_clock(3600)
    assert get(particle_mock, "/v1/user", token).status_code == 401


def test_never_expiring_token(particle_mock):
    r = token_request(particle_mock, grant_type="password", username="user@example.com", password="password",
                      expires_in=0)
    assert get(particle_mock, "/v1/access_tokens/current", r.json()["access_token"]).json()["expires_at"] is None
