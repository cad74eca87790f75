//! Event streams and publishing (particle-api-devices.md D5, D6): the wire bytes, the
//! keep-alive, filters, scoping, publish limits and a token's death mid-stream.

use std::time::Duration;

use particle_auth_mock::control::DevicePublish;
use particle_auth_mock::Config;
use reqwest::Response;
use serde_json::{json, Value};

use crate::helpers::{
    spawn_mock, spawn_with_config, status_and_json, TestMock, API_USER_TOKEN, USER_TOKEN,
};

/// How long a test waits for bytes that are due at once (real time, generous for CI).
const PATIENCE: Duration = Duration::from_secs(5);

/// The next chunk of a stream (`None` at its end), or a panic after [`PATIENCE`].
async fn next_chunk(stream: &mut Response) -> Option<String> {
    let chunk = tokio::time::timeout(PATIENCE, stream.chunk())
        .await
        .expect("bytes within the patience")
        .expect("a readable stream");
    chunk.map(|c| String::from_utf8_lossy(&c).into_owned())
}

/// Reads until the text read so far contains `needle`; returns all of it.
async fn read_until(stream: &mut Response, needle: &str) -> String {
    let mut text = String::new();
    while !text.contains(needle) {
        let chunk = next_chunk(stream).await;
        text.push_str(&chunk.unwrap_or_else(|| panic!("stream ended before {needle:?}: {text}")));
    }
    text
}

/// Opens a stream and reads its `:ok` opening.
async fn open(mock: &TestMock, path: &str, token: &str) -> Response {
    let mut stream = mock.get_with(path, token).await;
    assert_eq!(stream.status(), 200, "{path}");
    assert_eq!(read_until(&mut stream, ":ok\n\n").await, ":ok\n\n");
    stream
}

