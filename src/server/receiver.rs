//! [`WebhookReceiver`]: a loopback HTTP server of the test's own that records every
//! request and answers with a chosen status and body, so that a test points a webhook at
//! it and awaits the delivery without writing a server (the Rust counterpart of the npm
//! helper's `startReceiver` and the Python helper's `start_receiver`).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tokio::sync::{mpsc, Mutex};

/// Requests kept unread at most; later ones are answered but not kept, so a test that
/// never reads cannot grow memory without limit.
const MAX_KEPT: usize = 1_000;
/// Largest request body read (a webhook's body is far smaller); a larger one gets `413`.
const MAX_BODY: usize = 1024 * 1024;

/// One request a [`WebhookReceiver`] got: what the mock's webhook sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedRequest {
    /// The method (`POST` unless the webhook's `requestType` says otherwise).
    pub method: String,
    /// The path and query, as sent (`/hook?x=1`).
    pub path_and_query: String,
    /// The headers, names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body as text (invalid UTF-8 replaced).
    pub body: String,
}

impl ReceivedRequest {
    /// The first header named `name` (any case), if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What every request is answered with.
struct Answer {
    status: StatusCode,
    body: String,
    kept: mpsc::Sender<ReceivedRequest>,
}

/// A webhook receiver on `127.0.0.1` and a port of its own: [`url`](Self::url) is what a
/// webhook's `url` points at (loopback, so the mock delivers to it without
/// `--webhook-allow-host`), [`next`](Self::next) awaits the next request. It stops when
/// dropped.
///
/// ```
/// # #[tokio::main] async fn main() {
/// use std::time::Duration;
/// use particle_auth_mock::webhooks::WebhookReceiver;
/// use particle_auth_mock::MockServer;
///
/// // Arrange: the test's receiver and a webhook pointing at it.
/// let mock = MockServer::start().await;
/// let receiver = WebhookReceiver::start(200, "thanks").await.unwrap();
/// let client = reqwest::Client::new();
/// client.post(format!("{}/v1/integrations", mock.uri()))
///     .bearer_auth("1111111111111111111111111111111111111111")
///     .json(&serde_json::json!({"event": "temp", "url": format!("{}/hook", receiver.url())}))
///     .send().await.unwrap();
/// // Act
/// client.post(format!("{}/v1/devices/events", mock.uri()))
///     .bearer_auth("1111111111111111111111111111111111111111")
///     .json(&serde_json::json!({"name": "temp", "data": "21"}))
///     .send().await.unwrap();
/// // Assert
/// let request = receiver.next(Duration::from_secs(10)).await.unwrap();
/// assert_eq!(request.path_and_query, "/hook");
/// assert!(request.body.starts_with("event=temp&data=21&"));
/// # }
/// ```
pub struct WebhookReceiver {
    addr: SocketAddr,
    requests: Mutex<mpsc::Receiver<ReceivedRequest>>,
    server: tokio::task::JoinHandle<()>,
}

impl WebhookReceiver {
    /// Starts a receiver that answers every request with `status` and `body`
    /// (`text/plain`); an error when `status` is not a valid HTTP status or no loopback
    /// port is free.
    pub async fn start(status: u16, body: impl Into<String>) -> std::io::Result<Self> {
        let status = StatusCode::from_u16(status)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let (kept, requests) = mpsc::channel(MAX_KEPT);
        let answer = Arc::new(Answer {
            status,
            body: body.into(),
            kept,
        });
        let app = axum::Router::new().fallback(record).with_state(answer);
        let server = tokio::spawn(async move {
            // Serving ends only with an accept error; the receiver is then simply silent.
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            addr,
            requests: Mutex::new(requests),
            server,
        })
    }

    /// The receiver's base URL, `http://127.0.0.1:PORT` (append the path a webhook should
    /// use).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next request received (oldest first), or `None` when none comes within `wait`
    /// (real time: deliveries are real HTTP requests).
    pub async fn next(&self, wait: Duration) -> Option<ReceivedRequest> {
        let mut requests = self.requests.lock().await;
        tokio::time::timeout(wait, requests.recv())
            .await
            .ok()
            .flatten()
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Keeps the request (if there is room) and answers it.
async fn record(State(answer): State<Arc<Answer>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let received = ReceivedRequest {
        method: parts.method.to_string(),
        path_and_query: parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_string(), ToString::to_string),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    // A full queue means the test stopped reading: the request is still answered.
    let _ = answer.kept.try_send(received);
    (
        answer.status,
        [(axum::http::header::CONTENT_TYPE, "text/plain")],
        answer.body.clone(),
    )
        .into_response()
}
