//! Control API: health, the guard (`--control-secret`, `--no-control`), `no-store`, and
//! the OpenAPI description matching the routes.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;
use particle_auth_mock::Config;

#[tokio::test]
async fn health_and_readiness_answer() {
    // Arrange
    let mock = spawn_mock().await;
    // Act
    let health = mock.get_json("/__mock/health").await;
    let ready = mock.get_json("/__mock/ready").await;
    // Assert
    assert_eq!(health, (200, json!({"ok": true, "status": "live"})));
    assert_eq!(ready, (200, json!({"ok": true, "status": "ready"})));
}

#[tokio::test]
async fn without_the_secret_control_calls_are_refused_with_401_but_health_still_answers() {
    // Arrange
    let mut config = Config::default();
    config.control_secret = Some("s3cret".into());
    let mock = spawn_with_config(config).await;
    let tenant = mock.server.create_tenant().unwrap();
    let tenant_path = tenant.uri().replace(&mock.uri, "");
    // Act
    let refused = mock
        .client
        .get(mock.url("/__mock/clock"))
        .send()
        .await
        .unwrap();
    let wrong = mock
        .client
        .get(mock.url("/__mock/clock"))
        .header("X-Mock-Control-Secret", "s3cre")
        .send()
        .await
        .unwrap()
        .status();
    let allowed = mock
        .client
        .get(mock.url("/__mock/clock"))
        .header("X-Mock-Control-Secret", "s3cret")
        .send()
        .await
        .unwrap()
        .status();
    let in_tenant = mock
        .get_json(&format!("{tenant_path}/__mock/clock"))
        .await
        .0;
    // Assert
    assert_eq!(refused.headers()["cache-control"], "no-store");
    let (status, body) = status_and_json(refused).await;
    assert_eq!(status, 401);
    assert_eq!(body["ok"], false);
    assert_eq!(
        (wrong.as_u16(), allowed.as_u16(), in_tenant),
        (401, 200, 401)
    );
    assert_eq!(mock.get_json("/__mock/health").await.0, 200);
    assert_eq!(mock.get_json("/__mock/ready").await.0, 200);
    assert_eq!(mock.token_status_at(&mock.uri, USER_TOKEN).await, 200);
}

#[tokio::test]
async fn no_control_makes_control_routes_answer_404_like_unknown_routes_except_health() {
    // Arrange
    let mut config = Config::default();
    config.no_control = true;
    let mock = spawn_with_config(config).await;
    // Act
    let clock = mock.get_json("/__mock/clock").await;
    let reset = mock.call(Method::POST, "/__mock/reset", None).await;
    let unknown = mock.get_json("/no/such/route").await;
    // Assert
    assert_eq!(clock, unknown);
    assert_eq!(reset, unknown);
    assert_eq!(unknown.0, 404);
    assert_eq!(mock.get_json("/__mock/health").await.0, 200);
    assert_eq!(mock.get_json("/__mock/ready").await.0, 200);
}

#[tokio::test]
async fn every_control_answer_carries_no_store() {
    // Arrange
    let mock = spawn_mock().await;
    // Act
    let mut responses = Vec::new();
    for (method, path) in [
        (Method::GET, "/__mock/health"),
        (Method::GET, "/__mock/clock"),
        (Method::GET, "/__mock/users/ghost@example.com/totp"),
        (Method::GET, "/__mock/openapi.json"),
        (Method::POST, "/__mock/clock/set"),
    ] {
        responses.push(
            mock.client
                .request(method, mock.url(path))
                .send()
                .await
                .unwrap(),
        );
    }
    // Assert
    for response in responses {
        assert_eq!(
            response.headers()["cache-control"],
            "no-store",
            "{}",
            response.url()
        );
    }
}

#[tokio::test]
async fn every_path_the_openapi_description_lists_exists_in_the_router() {
    // Arrange
    let mock = spawn_mock().await;
    let (status, doc) = mock.get_json("/__mock/openapi.json").await;
    assert_eq!(status, 200);
    let fallback = mock.get_json("/__mock/no-such-control-route").await;
    assert_eq!(fallback.0, 404);
    // Act / Assert: each documented operation reaches a handler (not the 404/405 fallback).
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 17, "{}", paths.len());
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let concrete = path
                .replace("{email}", "ghost@example.com")
                .replace("{id}", "no-such-tenant")
                .replace("{client}", "10.9.8.7")
                .replace("{token}", "0123456789abcdef0123456789abcdef01234567")
                .replace("{file}", "app.js");
            let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            let response = mock
                .client
                .request(method.clone(), mock.url(&concrete))
                .send()
                .await
                .unwrap();
            let json = response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json");
            if !json {
                // The dashboard's page and assets, and the endless journal stream: only
                // a handler answers 200 with another type (the body is not read).
                assert_eq!(response.status(), 200, "{method} {path}");
                continue;
            }
            let (status, body): (u16, Value) = status_and_json(response).await;
            assert_ne!(
                (status, &body),
                (fallback.0, &fallback.1),
                "{method} {path}"
            );
            assert_ne!(status, 405, "{method} {path}");
        }
    }
}

