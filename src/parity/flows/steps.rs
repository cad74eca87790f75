//! What the flows share: the bearer header, the password grant's form, reading a field,
//! logging in (with the OTP step of an MFA account), the session's token and device.

use serde_json::Value;

use crate::parity::session::{FlowError, Request, Session, TOKEN_LIFETIME};

pub(super) fn bearer(token: &str) -> Option<String> {
    Some(format!("Bearer {token}"))
}

pub(super) fn password_form(s: &Session, password: String) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "password".into()),
        ("username", s.creds.username.clone()),
        ("password", password),
        ("client_id", "particle".into()),
        ("client_secret", "particle".into()),
        ("expires_in", TOKEN_LIFETIME.into()),
    ]
}

pub(super) fn text(value: &Value, key: &'static str) -> Result<String, FlowError> {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or(FlowError::Missing(key))
}

/// Logs in (with the OTP step for an MFA account) and returns the access token.
pub(super) async fn log_in(
    s: &mut Session,
    step: &str,
    form: Vec<(&'static str, String)>,
) -> Result<Value, FlowError> {
    let answer = s.send(step, Request::token(form)).await?;
    let mut json = answer.json;
    if let (Some(mfa_token), Some(secret)) = (
        json.get("mfa_token")
            .and_then(Value::as_str)
            .map(str::to_string),
        s.creds.otp_secret.clone(),
    ) {
        let otp = crate::totp::TotpSecret::from_base32(&secret)
            .map(|t| t.code_at_step(crate::Clock::system().now_secs() / 30))
            .map_err(|_| FlowError::Missing("a valid OTP secret"))?;
        let form = vec![
            ("grant_type", "urn:custom:mfa-otp".into()),
            ("mfa_token", mfa_token),
            ("otp", otp),
            ("client_id", "particle".into()),
            ("client_secret", "particle".into()),
        ];
        json = s
            .send(&format!("{step}_otp"), Request::token(form))
            .await?
            .json;
    }
    for key in ["access_token", "refresh_token"] {
        if let Some(token) = json.get(key).and_then(Value::as_str) {
            if key == "access_token" {
                s.created_token(token);
            } else {
                s.secret_token(token);
            }
        }
    }
    Ok(json)
}

pub(super) fn token(s: &Session) -> Result<String, FlowError> {
    s.token
        .clone()
        .ok_or(FlowError::Missing("access_token (login failed)"))
}

pub(super) fn device(s: &Session) -> Option<String> {
    s.creds.device.clone()
}
