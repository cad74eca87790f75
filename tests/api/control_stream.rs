//! Control API: the journal as server-sent events (`GET /__mock/journal/stream`): the
//! event format, filters, the backlog, the dropped count of a slow viewer, the viewer cap,
//! the guard, tenants, and a shutdown that a connected viewer does not hold up.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;
use particle_auth_mock::Config;

/// How long a test waits for an event that must come (never for time to pass: every
/// event here is caused by a request the test has already sent).
const PATIENCE: Duration = Duration::from_secs(10);

/// One server-sent event: its `event:` name (`None` for a plain message), `id:` and data.
#[derive(Debug, Clone, PartialEq)]
struct SseEvent {
    event: Option<String>,
    id: Option<String>,
    data: String,
}

/// A journal stream being read.
struct Stream {
    response: reqwest::Response,
    buffer: String,
    /// Comment lines seen so far (`: …`).
    comments: Vec<String>,
}

impl Stream {
    /// Opens `path` (a stream URL) and checks it is one.
    async fn open(mock: &TestMock, path: &str) -> Stream {
        let response = mock.client.get(mock.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Stream {
            response,
            buffer: String::new(),
            comments: Vec::new(),
        }
    }

    /// The next event that is not only comments; `None` when the stream ended.
    async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                let mut event = SseEvent {
                    event: None,
                    id: None,
                    data: String::new(),
                };
                let mut fields = false;
                for line in frame.lines() {
                    if let Some(comment) = line.strip_prefix(':') {
                        self.comments.push(comment.trim().to_string());
                    } else if let Some((name, value)) = line.split_once(':') {
                        fields = true;
                        let value = value.strip_prefix(' ').unwrap_or(value).to_string();
                        match name {
                            "event" => event.event = Some(value),
                            "id" => event.id = Some(value),
                            "data" => event.data.push_str(&value),
                            _ => {}
                        }
                    }
                }
                if fields {
                    return Some(event);
                }
                continue;
            }
            let chunk = tokio::time::timeout(PATIENCE, self.response.chunk())
                .await
                .expect("an event within the patience")
                .ok()??;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// The next event's data as JSON, checking it is a plain message.
    async fn next_entry(&mut self) -> Value {
        let event = self.next().await.expect("the stream goes on");
        assert_eq!(event.event, None, "{event:?}");
        let entry: Value = serde_json::from_str(&event.data).unwrap();
        assert_eq!(event.id.as_deref(), Some(entry["id"].to_string().as_str()));
        entry
    }
}

fn trusting_forwarded() -> Config {
    let mut config = Config::default();
    config.trust_forwarded = true;
    config
}

