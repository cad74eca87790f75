//! Applies a world's injected faults: waits the fault's delay (a real timer: this is the
//! fault, not a test sleeping), then answers the chosen status and body, lets the real
//! handler answer, or marks the response with [`DropConnection`] so the server closes the
//! connection without answering. Control routes are never faulted.

use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::RefusalReason;
use crate::faults::Outcome;
use crate::http::routes::reply::Reply;
use crate::http::DropConnection;
use crate::world::World;

/// The first matching fault of `world` for this request, if any (one use is consumed).
pub(crate) fn take(world: &World, req: &Request) -> Option<crate::faults::FaultAction> {
    world.faults.take(req.method().as_str(), req.uri().path())
}

/// Carries out a fault: `Some` faulted answer, or `None` (after the fault's delay, if it
/// only delays) to let the real handler answer.
pub(crate) async fn act(action: crate::faults::FaultAction) -> Option<Response> {
    if action.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(action.delay_ms)).await;
    }
    let id = action.id;
    let mut response = match action.outcome {
        Outcome::PassThrough => return None,
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
    Some(response)
}
