//! Issue 27, the third hardening round: one test per reproduction (numbered as in the
//! issue). Time moves on the mock's clock; costs are bounded by counts, never by
//! wall-clock assertions.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

/// 9999-12-31T23:59:59.999Z, the clock's last instant.
const LATEST: i64 = 253_402_300_799_999;

impl TestMock {
    /// A request with a bearer token and an optional JSON body; status and JSON body.
    async fn as_user(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A password login's status.
    async fn login_status(&self, username: &str, password: &str) -> u16 {
        self.token_request(&[
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
        ])
        .await
        .status()
        .as_u16()
    }
}

/// The product OAuth client of the default fixtures.
const PRODUCT_CLIENT: (&str, &str) = (
    "demo-product-2146",
    "615c620d647b6e1dab13bef1695c120b0293c342",
);

// ---- 4: caps count live records ----

#[tokio::test]
async fn oauth_clients_created_and_deleted_past_the_cap_never_fill_it() {
    // Arrange: the per-world cap is 1,000 live clients.
    let mock = spawn_mock().await;
    for i in 0..1_005 {
        // Act
        let (status, created) = mock
            .as_user(
                Method::POST,
                "/v1/clients",
                USER_TOKEN,
                Some(json!({"name": "cycle", "type": "installed"})),
            )
            .await;
        // Assert
        assert_eq!(status, 200, "cycle {i}: {created}");
        let id = created["client"]["id"].as_str().unwrap().to_string();
        let (status, body) = mock
            .as_user(
                Method::DELETE,
                &format!("/v1/clients/{id}"),
                USER_TOKEN,
                None,
            )
            .await;
        assert_eq!(status, 204, "cycle {i}: {body}");
    }
}

fn small_record_cap() -> particle_auth_mock::Config {
    use clap::Parser;
    particle_auth_mock::Config::try_parse_from(["particle-auth-mock", "--max-total-records", "40"])
        .expect("valid flags")
}

#[tokio::test]
async fn every_kind_of_record_created_and_deleted_gives_its_room_back() {
    // Arrange: all worlds together may hold 40 records; 60 cycles of each kind.
    let mock = spawn_with_config(small_record_cap()).await;
    for i in 0..60 {
        // Act + Assert: sign-up and account deletion.
        let email = format!("cycle{i}@example.com");
        let (status, body) = mock
            .call(
                Method::POST,
                "/v1/users",
                Some(json!({"username": email, "password": "pw"})),
            )
            .await;
        assert_eq!(status, 200, "sign-up {i}: {body}");
        let token = mock.login(&email, "pw").await["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        let (status, body) = mock
            .as_user(
                Method::DELETE,
                "/v1/user",
                &token,
                Some(json!({"password": "pw"})),
            )
            .await;
        assert_eq!(status, 200, "account deletion {i}: {body}");

        // Control users.
        let (status, body) = mock
            .post_json("/__mock/users", json!({"email": email, "password": "pw"}))
            .await;
        assert_eq!(status, 201, "control add {i}: {body}");
        let (status, _) = mock
            .call(Method::DELETE, &format!("/__mock/users/{email}"), None)
            .await;
        assert_eq!(status, 200, "control delete {i}");

        // Customers.
        let response = mock
            .client
            .post(mock.url("/v1/products/demo-product/customers"))
            .form(&[
                ("email", email.as_str()),
                ("password", "pw"),
                ("grant_type", "client_credentials"),
                ("client_id", PRODUCT_CLIENT.0),
                ("client_secret", PRODUCT_CLIENT.1),
            ])
            .send()
            .await
            .unwrap();
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, 200, "customer {i}: {body}");
        let (status, body) = mock
            .as_user(
                Method::DELETE,
                &format!("/v1/products/demo-product/customers/{email}"),
                USER_TOKEN,
                None,
            )
            .await;
        assert!(status < 300, "customer deletion {i}: {status} {body}");

        // OAuth clients.
        let (status, created) = mock
            .as_user(
                Method::POST,
                "/v1/clients",
                USER_TOKEN,
                Some(json!({"name": "cycle", "type": "installed"})),
            )
            .await;
        assert_eq!(status, 200, "client {i}: {created}");
        let id = created["client"]["id"].as_str().unwrap().to_string();
        let (status, _) = mock
            .as_user(
                Method::DELETE,
                &format!("/v1/clients/{id}"),
                USER_TOKEN,
                None,
            )
            .await;
        assert_eq!(status, 204, "client deletion {i}");
    }
}

#[tokio::test]
async fn api_users_webhooks_and_product_devices_cycled_past_their_caps_keep_their_room() {
    // Arrange: all worlds may hold 40 directory records; a team holds at most 1,000 API
    // users and a world 1,000 webhooks. 1,010 cycles of each pass every one of those caps.
    let mock = spawn_with_config(small_record_cap()).await;
    for i in 0..1_010 {
        // Act + Assert: an API user created and deleted.
        let (status, created) = mock
            .as_user(
                Method::POST,
                "/v1/products/demo-product/team",
                USER_TOKEN,
                Some(json!({"friendly_name": format!("cycle {i}"), "scopes": ["devices:list"]})),
            )
            .await;
        assert_eq!(status, 200, "API user {i}: {created}");
        let username = created["created"]["username"].as_str().unwrap().to_string();
        let (status, body) = mock
            .as_user(
                Method::DELETE,
                &format!("/v1/products/demo-product/team/{username}"),
                USER_TOKEN,
                None,
            )
            .await;
        assert_eq!(status, 200, "API user deletion {i}: {body}");

        // A webhook created and deleted.
        let (status, hook) = mock
            .as_user(
                Method::POST,
                "/v1/webhooks",
                USER_TOKEN,
                Some(json!({"event": format!("cycle{i}"), "url": "http://127.0.0.1:9/hook"})),
            )
            .await;
        assert!(status < 300, "webhook {i}: {status} {hook}");
        let id = hook["id"].as_str().unwrap().to_string();
        let (status, body) = mock
            .as_user(
                Method::DELETE,
                &format!("/v1/webhooks/{id}"),
                USER_TOKEN,
                None,
            )
            .await;
        assert!(status < 300, "webhook deletion {i}: {status} {body}");
    }
    // A device imported into the product and removed again, 60 times: the device stays
    // known to the world (as a real one does), so it takes one record, not sixty.
    let device = "feedfacefeedfacefeedface";
    for i in 0..60 {
        let (status, body) = mock
            .as_user(
                Method::POST,
                "/v1/products/demo-product/devices",
                USER_TOKEN,
                Some(json!({"id": device})),
            )
            .await;
        assert_eq!(status, 200, "device import {i}: {body}");
        assert_eq!(body["updated"], 1, "device import {i}: {body}");
        let (status, body) = mock
            .as_user(
                Method::DELETE,
                &format!("/v1/products/demo-product/devices/{device}"),
                USER_TOKEN,
                None,
            )
            .await;
        assert!(status < 300, "device removal {i}: {status} {body}");
    }
}

// ---- 5: rate limits over the whole clock range ----

#[tokio::test]
async fn rate_limits_still_bite_in_the_year_2200() {
    // Arrange
    let mock = spawn_mock().await;
    let (status, _) = mock
        .post_json("/__mock/clock/set", json!({"at": "2200-01-01T00:00:00Z"}))
        .await;
    assert_eq!(status, 200);
    let (status, _) = mock
        .call(
            Method::PATCH,
            "/__mock/rate-limits",
            Some(json!({"rules": {"oauth": "2/60s"}})),
        )
        .await;
    assert_eq!(status, 200);
    // Act
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(mock.login_status("user@example.com", "password").await);
    }
    // Assert
    assert_eq!(statuses, [200, 200, 429]);
}

