//! The accept loop: one hyper HTTP/1 connection per socket with the configured header
//! limits and timeouts, the `--max-connections` cap, the per-request timeout and panic
//! safety net, and connections dropped on purpose by an injected fault.

#[allow(unused_imports)]
use super::*;

/// How many connections over `--max-connections` are answered `503` at once; beyond
/// that they are closed without an answer (a flood must not cost a task per socket).
pub(super) const MAX_REFUSALS_IN_FLIGHT: usize = 256;

/// How long an over-the-cap connection has to send its request head before it is
/// closed unanswered.
pub(super) const REFUSAL_TIMEOUT: Duration = Duration::from_secs(1);

/// Per-connection limits, from [`Config`].
#[derive(Debug, Clone, Copy)]
pub(super) struct ConnectionLimits {
    max_header_bytes: usize,
    max_headers: usize,
    header_timeout: Duration,
    request_timeout: Duration,
}

impl ConnectionLimits {
    fn from_config(config: &Config) -> Self {
        Self {
            max_header_bytes: config.max_header_bytes,
            max_headers: config.max_headers,
            header_timeout: Duration::from_millis(config.header_timeout_ms.max(1)),
            request_timeout: Duration::from_millis(config.request_timeout_ms.max(1)),
        }
    }

    /// A hyper HTTP/1 builder with these limits: hyper answers `431` itself to a head
    /// over the size or count limit, and closes a connection whose head does not arrive
    /// within the header timeout (also the idle keep-alive timeout, see `Config`).
    fn http1(&self) -> hyper::server::conn::http1::Builder {
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_timeout)
            .max_header_size(self.max_header_bytes)
            .max_headers(self.max_headers)
            .keep_alive(true);
        builder
    }
}

/// The accept loop: one hyper HTTP/1 connection per socket, until shutdown.
pub(super) async fn serve(
    listener: TcpListener,
    state: AppState,
    mut stop: watch::Receiver<bool>,
    signal: impl Future<Output = ()> + Send + 'static,
) {
    let limits = ConnectionLimits::from_config(&state.config);
    let slots = Arc::new(Semaphore::new(
        usize::try_from(state.config.max_connections.max(1)).unwrap_or(usize::MAX),
    ));
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS_IN_FLIGHT));
    let sweeper = tokio::spawn(sweep_rate_limits(state.registry.clone()));
    let viewers = state.viewers.clone();
    let pipeline = Arc::new(app(state));
    let graceful = GracefulShutdown::new();
    let mut signal = std::pin::pin!(signal);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
            () = &mut signal => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            refuse_connection(stream, &refusals);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let pipeline = pipeline.clone();
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            let pipeline = pipeline.clone();
            async move {
                let answer = pipeline.answer(req.map(axum::body::Body::new), peer);
                let response = guarded(answer, limits.request_timeout).await;
                if response.extensions().get::<DropConnection>().is_some() {
                    return Err(DroppedOnPurpose);
                }
                Ok::<_, DroppedOnPurpose>(response)
            }
        });
        let connection = limits
            .http1()
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    sweeper.abort();
    // Journal streams never end by themselves: end them, or they would hold the
    // graceful shutdown for its whole grace period (and outlive it).
    viewers.close();
    // In-flight requests get a short grace period: the process must exit within 1 s.
    let _ = tokio::time::timeout(Duration::from_millis(500), graceful.shutdown()).await;
}

/// Awaits one request's answer within `timeout` (else `408`); a panic while answering
/// becomes `503 server_error` JSON (logged without detail) instead of a dropped
/// connection, and the server goes on serving.
pub(super) async fn guarded(answer: impl Future<Output = Response>, timeout: Duration) -> Response {
    use futures_util::FutureExt;
    match tokio::time::timeout(timeout, std::panic::AssertUnwindSafe(answer).catch_unwind()).await {
        Ok(Ok(response)) => response,
        Ok(Err(_)) => {
            tracing::error!("a request handler panicked; answered 503 server_error");
            ApiError::Unavailable.into_response()
        }
        Err(_) => ApiError::RequestTimeout.into_response(),
    }
}

/// A connection over `--max-connections`: answered `503` JSON with `Connection: close`
/// once its request head arrives (within [`REFUSAL_TIMEOUT`]), or closed at once when
/// [`MAX_REFUSALS_IN_FLIGHT`] refusals are already pending.
pub(super) fn refuse_connection(stream: TcpStream, refusals: &Arc<Semaphore>) {
    let Ok(permit) = refusals.clone().try_acquire_owned() else {
        return;
    };
    tracing::debug!("connection refused: --max-connections reached");
    let service = hyper::service::service_fn(|_req: Request<Incoming>| async {
        Ok::<_, Infallible>(ApiError::TooManyConnections.into_response())
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(REFUSAL_TIMEOUT)
        .keep_alive(false);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::spawn(async move {
        let _ = tokio::time::timeout(REFUSAL_TIMEOUT * 2, connection).await;
        drop(permit);
    });
}

/// The error a service returns to make hyper close the connection without answering.
#[derive(Debug)]
pub(super) struct DroppedOnPurpose;

impl std::fmt::Display for DroppedOnPurpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for DroppedOnPurpose {}
