//! One dispatcher: the router alone decides which row of the route table answers a
//! request, and every shape of request reaches the row it names (`HEAD`, a trailing
//! slash, a static segment beside a parameter, a method no row has).

use reqwest::{Method, Response};
use serde_json::Value;

use crate::helpers::{
    spawn_mock, spawn_with_fixtures, status_and_json, TestMock, API_USER_TOKEN, USER_TOKEN,
};

/// The default fixtures plus a device of user@example.com named `events`.
const WITH_A_DEVICE_NAMED_EVENTS: &str = include_str!("../../fixtures/default.json");

async fn mock_with_a_device_named_events() -> TestMock {
    let mut fixtures: Value = serde_json::from_str(WITH_A_DEVICE_NAMED_EVENTS).unwrap();
    fixtures["devices"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "id": "aaaaaaaaaaaaaaaaaaaaaa01",
            "name": "events",
            "owner": "user@example.com",
            "platform_id": 12
        }));
    spawn_with_fixtures(&fixtures.to_string()).await
}

async fn send(mock: &TestMock, method: Method, path: &str, token: Option<&str>) -> Response {
    let request = mock.client.request(method, mock.url(path));
    let request = match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    request.send().await.unwrap()
}

/// Status, the headers that describe the answer, and the body bytes.
async fn seen(response: Response) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let status = response.status().as_u16();
    let mut headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter(|(name, _)| name.as_str() != "date")
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_string()))
        .collect();
    headers.sort();
    let body = response.bytes().await.unwrap().to_vec();
    (status, headers, body)
}

#[tokio::test]
async fn head_is_answered_as_get_with_an_empty_body() {
    // Arrange
    let mock = spawn_mock().await;
    let cases = [
        ("/v1/access_tokens", None),
        ("/v1/access_tokens", Some(USER_TOKEN)),
        ("/v1/access_tokens/current", Some(USER_TOKEN)),
        ("/v1/user", Some(USER_TOKEN)),
        ("/v1/products/demo-product/team", Some(USER_TOKEN)),
        ("/v1/no-such-route", Some(USER_TOKEN)),
        ("/__mock/clock", None),
    ];
    for (path, token) in cases {
        // Act
        let get = seen(send(&mock, Method::GET, path, token).await).await;
        let head = seen(send(&mock, Method::HEAD, path, token).await).await;
        // Assert: GET's status and headers (its length included), no body.
        assert_eq!((head.0, &head.1), (get.0, &get.1), "HEAD {path}");
        assert!(head.2.is_empty(), "HEAD {path}");
        assert!(!get.2.is_empty(), "GET {path}");
        assert_ne!(head.0, 503, "HEAD {path}");
    }
}

#[tokio::test]
async fn a_trailing_slash_reaches_the_same_row() {
    // Arrange
    let mock = spawn_mock().await;
    let cases = [
        ("/v1/user", Some(USER_TOKEN)),
        ("/v1/products/demo-product/team", Some(USER_TOKEN)),
        ("/v1/access_tokens/current", Some(USER_TOKEN)),
        ("/__mock/clock", None),
        ("/__mock/users", None),
    ];
    for (path, token) in cases {
        // Act
        let without = seen(send(&mock, Method::GET, path, token).await).await;
        let with = seen(send(&mock, Method::GET, &format!("{path}/"), token).await).await;
        // Assert
        assert_eq!(without.0, 200, "{path}");
        assert_eq!(with, without, "{path}/");
    }
    // The dashboard page answers with and without the slash.
    let page = send(&mock, Method::GET, "/__mock/ui/", None).await;
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
}

#[tokio::test]
async fn devices_events_is_never_a_device_id() {
    // Arrange: a device named `events` that `GET /v1/devices/{deviceId}` would show.
    let mock = mock_with_a_device_named_events().await;
    let by_id = send(
        &mock,
        Method::GET,
        "/v1/devices/aaaaaaaaaaaaaaaaaaaaaa01",
        Some(USER_TOKEN),
    )
    .await;
    assert_eq!(status_and_json(by_id).await.1["name"], "events");
    // Act
    let events = send(&mock, Method::GET, "/v1/devices/events", Some(USER_TOKEN)).await;
    // Assert: the events row answers with a stream, not the device row with JSON.
    assert_eq!(events.status(), 200);
    assert_eq!(
        events.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
}

#[tokio::test]
async fn devices_events_counts_against_the_events_rule() {
    // Arrange: 100 admitted requests on the events route.
    let mock = spawn_mock().await;
    for i in 0..100 {
        let response = send(&mock, Method::GET, "/v1/devices/events", None).await;
        assert_eq!(response.status(), 400, "request {}", i + 1);
    }
    // Act
    let refused = send(&mock, Method::GET, "/v1/devices/events", None).await;
    // Assert: the 101st is refused by the events rule (the device row has none).
    let (status, body) = status_and_json(refused).await;
    assert_eq!(status, 429);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .ends_with("(events)."),
        "{body}"
    );
}

#[tokio::test]
async fn an_api_user_token_is_checked_against_the_row_that_answers() {
    // Arrange
    let mock = mock_with_a_device_named_events().await;
    // Act
    let device = send(
        &mock,
        Method::GET,
        "/v1/devices/aaaaaaaaaaaaaaaaaaaaaa01",
        Some(API_USER_TOKEN),
    )
    .await;
    let events = send(
        &mock,
        Method::GET,
        "/v1/devices/events",
        Some(API_USER_TOKEN),
    )
    .await;
    // Assert: the device row checks the API user's devices (D1); the events row answers as itself.
    let (status, body) = status_and_json(device).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "Permission Denied");
    let (status, body) = status_and_json(events).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["error_description"],
        "API users are not allowed to call this endpoint"
    );
}

#[tokio::test]
async fn a_method_no_row_has_gets_the_unknown_route_answer() {
    // Arrange
    let mock = spawn_mock().await;
    let unknown = seen(send(&mock, Method::GET, "/v1/nowhere", Some(USER_TOKEN)).await).await;
    assert_eq!(unknown.0, 404);
    for (method, path) in [
        (Method::PATCH, "/v1/user"),
        (Method::PATCH, "/v1/devices"),
        (Method::DELETE, "/v1/products/demo-product"),
    ] {
        // Act
        let mut answer = seen(send(&mock, method.clone(), path, Some(USER_TOKEN)).await).await;
        // Assert: Particle's 404 JSON with the CORS header; the router adds `Allow` with
        // the path's methods (as it always did).
        let allow = answer.1.iter().position(|(name, _)| name == "allow");
        answer.1.remove(allow.expect("an Allow header"));
        assert_eq!(answer, unknown, "{method} {path}");
    }
    // The token endpoint answers every method: anything but a form POST is §1.7 row 1.
    let get = send(&mock, Method::GET, "/oauth/token", None).await;
    let (status, body) = status_and_json(get).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_request");
}
