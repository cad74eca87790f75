//! The reply helpers every handler answers with: [`Reply`] (JSON with Particle's headers),
//! [`ok`], [`NoStore`] and the `{"ok":true}` body.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::{json_headers, no_store_headers, ApiError};

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
            Err(_) => ApiError::Unavailable.into_response(),
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
