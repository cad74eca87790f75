//! The tower layers around the whole service (tower-http where it fits, hand-written
//! code where its answers would differ from Particle's), applied by the accept loop in `server` around each connection's service:
//!
//! - **trace** ([`TraceLayer`]): one `request` span per request carrying the method and
//!   the path as [`redact_path`] shows it (never the raw path: tokens and tenant
//!   prefixes included), and one debug event with the answer's status inside it.
//!   `on_request`, body-chunk, end-of-stream and failure callbacks are switched off: one
//!   line per request, as before. The span is `Span::none()` unless debug is enabled,
//!   so the redaction only runs when someone reads it.
//! - **catch-panic** ([`CatchPanicLayer`]): a panic while answering becomes today's
//!   `503 server_error` JSON ([`ApiError::Unavailable`]), logged without the panic's
//!   message, and the connection goes on serving.
//!
//! The hand-written code the other two candidates would replace stays, for these reasons:
//!
//! - **CORS** (`CorsLayer`): its preflight answers `200` where the mock (and §7) answers
//!   `204`, it sends no `Access-Control-Allow-Headers` when the request names none
//!   (the mock sends a default list), and it adds `Vary` by default. The answers would
//!   change, so `pipeline::preflight` and the one header insert stay; the control API
//!   gets no CORS header at all (no web page may reach it), which a layer around everything cannot say.
//! - **request-body limit** (`RequestBodyLimitLayer`, axum's `DefaultBodyLimit`): the
//!   layer's 413 is `text/plain` ("length limit exceeded"), not the Particle-shaped
//!   JSON, and the limit differs by area (control fixtures uploads may be larger).
//!   `pipeline::body_limit` is the one mechanism: it picks the limit once per request,
//!   refuses a declared length over it, and `extract::read_body` enforces it on the
//!   bytes as they arrive (with `http_body_util::Limited`, the layer's own type).
//!   Axum's own extractor limit is not used (no handler takes axum's `Bytes`).
//! - **timeout** (`TimeoutLayer`): answers `408` with an empty body; the mock's is JSON,
//!   so `server::accept::guarded` keeps it.

use std::time::Duration;

use axum::extract::Request;
use axum::http::Response;
use axum::response::IntoResponse;
use tower::Layer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::error::ApiError;
use crate::http::redact::redact_path;

/// `inner` (one connection's service) behind the trace and catch-panic layers (see the
/// module documentation): answers are those of `inner`, or `503 server_error` JSON when
/// it panics.
pub(crate) fn around<S, B, E>(
    inner: S,
) -> impl tower::Service<
    Request<B>,
    Response = Response<
        impl hyper::body::Body<Data = bytes::Bytes, Error = tower::BoxError> + Send + 'static,
    >,
    Error = E,
    Future: Send + 'static,
> + Clone
       + Send
       + 'static
where
    S: tower::Service<Request<B>, Response = axum::response::Response, Error = E>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    E: std::fmt::Display + Send + 'static,
    B: hyper::body::Body + Send + 'static,
{
    let panics = CatchPanicLayer::custom(answer_panic);
    let trace = TraceLayer::new_for_http()
        .make_span_with(request_span::<B>)
        .on_request(())
        .on_response(|response: &Response<_>, _latency: Duration, _span: &Span| {
            tracing::debug!(status = response.status().as_u16(), "request");
        })
        .on_body_chunk(())
        .on_eos(())
        .on_failure(());
    trace.layer(panics.layer(inner))
}

/// The span of one request: its method and redacted path (debug level only).
fn request_span<B>(req: &Request<B>) -> Span {
    tracing::debug_span!(
        "request",
        method = %req.method(),
        path = %redact_path(req.uri().path()),
    )
}

/// A panic while answering: `503 server_error` JSON, nothing of the panic's message.
fn answer_panic(_panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    tracing::error!("a request handler panicked; answered 503 server_error");
    ApiError::Unavailable.into_response()
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    async fn answer_of<B>(response: Response<B>) -> (u16, String, String)
    where
        B: hyper::body::Body,
        B::Error: std::fmt::Debug,
    {
        let status = response.status().as_u16();
        let headers = format!("{:?}", response.headers());
        let body = response
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn a_panic_while_answering_is_answered_exactly_as_unavailable_is() {
        // Arrange: a service that panics, and what `ApiError::Unavailable` answers.
        let service = around(tower::service_fn(|_req: Request<Body>| async {
            if true {
                panic!("a bug in a handler");
            }
            Ok::<axum::response::Response, Infallible>(
                ApiError::BadRequest("x".into()).into_response(),
            )
        }));
        let expected = answer_of(ApiError::Unavailable.into_response()).await;
        // Act
        let got = service
            .oneshot(Request::new(Body::empty()))
            .await
            .map_err(|never| match never {})
            .expect("an answer");
        let got = answer_of(got).await;
        // Assert: byte for byte, and nothing of the panic's message.
        assert_eq!(got, expected);
        assert_eq!(got.0, 503);
        assert!(!got.2.contains("a bug"), "{}", got.2);
    }

    #[tokio::test]
    async fn an_answer_passes_through_the_layers_unchanged() {
        // Arrange
        let service = around(tower::service_fn(|_req: Request<Body>| async {
            Ok::<_, Infallible>((axum::http::StatusCode::IM_A_TEAPOT, "tea").into_response())
        }));
        // Act
        let got = service
            .oneshot(Request::new(Body::empty()))
            .await
            .map_err(|never| match never {})
            .expect("an answer");
        // Assert
        let (status, _, body) = answer_of(got).await;
        assert_eq!((status, body.as_str()), (418, "tea"));
    }
}
