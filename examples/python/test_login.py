"""Example: Python test code (requests + pyotp) against particle-auth-mock.

Start the mock first (`docker run -p 8080:8080 particle-auth-mock`, or the binary) and set
PARTICLE_MOCK_URL if it is not on http://127.0.0.1:8080. Run: python -m unittest -v test_login
"""
import os
import unittest

import pyotp
import requests

BASE = os.environ.get("PARTICLE_MOCK_URL", "http://127.0.0.1:8080")
CLIENT = ("particle", "particle")  # the OAuth client the docs' examples use


class FixtureTOTP(pyotp.TOTP):
    """pyotp >= 2.10 refuses secrets under 112 bits; the default fixture secret
    JBSWY3DPEHPK3PXP (the RFC-style demo secret) has 80. A fixtures file of your own can use
    a 160-bit secret and plain pyotp.TOTP."""

    min_secret_length_bits = 80


def token_request(**fields):
    return requests.post(f"{BASE}/oauth/token", auth=CLIENT, data=fields, timeout=10)


class LoginTest(unittest.TestCase):
    def test_password_login_devices_and_logout(self):
        r = token_request(grant_type="password", username="user@example.com", password="password")
        self.assertEqual(r.status_code, 200)
        token = r.json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}

        devices = requests.get(f"{BASE}/v1/devices", headers=bearer, timeout=10).json()
        self.assertIn("demo-argon", [d["name"] for d in devices])

        r = requests.delete(f"{BASE}/v1/access_tokens/current", headers=bearer, timeout=10)
        self.assertEqual(r.status_code, 200)
        r = requests.get(f"{BASE}/v1/user", headers=bearer, timeout=10)
        self.assertEqual(r.status_code, 401)
        self.assertEqual(r.json()["error"], "invalid_token")

    def test_mfa_login_with_a_totp_code(self):
        r = token_request(grant_type="password", username="mfa@example.com", password="password")
        self.assertEqual(r.status_code, 403)
        self.assertEqual(r.json()["error"], "mfa_required")

        otp = FixtureTOTP("JBSWY3DPEHPK3PXP").now()
        r = token_request(grant_type="urn:custom:mfa-otp", mfa_token=r.json()["mfa_token"], otp=otp)
        self.assertEqual(r.status_code, 200, r.text)
        user = requests.get(
            f"{BASE}/v1/user",
            headers={"Authorization": f"Bearer {r.json()['access_token']}"},
            timeout=10,
        ).json()
        self.assertEqual(user["username"], "mfa@example.com")

    def test_never_expiring_token(self):
        r = token_request(grant_type="password", username="user@example.com", password="password",
                          expires_in=0)
        info = requests.get(f"{BASE}/v1/access_tokens/current",
                            headers={"Authorization": f"Bearer {r.json()['access_token']}"},
                            timeout=10).json()
        self.assertIsNone(info["expires_at"])


if __name__ == "__main__":
    unittest.main()
