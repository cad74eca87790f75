//! The answers the HTTP layers give, pinned byte for byte (status line, every header but
//! `date`, body) over a raw socket: preflights, CORS on success and error answers, the
//! 413 of a body over the limit (declared and chunked). Written against the hand-written
//! layers before any was replaced by tower-http's, so a layer swap
//! that changes a byte fails here.

use std::time::Duration;

use particle_auth_mock::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{spawn_with_config, TestMock, USER_TOKEN};

/// A bound on a hang, never the thing asserted.
const HANG: Duration = Duration::from_secs(10);

async fn mock() -> TestMock {
    let mut config = Config::default();
    config.max_body_bytes = 1024;
    spawn_with_config(config).await
}

/// Sends `request` on a fresh connection (with `Connection: close`) and returns the whole
/// answer with its `date` header removed.
async fn exchange(mock: &TestMock, request: &str) -> String {
    let mut stream = TcpStream::connect(mock.server.address()).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(HANG, stream.read_to_end(&mut out))
        .await
        .expect("the server closes the connection");
    let text = String::from_utf8_lossy(&out).into_owned();
    text.split("\r\n")
        .filter(|line| !line.to_ascii_lowercase().starts_with("date:"))
        .collect::<Vec<_>>()
        .join("\r\n")
}

#[tokio::test]
async fn a_preflight_with_requested_headers_is_answered_exactly_as_before() {
    let mock = mock().await;
    let answer = exchange(
        &mock,
        "OPTIONS /oauth/token HTTP/1.1\r\nHost: localhost\r\nOrigin: http://localhost:3000\r\n\
         Access-Control-Request-Method: DELETE\r\n\
         Access-Control-Request-Headers: authorization, x-particle-tool\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(answer, PREFLIGHT_ECHO);
}

#[tokio::test]
async fn a_preflight_without_requested_headers_is_answered_exactly_as_before() {
    let mock = mock().await;
    let answer = exchange(
        &mock,
        "OPTIONS /no/such/route HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(answer, PREFLIGHT_DEFAULT);
}

#[tokio::test]
async fn a_success_answer_is_exactly_as_before() {
    let mock = mock().await;
    let answer = exchange(
        &mock,
        &format!(
            "GET /v1/access_tokens/current HTTP/1.1\r\nHost: localhost\r\nOrigin: https://example.com\r\n\
             Authorization: Bearer {USER_TOKEN}\r\nConnection: close\r\n\r\n"
        ),
    )
    .await;
    assert_eq!(answer, SUCCESS);
}

#[tokio::test]
async fn an_error_answer_is_exactly_as_before() {
    let mock = mock().await;
    let answer = exchange(
        &mock,
        "GET /v1/user HTTP/1.1\r\nHost: localhost\r\nOrigin: https://example.com\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(answer, ERROR);
}

#[tokio::test]
async fn a_declared_body_over_the_limit_is_answered_413_exactly_as_before() {
    let mock = mock().await;
    let body = "x".repeat(2000);
    let answer = exchange(
        &mock,
        &format!(
            "POST /oauth/token HTTP/1.1\r\nHost: localhost\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 2000\r\n\
             Connection: close\r\n\r\n{body}"
        ),
    )
    .await;
    assert_eq!(answer, TOO_LARGE);
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_answered_413_exactly_as_before() {
    let mock = mock().await;
    let chunk = "x".repeat(2000);
    let answer = exchange(
        &mock,
        &format!(
            "POST /oauth/token HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic cGFydGljbGU6cGFydGljbGU=\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\
             Connection: close\r\n\r\n7d0\r\n{chunk}\r\n0\r\n\r\n"
        ),
    )
    .await;
    assert_eq!(answer, TOO_LARGE);
}

const PREFLIGHT_ECHO: &str = "HTTP/1.1 204 No Content\r\naccess-control-allow-origin: *\r\naccess-control-allow-methods: GET, POST, PUT, PATCH, DELETE, OPTIONS\r\naccess-control-allow-headers: authorization, x-particle-tool\r\naccess-control-max-age: 300\r\nconnection: close\r\n\r\n";
const PREFLIGHT_DEFAULT: &str = "HTTP/1.1 204 No Content\r\naccess-control-allow-origin: *\r\naccess-control-allow-methods: GET, POST, PUT, PATCH, DELETE, OPTIONS\r\naccess-control-allow-headers: X-Requested-With, Content-Type, Accept, Authorization\r\naccess-control-max-age: 300\r\nconnection: close\r\n\r\n";
const SUCCESS: &str = "HTTP/1.1 200 OK\r\ncontent-type: application/json; charset=utf-8\r\naccess-control-allow-origin: *\r\nconnection: close\r\ncontent-length: 135\r\n\r\n{\"expires_at\":null,\"client\":\"particle\",\"client_id\":\"particle\",\"scopes\":[],\"orgs\":[{\"id\":\"5f0c0a0b0c0d0e0f10111213\",\"slug\":\"demo-org\"}]}";
// One dispatcher writes every Particle answer's `Content-Length` last (the server's),
// where routed rows once had the router's before the CORS header: same headers, one order.
const ERROR: &str = "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json; charset=utf-8\r\ncache-control: no-store\r\npragma: no-cache\r\naccess-control-allow-origin: *\r\nconnection: close\r\ncontent-length: 80\r\n\r\n{\"error\":\"invalid_request\",\"error_description\":\"The access token was not found\"}";
const TOO_LARGE: &str = "HTTP/1.1 413 Payload Too Large\r\ncontent-type: application/json; charset=utf-8\r\ncache-control: no-store\r\npragma: no-cache\r\naccess-control-allow-origin: *\r\nconnection: close\r\ncontent-length: 95\r\n\r\n{\"error\":\"payload_too_large\",\"error_description\":\"The request body is larger than 1024 bytes.\"}";
