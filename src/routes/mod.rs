//! HTTP routes: each child module owns the routes of one part of the spec and only
//! translates HTTP to domain calls.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde::Serialize;

use crate::app::AppState;
use crate::error::{json_headers, no_store_headers};

pub(crate) mod access_tokens;
pub(crate) mod control;
pub(crate) mod dashboard;
pub(crate) mod oauth;
pub(crate) mod products;
pub(crate) mod teams;
pub(crate) mod user;

/// Every Particle route the mock emulates.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .merge(oauth::router())
        .merge(access_tokens::router())
        .merge(user::router())
        .merge(products::router())
        .merge(teams::router())
        .merge(control::router())
}

/// A JSON success answer with `Content-Type: application/json; charset=utf-8`.
pub(crate) struct Reply<T>(pub StatusCode, pub T);

/// 200 with a JSON body.
pub(crate) fn ok<T: Serialize>(body: T) -> Reply<T> {
    Reply(StatusCode::OK, body)
}

impl<T: Serialize> IntoResponse for Reply<T> {
    fn into_response(self) -> Response {
        // Room for a token answer (about 160 bytes) without growing.
        let mut bytes = Vec::with_capacity(256);
        match serde_json::to_writer(&mut bytes, &self.1) {
            Ok(()) => {
                let mut response = Response::new(axum::body::Body::from(bytes));
                *response.status_mut() = self.0;
                // Content type, the no-store pair and CORS: one allocation for all.
                response.headers_mut().reserve(6);
                json_headers(response.headers_mut());
                response
            }
            Err(_) => crate::error::ApiError::Unavailable.into_response(),
        }
    }
}

/// A JSON answer that must not be cached (token responses, control answers).
pub(crate) struct NoStore<T>(pub T);

impl<T: IntoResponse> IntoResponse for NoStore<T> {
    fn into_response(self) -> Response {
        let mut response = self.0.into_response();
        no_store_headers(response.headers_mut());
        response
    }
}

/// `{"ok":true}`.
#[derive(Serialize)]
pub(crate) struct OkTrue {
    ok: bool,
}

/// The `{"ok":true}` body.
pub(crate) const OK_TRUE: OkTrue = OkTrue { ok: true };
