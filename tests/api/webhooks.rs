//! Webhooks and integrations (particle-api-devices.md D7): the recorded CRUD answers,
//! real deliveries to a receiver started by the test, the result events, refused hosts,
//! a hanging receiver, a full queue and redaction.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use axum::routing::any;
use particle_auth_mock::Config;
use serde_json::{json, Value};
use tokio::sync::{mpsc, Mutex};

use crate::helpers::{
    spawn_mock, spawn_with_config, status_and_json, TestMock, API_USER_TOKEN, USER_TOKEN,
};

/// The device of user@example.com in the default fixtures.
const DEVICE: &str = "0123456789abcdef01234567";

/// A request the receiver got.
#[derive(Debug)]
struct Received {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
}

/// How the receiver answers.
#[derive(Clone)]
enum Reply {
    /// This status and body.
    With(u16, String),
    /// Never.
    Hang,
}

/// A local HTTP server standing in for a test's backend.
struct Receiver {
    url: String,
    requests: mpsc::UnboundedReceiver<Received>,
}

impl Receiver {
    async fn start(reply: Reply) -> Self {
        let (tx, requests) = mpsc::unbounded_channel();
        let tx = Arc::new(Mutex::new(tx));
        let app = axum::Router::new().fallback(any(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let tx = tx.clone();
                let reply = reply.clone();
                async move {
                    let _ = tx.lock().await.send(Received {
                        method,
                        uri,
                        headers,
                        body: String::from_utf8_lossy(&body).into_owned(),
                    });
                    match reply {
                        Reply::With(status, body) => {
                            (axum::http::StatusCode::from_u16(status).unwrap(), body)
                        }
                        Reply::Hang => std::future::pending().await,
                    }
                }
            },
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, requests }
    }

    async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(10), self.requests.recv())
            .await
            .expect("a delivery within 10 s")
            .expect("the receiver runs")
    }
}

