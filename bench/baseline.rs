//! The benchmark's baseline: the least a correct mock must do, in bare axum.
//!
//! `POST /oauth/token` parses the form, checks HTTP Basic client credentials and one fixed
//! user, and answers two random 40-hex tokens; `GET /v1/access_tokens/current` checks one
//! fixed bearer token. Run by `bench/run.sh`; not part of the library.

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Form, Router};
use rand::RngCore;
use serde::Deserialize;

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    username: Option<String>,
    password: Option<String>,
}

const BASIC_PARTICLE: &str = "Basic cGFydGljbGU6cGFydGljbGU=";
const FIXED_TOKEN: &str = "Bearer 1111111111111111111111111111111111111111";

fn json(status: StatusCode, body: String) -> axum::response::Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn token(headers: HeaderMap, Form(form): Form<TokenForm>) -> axum::response::Response {
    let client_ok = headers
        .get(header::AUTHORIZATION)
        .is_some_and(|v| v == BASIC_PARTICLE);
    let user_ok = form.grant_type == "password"
        && form.username.as_deref() == Some("user@example.com")
        && form.password.as_deref() == Some("password");
    if !(client_ok && user_ok) {
        return json(
            StatusCode::BAD_REQUEST,
            r#"{"error":"invalid_grant","error_description":"User credentials are invalid"}"#
                .into(),
        );
    }
    let mut bytes = [0u8; 40];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    json(
        StatusCode::OK,
        format!(
            r#"{{"token_type":"bearer","access_token":"{}","expires_in":7776000,"refresh_token":"{}"}}"#,
            hex::encode(&bytes[..20]),
            hex::encode(&bytes[20..])
        ),
    )
}

async fn current(headers: HeaderMap) -> axum::response::Response {
    if headers
        .get(header::AUTHORIZATION)
        .is_some_and(|v| v == FIXED_TOKEN)
    {
        json(
            StatusCode::OK,
            r#"{"expires_at":null,"client":"particle","client_id":"particle","scopes":[],"orgs":[]}"#.into(),
        )
    } else {
        json(
            StatusCode::UNAUTHORIZED,
            r#"{"error":"invalid_token","error_description":"The access token provided is invalid."}"#.into(),
        )
    }
}

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let app = Router::new()
        .route("/oauth/token", post(token))
        .route("/v1/access_tokens/current", get(current));
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    println!(
        "listening on http://{}",
        listener.local_addr().expect("addr")
    );
    axum::serve(listener, app).await.expect("serve");
}
