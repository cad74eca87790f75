#!/usr/bin/env bash
# Example: the mock from the shell with curl. Start the mock first
# (`docker run -p 8080:8080 particle-auth-mock`, or the binary) and set PARTICLE_MOCK_URL if
# it is not on http://127.0.0.1:8080. Exits non-zero if any step does not behave as shown.
set -euo pipefail
BASE=${PARTICLE_MOCK_URL:-http://127.0.0.1:8080}
json_field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p"; }

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
# The login code for the fixture secret JBSWY3DPEHPK3PXP (any TOTP app or oathtool gives the same).
OTP=${OTP:-$(python3 -c 'import base64,hmac,struct,time
k=base64.b32decode("JBSWY3DPEHPK3PXP"); h=hmac.digest(k,struct.pack(">Q",int(time.time())//30),"sha1")
o=h[-1]&15; print("%06d"%((struct.unpack(">I",h[o:o+4])[0]&0x7fffffff)%1000000))')}
MFA_ACCESS=$(curl -fsS -u particle:particle "$BASE/oauth/token" \
  -d grant_type=urn:custom:mfa-otp -d "mfa_token=$MFA_TOKEN" -d "otp=$OTP" | json_field access_token)
curl -fsS -H "Authorization: Bearer $MFA_ACCESS" "$BASE/v1/user" | grep -q mfa@example.com

echo "5. revoke the first token by value (no Authorization header), then it is refused"
curl -fsS -X DELETE "$BASE/v1/access_tokens/$TOKEN" >/dev/null
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$BASE/v1/user")" = 401 ]
echo "shell example: all steps behaved as documented"