async fn publish(mock: &TestMock, path: &str, token: &str, body: Value) -> (u16, Value) {
    let response = mock
        .client
        .post(mock.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    status_and_json(response).await
}

#[tokio::test]
async fn a_stream_sends_the_documented_headers_ok_and_frames_byte_for_byte() {
    // Arrange
    let mock = spawn_mock().await;
    let mut stream = mock.get_with("/v1/devices/events", USER_TOKEN).await;
    // Assert: headers (D5.2), then `:ok` before anything is published.
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    assert_eq!(stream.headers()["cache-control"], "no-cache");
    assert_eq!(next_chunk(&mut stream).await.as_deref(), Some(":ok\n\n"));
    // Act
    let (status, body) = publish(
        &mock,
        "/v1/devices/events",
        USER_TOKEN,
        json!({"name": "temperature", "data": "25.34", "private": true}),
    )
    .await;
    // Assert
    assert_eq!((status, body), (200, json!({"ok": true})));
    assert_eq!(
        read_until(&mut stream, "\n\n").await,
        "event: temperature\ndata: {\"data\":\"25.34\",\"ttl\":60,\"published_at\":\"2026-01-01T00:00:00.000Z\",\"coreid\":\"api\"}\n\n"
    );
}

#[tokio::test]
async fn an_idle_stream_sends_a_newline_every_keep_alive() {
    // Arrange: a 50 ms keep-alive.
    let mock = spawn_with_config(Config {
        event_keepalive_ms: 50,
        ..Config::default()
    })
    .await;
    let mut stream = open(&mock, "/v1/devices/events", USER_TOKEN).await;
    // Act / Assert: nothing published, newlines only.
    for _ in 0..3 {
        assert_eq!(next_chunk(&mut stream).await.as_deref(), Some("\n"));
    }
}

#[tokio::test]
async fn the_keep_alive_option_must_stay_under_fifteen_seconds() {
    let config = Config {
        event_keepalive_ms: 15_000,
        ..Config::default()
    };
    assert_eq!(config.validate().unwrap_err().option, "event-keepalive-ms");
    assert!((9_000..=12_000).contains(&Config::default().event_keepalive_ms));
}

#[tokio::test]
async fn prefixes_are_percent_decoded_case_sensitive_and_unknown_parameters_ignored() {
    // Arrange
    let mock = spawn_mock().await;
    let mut stream = open(&mock, "/v1/devices/events/temp%2Fk?nonce=12.5", USER_TOKEN).await;
    // Act: a name of another case, then one that matches.
    for name in ["Temp/kitchen", "temp/kitchen"] {
        let (status, _) = publish(
            &mock,
            "/v1/devices/events",
            USER_TOKEN,
            json!({ "name": name, "data": name }),
        )
        .await;
        assert_eq!(status, 200);
    }
    // Assert: only the matching one arrives.
    let text = read_until(&mut stream, "\n\n").await;
    assert!(text.starts_with("event: temp/kitchen\n"), "{text}");
}

#[tokio::test]
async fn product_streams_carry_the_product_fields() {
    // Arrange
    let mock = spawn_mock().await;
    let mut product = open(&mock, "/v1/products/demo-product/events", USER_TOKEN).await;
    let mut org = open(&mock, "/v1/orgs/demo-org/events/ba", USER_TOKEN).await;
    // Act: a form publish to the product route, public, with a ttl.
    let response = mock
        .client
        .post(mock.url("/v1/products/1001/events"))
        .bearer_auth(USER_TOKEN)
        .form(&[
            ("name", "battery"),
            ("data", "87"),
            ("private", "false"),
            ("ttl", "30"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // Assert
    let expected = "event: battery\ndata: {\"data\":\"87\",\"ttl\":30,\"published_at\":\"2026-01-01T00:00:00.000Z\",\"coreid\":\"api\",\"userid\":\"5d447a8c6c0ad30000000000\",\"version\":0,\"public\":true,\"productID\":1001}\n\n";
    assert_eq!(read_until(&mut product, "\n\n").await, expected);
    assert_eq!(read_until(&mut org, "\n\n").await, expected);
}

#[tokio::test]
async fn other_peoples_events_stay_out_of_a_users_streams() {
    // Arrange: the developer's own stream, and the public firehose.
    let mock = spawn_mock().await;
    let developer = mock.login("developer@example.com", "password").await;
    let developer = developer["access_token"].as_str().unwrap().to_string();
    let mut mine = open(&mock, "/v1/devices/events", &developer).await;
    let mut public = open(&mock, "/v1/events/x", &developer).await;
    // Act: the user publishes privately, then publicly; the developer publishes too.
    for (token, name, private) in [
        (USER_TOKEN, "x-private", true),
        (USER_TOKEN, "x-public", false),
        (developer.as_str(), "x-own", true),
    ] {
        let body = json!({ "name": name, "private": private });
        assert_eq!(
            publish(&mock, "/v1/devices/events", token, body).await.0,
            200
        );
    }
    // Assert
    let text = read_until(&mut mine, "\n\n").await;
    assert!(
        text.starts_with("event: x-own\ndata: {\"data\":null,"),
        "{text}"
    );
    let text = read_until(&mut public, "event: x-own").await;
    assert!(
        !text.contains("x-private") && text.contains("event: x-public\n"),
        "{text}"
    );
}

#[tokio::test]
async fn refusals_come_before_the_stream_starts() {
    // Arrange
    let mock = spawn_mock().await;
    let developer = mock.login("developer@example.com", "password").await;
    let developer = developer["access_token"].as_str().unwrap().to_string();
    let cases = [
        // D5.1: the firehose needs a prefix (exact body).
        (
            "/v1/events",
            USER_TOKEN,
            400,
            json!({"ok": false, "error": "event prefix filter is required"}),
        ),
        // D1: API users are not allowed on sandbox streams.
        (
            "/v1/devices/events",
            API_USER_TOKEN,
            403,
            json!({"error": "unauthorized", "error_description": "API users are not allowed to call this endpoint"}),
        ),
        // D5.4: a device the caller may not see, refused with D1's body.
        (
            "/v1/devices/0123456789abcdef01234567/events",
            &developer,
            403,
            json!({"error": "Permission Denied", "info": "I didn't recognize that device name or ID, try opening https://api.particle.io/v1/devices?access_token=undefined"}),
        ),
        (
            "/v1/devices/ffffffffffffffffffffffff/events",
            USER_TOKEN,
            403,
            json!({"error": "Permission Denied", "info": "I didn't recognize that device name or ID, try opening https://api.particle.io/v1/devices?access_token=undefined"}),
        ),
        // The API user lacks `events:get`.
        (
            "/v1/products/demo-product/events",
            API_USER_TOKEN,
            403,
            json!({"error": "unauthorized", "error_description": "Insufficient scope: this endpoint requires events:get"}),
        ),
        (
            "/v1/products/other-product/events",
            USER_TOKEN,
            403,
            json!({"ok": false, "error": "Permission denied"}),
        ),
    ];
    for (path, token, status, body) in cases {
        // Act
        let response = mock.get_with(path, token).await;
        // Assert
        assert_eq!(
            response.headers()["content-type"],
            "application/json; charset=utf-8",
            "{path}"
        );
        assert_eq!(status_and_json(response).await, (status, body), "{path}");
    }
    let response = mock
        .client
        .get(mock.url("/v1/devices/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn a_device_stream_of_a_product_member_opens() {
    let mock = spawn_mock().await;
    for path in [
        "/v1/devices/fedcba9876543210fedcba98/events",
        "/v1/products/demo-product/devices/fedcba9876543210fedcba98/events/spark",
        "/v1/orgs/demo-org/devices/89abcdef0123456789abcdef/events",
        "/v1/devices/mine/events",
    ] {
        open(&mock, path, USER_TOKEN).await;
    }
}

#[tokio::test]
async fn publishes_outside_the_limits_get_clear_400s() {
    // Arrange
    let mock = spawn_mock().await;
    let cases = [
        (json!({"data": "x"}), "Event name is required."),
        (
            json!({"name": "x".repeat(65)}),
            "Event name must be 1 to 64 printable ASCII characters",
        ),
        (
            json!({"name": "a\nb"}),
            "Event name must be 1 to 64 printable ASCII characters",
        ),
        (
            json!({"name": "spark/status", "data": "online"}),
            "Event names starting with spark or particle are reserved for the cloud.",
        ),
        (
            json!({"name": "big", "data": "d".repeat(1025)}),
            "Event data must be at most 1024 bytes.",
        ),
        (
            json!({"name": "t", "ttl": "soon"}),
            "ttl must be a whole number of seconds.",
        ),
    ];
    for (body, error) in cases {
        // Act
        let (status, answer) = publish(&mock, "/v1/devices/events", USER_TOKEN, body.clone()).await;
        // Assert
        assert_eq!(status, 400, "{body}");
        assert_eq!(answer["ok"], false, "{body}");
        assert!(
            answer["error"].as_str().unwrap().starts_with(error),
            "{body}: {answer}"
        );
    }
    // An API user without `events:send` may not publish on either route.
    let (status, _) = publish(
        &mock,
        "/v1/devices/events",
        API_USER_TOKEN,
        json!({"name": "t"}),
    )
    .await;
    assert_eq!(status, 403);
}

/// A mock with a 50 ms keep-alive, a fresh login's token, and a stream of its devices.
async fn stream_of_a_fresh_login() -> (TestMock, String, Response) {
    let mock = spawn_with_config(Config {
        event_keepalive_ms: 50,
        ..Config::default()
    })
    .await;
    let login = mock.login("user@example.com", "password").await;
    let token = login["access_token"].as_str().unwrap().to_string();
    let stream = open(&mock, "/v1/devices/events", &token).await;
    (mock, token, stream)
}

/// Revokes `token` with `DELETE /v1/access_tokens/current`.
async fn revoke(mock: &TestMock, token: &str) {
    let revoked = mock
        .client
        .delete(mock.url("/v1/access_tokens/current"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
}

#[tokio::test]
async fn a_revoked_token_closes_its_stream_within_one_keep_alive_and_cannot_reconnect() {
    // Arrange
    let (mock, token, mut stream) = stream_of_a_fresh_login().await;
    // Act
    revoke(&mock, &token).await;
    // Assert: the stream ends (nothing but keep-alives before).
    while let Some(chunk) = next_chunk(&mut stream).await {
        assert_eq!(chunk, "\n");
    }
    let again = mock.get_with("/v1/devices/events", &token).await;
    assert_eq!(again.status(), 401);
}

#[tokio::test]
async fn a_revoked_token_closes_a_busy_stream_too() {
    // Arrange: a stream that never falls silent (an event every 5 ms, keep-alive 50 ms).
    let (mock, token, mut stream) = stream_of_a_fresh_login().await;
    let (client, url) = (mock.client.clone(), mock.url("/v1/devices/events"));
    let publisher = tokio::spawn(async move {
        for _ in 0..400 {
            let sent = client
                .post(&url)
                .bearer_auth(USER_TOKEN)
                .json(&json!({"name": "busy"}));
            assert_eq!(sent.send().await.unwrap().status(), 200);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    read_until(&mut stream, "event: busy").await;
    // Act
    revoke(&mock, &token).await;
    // Assert: the stream ends while events keep coming (within a keep-alive or so, well
    // before the publisher's 2 s are over).
    while next_chunk(&mut stream).await.is_some() {}
    assert!(
        !publisher.is_finished(),
        "the stream outlived the publisher"
    );
    publisher.abort();
}

#[tokio::test]
async fn a_shutdown_ends_every_worlds_streams_without_waiting_for_them() {
    // Arrange: a stream in the default world and one in a tenant.
    let mock = spawn_mock().await;
    let (status, tenant) = mock
        .call(reqwest::Method::POST, "/__mock/tenants", None)
        .await;
    assert_eq!(status, 201, "{tenant}");
    let tenant_path = format!("/t/{}/v1/devices/events", tenant["id"].as_str().unwrap());
    let mut streams = vec![
        open(&mock, "/v1/devices/events", USER_TOKEN).await,
        open(&mock, &tenant_path, USER_TOKEN).await,
    ];
    // Act
    let elapsed = mock.shut_down().await;
    // Assert: both streams end, and the shutdown did not wait out its 500 ms grace.
    for stream in &mut streams {
        assert_eq!(next_chunk(stream).await, None);
    }
    assert!(elapsed < Duration::from_millis(450), "{elapsed:?}");
}

#[tokio::test]
async fn a_token_expiring_on_the_mock_clock_closes_its_stream() {
    // Arrange: a token for one hour.
    let mock = spawn_with_config(Config {
        event_keepalive_ms: 50,
        ..Config::default()
    })
    .await;
    let response = mock
        .token_request(&[
            ("grant_type", "password"),
            ("username", "user@example.com"),
            ("password", "password"),
            ("expires_in", "3600"),
        ])
        .await;
    let token = response.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut stream = open(&mock, "/v1/devices/events", &token).await;
    assert_eq!(next_chunk(&mut stream).await.as_deref(), Some("\n"));
    // Act
    mock.clock.advance(Duration::from_secs(3601));
    // Assert
    while let Some(chunk) = next_chunk(&mut stream).await {
        assert_eq!(chunk, "\n");
    }
    assert_eq!(
        mock.get_with("/v1/devices/events", &token).await.status(),
        401
    );
}

#[tokio::test]
async fn a_simulated_device_publishes_through_the_control_api_and_a_test_waits_for_a_client_event()
{
    // Arrange: the owner's stream of its device.
    let mock = spawn_mock().await;
    let mut stream = open(
        &mock,
        "/v1/devices/0123456789abcdef01234567/events",
        USER_TOKEN,
    )
    .await;
    // Act: the device publishes.
    let response = mock
        .client
        .post(mock.url("/__mock/devices/0123456789ABCDEF01234567/events"))
        .json(&json!({"name": "motion", "data": "1"}))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(response).await;
    // Assert
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["event"]["coreid"], "0123456789abcdef01234567");
    assert_eq!(
        read_until(&mut stream, "\n\n").await,
        "event: motion\ndata: {\"data\":\"1\",\"ttl\":60,\"published_at\":\"2026-01-01T00:00:00.000Z\",\"coreid\":\"0123456789abcdef01234567\"}\n\n"
    );
    // Act: wait for a client's publish that happens during the wait.
    let after = body["event"]["seq"].as_u64().unwrap();
    let waiting = mock.client.get(mock.url(&format!(
        "/__mock/events?name=door&after={after}&timeout_ms=5000"
    )));
    let (waited, published) = tokio::join!(waiting.send(), async {
        publish(
            &mock,
            "/v1/devices/events",
            USER_TOKEN,
            json!({"name": "door", "data": "open"}),
        )
        .await
    });
    // Assert
    assert_eq!(published.0, 200);
    let (status, body) = status_and_json(waited.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(body["events"][0]["name"], "door", "{body}");
    assert_eq!(body["events"][0]["coreid"], "api");
    // A wait that times out answers an empty list; an unknown device is a 404.
    let (_, body) = status_and_json(
        mock.client
            .get(mock.url("/__mock/events?name=nothing&timeout_ms=10"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(body["events"], json!([]));
    let response = mock
        .client
        .post(mock.url("/__mock/devices/ffffffffffffffffffffffff/events"))
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn the_rust_helpers_publish_as_a_device_and_wait_for_a_client_event() {
    // Arrange: the owner's stream of its device.
    let mock = spawn_mock().await;
    let mut stream = open(&mock, "/v1/devices/events", USER_TOKEN).await;
    // Act: the device publishes through the library.
    let event = mock
        .server
        .controls()
        .publish_as_device(
            "0123456789abcdef01234567",
            DevicePublish::new("motion", "1"),
        )
        .unwrap();
    // Assert
    assert_eq!(event.coreid, "0123456789abcdef01234567");
    assert_eq!(event.source, "device");
    assert_eq!(
        read_until(&mut stream, "\n\n").await,
        "event: motion\ndata: {\"data\":\"1\",\"ttl\":60,\"published_at\":\"2026-01-01T00:00:00.000Z\",\"coreid\":\"0123456789abcdef01234567\"}\n\n"
    );
    // Act: wait for a client's publish that happens during the wait.
    let mark = mock.server.controls().last_event_seq();
    assert_eq!(mark, event.seq);
    let (events, published) = tokio::join!(
        mock.server
            .controls()
            .wait_for_events("door", mark, PATIENCE),
        publish(
            &mock,
            "/v1/devices/events",
            USER_TOKEN,
            json!({"name": "door/front", "data": "open", "private": true}),
        )
    );
    // Assert
    assert_eq!(published.0, 200);
    assert_eq!(events.len(), 1);
    assert_eq!(
        (
            events[0].name.as_str(),
            events[0].coreid.as_str(),
            events[0].data.as_deref()
        ),
        ("door/front", "api", Some("open"))
    );
    assert!(!events[0].public);
    // A wait with nothing new times out empty; an unknown device and a reserved name are refused.
    let none = mock
        .server
        .controls()
        .wait_for_events("door", events[0].seq, Duration::from_millis(10))
        .await;
    assert!(none.is_empty());
    let unknown = mock
        .server
        .controls()
        .publish_as_device("ffffffffffffffffffffffff", DevicePublish::new("x", ""));
    assert_eq!(unknown.unwrap_err().status(), 404);
    let reserved = mock.server.controls().publish_as_device(
        "0123456789abcdef01234567",
        DevicePublish::new("spark/x", ""),
    );
    assert_eq!(reserved.unwrap_err().status(), 400);
}

#[tokio::test]
async fn simultaneous_streams_past_the_event_streams_rule_are_refused_until_one_closes() {
    // Arrange: at most two streams at once per client.
    let mock = spawn_with_config(Config {
        rate_limits: vec!["event-streams=2/300s".parse().unwrap()],
        ..Config::default()
    })
    .await;
    let first = open(&mock, "/v1/devices/events", USER_TOKEN).await;
    let _second = open(&mock, "/v1/events/x", USER_TOKEN).await;
    // Act
    let refused = mock.get_with("/v1/devices/events", USER_TOKEN).await;
    // Assert
    let (status, body) = status_and_json(refused).await;
    assert_eq!(status, 429);
    assert_eq!(body["error"], "rate_limit_exceeded");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("2 simultaneous event streams"));
    // A closed stream gives its place back.
    drop(first);
    let mut reopened = None;
    for _ in 0..100 {
        let response = mock.get_with("/v1/devices/events", USER_TOKEN).await;
        if response.status() == 200 {
            reopened = Some(response);
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(reopened.is_some(), "the slot was not given back");
}

#[tokio::test]
async fn stream_refusals_answer_529_when_chosen_and_429_by_default_visible_in_controls_and_journal()
{
    // Arrange: one stream at once, three opens per window, refusals as 529.
    let mock = spawn_with_config(Config {
        rate_limits: vec![
            "event-streams=1/300s".parse().unwrap(),
            "events=3/300s".parse().unwrap(),
        ],
        stream_limit_status: Some(529),
        ..Config::default()
    })
    .await;
    let (_, controls) = status_and_json(
        mock.client
            .get(mock.url("/__mock/rate-limits"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(controls["settings"]["stream_limit_status"], 529);
    let _first = open(&mock, "/v1/devices/events", USER_TOKEN).await;
    // Act: a second stream at once (event-streams), then opens past the events rule.
    let simultaneous = mock.get_with("/v1/events/x", USER_TOKEN).await;
    let (status, body) = status_and_json(simultaneous).await;
    // Assert
    assert_eq!(status, 529);
    assert_eq!(body["error"], "rate_limit_exceeded");
    let _ = mock.get_with("/v1/events/x", USER_TOKEN).await;
    let (status, body) = status_and_json(mock.get_with("/v1/events/x", USER_TOKEN).await).await;
    assert_eq!(status, 529, "{body}");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("events"));
    let (_, journal) = status_and_json(
        mock.client
            .get(mock.url("/__mock/journal?status=529"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let entries = journal["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3, "{journal}");
    assert!(entries[0]["reason"]
        .as_str()
        .unwrap()
        .contains("event-streams limit 1 reached"));
    // Act: the control API switches back to 429; a bad status is refused.
    let response = mock
        .client
        .patch(mock.url("/__mock/rate-limits"))
        .json(&json!({"stream_limit_status": 500}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let response = mock
        .client
        .patch(mock.url("/__mock/rate-limits"))
        .json(&json!({"stream_limit_status": 429}))
        .send()
        .await
        .unwrap();
    let (status, settings) = status_and_json(response).await;
    assert_eq!(status, 200, "{settings}");
    // Assert: the default status again, for both rules.
    let (status, _) = status_and_json(mock.get_with("/v1/events/x", USER_TOKEN).await).await;
    assert_eq!(status, 429);
    mock.server.controls().reset_rate_limits();
    let (status, _) = status_and_json(mock.get_with("/v1/events/x", USER_TOKEN).await).await;
    assert_eq!(status, 429);
    // The option accepts only the two statuses.
    let config = Config {
        stream_limit_status: Some(500),
        ..Config::default()
    };
    assert_eq!(config.validate().unwrap_err().option, "stream-limit-status");
}

#[tokio::test]
async fn the_dashboard_events_stream_replays_the_backlog_and_labels_each_source() {
    // Arrange: a device event before the viewer opens.
    let mock = spawn_mock().await;
    let argon = "0123456789abcdef01234567";
    mock.server
        .controls()
        .publish_as_device(argon, DevicePublish::new("before", "1"))
        .unwrap();
    let mut stream = mock
        .client
        .get(mock.url("/__mock/events/stream?backlog=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(
        stream.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    // Assert: the backlog, then (Act) an API publish and a special event, live.
    let text = read_until(&mut stream, "\"name\":\"before\"").await;
    assert!(text.contains("id: 1\n"), "{text}");
    assert!(text.contains("\"kind\":\"device\""), "{text}");
    let (status, _) = publish(
        &mock,
        "/v1/devices/events",
        USER_TOKEN,
        json!({"name": "from-api"}),
    )
    .await;
    assert_eq!(status, 200);
    let text = read_until(&mut stream, "\"kind\":\"api\"").await;
    assert!(text.contains("\"name\":\"from-api\""), "{text}");
    let response = mock
        .client
        .patch(mock.url(&format!("/__mock/devices/{argon}")))
        .json(&json!({"online": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = read_until(&mut stream, "\"kind\":\"special\"").await;
    assert!(text.contains("\"name\":\"spark/status\""), "{text}");
    assert!(text.contains("\"data\":\"offline\""), "{text}");
    // A bad query is a 400 before the stream starts.
    let response = mock
        .client
        .get(mock.url("/__mock/events/stream?nope=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

/// The bus's counters, through the control API.
async fn bus_stats(mock: &TestMock) -> Value {
    let response = mock
        .client
        .get(mock.url("/__mock/events?timeout_ms=0"))
        .send()
        .await
        .unwrap();
    status_and_json(response).await.1["stats"].clone()
}

#[tokio::test]
async fn many_streams_open_within_the_caps_and_a_stalled_reader_is_closed_at_its_buffer() {
    // Arrange: room for 200 streams of one client; 8 unread events per stream at most.
    let mock = spawn_with_config(Config {
        event_buffer: 8,
        max_event_data_bytes: 8192,
        rate_limits: vec![
            "event-streams=300/300s".parse().unwrap(),
            "events=1000/300s".parse().unwrap(),
        ],
        ..Config::default()
    })
    .await;
    let mut many = Vec::new();
    for _ in 0..200 {
        many.push(open(&mock, "/v1/devices/events", USER_TOKEN).await);
    }
    assert_eq!(bus_stats(&mock).await["subscribers"], 200);
    drop(many);
    // Act: a reader that keeps up and one that never reads; the device publishes large
    // events four at a time (under the buffer) until the stalled one's socket buffers
    // are full and its bus buffer overruns.
    let mut reader = open(&mock, "/v1/devices/events", USER_TOKEN).await;
    let mut stalled = open(&mock, "/v1/devices/events", USER_TOKEN).await;
    let data = "x".repeat(8000);
    let mut overrun = false;
    for batch in 0..2_000 {
        for i in 0..4 {
            mock.server
                .controls()
                .publish_as_device(
                    "0123456789abcdef01234567",
                    DevicePublish::new(format!("n{batch}-{i}"), data.clone()),
                )
                .unwrap();
        }
        read_until(&mut reader, &format!("event: n{batch}-3\n")).await;
        if batch % 25 == 24 && bus_stats(&mock).await["overruns"] == 1 {
            overrun = true;
            break;
        }
    }
    // Assert: the stalled stream alone was dropped and journaled; the reader goes on.
    assert!(overrun, "the stalled stream never overran");
    mock.server
        .controls()
        .publish_as_device("0123456789abcdef01234567", DevicePublish::new("after", "1"))
        .unwrap();
    read_until(&mut reader, "event: after\n").await;
    // The stalled stream ends (and is journaled) once it drains what was already sent.
    let mut drained = 0usize;
    while let Some(chunk) = tokio::time::timeout(PATIENCE, stalled.chunk())
        .await
        .expect("the stalled stream ends")
        .expect("readable")
    {
        drained += chunk.len();
    }
    assert!(drained > 0);
    let journal = mock
        .server
        .controls()
        .journal(&Default::default())
        .unwrap()
        .into_iter()
        .filter_map(|e| e.reason)
        .collect::<Vec<_>>();
    assert!(
        journal
            .iter()
            .any(|r| r.contains("fell a full buffer behind")),
        "{journal:?}"
    );
    assert_eq!(bus_stats(&mock).await["overruns"], 1);
}
