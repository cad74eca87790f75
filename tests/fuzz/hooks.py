"""Schemathesis hooks for tests/fuzz/schemathesis.sh.

- `error_bodies_are_json`: every 4xx/5xx answer has a JSON content type and a body that
  parses as JSON (clients JSON.parse every error).
- After any call that may have changed the world (a 2xx answer to DELETE, PUT, POST on a
  /v1 route, e.g. a revocation of the fixture bearer token the run authenticates with),
  the world is reset through the control API, so later cases still get past auth.
"""

import json
import os

import requests
import schemathesis

BASE_URL = os.environ["MOCK_URL"]


@schemathesis.check
def error_bodies_are_json(ctx, response, case):
    """Every error answer is JSON."""
    if response.status_code < 400:
        return None
    content_type = ""
    for name, value in response.headers.items():
        if name.lower() == "content-type":
            content_type = value[0] if isinstance(value, list) else value
    if not content_type.startswith("application/json"):
        raise AssertionError(f"error answer with Content-Type {content_type!r}")
    try:
        json.loads(response.content)
    except ValueError as error:
        raise AssertionError(f"error body is not JSON: {error}") from error
    return None


@schemathesis.hook
def after_call(context, case, response):
    changed = case.method.upper() in ("DELETE", "PUT", "POST") and response.status_code < 300
    if changed and case.path.startswith("/v1"):
        requests.post(f"{BASE_URL}/__mock/reset", timeout=5)
