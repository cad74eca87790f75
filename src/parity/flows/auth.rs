//! The authentication flows: logging in, a wrong password, the current token, a short-lived
//! token revoked twice, refreshing, `/v1/user` and the refused bearer shapes.

use serde_json::Value;

use crate::parity::flows::steps::{bearer, log_in, password_form, text, token};
use crate::parity::session::{FlowError, Request, Session};

pub(super) async fn login(s: &mut Session) -> Result<Option<&'static str>, FlowError> {
    let form = password_form(s, s.creds.password.clone());
    let json = log_in(s, "login", form).await?;
    s.token = Some(text(&json, "access_token")?);
    Ok(None)
}

pub(super) async fn wrong_password(s: &mut Session) -> Result<Option<&'static str>, FlowError> {
    let form = password_form(s, format!("{}-parity-wrong", s.creds.password));
    s.send("wrong_password", Request::token(form)).await?;
    Ok(None)
}

pub(super) async fn token_info(s: &mut Session) -> Result<Option<&'static str>, FlowError> {
    let authorization = bearer(&token(s)?);
    s.send(
        "token_info",
        Request {
            method: "GET",
            path: "/v1/access_tokens/current".into(),
            authorization,
            ..Request::default()
        },
    )
    .await?;
    Ok(None)
}

pub(super) async fn short_token(s: &mut Session) -> Result<Option<&'static str>, FlowError> {
    let form = password_form(s, s.creds.password.clone());
    let json = log_in(s, "create", form).await?;
    let short = text(&json, "access_token")?;
    let current = "/v1/access_tokens/current".to_string();
    s.send(
        "info",
        Request {
            method: "GET",
            path: current.clone(),
            authorization: bearer(&short),
            ..Request::default()
        },
    )
    .await?;
    let deleted = s
        .send(
            "delete",
            Request {
                method: "DELETE",
                path: current.clone(),
                authorization: bearer(&short),
                ..Request::default()
            },
        )
        .await?;
    if deleted.status < 300 {
        s.revoked(&short);
    }
    s.send(
        "info_after_delete",
        Request {
            method: "GET",
            path: current,
            authorization: bearer(&short),
            ..Request::default()
        },
    )
    .await?;
    s.send(
        "delete_unknown",
        Request {
            method: "DELETE",
            path: format!("/v1/access_tokens/{short}"),
            ..Request::default()
        },
    )
    .await?;
    Ok(None)
}

pub(super) async fn refresh(s: &mut Session) -> Result<Option<&'static str>, FlowError> {
    let (Some(id), Some(secret)) = (s.creds.client_id.clone(), s.creds.client_secret.clone())
    else {
        return Ok(Some(
            "no OAuth client named (PARTICLE_CLIENT_ID, PARTICLE_CLIENT_SECRET)",
        ));
    };
    let mut form = password_form(s, s.creds.password.clone());
    form[3].1 = id.clone();
    form[4].1 = secret.clone();
    let json = log_in(s, "login", form).await?;
    let refresh_token = text(&json, "refresh_token")?;
    let form = vec![
        ("grant_type", "refresh_token".into()),
        ("refresh_token", refresh_token),
        ("client_id", id),
        ("client_secret", secret),
    ];
    let answer = s.send("refresh", Request::token(form)).await?;
    if let Some(token) = answer.json.get("access_token").and_then(Value::as_str) {
        s.created_token(token);
    }
    Ok(None)
}

pub(super) async fn get_user(
    s: &mut Session,
    step: &str,
) -> Result<Option<&'static str>, FlowError> {
    let authorization = bearer(&token(s)?);
    s.send(
        step,
        Request {
            method: "GET",
            path: "/v1/user".into(),
            authorization,
            ..Request::default()
        },
    )
    .await?;
    Ok(None)
}

pub(super) async fn auth_errors(s: &mut Session) -> Result<Option<&'static str>, FlowError> {
    let path = "/v1/user".to_string();
    let unknown = "0123456789abcdef0123456789abcdef01234567";
    s.send(
        "bad_token",
        Request {
            method: "GET",
            path: path.clone(),
            authorization: bearer(unknown),
            ..Request::default()
        },
    )
    .await?;
    s.send(
        "malformed_header",
        Request {
            method: "GET",
            path: path.clone(),
            authorization: Some("Bearer".into()),
            ..Request::default()
        },
    )
    .await?;
    s.send(
        "missing_token",
        Request {
            method: "GET",
            path,
            ..Request::default()
        },
    )
    .await?;
    Ok(None)
}
