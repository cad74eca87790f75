#!/usr/bin/env bash
# Example: the mock from the shell with curl. Start the mock first
# (`docker run -p 8080:8080 particle-auth-mock`, or the binary) and set PARTICLE_MOCK_URL if
# it is not on http://127.0.0.1:8080. Exits non-zero if any step does not behave as shown.
# It works in a tenant of its own, deleted at the end, so it can run again at once.
set -euo pipefail
MOCK=${PARTICLE_MOCK_URL:-http://127.0.0.1:8080}
json_field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p"; }

echo "0. a tenant: an isolated world with the server's fixtures"
TENANT=$(curl -fsS -X POST "$MOCK/__mock/tenants")
BASE=$(json_field base_url <<<"$TENANT")
trap 'curl -fsS -X DELETE "$MOCK/__mock/tenants/$(json_field id <<<"$TENANT")" >/dev/null' EXIT

echo "1. password login (client particle/particle, form-encoded)"
TOKEN=$(curl -fsS -u particle:particle "$BASE/oauth/token" \
  -d grant_type=password -d username=user@example.com -d password=password -d expires_in=3600 \
  | json_field access_token)
echo "   token ${TOKEN:0:8}…"

echo "2. list devices with the bearer token"
curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE/v1/devices" | grep -q demo-argon

echo "3. token info"
curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE/v1/access_tokens/current" | grep -q '"expires_at":"'

echo "4. two-step login: the first answer is 403 mfa_required with an mfa_token"
BODY=$(curl -sS -o - -w '\n%{http_code}' -u particle:particle "$BASE/oauth/token" \
  -d grant_type=password -d username=mfa@example.com -d password=password)
[ "$(tail -n1 <<<"$BODY")" = 403 ]
MFA_TOKEN=$(head -n1 <<<"$BODY" | json_field mfa_token)
# The current login code, from the mock (on its clock; any TOTP app gives the same).
OTP=$(curl -fsS "$BASE/__mock/users/mfa@example.com/totp" | json_field code)
MFA_ACCESS=$(curl -fsS -u particle:particle "$BASE/oauth/token" \
  -d grant_type=urn:custom:mfa-otp -d "mfa_token=$MFA_TOKEN" -d "otp=$OTP" | json_field access_token)
curl -fsS -H "Authorization: Bearer $MFA_ACCESS" "$BASE/v1/user" | grep -q mfa@example.com

echo "5. revoke the first token by value (no Authorization header), then it is refused"
curl -fsS -X DELETE "$BASE/v1/access_tokens/$TOKEN" >/dev/null
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$BASE/v1/user")" = 401 ]
echo "shell example: all steps behaved as documented"
