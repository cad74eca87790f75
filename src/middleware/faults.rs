//! Applies a world's injected faults: waits the fault's delay (a real timer: this is the
//! fault, not a test sleeping), then answers the chosen status and body, lets the real
//! handler answer, or marks the response with [`DropConnection`] so the server closes the
//! connection without answering. Control routes are never faulted.

use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::RefusalReason;
use crate::extract::CurrentWorld;
use crate::faults::Outcome;
use crate::routes::Reply;
use crate::server::DropConnection;

/// The fault layer (wired in `app.rs`, inside the journal).
pub(crate) async fn inject_faults(req: Request, next: Next) -> Response {
    let Some(CurrentWorld(world)) = req.extensions().get::<CurrentWorld>().cloned() else {
        return next.run(req).await;
    };
    let Some(action) = world.faults.take(req.method().as_str(), req.uri().path()) else {
        return next.run(req).await;
    };
    drop(world);
    if action.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(action.delay_ms)).await;
    }
    let id = action.id;
    let mut response = match action.outcome {
        Outcome::PassThrough => return next.run(req).await,
        Outcome::Respond { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let mut response = Reply(status, body).into_response();
            response
                .extensions_mut()
                .insert(RefusalReason(format!("injected fault #{id}")));
            response
        }
        Outcome::Drop => {
            let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
            response.extensions_mut().insert(DropConnection);
            response.extensions_mut().insert(RefusalReason(format!(
                "injected fault #{id}: connection dropped"
            )));
            response
        }
    };
    response.headers_mut().insert(
        HeaderName::from_static("x-mock-fault"),
        HeaderValue::from(id),
    );
    response
}
