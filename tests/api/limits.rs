//! Bounded input: body size, header size and count, header and request
//! timeouts (slowloris), and the connection cap. Raw sockets where reqwest would hide
//! what the server does.

use std::time::Duration;

use particle_auth_mock::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{spawn_with_config, status_and_json, TestMock, USER_TOKEN};

/// A generous bound on anything that should happen "soon": a hang fails the test
/// instead of blocking the suite. Never the thing asserted.
const HANG: Duration = Duration::from_secs(10);

fn config(edit: impl FnOnce(&mut Config)) -> Config {
    let mut config = Config::default();
    edit(&mut config);
    config
}

async fn connect(mock: &TestMock) -> TcpStream {
    TcpStream::connect(mock.server.address()).await.unwrap()
}

/// Reads until the server closes the connection (or resets it); returns what arrived.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(HANG, read)
        .await
        .expect("the server closes the connection");
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads one response head and its `Content-Length` body.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed before a full answer");
            out.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&out).into_owned();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if out.len() >= end + 4 + length {
                    return text;
                }
            }
        }
    };
    tokio::time::timeout(HANG, read).await.expect("an answer")
}

fn status_of(response: &str) -> u16 {
    response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"))
}

fn body_of(response: &str) -> serde_json::Value {
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body:?}"))
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413_json() {
    // Arrange
    let mock = spawn_with_config(config(|c| c.max_body_bytes = 1024)).await;
    let padding = "x".repeat(2000);
    // Act
    let response = mock
        .token_request(&[("grant_type", "password"), ("padding", &padding)])
        .await;
    // Assert
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 413);
    assert_eq!(body["error"], "payload_too_large");
}