/// `GET path` from `client` (its X-Forwarded-For); the status.
async fn get_from(mock: &TestMock, client: &str, path: &str) -> u16 {
    mock.client
        .get(mock.url(path))
        .header("x-forwarded-for", client)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn each_answered_request_arrives_as_one_event_with_the_journal_entry_as_data() {
    // Arrange
    let mock = spawn_mock().await;
    let mut stream = Stream::open(&mock, "/__mock/journal/stream").await;
    // Act: a refused login and a bearer call.
    mock.login_at(&mock.uri, "user@example.com", "wrong").await;
    assert_eq!(mock.token_status_at(&mock.uri, USER_TOKEN).await, 200);
    let first = stream.next_entry().await;
    let second = stream.next_entry().await;
    // Assert: exactly what the journal holds, fields and all.
    let (_, journal) = mock.get_json("/__mock/journal").await;
    assert_eq!(journal["entries"], json!([first, second]));
    assert_eq!(first["path"], "/oauth/token");
    assert_eq!(first["status"], 400);
    assert_eq!(first["reason"], "wrong password for user@example.com");
    assert_eq!(first["client"], "127.0.0.1");
    assert_eq!(second["status"], 200);
    assert_eq!(
        stream.comments.first().map(String::as_str),
        Some("particle-auth-mock journal stream")
    );
}

#[tokio::test]
async fn the_stream_masks_secrets_in_the_url_as_the_journal_does() {
    // Arrange
    let mock = spawn_mock().await;
    let mut stream = Stream::open(&mock, "/__mock/journal/stream").await;
    // Act
    mock.client
        .get(mock.url(&format!("/v1/user?access_token={USER_TOKEN}")))
        .send()
        .await
        .unwrap();
    let entry = stream.next_entry().await;
    // Assert
    assert_eq!(entry["path"], "/v1/user?access_token=[redacted]");
    assert!(!entry.to_string().contains(USER_TOKEN));
}

#[tokio::test]
async fn filters_keep_only_the_matching_status_client_and_path() {
    // Arrange: a stream of 4xx answers to 10.0.0.2 on /v1/*.
    let mock = spawn_with_config(trusting_forwarded()).await;
    let mut stream = Stream::open(
        &mock,
        "/__mock/journal/stream?status=4xx&client=10.0.0.2&path=/v1/*",
    )
    .await;
    // Act: three requests that each miss one condition, then one that meets all.
    assert_eq!(get_from(&mock, "10.0.0.1", "/v1/user").await, 400);
    assert_eq!(get_from(&mock, "10.0.0.2", "/oauth/nothing").await, 404);
    mock.client
        .get(mock.url("/v1/user"))
        .header("x-forwarded-for", "10.0.0.2")
        .bearer_auth(USER_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(get_from(&mock, "10.0.0.2", "/v1/devices").await, 400);
    let entry = stream.next_entry().await;
    // Assert: the first event is the fourth request.
    assert_eq!(
        (&entry["client"], &entry["path"], &entry["status"]),
        (&json!("10.0.0.2"), &json!("/v1/devices"), &json!(400))
    );
    assert_eq!(entry["id"], 4);
}

#[tokio::test]
async fn a_backlog_replays_the_last_matching_entries_then_new_ones_follow_without_a_gap() {
    // Arrange: three journaled requests, two of them 4xx.
    let mock = spawn_mock().await;
    mock.login_at(&mock.uri, "user@example.com", "wrong").await;
    assert_eq!(mock.token_status_at(&mock.uri, USER_TOKEN).await, 200);
    mock.login_at(&mock.uri, "user@example.com", "wrong-again")
        .await;
    // Act
    let mut stream = Stream::open(&mock, "/__mock/journal/stream?status=4xx&backlog=5").await;
    assert_eq!(mock.token_status_at(&mock.uri, "not-a-token").await, 401);
    let ids = [
        stream.next_entry().await["id"].clone(),
        stream.next_entry().await["id"].clone(),
        stream.next_entry().await["id"].clone(),
    ];
    // Assert
    assert_eq!(ids, [json!(1), json!(3), json!(4)]);
}

#[tokio::test]
async fn a_malformed_filter_or_an_unknown_parameter_is_refused_with_400_json() {
    // Arrange
    let mock = spawn_mock().await;
    // Act
    let bad_status = mock.get_json("/__mock/journal/stream?status=4x").await;
    let unknown = mock.get_json("/__mock/journal/stream?limit=3").await;
    // Assert
    assert_eq!(bad_status.0, 400);
    assert_eq!(bad_status.1["ok"], false);
    assert!(
        bad_status.1["error"].as_str().unwrap().contains("4x"),
        "{bad_status:?}"
    );
    assert_eq!(unknown.0, 400);
}

/// Opens a stream over a socket with a small receive buffer that is not read: the
/// server's writes soon block, and the viewer falls behind.
async fn slow_viewer(mock: &TestMock) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket
        .connect(mock.server.address())
        .await
        .expect("connects");
    stream
        .write_all(b"GET /__mock/journal/stream HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    // The head arrives once the viewer is subscribed.
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    stream
}

#[tokio::test]
async fn a_viewer_that_falls_behind_is_told_exactly_how_many_entries_it_lost() {
    // Arrange: a viewer that reads nothing while 8,000 requests with 1.5 KB paths are
    // answered: 14 MB of events, far more than the feed holds plus what the sockets buffer
    // (at most 4 MB here).
    let mock = spawn_mock().await;
    let mut viewer = slow_viewer(&mock).await;
    const SENT: u64 = 8_000;
    let uri = mock.url(&format!("/no/such/route/{}", "x".repeat(1500)));
    let mut sent = 0;
    while sent < SENT {
        let batch: Vec<_> = (0..50).map(|_| mock.client.get(&uri).send()).collect();
        for response in futures_util::future::join_all(batch).await {
            assert_eq!(response.unwrap().status(), 404);
        }
        sent += 50;
    }
    // Act: now read everything the viewer gets until every request is accounted for.
    let (mut entries, mut dropped, mut text) = (0u64, 0u64, String::new());
    let mut buffer = vec![0u8; 64 * 1024];
    while entries + dropped < SENT {
        let n = tokio::time::timeout(PATIENCE, viewer.read(&mut buffer))
            .await
            .expect("the stream goes on")
            .unwrap();
        assert_ne!(n, 0, "the stream ended early");
        text.push_str(std::str::from_utf8(&buffer[..n]).unwrap());
        while let Some(end) = text.find("\n\n") {
            let frame: String = text.drain(..end + 2).collect();
            if frame.contains("event: dropped") {
                let data = frame.split("data: ").nth(1).unwrap().trim();
                let data: Value = serde_json::from_str(data).unwrap();
                dropped += data["dropped"].as_u64().unwrap();
            } else if frame.contains("data: {") {
                entries += 1;
            }
        }
    }
    // Assert: some were lost, said so, and the two add up to what was sent.
    assert!(dropped > 0, "no loss reported ({entries} entries)");
    assert!(
        entries >= 1024,
        "the feed holds at least its capacity: {entries}"
    );
    assert_eq!(entries + dropped, SENT);
}

#[tokio::test]
async fn at_most_32_streams_are_open_at_once_and_a_closed_one_frees_its_slot() {
    // Arrange: 32 viewers.
    let mock = spawn_mock().await;
    let mut open = Vec::new();
    for _ in 0..32 {
        open.push(Stream::open(&mock, "/__mock/journal/stream").await);
    }
    // Act
    let refused = mock.get_json("/__mock/journal/stream").await;
    drop(open.pop());
    // The server learns of the close when it next writes to that viewer.
    let mut admitted = None;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while admitted.is_none() && tokio::time::Instant::now() < deadline {
        mock.token_status_at(&mock.uri, USER_TOKEN).await;
        let response = mock
            .client
            .get(mock.url("/__mock/journal/stream"))
            .send()
            .await
            .unwrap();
        if response.status() == 200 {
            admitted = Some(response);
        }
    }
    // Assert
    assert_eq!(refused.0, 429);
    assert_eq!(refused.1["ok"], false);
    assert!(
        admitted.is_some(),
        "the closed viewer's slot was never freed"
    );
}

#[tokio::test]
async fn with_a_control_secret_the_stream_needs_it_and_without_control_it_is_404() {
    // Arrange
    let mut config = Config::default();
    config.control_secret = Some("s3cret".into());
    let guarded = spawn_with_config(config).await;
    let mut config = Config::default();
    config.no_control = true;
    let off = spawn_with_config(config).await;
    // Act
    let without = guarded.get_json("/__mock/journal/stream").await;
    let with = guarded
        .client
        .get(guarded.url("/__mock/journal/stream"))
        .header("X-Mock-Control-Secret", "s3cret")
        .send()
        .await
        .unwrap();
    let disabled = off.get_json("/__mock/journal/stream").await;
    let unknown = off.get_json("/no/such/route").await;
    // Assert
    assert_eq!(without.0, 401);
    assert_eq!(with.status(), 200);
    assert_eq!(disabled, unknown);
    assert_eq!(disabled.0, 404);
}

#[tokio::test]
async fn a_tenant_stream_shows_only_that_tenant_and_ends_when_it_is_deleted() {
    // Arrange
    let mock = spawn_mock().await;
    let tenant = mock.server.create_tenant().unwrap();
    let prefix = tenant.uri().replace(&mock.uri, "");
    let mut stream = Stream::open(&mock, &format!("{prefix}/__mock/journal/stream")).await;
    // Act: a request to the default world, then one to the tenant.
    assert_eq!(mock.token_status_at(&mock.uri, USER_TOKEN).await, 200);
    assert_eq!(mock.token_status_at(&tenant.uri(), "nope").await, 401);
    let entry = stream.next_entry().await;
    assert!(mock.server.delete_tenant(tenant.id()));
    drop(tenant);
    // Assert
    assert_eq!(entry["status"], 401);
    assert_eq!(entry["path"], "/v1/access_tokens/current");
    assert_eq!(stream.next().await, None, "the stream ends with its tenant");
}

#[tokio::test]
async fn the_stream_works_with_the_journal_switched_off() {
    // Arrange
    let mut config = Config::default();
    config.journal_size = 0;
    let mock = spawn_with_config(config).await;
    let mut stream = Stream::open(&mock, "/__mock/journal/stream").await;
    // Act
    assert_eq!(mock.token_status_at(&mock.uri, USER_TOKEN).await, 200);
    let entry = stream.next_entry().await;
    // Assert
    assert_eq!(entry["status"], 200);
    assert_eq!(
        mock.get_json("/__mock/journal").await.1["entries"],
        json!([])
    );
}

#[tokio::test]
async fn a_connected_viewer_does_not_hold_up_shutdown_and_its_stream_ends() {
    // Arrange
    let mock = spawn_mock().await;
    let mut stream = Stream::open(&mock, "/__mock/journal/stream").await;
    // Act
    let elapsed = mock.shut_down().await;
    // Assert: the stream ended (rather than going on after the server stopped), and the
    // shutdown did not wait out its 500 ms grace period for it.
    assert_eq!(stream.next().await, None);
    assert!(elapsed < Duration::from_millis(450), "{elapsed:?}");
}