/// A request: method, path, headers, body.
type Case<'a> = (Method, &'a str, Vec<(&'a str, &'a str)>, Option<&'a str>);

/// What a web page could send to the control API, each refused.
#[tokio::test]
async fn cross_site_control_requests_are_refused_with_403_json_and_no_cors_header() {
    // Arrange
    let mock = spawn_mock().await;
    let tenant = mock.server.create_tenant().unwrap();
    let tenant_path = tenant.uri().replace(&mock.uri, "");
    let tokens = format!("{tenant_path}/__mock/tokens");
    let cases: Vec<Case> = vec![
        (
            Method::GET,
            "/__mock/tokens",
            vec![("origin", "https://evil.example")],
            None,
        ),
        (
            Method::GET,
            "/__mock/tokens",
            vec![("origin", "null")],
            None,
        ),
        (
            Method::GET,
            "/__mock/tokens",
            vec![("sec-fetch-site", "cross-site")],
            None,
        ),
        (
            Method::GET,
            "/__mock/tokens",
            vec![("host", "evil.example:8080")],
            None,
        ),
        (
            Method::GET,
            &tokens,
            vec![("host", "rebound.example")],
            None,
        ),
        (
            Method::POST,
            "/__mock/reset",
            vec![("content-type", "text/plain")],
            Some("{}"),
        ),
        (
            Method::POST,
            "/__mock/clock/advance",
            vec![("content-type", "application/x-www-form-urlencoded")],
            Some("seconds=60"),
        ),
        (
            Method::OPTIONS,
            "/__mock/reset",
            vec![("origin", "https://evil.example")],
            None,
        ),
        (Method::OPTIONS, &tokens, vec![], None),
    ];
    for (method, path, headers, body) in cases {
        let mut request = mock.client.request(method.clone(), mock.url(path));
        for (name, value) in &headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        // Act
        let response = request.send().await.unwrap();
        // Assert
        let cors = response
            .headers()
            .get("access-control-allow-origin")
            .cloned();
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, 403, "{method} {path} {headers:?}: {body}");
        assert_eq!(body["ok"], false, "{body}");
        assert!(
            body["error"].as_str().unwrap().contains("cross-site"),
            "{body}"
        );
        assert!(!body.to_string().contains(USER_TOKEN), "{body}");
        assert_eq!(cors, None, "{method} {path}");
    }
    // Nothing changed: the clock was not advanced.
    assert_eq!(mock.get_json("/__mock/clock").await.1["now_ms"], T0);
}

#[tokio::test]
async fn same_site_control_requests_pass_and_carry_no_cors_header() {
    // Arrange: a name added with --allowed-host.
    let mut config = Config::default();
    config.allowed_hosts = vec!["mock.internal".into()];
    let mock = spawn_with_config(config).await;
    let port = mock.server.address().port();
    let cases: Vec<Vec<(&str, String)>> = vec![
        vec![],
        vec![("host", format!("localhost:{port}"))],
        vec![("host", format!("127.0.0.1:{port}"))],
        vec![("host", format!("mock.internal:{port}"))],
        vec![("origin", format!("http://localhost:{port}"))],
        vec![
            ("origin", "http://localhost:3000".into()),
            ("sec-fetch-site", "same-site".into()),
        ],
    ];
    for headers in cases {
        let mut request = mock.client.get(mock.url("/__mock/clock"));
        for (name, value) in &headers {
            request = request.header(*name, value);
        }
        // Act
        let response = request.send().await.unwrap();
        // Assert
        assert_eq!(response.status(), 200, "{headers:?}");
        assert!(response
            .headers()
            .get("access-control-allow-origin")
            .is_none());
    }
    // Particle routes keep their `*` exactly, whatever the origin.
    let particle = mock
        .client
        .get(mock.url("/v1/user"))
        .header("origin", "https://evil.example")
        .bearer_auth(USER_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(particle.headers()["access-control-allow-origin"], "*");
}
