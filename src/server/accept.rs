//! The accept loop: one hyper HTTP/1 connection per socket with the configured header
//! limits and timeouts, the `--max-connections` cap, the per-request timeout, the tower
//! layers of `http::layers` (trace, catch-panic) around the pipeline, and connections
//! dropped on purpose by an injected fault. Hand-written (not `axum::serve`): header
//! limits, connection caps and dropped-connection faults need the connection itself.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::Request;
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

use crate::config::Config;
use crate::error::ApiError;
use crate::http::app::app;
use crate::http::state::AppState;
use crate::http::DropConnection;
use crate::server::housekeeping::{prepare_evictions, sweep_rate_limits};
use crate::server::persistence::StateSaver;

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

/// What a server accepts connections on: plain HTTP, HTTPS, or both.
pub(super) struct Listeners {
    /// Plain HTTP.
    pub plain: Option<TcpListener>,
    /// HTTPS: the socket and the TLS handshake for each connection.
    pub secure: Option<(TcpListener, tokio_rustls::TlsAcceptor)>,
}

/// Accepts on `listener`, or never when there is none.
async fn accept_on(listener: Option<&TcpListener>) -> std::io::Result<(TcpStream, SocketAddr)> {
    match listener {
        Some(listener) => listener.accept().await,
        None => std::future::pending().await,
    }
}

/// The accept loop: one hyper HTTP/1 connection per socket, until shutdown.
pub(super) async fn serve(
    listeners: Listeners,
    state: AppState,
    mut stop: watch::Receiver<bool>,
    signal: impl Future<Output = ()> + Send + 'static,
) {
    let limits = ConnectionLimits::from_config(&state.config);
    let slots = Arc::new(Semaphore::new(
        usize::try_from(state.config.max_connections.max(1)).unwrap_or(usize::MAX),
    ));
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS_IN_FLIGHT));
    let per_client = PerClient::new(state.config.max_connections_per_client);
    let sweeper = tokio::spawn(sweep_rate_limits(state.registry.clone()));
    let evictions = tokio::spawn(prepare_evictions(state.registry.clone()));
    let saver = StateSaver::for_config(&state.config, state.registry.default.clone());
    let saving = saver.clone().map(|s| tokio::spawn(s.run()));
    let viewers = state.viewers.clone();
    let closing = state.closing.clone();
    let registry = state.registry.clone();
    let pipeline = Arc::new(app(state));
    let graceful = GracefulShutdown::new();
    let mut signal = std::pin::pin!(signal);
    loop {
        let (stream, peer, handshake) = tokio::select! {
            accepted = accept_on(listeners.plain.as_ref()) => match accepted {
                Ok((stream, peer)) => (stream, peer, None),
                Err(error) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            accepted = accept_on(listeners.secure.as_ref().map(|(l, _)| l)) => match accepted {
                Ok((stream, peer)) => (stream, peer, listeners.secure.as_ref().map(|(_, a)| a.clone())),
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
        let Some(per_client) = per_client.admit(peer.ip()) else {
            // Over --max-connections-per-client: closed at once, unanswered (a flood from
            // one address must not cost anything more).
            tracing::debug!("connection refused: --max-connections-per-client reached");
            drop(stream);
            continue;
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            refuse_connection(stream, &refusals);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let pipeline = pipeline.clone();
        let service = tower::service_fn(move |req: Request<Incoming>| {
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
        // The trace and catch-panic layers (`http::layers`) around the pipeline.
        let service = TowerToHyperService::new(crate::http::layers::around(service));
        let http1 = limits.http1();
        let watcher = graceful.watcher();
        let handshake_timeout = limits.header_timeout;
        tokio::spawn(async move {
            match handshake {
                None => {
                    let connection = http1.serve_connection(TokioIo::new(stream), service);
                    let _ = watcher.watch(connection).await;
                }
                // The handshake has the time a request head has (`--header-timeout-ms`):
                // a client that connects and says nothing holds no slot for longer.
                Some(acceptor) => {
                    if let Ok(Ok(tls)) =
                        tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await
                    {
                        let connection = http1.serve_connection(TokioIo::new(tls), service);
                        let _ = watcher.watch(connection).await;
                    }
                }
            }
            drop(slot);
            drop(per_client);
        });
    }
    drop(listeners);
    sweeper.abort();
    evictions.abort();
    // Journal streams never end by themselves: end them, or they would hold the
    // graceful shutdown for its whole grace period (and outlive it).
    viewers.close();
    closing.send_replace(true);
    // Event streams end with their world's bus (they do not watch the flag themselves:
    // one less waker to register on every event they deliver).
    registry.close_event_buses();
    // In-flight requests get a short grace period: the process must exit within 1 s.
    let _ = tokio::time::timeout(Duration::from_millis(500), graceful.shutdown()).await;
    // The last save, after the last request: what a restart finds.
    if let Some(saving) = saving {
        saving.abort();
    }
    if let Some(saver) = saver {
        saver.save_now().await;
    }
}

/// Awaits one request's answer within `timeout` (else `408` JSON: tower-http's
/// `TimeoutLayer` answers with an empty body, so this stays hand-written). A panic while
/// answering is caught by the catch-panic layer around it (`http::layers`).
pub(super) async fn guarded(answer: impl Future<Output = Response>, timeout: Duration) -> Response {
    match tokio::time::timeout(timeout, answer).await {
        Ok(response) => response,
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

/// `--max-connections-per-client`: how many connections each client address has open.
/// A `parking_lot` mutex: held for one map update per connection opened or closed, never
/// across an `.await`.
#[derive(Clone)]
pub(super) struct PerClient {
    cap: Option<u32>,
    open: Arc<parking_lot::Mutex<std::collections::HashMap<std::net::IpAddr, u32>>>,
}

/// One open connection counted against its address (uncounted when dropped).
pub(super) struct ClientSlot {
    owner: Option<(PerClient, std::net::IpAddr)>,
}

impl PerClient {
    pub(super) fn new(cap: Option<u32>) -> Self {
        Self {
            cap,
            open: Arc::default(),
        }
    }

    /// A slot for one more connection from `ip`, or `None` at the cap. Without a cap,
    /// nothing is counted.
    pub(super) fn admit(&self, ip: std::net::IpAddr) -> Option<ClientSlot> {
        let Some(cap) = self.cap else {
            return Some(ClientSlot { owner: None });
        };
        let mut open = self.open.lock();
        let count = open.entry(ip).or_insert(0);
        if *count >= cap {
            return None;
        }
        *count += 1;
        Some(ClientSlot {
            owner: Some((self.clone(), ip)),
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        if let Some((per_client, ip)) = self.owner.take() {
            let mut open = per_client.open.lock();
            if let Some(count) = open.get_mut(&ip) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    open.remove(&ip);
                }
            }
        }
    }
}