// ---- 7: no date past 9999-12-31 ----

/// Every `expires_at` (or similar date) in a JSON value.
fn dates(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if s.len() >= 20 && s.ends_with('Z') && s.contains('T') => {
            out.push(s.clone());
        }
        Value::Array(items) => items.iter().for_each(|v| dates(v, out)),
        Value::Object(map) => map.values().for_each(|v| dates(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn at_the_end_of_the_clock_no_answer_carries_a_date_past_9999() {
    // Arrange: frozen on the clock's last day.
    let mock = spawn_mock().await;
    let (status, _) = mock
        .post_json("/__mock/clock/set", json!({"at": "9999-12-31T00:00:00Z"}))
        .await;
    assert_eq!(status, 200);
    // Act: a login, a control token and a password reset with default lifetimes.
    let login = mock.login("user@example.com", "password").await;
    let token = login["access_token"].as_str().unwrap().to_string();
    let (_, current) = mock
        .as_user(Method::GET, "/v1/access_tokens/current", &token, None)
        .await;
    let (status, issued) = mock
        .post_json("/__mock/tokens", json!({"user": "user@example.com"}))
        .await;
    assert_eq!(status, 201, "{issued}");
    let (status, _) = mock
        .call(
            Method::POST,
            "/v1/user/password-reset",
            Some(json!({"username": "user@example.com"})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, resets) = mock.get_json("/__mock/password-resets").await;
    let (_, tokens) = mock.get_json("/__mock/tokens?per_page=100").await;
    // Assert
    let mut seen = Vec::new();
    for value in [&current, &issued, &resets, &tokens] {
        dates(value, &mut seen);
    }
    assert!(seen.len() >= 4, "{seen:?}");
    for date in &seen {
        assert!(date.starts_with("9999-12-31T"), "{date}");
    }
}

#[tokio::test]
async fn a_running_clock_stops_at_the_last_instant_and_still_advances_by_nothing() {
    // Arrange: a running clock put past the end through the library.
    let mock = spawn_mock().await;
    mock.clock.resume();
    mock.clock.set(LATEST + 3_600_000);
    // Act
    let (_, clock) = mock.get_json("/__mock/clock").await;
    let (advance_status, _) = mock
        .post_json("/__mock/clock/advance", json!({"seconds": 0}))
        .await;
    // Assert
    assert_eq!(clock["now_ms"], LATEST);
    assert_eq!(clock["now"], "9999-12-31T23:59:59.999Z");
    assert_eq!(advance_status, 200);
}

// ---- 8: the TOTP helper hands out codes the mock takes ----

#[tokio::test]
async fn the_totp_helper_code_is_taken_after_the_clock_moves_back() {
    // Arrange: an MFA login an hour ahead, then the clock set back.
    let mock = spawn_mock().await;
    mock.clock.set(T0 + 3_600_000);
    let (_, codes) = mock.get_json("/__mock/users/mfa@example.com/totp").await;
    let challenge = mock.mfa_challenge().await;
    let response = mock
        .send_otp(&challenge, codes["code"].as_str().unwrap())
        .await;
    assert_eq!(response.status(), 200);
    mock.clock.set(T0);
    // Act
    let (_, codes) = mock.get_json("/__mock/users/mfa@example.com/totp").await;
    let challenge = mock.mfa_challenge().await;
    let response = mock
        .send_otp(&challenge, codes["code"].as_str().unwrap())
        .await;
    // Assert
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn the_totp_helper_never_hands_out_the_step_just_used() {
    // Arrange: the current step used once.
    let mock = spawn_mock().await;
    let (_, codes) = mock.get_json("/__mock/users/mfa@example.com/totp").await;
    let challenge = mock.mfa_challenge().await;
    assert_eq!(
        mock.send_otp(&challenge, codes["code"].as_str().unwrap())
            .await
            .status(),
        200
    );
    // Act: at the same instant.
    let (_, again) = mock.get_json("/__mock/users/mfa@example.com/totp").await;
    let challenge = mock.mfa_challenge().await;
    let response = mock
        .send_otp(&challenge, again["code"].as_str().unwrap())
        .await;
    // Assert
    assert_eq!(response.status(), 200);
}

// ---- 9: control user deletion cleans up like DELETE /v1/user ----

#[tokio::test]
async fn a_user_deleted_through_the_control_api_leaves_nothing_behind() {
    // Arrange: a password reset and an own OAuth client of user@example.com.
    let mock = spawn_mock().await;
    let (status, _) = mock
        .call(
            Method::POST,
            "/v1/user/password-reset",
            Some(json!({"username": "user@example.com"})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, created) = mock
        .as_user(
            Method::POST,
            "/v1/clients",
            USER_TOKEN,
            Some(json!({"name": "own", "type": "installed"})),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let id = created["client"]["id"].as_str().unwrap().to_string();
    let secret = created["client"]["secret"].as_str().unwrap().to_string();
    // Act: deleted and added again.
    let (status, _) = mock
        .call(Method::DELETE, "/__mock/users/user@example.com", None)
        .await;
    assert_eq!(status, 200);
    let (status, _) = mock
        .post_json(
            "/__mock/users",
            json!({"email": "user@example.com", "password": "new"}),
        )
        .await;
    assert_eq!(status, 201);
    // Assert: no resets, no devices of the old account, and its client is gone.
    let (_, resets) = mock.get_json("/__mock/password-resets").await;
    assert_eq!(resets["resets"], json!([]), "{resets}");
    let token = mock.login("user@example.com", "new").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, devices) = mock.as_user(Method::GET, "/v1/devices", &token, None).await;
    assert_eq!((status, devices), (200, json!([])));
    let response = mock
        .client
        .post(mock.url("/oauth/token"))
        .basic_auth(&id, Some(&secret))
        .form(&[
            ("grant_type", "password"),
            ("username", "developer@example.com"),
            ("password", "password"),
        ])
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(response).await;
    assert_eq!(
        (status, &body["error"]),
        (400, &json!("invalid_client")),
        "{body}"
    );
}

// ---- 6: no secret in the journal; numeric passwords one way ----

#[tokio::test]
async fn a_numeric_password_is_a_password_and_never_reaches_the_journal() {
    // Arrange
    let mock = spawn_mock().await;
    // Act: a numeric new password (taken as its digits), then a refused array one.
    let (status, body) = mock
        .as_user(
            Method::PUT,
            "/v1/user",
            USER_TOKEN,
            Some(json!({"password": 97531246, "current_password": "password"})),
        )
        .await;
    let (refused, refusal) = mock
        .as_user(
            Method::DELETE,
            "/v1/user",
            USER_TOKEN,
            Some(json!({"password": [86420975]})),
        )
        .await;
    let (wrong_type, wrong) = mock
        .as_user(
            Method::PUT,
            "/v1/user/mfa-disable",
            USER_TOKEN,
            Some(json!({"current_password": {"x": 75319864}})),
        )
        .await;
    // Assert
    assert_eq!(status, 200, "{body}");
    assert_eq!(mock.login_status("user@example.com", "97531246").await, 200);
    assert_eq!(refused, 400);
    assert_eq!(wrong_type, 400);
    let journal = mock
        .get_json("/__mock/journal?limit=100")
        .await
        .1
        .to_string();
    for secret in ["97531246", "86420975", "75319864"] {
        assert!(!journal.contains(secret), "{secret} in {journal}");
        assert!(!refusal.to_string().contains(secret), "{refusal}");
        assert!(!wrong.to_string().contains(secret), "{wrong}");
    }
}

#[tokio::test]
async fn a_customer_password_may_be_numeric_when_created_and_when_changed() {
    // Arrange
    let mock = spawn_mock().await;
    let response = mock
        .client
        .post(mock.url("/v1/products/demo-product/customers"))
        .json(&json!({
            "email": "n@x.io", "password": 12345678,
            "client_id": PRODUCT_CLIENT.0, "client_secret": PRODUCT_CLIENT.1,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // Act
    let (status, body) = mock
        .as_user(
            Method::PUT,
            "/v1/products/demo-product/customers/n@x.io",
            USER_TOKEN,
            Some(json!({"password": 87654321})),
        )
        .await;
    // Assert
    assert_eq!(status, 200, "{body}");
}

// ---- 10: a tenant gets the start-up fixtures ----

#[tokio::test]
async fn a_tenant_created_after_a_reset_to_a_document_gets_the_start_up_fixtures() {
    // Arrange: the default world reset to a one-user document.
    let mock = spawn_mock().await;
    let doc = json!({"users": [{"email": "only@example.com", "password": "pw"}]});
    assert_eq!(mock.post_json("/__mock/reset", doc).await.0, 200);
    // Act
    let (status, tenant) = mock.call(Method::POST, "/__mock/tenants", None).await;
    // Assert
    assert_eq!(status, 201, "{tenant}");
    let base = tenant["base_url"].as_str().unwrap();
    assert_eq!(
        mock.login_at(base, "user@example.com", "password").await.0,
        200
    );
    assert_ne!(mock.login_at(base, "only@example.com", "pw").await.0, 200);
}

// ---- 11: the Host guard ----

/// Sends raw bytes; the answer's status and text.
async fn raw(mock: &TestMock, request: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(mock.server.address())
        .await
        .unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_string(&mut answer),
    )
    .await
    .expect("an answer")
    .unwrap();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, answer)
}

#[tokio::test]
async fn invalid_or_doubled_hosts_are_refused_and_never_reflected() {
    // Arrange
    let mock = spawn_mock().await;
    for host in [
        "127.0.0.1:1@evil.example",
        "localhost:1@evil.example#",
        "[evil.example]",
        "127.0.0.1:\"><script>",
    ] {
        // Act
        let (status, answer) = raw(
            &mock,
            &format!(
                "POST /__mock/tenants HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            ),
        )
        .await;
        // Assert
        assert_eq!(status, 403, "{host}: {answer}");
        assert!(
            !answer.contains("evil") && !answer.contains("<script>"),
            "{answer}"
        );
    }
    let (status, answer) = raw(
        &mock,
        "GET /__mock/clock HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 403, "{answer}");
}

#[tokio::test]
async fn an_absolute_form_target_names_the_host_over_the_host_header() {
    // Arrange
    let mock = spawn_mock().await;
    // Act
    let (foreign, answer) = raw(
        &mock,
        "GET http://evil.example/__mock/clock HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    )
    .await;
    let (own, created) = raw(
        &mock,
        "POST http://localhost:9/__mock/tenants HTTP/1.1\r\nHost: evil.example\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .await;
    // Assert
    assert_eq!(foreign, 403, "{answer}");
    assert_eq!(own, 201, "{created}");
    assert!(
        created.contains("\"base_url\":\"http://localhost:9/t/"),
        "{created}"
    );
}

// ---- 12: bodies that must be objects ----

#[tokio::test]
async fn rate_limit_settings_must_be_an_object() {
    // Arrange
    let mock = spawn_mock().await;
    assert_eq!(
        mock.call(
            Method::PATCH,
            "/__mock/rate-limits",
            Some(json!({"rules": {"oauth": "3/60s"}})),
        )
        .await
        .0,
        200
    );
    for method in [Method::PATCH, Method::PUT] {
        for body in [json!([]), json!(null), json!(5)] {
            // Act
            let (status, answer) = mock
                .call(method.clone(), "/__mock/rate-limits", Some(body.clone()))
                .await;
            // Assert
            assert_eq!(status, 400, "{method} {body}: {answer}");
        }
    }
    // Nothing was reset to the defaults.
    let (_, settings) = mock.get_json("/__mock/rate-limits").await;
    assert_eq!(
        settings["settings"]["rules"]["oauth"], "3/60s",
        "{settings}"
    );
}

// ---- 3: journal path filters are bounded ----

#[tokio::test]
async fn a_journal_path_filter_longer_than_the_bound_is_refused() {
    // Arrange
    let mock = spawn_mock().await;
    let _ = mock.get_json("/v1/user").await;
    let long = format!("*{}y", "z".repeat(2_000));
    // Act
    let (status, body) = mock
        .get_json(&format!("/__mock/journal?limit=1&path={long}"))
        .await;
    let (ok_status, _) = mock
        .get_json(&format!(
            "/__mock/journal?limit=1&path=*{}",
            "z".repeat(100)
        ))
        .await;
    // Assert
    assert_eq!(status, 400, "{body}");
    assert_eq!(ok_status, 200);
}
