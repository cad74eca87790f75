//! `spawn_mock()`: a mock on a free port with a manual clock, and a client for it.

#![allow(dead_code)]

use particle_auth_mock::{Clock, Config, Fixtures, MockServer};
use reqwest::{Client, Response};
use serde_json::Value;

/// The instant manual clocks start at: 2026-01-01T00:00:00Z.
pub const T0: i64 = 1_767_225_600_000;

/// A running mock, its clock and an HTTP client.
pub struct TestMock {
    pub server: MockServer,
    pub uri: String,
    pub client: Client,
    pub clock: Clock,
}

/// A mock with the default fixtures and a manual clock at [`T0`].
pub async fn spawn_mock() -> TestMock {
    spawn_with(MockServer::builder()).await
}

/// A mock from a builder, given a manual clock at [`T0`].
pub async fn spawn_with(builder: particle_auth_mock::MockServerBuilder) -> TestMock {
    let clock = Clock::manual(T0);
    let server = builder
        .clock(clock.clone())
        .start()
        .await
        .expect("mock starts");
    TestMock {
        uri: server.uri(),
        server,
        client: Client::new(),
        clock,
    }
}

/// A mock with custom fixtures.
pub async fn spawn_with_fixtures(json: &str) -> TestMock {
    spawn_with(MockServer::builder().fixtures(Fixtures::from_json(json).expect("valid fixtures")))
        .await
}

/// A mock with a custom configuration (its `listen` is forced to 127.0.0.1:0).
pub async fn spawn_with_config(mut config: Config) -> TestMock {
    config.listen = "127.0.0.1:0".parse().unwrap();
    spawn_with(MockServer::builder().config(config)).await
}

/// The never-expiring fixture token of user@example.com.
pub const USER_TOKEN: &str = "1111111111111111111111111111111111111111";
/// The fixture API user's token (demo-product; devices:list, devices:get, products:get).
pub const API_USER_TOKEN: &str = "2222222222222222222222222222222222222222";

impl TestMock {
    /// Shuts the server down (within 10 s, or the test fails) and says how long it took.
    pub async fn shut_down(self) -> std::time::Duration {
        let started = std::time::Instant::now();
        tokio::time::timeout(std::time::Duration::from_secs(10), self.server.shutdown())
            .await
            .expect("shutdown completes");
        started.elapsed()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.uri, path)
    }

    /// `POST /oauth/token` with `client_id`/`client_secret` = particle/particle in Basic
    /// auth and the given form fields.
    pub async fn token_request(&self, fields: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url("/oauth/token"))
            .basic_auth("particle", Some("particle"))
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    /// Logs user@example.com in; returns the token response body.
    pub async fn login(&self, username: &str, password: &str) -> Value {
        let response = self
            .token_request(&[
                ("grant_type", "password"),
                ("username", username),
                ("password", password),
            ])
            .await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// GET with a bearer token.
    pub async fn get_with(&self, path: &str, token: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }
}

/// Status and JSON body of a response.
pub async fn status_and_json(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, body)
}

/// The current TOTP code of the default MFA user (secret JBSWY3DPEHPK3PXP) at `clock`.
pub fn totp_code(clock: &Clock) -> String {
    totp_at("JBSWY3DPEHPK3PXP", clock.now_millis() / 1000)
}

/// The TOTP code of a base32 secret at a unix time.
pub fn totp_at(secret: &str, unix_secs: i64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_string())
        .to_bytes()
        .unwrap();
    totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes)
        .generate(unix_secs as u64)
}

/// Asserts the `{"error","error_description"}` body and the no-store headers of an OAuth error.
pub async fn assert_oauth_error(response: Response, status: u16, error: &str, description: &str) {
    let headers = response.headers().clone();
    let (got_status, body) = status_and_json(response).await;
    assert_eq!(got_status, status, "{body}");
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_description"], description, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["pragma"], "no-cache");
    assert_eq!(headers["content-type"], "application/json; charset=utf-8");
}

impl TestMock {
    /// `POST /oauth/token` with the given form fields and no client authentication.
    pub async fn token_request_without_basic(&self, fields: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url("/oauth/token"))
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    /// `POST /oauth/token` with a raw body and content type (no client authentication).
    pub async fn token_request_raw(&self, content_type: &str, body: &str) -> Response {
        self.client
            .post(self.url("/oauth/token"))
            .header("content-type", content_type)
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    /// Password grant for mfa@example.com: returns the `mfa_token` of the 403 answer.
    pub async fn mfa_challenge(&self) -> String {
        let response = self
            .token_request(&[
                ("grant_type", "password"),
                ("username", "mfa@example.com"),
                ("password", "password"),
            ])
            .await;
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, 403, "{body}");
        body["mfa_token"].as_str().unwrap().to_string()
    }

    /// `urn:custom:mfa-otp` with the given mfa_token and code.
    pub async fn send_otp(&self, mfa_token: &str, otp: &str) -> Response {
        self.token_request(&[
            ("grant_type", "urn:custom:mfa-otp"),
            ("mfa_token", mfa_token),
            ("otp", otp),
        ])
        .await
    }
}