#[tokio::test]
async fn a_body_under_the_limit_is_read() {
    // Arrange
    let mock = spawn_with_config(config(|c| c.max_body_bytes = 1024)).await;
    // Act
    let response = mock
        .token_request(&[
            ("grant_type", "password"),
            ("username", "user@example.com"),
            ("password", "password"),
        ])
        .await;
    // Assert
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_huge_declared_length_on_a_route_that_reads_no_body_gets_413_at_once() {
    // Arrange: DELETE /v1/access_tokens/{token} never reads its body.
    let mock = spawn_with_config(config(|c| c.max_body_bytes = 1024)).await;
    let mut stream = connect(&mock).await;
    // Act: announce a terabyte and send none of it.
    stream
        .write_all(
            format!(
                "DELETE /v1/access_tokens/{USER_TOKEN} HTTP/1.1\r\nHost: x\r\n\
                 Content-Length: 1000000000000\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let response = read_response(&mut stream).await;
    // Assert: refused before the body; the token was not revoked.
    assert_eq!(status_of(&response), 413, "{response}");
    assert_eq!(body_of(&response)["error"], "payload_too_large");
    assert_eq!(
        mock.get_with("/v1/user", USER_TOKEN).await.status(),
        200,
        "the refused request did nothing"
    );
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_refused_with_413() {
    // Arrange
    let mock = spawn_with_config(config(|c| c.max_body_bytes = 1024)).await;
    let mut stream = connect(&mock).await;
    // Act: 2 KiB in chunks, no Content-Length.
    let chunk = format!("400\r\n{}\r\n", "a".repeat(1024));
    let request = format!(
        "POST /oauth/token HTTP/1.1\r\nHost: x\r\nAuthorization: Basic cGFydGljbGU6cGFydGljbGU=\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n\
         {chunk}{chunk}0\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let response = read_response(&mut stream).await;
    // Assert
    assert_eq!(status_of(&response), 413, "{response}");
    assert_eq!(body_of(&response)["error"], "payload_too_large");
}

#[tokio::test]
async fn a_request_head_over_the_size_limit_gets_431_and_a_closed_connection() {
    // Arrange
    let mock = spawn_with_config(config(|c| c.max_header_bytes = 4096)).await;
    let mut stream = connect(&mock).await;
    // Act
    let request = format!(
        "GET /v1/user HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\n\r\n",
        "p".repeat(8192)
    );
    let _ = stream.write_all(request.as_bytes()).await;
    let response = read_to_close(&mut stream).await;
    // Assert: hyper's own answer, empty body.
    assert!(response.starts_with("HTTP/1.1 431"), "{response:?}");
}

#[tokio::test]
async fn too_many_header_fields_get_431() {
    // Arrange
    let mock = spawn_with_config(config(|c| c.max_headers = 10)).await;
    let mut stream = connect(&mock).await;
    // Act
    let headers: String = (0..20).map(|i| format!("X-H{i}: v\r\n")).collect();
    let request = format!("GET /__mock/health HTTP/1.1\r\nHost: x\r\n{headers}\r\n");
    let _ = stream.write_all(request.as_bytes()).await;
    let response = read_to_close(&mut stream).await;
    // Assert
    assert!(response.starts_with("HTTP/1.1 431"), "{response:?}");
}

#[tokio::test]
async fn a_slowloris_client_is_disconnected_by_the_header_timeout() {
    // Arrange: a 300 ms header timeout.
    let mock = spawn_with_config(config(|c| c.header_timeout_ms = 300)).await;
    let mut stream = connect(&mock).await;
    stream
        .write_all(b"GET /v1/user HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // Act: a header that never ends, one byte at a time.
    let trickle = async {
        let mut sent = 0usize;
        loop {
            if stream.write_all(b"a").await.is_err() {
                return sent;
            }
            sent += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
            let mut probe = [0u8; 512];
            match tokio::time::timeout(Duration::from_millis(1), stream.read(&mut probe)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return sent,
                Ok(Ok(_)) => return sent, // an answer (408/431) is also a refusal
                Err(_) => {}
            }
        }
    };
    let sent = tokio::time::timeout(HANG, trickle).await;
    // Assert: the server hung up; the client did not get to trickle forever.
    assert!(sent.is_ok(), "the slow client was never disconnected");
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_header_timeout() {
    // Arrange
    let mock = spawn_with_config(config(|c| c.header_timeout_ms = 300)).await;
    let mut stream = connect(&mock).await;
    stream
        .write_all(b"GET /__mock/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let first = read_response(&mut stream).await;
    assert_eq!(status_of(&first), 200);
    // Act: send nothing more.
    let rest = read_to_close(&mut stream).await;
    // Assert: closed by the server without another answer.
    assert_eq!(rest, "");
}

#[tokio::test]
async fn a_body_that_never_arrives_is_answered_408_json_by_the_request_timeout() {
    // Arrange
    let mock = spawn_with_config(config(|c| c.request_timeout_ms = 300)).await;
    let mut stream = connect(&mock).await;
    // Act: announce 100 bytes, send 10.
    stream
        .write_all(
            b"POST /oauth/token HTTP/1.1\r\nHost: x\r\n\
              Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n\
              grant_type",
        )
        .await
        .unwrap();
    let response = read_to_close(&mut stream).await;
    // Assert
    assert_eq!(status_of(&response), 408, "{response}");
    assert_eq!(body_of(&response)["error"], "request_timeout");
}

#[tokio::test]
async fn connections_over_the_cap_get_503_json_and_freed_slots_are_reused() {
    // Arrange: two slots, both held by kept-alive connections.
    let mock = spawn_with_config(config(|c| c.max_connections = 2)).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = connect(&mock).await;
        stream
            .write_all(b"GET /__mock/health HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        assert_eq!(status_of(&read_response(&mut stream).await), 200);
        held.push(stream);
    }
    // Act
    let mut third = connect(&mock).await;
    third
        .write_all(b"GET /__mock/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let refused = read_to_close(&mut third).await;
    // Assert
    assert_eq!(status_of(&refused), 503, "{refused}");
    assert_eq!(body_of(&refused)["error"], "server_busy");
    assert!(refused.to_ascii_lowercase().contains("retry-after: 1"));
    // Act: free one slot; a new connection is served once the server saw the close.
    drop(held.pop());
    let served = tokio::time::timeout(HANG, async {
        loop {
            let response = mock
                .client
                .get(mock.url("/__mock/health"))
                .header("connection", "close")
                .send()
                .await
                .unwrap();
            if response.status() == 200 {
                return;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    // Assert
    assert!(served.is_ok(), "the freed slot was never reused");
}

#[tokio::test]
async fn a_fixtures_document_over_the_body_limit_is_still_accepted_by_the_control_api() {
    // Arrange: a valid document of about 100 KiB (default fixtures plus 800 users).
    let mock = spawn_with_config(config(|c| c.max_body_bytes = 64 * 1024)).await;
    let mut doc: serde_json::Value =
        serde_json::from_str(include_str!("../../fixtures/default.json")).unwrap();
    let users = doc["users"].as_array_mut().unwrap();
    for i in 0..800 {
        users.push(serde_json::json!({
            "email": format!("bulk-user-{i:04}@example.com"),
            "password": "password",
            "first_name": "Bulk",
            "last_name": format!("User {i}"),
        }));
    }
    let body = doc.to_string();
    assert!(body.len() > 64 * 1024, "{}", body.len());
    // Act
    let response = mock
        .client
        .post(mock.url("/__mock/reset"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    // Assert
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200, "{body}");
    let login = mock.login("bulk-user-0799@example.com", "password").await;
    assert!(login["access_token"].is_string());
}

#[tokio::test]
async fn connections_over_the_per_client_cap_are_closed_and_freed_slots_are_reused() {
    // Arrange: two connections per address (the global cap stays high), both held.
    let mock = spawn_with_config(config(|c| c.max_connections_per_client = Some(2))).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = connect(&mock).await;
        stream
            .write_all(b"GET /__mock/health HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        assert_eq!(status_of(&read_response(&mut stream).await), 200);
        held.push(stream);
    }
    // Act: a third from the same address.
    let mut third = connect(&mock).await;
    let _ = third
        .write_all(b"GET /__mock/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let refused = read_to_close(&mut third).await;
    // Assert: closed unanswered.
    assert_eq!(refused, "", "{refused}");
    // Act: free one; a new connection is served once the server saw the close.
    drop(held.pop());
    let served = tokio::time::timeout(HANG, async {
        loop {
            let sent = mock
                .client
                .get(mock.url("/__mock/health"))
                .header("connection", "close")
                .send()
                .await;
            if sent.is_ok_and(|r| r.status() == 200) {
                return;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    // Assert
    assert!(served.is_ok(), "the freed slot was never reused");
}

/// A client that sends its whole (too large) body before reading
/// gets the 413 JSON answer, not a broken pipe or a reset.
#[tokio::test]
async fn a_client_still_sending_a_too_large_body_reads_the_413_answer() {
    // Arrange: a 1 KiB limit and a 4 MiB body, more than loopback socket buffers hold.
    let mock = spawn_with_config(config(|c| c.max_body_bytes = 1024)).await;
    let body = vec![b'x'; 4 * 1024 * 1024];
    let mut stream = connect(&mock).await;
    // Act: head and body, all of it, before reading anything.
    stream
        .write_all(
            format!(
                "POST /oauth/token HTTP/1.1\r\nHost: localhost\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\n\
                 Content-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let sent = tokio::time::timeout(HANG, stream.write_all(&body))
        .await
        .expect("the body is taken");
    // Assert
    assert!(sent.is_ok(), "{sent:?}");
    let response = read_response(&mut stream).await;
    assert_eq!(status_of(&response), 413, "{response}");
    assert_eq!(body_of(&response)["error"], "payload_too_large");
}

/// The part of chunked-body handling the application sees: a malformed chunk is a `400
/// invalid_request` JSON answer, not "larger than 65536 bytes".
#[tokio::test]
async fn a_malformed_chunk_is_answered_400_json_not_413() {
    // Arrange
    let mock = spawn_with_config(Config::default()).await;
    let mut stream = connect(&mock).await;
    // Act: a chunk size that is not hexadecimal.
    stream
        .write_all(
            b"POST /oauth/token HTTP/1.1\r\nHost: localhost\r\n\
              Authorization: Basic cGFydGljbGU6cGFydGljbGU=\r\n\
              Content-Type: application/x-www-form-urlencoded\r\n\
              Transfer-Encoding: chunked\r\n\r\nzz\r\ngrant_type=password\r\n0\r\n\r\n",
        )
        .await
        .unwrap();
    let response = read_to_close(&mut stream).await;
    // Assert
    assert_eq!(status_of(&response), 400, "{response}");
    assert_eq!(body_of(&response)["error"], "invalid_request", "{response}");
}

/// A field over 8 KiB in any body (a Particle form, a Particle or
/// control JSON body, a fixtures document) is a clear 400; one of 8 KiB is read.
#[tokio::test]
async fn a_body_field_over_8_kib_is_a_400_in_every_kind_of_body() {
    // Arrange
    let mock = spawn_with_config(config(|c| c.no_rate_limits = true)).await;
    let long = "x".repeat(8 * 1024 + 1);
    let fits = "x".repeat(8 * 1024);
    let client = &mock.client;
    // Act + Assert: the token endpoint's form (a long password).
    for (password, status) in [(&long, 400), (&fits, 400)] {
        let response = client
            .post(mock.url("/oauth/token"))
            .basic_auth("particle", Some("particle"))
            .form(&[
                ("grant_type", "password"),
                ("username", "user@example.com"),
                ("password", password.as_str()),
            ])
            .send()
            .await
            .unwrap();
        let (got, body) = status_and_json(response).await;
        assert_eq!(got, status, "{body}");
        if password.len() > 8 * 1024 {
            assert_eq!(body["error"], "invalid_request", "{body}");
            assert!(
                body["error_description"].as_str().unwrap().contains("8192"),
                "{body}"
            );
        } else {
            // Read, and refused as a wrong password: not a size error.
            assert_eq!(body["error"], "invalid_grant", "{body}");
        }
    }
    // A Particle JSON body behind a bearer token, and a control JSON body.
    let particle = client
        .put(mock.url("/v1/user"))
        .bearer_auth(USER_TOKEN)
        .json(&serde_json::json!({ "account_info": { "first_name": long } }))
        .send()
        .await
        .unwrap();
    let control = client
        .post(mock.url("/__mock/users"))
        .json(&serde_json::json!({ "email": "long@example.com", "password": long }))
        .send()
        .await
        .unwrap();
    let long_key = client
        .post(mock.url("/__mock/users"))
        .json(&serde_json::json!({ long.clone(): 1 }))
        .send()
        .await
        .unwrap();
    let fixtures = client
        .post(mock.url("/__mock/reset"))
        .json(&serde_json::json!({ "users": [{ "email": "a@example.com", "password": long }] }))
        .send()
        .await
        .unwrap();
    for response in [particle, control, long_key, fixtures] {
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, 400, "{body}");
        assert!(body.to_string().contains("8192"), "{body}");
    }
    // Nothing was changed by the refused bodies.
    let (_, users) =
        status_and_json(client.get(mock.url("/__mock/users")).send().await.unwrap()).await;
    assert!(!users.to_string().contains("long@example.com"), "{users}");
}