async fn send(
    mock: &TestMock,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = mock
        .client
        .request(method, mock.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn create(mock: &TestMock, path: &str, body: Value) -> Value {
    let (status, answer) = send(mock, Method::POST, path, USER_TOKEN, Some(body)).await;
    assert_eq!(status, 201, "{answer}");
    answer
}

async fn publish(mock: &TestMock, name: &str, data: &str) {
    let (status, _) = send(
        mock,
        Method::POST,
        "/v1/devices/events",
        USER_TOKEN,
        Some(json!({ "name": name, "data": data, "private": true })),
    )
    .await;
    assert_eq!(status, 200);
}

/// Publishes `name` as the simulated device (control API).
async fn publish_as_device(mock: &TestMock, name: &str, data: &str) {
    let response = mock
        .client
        .post(mock.url(&format!("/__mock/devices/{DEVICE}/events")))
        .json(&json!({ "name": name, "data": data }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// The kept events whose name starts with `prefix`, waiting up to 10 s for the first.
async fn events(mock: &TestMock, prefix: &str) -> Vec<Value> {
    let (_, body) = status_and_json(
        mock.client
            .get(mock.url(&format!("/__mock/events?name={prefix}&timeout_ms=10000")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    body["events"].as_array().cloned().unwrap_or_default()
}

/// The logged deliveries, waiting up to 10 s for `count` of them.
async fn deliveries(mock: &TestMock, count: usize) -> Vec<Value> {
    for _ in 0..100 {
        let (_, body) = status_and_json(
            mock.client
                .get(mock.url("/__mock/webhooks/deliveries?timeout_ms=10000"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        let found = body["deliveries"].as_array().cloned().unwrap_or_default();
        if found.len() >= count {
            return found;
        }
        // Woken by the first delivery; wait for the others one by one.
        let after = found.last().map_or(0, |d| d["seq"].as_u64().unwrap());
        let _ = mock
            .client
            .get(mock.url(&format!(
                "/__mock/webhooks/deliveries?after={after}&timeout_ms=10000"
            )))
            .send()
            .await;
    }
    panic!("fewer than {count} deliveries");
}

#[tokio::test]
async fn webhook_crud_answers_as_recorded() {
    let mock = spawn_mock().await;
    // Create: 201 with hookUrl and the stored fields.
    let created = create(
        &mock,
        "/v1/webhooks",
        json!({ "event": "temp", "url": "http://127.0.0.1:9/x", "deviceId": DEVICE, "rejectUnauthorized": true, "noDefaults": false, "requestType": "POST" }),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 24);
    assert_eq!(created["ok"], true);
    assert_eq!(created["integration_type"], "Webhook");
    assert_eq!(created["deviceID"], DEVICE);
    assert_eq!(created["name"], "temp for 127.0.0.1:9");
    assert_eq!(
        created["hookUrl"],
        format!("https://api.particle.io/v1/webhooks/{id}")
    );
    // List: an array; get: wrapped.
    let (status, list) = send(&mock, Method::GET, "/v1/webhooks", USER_TOKEN, None).await;
    assert_eq!((status, list.as_array().unwrap().len()), (200, 1));
    assert_eq!(list[0]["id"], id.as_str());
    let (status, one) = send(
        &mock,
        Method::GET,
        &format!("/v1/webhooks/{id}"),
        USER_TOKEN,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(one["webhook"]["logs"], json!([]));
    // Delete: 204, then 404 with the recorded body.
    let (status, _) = send(
        &mock,
        Method::DELETE,
        &format!("/v1/webhooks/{id}"),
        USER_TOKEN,
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, body) = send(
        &mock,
        Method::DELETE,
        &format!("/v1/webhooks/{id}"),
        USER_TOKEN,
        None,
    )
    .await;
    assert_eq!(
        (status, body),
        (404, json!({ "ok": false, "error": "Webhook not found" }))
    );
}

#[tokio::test]
async fn integrations_are_created_replaced_tested_and_scoped() {
    let mock = spawn_mock().await;
    let created = create(
        &mock,
        "/v1/integrations",
        json!({ "integration_type": "Webhook", "event": "temp", "url": "http://127.0.0.1:9/x", "deviceid": DEVICE }),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    assert!(created["integrationUrl"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/v1/integrations/{id}")));
    // PUT replaces the whole configuration (no merge).
    let (status, updated) = send(
        &mock,
        Method::PUT,
        &format!("/v1/integrations/{id}"),
        USER_TOKEN,
        Some(json!({ "event": "hum", "url": "http://127.0.0.1:9/y" })),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(updated["integration"]["event"], "hum");
    assert!(updated["integration"].get("deviceID").is_none());
    let (status, tested) = send(
        &mock,
        Method::POST,
        &format!("/v1/integrations/{id}/test"),
        USER_TOKEN,
        None,
    )
    .await;
    assert_eq!(
        (status, tested),
        (200, json!({ "pass": true, "data": null }))
    );
    // Clear 400s.
    let (status, body) = send(
        &mock,
        Method::POST,
        "/v1/integrations",
        USER_TOKEN,
        Some(json!({ "url": "http://h" })),
    )
    .await;
    assert_eq!(
        (status, body),
        (400, json!({ "ok": false, "error": "event is required." }))
    );
    // Product and org variants; the API user lacks integrations scopes.
    create(
        &mock,
        "/v1/products/demo-product/integrations",
        json!({ "event": "p", "url": "http://127.0.0.1:9/p" }),
    )
    .await;
    create(
        &mock,
        "/v1/orgs/demo-org/integrations",
        json!({ "event": "o", "url": "http://127.0.0.1:9/o" }),
    )
    .await;
    let (status, list) = send(
        &mock,
        Method::GET,
        "/v1/products/demo-product/integrations",
        USER_TOKEN,
        None,
    )
    .await;
    assert_eq!((status, list.as_array().unwrap().len()), (200, 1));
    let (status, _) = send(
        &mock,
        Method::GET,
        "/v1/products/demo-product/integrations",
        API_USER_TOKEN,
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = send(&mock, Method::GET, "/v1/integrations", API_USER_TOKEN, None).await;
    assert_eq!(status, 403);
    // The sandbox list holds only the caller's own.
    let (_, mine) = send(&mock, Method::GET, "/v1/integrations", USER_TOKEN, None).await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_published_event_is_delivered_as_the_default_form_and_the_answer_comes_back_as_events() {
    // Arrange
    let mock = spawn_mock().await;
    let mut receiver = Receiver::start(Reply::With(200, "x".repeat(1200))).await;
    create(
        &mock,
        "/v1/webhooks",
        json!({ "event": "temp", "url": format!("{}/hook", receiver.url) }),
    )
    .await;
    // Act
    publish_as_device(&mock, "temperature", "25.5").await;
    // Assert: the request.
    let got = receiver.next().await;
    assert_eq!(got.method, Method::POST);
    assert_eq!(got.uri.path(), "/hook");
    assert_eq!(
        got.headers["user-agent"],
        "ParticleBot/1.1 (https://docs.particle.io/webhooks)"
    );
    assert_eq!(
        got.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert!(
        got.body.starts_with(&format!(
            "event=temperature&data=25.5&published_at=2026-01-01T00%3A00%3A00.000Z&coreid={DEVICE}"
        )),
        "{}",
        got.body
    );
    // The result events: hook-sent, then 512-byte chunks of the answer.
    let sent = events(&mock, "hook-sent/temperature").await;
    assert_eq!(sent[0]["data"], "undefined");
    assert_eq!(sent[0]["coreid"], "particle-internal");
    let mut chunks = events(&mock, "hook-response/temperature/").await;
    for _ in 0..50 {
        if chunks.len() == 3 {
            break;
        }
        chunks = events(&mock, "hook-response/temperature/").await;
    }
    let names: Vec<&str> = chunks.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "hook-response/temperature/0",
            "hook-response/temperature/1",
            "hook-response/temperature/2"
        ]
    );
    assert_eq!(chunks[0]["data"].as_str().unwrap().len(), 512);
    assert_eq!(chunks[2]["data"].as_str().unwrap().len(), 176);
    // The delivery log.
    let log = deliveries(&mock, 1).await;
    assert_eq!(log[0]["status"], 200);
    assert_eq!(log[0]["outcome"], "sent");
}

#[tokio::test]
async fn the_result_event_reaches_the_owners_stream() {
    let mock = spawn_mock().await;
    let mut receiver = Receiver::start(Reply::With(200, "{\"ok\":1}".into())).await;
    create(
        &mock,
        "/v1/integrations",
        json!({ "event": "ping", "url": receiver.url, "unchunked": true }),
    )
    .await;
    let mut stream = mock
        .get_with("/v1/devices/events/hook-response", USER_TOKEN)
        .await;
    assert_eq!(stream.status(), 200);
    publish(&mock, "ping", "1").await;
    receiver.next().await;
    let mut text = String::new();
    while !text.contains("\n\n") || !text.contains("hook-response") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        text.contains("event: hook-response/ping/0\ndata: {\"data\":\"{\\\"ok\\\":1}\""),
        "{text}"
    );
    assert!(text.contains("\"coreid\":\"particle-internal\""), "{text}");
}

#[tokio::test]
async fn json_templates_render_nested_fields_with_escaping_headers_and_auth() {
    let mock = spawn_mock().await;
    let mut receiver = Receiver::start(Reply::With(200, String::new())).await;
    create(
        &mock,
        "/v1/integrations",
        json!({
            "event": "reading",
            "url": format!("{}/d/{{{{{{PARTICLE_DEVICE_ID}}}}}}", receiver.url),
            "requestType": "PUT",
            "json": { "raw": "{{{a.b}}}", "escaped": "{{a.b}}", "first": "{{{c.0.ca}}}" },
            "headers": { "X-Api-Key": "k-{{{PARTICLE_EVENT_NAME}}}" },
            "auth": { "username": "user", "password": "secret" }
        }),
    )
    .await;
    publish_as_device(&mock, "reading", r#"{"a":{"b":"<x&y>"},"c":[{"ca":7}]}"#).await;
    let got = receiver.next().await;
    assert_eq!(got.method, Method::PUT);
    assert_eq!(got.uri.path(), format!("/d/{DEVICE}"));
    assert_eq!(got.headers["content-type"], "application/json");
    assert_eq!(got.headers["accept"], "application/json");
    assert_eq!(got.headers["x-api-key"], "k-reading");
    assert_eq!(got.headers["authorization"], "Basic dXNlcjpzZWNyZXQ=");
    let body: Value = serde_json::from_str(&got.body).unwrap();
    assert_eq!(body["raw"], "<x&y>");
    assert_eq!(body["escaped"], "&lt;x&amp;y&gt;");
    assert_eq!(body["first"], "7");
    assert_eq!(body["event"], "reading");
    assert_eq!(body["coreid"], DEVICE);
    // Redaction: the log shows neither the password nor the key.
    let log = deliveries(&mock, 1).await;
    let shown = log[0].to_string();
    assert!(
        !shown.contains("secret")
            && !shown.contains("dXNlcjpzZWNyZXQ")
            && !shown.contains("k-reading"),
        "{shown}"
    );
    assert!(shown.contains("[redacted]"));
    let journal = mock
        .client
        .get(mock.url("/__mock/journal"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(journal.contains("webhook"), "{journal}");
    assert!(!journal.contains("secret"));
}

#[tokio::test]
async fn form_query_body_and_no_defaults_modes() {
    let mock = spawn_mock().await;
    let mut receiver = Receiver::start(Reply::With(200, String::new())).await;
    create(
        &mock,
        "/v1/integrations",
        json!({ "event": "f", "url": receiver.url, "form": { "v": "{{{PARTICLE_EVENT_VALUE}}}" } }),
    )
    .await;
    create(&mock, "/v1/integrations", json!({ "event": "g", "url": receiver.url, "requestType": "GET", "query": { "q": "{{PARTICLE_EVENT_VALUE}}" }, "noDefaults": true })).await;
    create(&mock, "/v1/integrations", json!({ "event": "b", "url": receiver.url, "body": "raw {{{PARTICLE_EVENT_VALUE}}}", "headers": { "Content-Type": "text/plain" } })).await;
    publish_as_device(&mock, "f", "1").await;
    let form = receiver.next().await;
    assert_eq!(
        form.body,
        format!("event=f&data=1&published_at=2026-01-01T00%3A00%3A00.000Z&coreid={DEVICE}&v=1")
    );
    publish_as_device(&mock, "g", "a b").await;
    let get = receiver.next().await;
    assert_eq!(get.method, Method::GET);
    assert_eq!(get.uri.query(), Some("q=a+b"));
    assert_eq!(get.body, "");
    publish_as_device(&mock, "b", "2").await;
    let raw = receiver.next().await;
    assert_eq!(raw.body, "raw 2");
    assert_eq!(raw.headers["content-type"], "text/plain");
}

#[tokio::test]
async fn hooks_fire_only_within_their_scope() {
    let mut config = Config::default();
    config.webhook_concurrency = 1;
    let mock = spawn_with_config(config).await;
    let mut receiver = Receiver::start(Reply::With(200, String::new())).await;
    // Another device only; disabled; a product hook; a hook on another prefix.
    create(&mock, "/v1/integrations", json!({ "event": "s", "url": format!("{}/other-device", receiver.url), "deviceID": "89abcdef0123456789abcdef" })).await;
    create(
        &mock,
        "/v1/integrations",
        json!({ "event": "s", "url": format!("{}/disabled", receiver.url), "disabled": true }),
    )
    .await;
    create(
        &mock,
        "/v1/products/demo-product/integrations",
        json!({ "event": "s", "url": format!("{}/product", receiver.url) }),
    )
    .await;
    create(
        &mock,
        "/v1/integrations",
        json!({ "event": "S", "url": format!("{}/case", receiver.url) }),
    )
    .await;
    create(
        &mock,
        "/v1/integrations",
        json!({ "event": "s", "url": format!("{}/mine", receiver.url), "deviceID": DEVICE }),
    )
    .await;
    // The user's own sandbox device: only `mine` fires.
    publish_as_device(&mock, "s1", "1").await;
    let got = receiver.next().await;
    assert_eq!(got.uri.path(), "/mine");
    // A product publish fires the product hook only.
    let (status, _) = send(
        &mock,
        Method::POST,
        "/v1/products/demo-product/events",
        USER_TOKEN,
        Some(json!({ "name": "s2" })),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(receiver.next().await.uri.path(), "/product");
    let log = deliveries(&mock, 2).await;
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(receiver.requests.try_recv().is_err());
}

#[tokio::test]
async fn a_host_that_is_not_loopback_gets_an_immediate_hook_error_naming_the_option() {
    let mock = spawn_mock().await;
    create(
        &mock,
        "/v1/integrations",
        json!({ "event": "t", "url": "https://example.com/x" }),
    )
    .await;
    publish(&mock, "t", "1").await;
    let errors = events(&mock, "hook-error/t/0").await;
    let data = errors[0]["data"].as_str().unwrap();
    assert!(
        data.contains("--webhook-allow-host") && data.contains("example.com"),
        "{data}"
    );
    let log = deliveries(&mock, 1).await;
    assert_eq!(log[0]["outcome"], "refused");
}

#[tokio::test]
async fn a_hanging_receiver_times_out_while_the_mock_stays_responsive() {
    let mut config = Config::default();
    config.webhook_timeout_ms = 300;
    let mock = spawn_with_config(config).await;
    let mut receiver = Receiver::start(Reply::Hang).await;
    create(&mock, "/v1/integrations", json!({ "event": "h", "url": receiver.url, "errorResponseTopic": "oops/{{PARTICLE_EVENT_NAME}}" })).await;
    publish(&mock, "h", "1").await;
    receiver.next().await;
    // While the receiver hangs, requests are answered.
    let (status, _) = send(&mock, Method::GET, "/v1/user", USER_TOKEN, None).await;
    assert_eq!(status, 200);
    let errors = events(&mock, "oops/h/0").await;
    let data = errors[0]["data"].as_str().unwrap();
    assert!(
        data.contains("timeout") && data.contains("300 ms"),
        "{data}"
    );
}

#[tokio::test]
async fn a_full_queue_drops_the_delivery_with_a_hook_error_and_a_journal_entry() {
    // Arrange: one sender, one queue slot, a receiver that hangs.
    let mut config = Config::default();
    config.webhook_concurrency = 1;
    config.webhook_queue = 1;
    config.webhook_timeout_ms = 3_000;
    let mock = spawn_with_config(config).await;
    let mut receiver = Receiver::start(Reply::Hang).await;
    create(
        &mock,
        "/v1/integrations",
        json!({ "event": "q", "url": receiver.url }),
    )
    .await;
    // Act: the first is being sent, the second waits, the third finds the queue full.
    publish(&mock, "q1", "1").await;
    receiver.next().await;
    publish(&mock, "q2", "2").await;
    publish(&mock, "q3", "3").await;
    // Assert
    let errors = events(&mock, "hook-error/q3/0").await;
    assert!(errors[0]["data"]
        .as_str()
        .unwrap()
        .contains("--webhook-queue"));
    let journal = mock
        .client
        .get(mock.url("/__mock/journal"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(journal.contains("the webhook queue is full"), "{journal}");
    let log = deliveries(&mock, 1).await;
    assert_eq!(log[0]["outcome"], "dropped");
    assert_eq!(log[0]["event"], "q3");
}

#[tokio::test]
async fn an_error_status_is_a_hook_error_and_a_response_template_shapes_the_answer() {
    let mock = spawn_mock().await;
    let mut failing = Receiver::start(Reply::With(404, "no".into())).await;
    let mut ok = Receiver::start(Reply::With(200, r#"{"temp":{"c":21}}"#.into())).await;
    create(
        &mock,
        "/v1/integrations",
        json!({ "event": "e", "url": failing.url }),
    )
    .await;
    create(&mock, "/v1/integrations", json!({ "event": "r", "url": ok.url, "responseTopic": "answer/{{PARTICLE_EVENT_NAME}}", "responseTemplate": "c={{temp.c}}" })).await;
    publish(&mock, "e", "1").await;
    failing.next().await;
    let errors = events(&mock, "hook-error/e/0").await;
    assert!(errors[0]["data"]
        .as_str()
        .unwrap()
        .starts_with("error status 404 from 127.0.0.1"));
    publish(&mock, "r", "1").await;
    ok.next().await;
    let answers = events(&mock, "answer/r/0").await;
    assert_eq!(answers[0]["data"], "c=21");
}

#[tokio::test]
async fn the_librarys_receiver_records_a_delivery_and_answers_as_told() {
    // Arrange: the library's receiver, answering 201 "stored", and a webhook at it.
    let mock = spawn_mock().await;
    let receiver = particle_auth_mock::webhooks::WebhookReceiver::start(201, "stored")
        .await
        .unwrap();
    assert!(receiver.next(Duration::from_millis(20)).await.is_none());
    create(
        &mock,
        "/v1/integrations",
        json!({"event": "lib-hook", "url": format!("{}/hook?k=1", receiver.url())}),
    )
    .await;
    // Act
    publish(&mock, "lib-hook", "42").await;
    // Assert: what the mock sent, as the receiver saw it, and what it got back.
    let request = receiver.next(Duration::from_secs(10)).await.unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(request.path_and_query, "/hook?k=1");
    assert!(
        request.body.starts_with("event=lib-hook&data=42&"),
        "{}",
        request.body
    );
    assert_eq!(
        request.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let [delivery] = deliveries(&mock, 1).await.try_into().unwrap();
    assert_eq!(delivery["status"], 201, "{delivery}");
    assert_eq!(delivery["response"], "stored", "{delivery}");
    assert!(
        particle_auth_mock::webhooks::WebhookReceiver::start(1000, "")
            .await
            .is_err()
    );
}
