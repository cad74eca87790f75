//! `POST /oauth/token` (particle-api.md §1): every grant and every row of the §1.7 table.

use crate::helpers::*;

const PRODUCT_CLIENT: &str = "demo-product-2146";
const PRODUCT_SECRET: &str = "615c620d647b6e1dab13bef1695c120b0293c342";

fn is_40_hex(text: &str) -> bool {
    text.len() == 40
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

#[tokio::test]
async fn password_grant_answers_the_recorded_body_in_key_order_with_no_store_headers() {
    // Arrange
    let mock = spawn_mock().await;
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
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "application/json; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["pragma"], "no-cache");
    let text = response.text().await.unwrap();
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    let access = body["access_token"].as_str().unwrap();
    let refresh = body["refresh_token"].as_str().unwrap();
    assert!(is_40_hex(access) && is_40_hex(refresh), "{text}");
    assert_eq!(
        text,
        format!(
            r#"{{"token_type":"bearer","access_token":"{access}","expires_in":7776000,"refresh_token":"{refresh}"}}"#
        )
    );
}

#[tokio::test]
async fn each_built_in_client_logs_in_with_its_id_as_secret_in_the_form_body() {
    let mock = spawn_mock().await;
    for client in ["particle", "particle-api", "particle-cli"] {
        // Act
        let response = mock
            .token_request_without_basic(&[
                ("grant_type", "password"),
                ("username", "user@example.com"),
                ("password", "password"),
                ("client_id", client),
                ("client_secret", client),
            ])
            .await;
        // Assert
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, 200, "{client}: {body}");
        let token = body["access_token"].as_str().unwrap();
        let (_, info) =
            status_and_json(mock.get_with("/v1/access_tokens/current", token).await).await;
        assert_eq!(info["client"], client);
    }
}

#[tokio::test]
async fn form_values_decode_plus_and_percent_20_as_spaces() {
    // Arrange: a user whose password has a space and an email with a plus sign.
    let mock =
        spawn_with_fixtures(r#"{"users":[{"email":"a+b@example.com","password":"pass word"}]}"#)
            .await;
    for body in [
        "grant_type=password&username=a%2Bb%40example.com&password=pass+word",
        "grant_type=password&username=a%2Bb%40example.com&password=pass%20word",
    ] {
        // Act
        let response = mock
            .client
            .post(mock.url("/oauth/token"))
            .basic_auth("particle", Some("particle"))
            .header(
                "content-type",
                "application/x-www-form-urlencoded; charset=UTF-8",
            )
            .body(body)
            .send()
            .await
            .unwrap();
        // Assert
        assert_eq!(response.status(), 200, "{body}");
    }
}

#[tokio::test]
async fn refresh_token_grant_rotates_and_the_used_refresh_token_dies() {
    // Arrange
    let mock = spawn_mock().await;
    let first = mock.login("user@example.com", "password").await;
    let refresh = first["refresh_token"].as_str().unwrap();
    // Act
    let response = mock
        .token_request(&[("grant_type", "refresh_token"), ("refresh_token", refresh)])
        .await;
    // Assert: a new pair that works, and the old refresh token is refused.
    let (status, second) = status_and_json(response).await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(second["access_token"], first["access_token"]);
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(second["expires_in"], 7_776_000);
    let new_token = second["access_token"].as_str().unwrap();
    assert_eq!(mock.get_with("/v1/user", new_token).await.status(), 200);
    let again = mock
        .token_request(&[("grant_type", "refresh_token"), ("refresh_token", refresh)])
        .await;
    assert_oauth_error(again, 400, "invalid_grant", "Invalid refresh token").await;
}

#[tokio::test]
async fn client_credentials_of_a_product_client_give_a_product_token() {
    // Arrange
    let mock = spawn_mock().await;
    // Act
    let response = mock
        .token_request_without_basic(&[
            ("grant_type", "client_credentials"),
            ("client_id", PRODUCT_CLIENT),
            ("client_secret", PRODUCT_SECRET),
        ])
        .await;
    // Assert
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "bearer");
    assert!(body.get("scope").is_none());
    let token = body["access_token"].as_str().unwrap();
    let (status, info) =
        status_and_json(mock.get_with("/v1/access_tokens/current", token).await).await;
    assert_eq!(status, 200);
    assert_eq!(info["client"], PRODUCT_CLIENT);
    // A product token is not a user: /v1/user refuses it.
    assert_eq!(mock.get_with("/v1/user", token).await.status(), 403);
}

#[tokio::test]
async fn client_credentials_with_a_customer_scope_give_that_customers_token() {
    // Arrange
    let mock = spawn_mock().await;
    // Act
    let response = mock
        .token_request_without_basic(&[
            ("grant_type", "client_credentials"),
            ("client_id", PRODUCT_CLIENT),
            ("client_secret", PRODUCT_SECRET),
            ("scope", "customer=customer@example.com"),
        ])
        .await;
    // Assert
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "customer=customer@example.com");
    let token = body["access_token"].as_str().unwrap();
    let (status, user) = status_and_json(mock.get_with("/v1/user", token).await).await;
    assert_eq!(status, 200);
    assert_eq!(user["username"], "customer@example.com");
    let (_, devices) = status_and_json(mock.get_with("/v1/devices", token).await).await;
    assert_eq!(devices.as_array().unwrap().len(), 1);
    assert_eq!(devices[0]["name"], "customer-photon");
}

// ---- §1.7, row by row ----

#[tokio::test]
async fn row_1_a_json_body_is_refused() {
    let mock = spawn_mock().await;
    let response = mock
        .client
        .post(mock.url("/oauth/token"))
        .basic_auth("particle", Some("particle"))
        .json(&serde_json::json!({"grant_type":"password","username":"user@example.com","password":"password"}))
        .send()
        .await
        .unwrap();
    assert_oauth_error(
        response,
        400,
        "invalid_request",
        "Method must be POST with application/x-www-form-urlencoded encoding",
    )
    .await;
}

#[tokio::test]
async fn row_1_get_oauth_token_is_refused() {
    let mock = spawn_mock().await;
    let response = mock
        .client
        .get(mock.url("/oauth/token?grant_type=password"))
        .send()
        .await
        .unwrap();
    assert_oauth_error(
        response,
        400,
        "invalid_request",
        "Method must be POST with application/x-www-form-urlencoded encoding",
    )
    .await;
}

#[tokio::test]
async fn row_1_a_form_body_with_another_method_is_refused() {
    let mock = spawn_mock().await;
    for method in [
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::PATCH,
    ] {
        let response = mock
            .client
            .request(method, mock.url("/oauth/token"))
            .basic_auth("particle", Some("particle"))
            .form(&[
                ("grant_type", "password"),
                ("username", "user@example.com"),
                ("password", "password"),
            ])
            .send()
            .await
            .unwrap();
        assert_oauth_error(
            response,
            400,
            "invalid_request",
            "Method must be POST with application/x-www-form-urlencoded encoding",
        )
        .await;
    }
}

#[tokio::test]
async fn row_1_accepts_a_charset_suffix() {
    let mock = spawn_mock().await;
    let response = mock
        .client
        .post(mock.url("/oauth/token"))
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=UTF-8",
        )
        .body("grant_type=password&username=user%40example.com&password=password&client_id=particle&client_secret=particle")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn row_2_a_missing_or_unknown_grant_type_is_refused() {
    let mock = spawn_mock().await;
    for fields in [
        vec![("username", "user@example.com")],
        vec![("grant_type", "authorization_code")],
        vec![("grant_type", "urn:custom:demo_account")],
    ] {
        let response = mock.token_request(&fields).await;
        assert_oauth_error(
            response,
            400,
            "invalid_request",
            "Invalid or missing grant_type parameter",
        )
        .await;
    }
}

#[tokio::test]
async fn row_2b_a_grant_type_in_the_wrong_case_is_refused() {
    let mock = spawn_mock().await;
    let response = mock.token_request(&[("grant_type", "PASSWORD")]).await;
    assert_oauth_error(
        response,
        400,
        "invalid_request",
        "Invalid grant_type parameter or parameter missing",
    )
    .await;
}

#[tokio::test]
async fn row_2_comes_before_client_authentication() {
    let mock = spawn_mock().await;
    let response = mock
        .token_request_without_basic(&[("grant_type", "nope")])
        .await;
    assert_oauth_error(
        response,
        400,
        "invalid_request",
        "Invalid or missing grant_type parameter",
    )
    .await;
}

async fn assert_invalid_client(response: reqwest::Response, description: &str) {
    assert_eq!(
        response.headers()["www-authenticate"],
        "Basic realm=\"Service\""
    );
    assert_oauth_error(response, 400, "invalid_client", description).await;
}

#[tokio::test]
async fn row_3_a_missing_or_malformed_client_id_is_refused() {
    let mock = spawn_mock().await;
    for fields in [
        vec![("grant_type", "password"), ("client_secret", "particle")],
        vec![
            ("grant_type", "password"),
            ("client_id", "p!"),
            ("client_secret", "particle"),
        ],
        vec![
            ("grant_type", "password"),
            ("client_id", "has space"),
            ("client_secret", "particle"),
        ],
    ] {
        let response = mock.token_request_without_basic(&fields).await;
        assert_invalid_client(response, "Invalid or missing client_id parameter").await;
    }
}

#[tokio::test]
async fn row_4_a_missing_client_secret_is_refused_in_the_body_and_in_basic() {
    let mock = spawn_mock().await;
    let response = mock
        .token_request_without_basic(&[("grant_type", "password"), ("client_id", "particle")])
        .await;
    assert_invalid_client(response, "Missing client_secret parameter").await;
    // Basic with an empty secret: Basic wins, so the body's secret does not help.
    let response = mock
        .client
        .post(mock.url("/oauth/token"))
        .header("authorization", "Basic cGFydGljbGU6") // "particle:"
        .form(&[("grant_type", "password"), ("client_secret", "particle")])
        .send()
        .await
        .unwrap();
    assert_invalid_client(response, "Missing client_secret parameter").await;
}

#[tokio::test]
async fn row_5_wrong_client_credentials_are_refused() {
    let mock = spawn_mock().await;
    let response = mock
        .token_request_without_basic(&[
            ("grant_type", "password"),
            ("client_id", "particle"),
            ("client_secret", "wrong"),
        ])
        .await;
    assert_invalid_client(response, "Client credentials are invalid").await;
    let response = mock
        .token_request_without_basic(&[
            ("grant_type", "password"),
            ("client_id", "nobody-client"),
            ("client_secret", "nobody-client"),
        ])
        .await;
    assert_invalid_client(response, "Client credentials are invalid").await;
}

#[tokio::test]
async fn basic_client_credentials_win_over_body_fields() {
    let mock = spawn_mock().await;
    // Good Basic, bad body: accepted.
    let response = mock
        .token_request(&[
            ("grant_type", "password"),
            ("username", "user@example.com"),
            ("password", "password"),
            ("client_id", "particle"),
            ("client_secret", "wrong"),
        ])
        .await;
    assert_eq!(response.status(), 200);
    // Bad Basic, good body: refused.
    let response = mock
        .client
        .post(mock.url("/oauth/token"))
        .basic_auth("particle", Some("wrong"))
        .form(&[
            ("grant_type", "password"),
            ("username", "user@example.com"),
            ("password", "password"),
            ("client_id", "particle"),
            ("client_secret", "particle"),
        ])
        .send()
        .await
        .unwrap();
    assert_invalid_client(response, "Client credentials are invalid").await;
}

#[tokio::test]
async fn row_6_a_product_client_may_not_use_the_mfa_grants() {
    let mock = spawn_mock().await;
    let response = mock
        .token_request_without_basic(&[
            ("grant_type", "urn:custom:mfa-otp"),
            ("client_id", PRODUCT_CLIENT),
            ("client_secret", PRODUCT_SECRET),
            ("mfa_token", "x"),
            ("otp", "123456"),
        ])
        .await;
    assert_invalid_client(
        response,
        "The grant type is unauthorised for this client_id",
    )
    .await;
}

#[tokio::test]
async fn row_7_missing_username_or_password_is_invalid_client() {
    let mock = spawn_mock().await;
    for fields in [
        vec![("grant_type", "password"), ("username", "user@example.com")],
        vec![("grant_type", "password"), ("password", "password")],
    ] {
        let response = mock.token_request(&fields).await;
        assert_invalid_client(
            response,
            "Missing parameters. \"username\" and \"password\" are required",
        )
        .await;
    }
}

#[tokio::test]
async fn row_8_wrong_password_and_unknown_user_get_byte_identical_answers() {
    // Arrange
    let mock = spawn_mock().await;
    // Act
    let wrong = mock
        .token_request(&[
            ("grant_type", "password"),
            ("username", "user@example.com"),
            ("password", "nope"),
        ])
        .await;
    let unknown = mock
        .token_request(&[
            ("grant_type", "password"),
            ("username", "ghost@example.com"),
            ("password", "nope"),
        ])
        .await;
    // Assert
    assert_eq!(wrong.status(), 400);
    assert_eq!(unknown.status(), 400);
    let strip = |h: &reqwest::header::HeaderMap| {
        let mut h = h.clone();
        h.remove("date");
        h
    };
    assert_eq!(strip(wrong.headers()), strip(unknown.headers()));
    let wrong = wrong.bytes().await.unwrap();
    let unknown = unknown.bytes().await.unwrap();
    assert_eq!(wrong, unknown);
    assert_eq!(
        &wrong[..],
        br#"{"error":"invalid_grant","error_description":"User credentials are invalid"}"#
    );
}

#[tokio::test]
async fn row_10_an_mfa_user_gets_403_mfa_required_with_a_jwt_shaped_mfa_token() {
    let mock = spawn_mock().await;
    let response = mock
        .token_request(&[
            ("grant_type", "password"),
            ("username", "mfa@example.com"),
            ("password", "password"),
        ])
        .await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"], "mfa_required");
    assert_eq!(
        body["error_description"],
        "Multi-factor authentication required"
    );
    let mfa_token = body["mfa_token"].as_str().unwrap();
    assert_eq!(mfa_token.split('.').count(), 3);
    assert!(mfa_token.starts_with("eyJ"));
}

#[tokio::test]
async fn row_11_otp_or_mfa_token_missing_is_refused() {
    let mock = spawn_mock().await;
    for fields in [
        vec![("grant_type", "urn:custom:mfa-otp"), ("otp", "123456")],
        vec![("grant_type", "urn:custom:mfa-otp"), ("mfa_token", "x")],
    ] {
        let response = mock.token_request(&fields).await;
        assert_oauth_error(
            response,
            400,
            "invalid_request",
            "You must provide otp and mfa token.",
        )
        .await;
    }
}

#[tokio::test]
async fn row_12_a_wrong_otp_is_401_invalid_token() {
    let mock = spawn_mock().await;
    let mfa_token = mock.mfa_challenge().await;
    let response = mock.send_otp(&mfa_token, "000000").await;
    assert_oauth_error(response, 401, "invalid_token", "Could not validate OTP.").await;
}

#[tokio::test]
async fn row_13_too_many_otp_attempts_is_429() {
    let mock = spawn_mock().await;
    let mfa_token = mock.mfa_challenge().await;
    for _ in 0..4 {
        assert_eq!(mock.send_otp(&mfa_token, "000000").await.status(), 401);
    }
    let response = mock.send_otp(&mfa_token, "000000").await;
    assert_oauth_error(response, 429, "rate_limit_exceeded", "Rate limit exceeded.").await;
}

#[tokio::test]
async fn row_14_recovery_code_or_mfa_token_missing_is_refused() {
    let mock = spawn_mock().await;
    for fields in [
        vec![
            ("grant_type", "urn:custom:recovery-code"),
            ("recovery_code", "rc001-aaaaa"),
        ],
        vec![
            ("grant_type", "urn:custom:recovery-code"),
            ("mfa_token", "x"),
        ],
    ] {
        let response = mock.token_request(&fields).await;
        assert_oauth_error(
            response,
            400,
            "invalid_request",
            "You must provide recovery code and mfa token.",
        )
        .await;
    }
}

#[tokio::test]
async fn row_15_a_missing_refresh_token_is_refused() {
    let mock = spawn_mock().await;
    let response = mock.token_request(&[("grant_type", "refresh_token")]).await;
    assert_oauth_error(
        response,
        400,
        "invalid_request",
        "No \"refresh_token\" parameter",
    )
    .await;
}

#[tokio::test]
async fn row_16_an_unknown_or_other_clients_refresh_token_is_refused() {
    let mock = spawn_mock().await;
    let response = mock
        .token_request(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &"a".repeat(40)),
        ])
        .await;
    assert_oauth_error(response, 400, "invalid_grant", "Invalid refresh token").await;
    // Issued to `particle`, presented by `particle-cli`.
    let login = mock.login("user@example.com", "password").await;
    let response = mock
        .token_request_without_basic(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", login["refresh_token"].as_str().unwrap()),
            ("client_id", "particle-cli"),
            ("client_secret", "particle-cli"),
        ])
        .await;
    assert_oauth_error(response, 400, "invalid_grant", "Invalid refresh token").await;
    // ... and it still works for its own client.
    let response = mock
        .token_request(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", login["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn row_17_an_expired_refresh_token_is_refused() {
    // Arrange: refresh tokens live 14 days past their access token.
    let mock = spawn_mock().await;
    let login = mock.login("user@example.com", "password").await;
    mock.clock
        .advance(std::time::Duration::from_secs(7_776_000 + 1_209_600));
    // Act
    let response = mock
        .token_request(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", login["refresh_token"].as_str().unwrap()),
        ])
        .await;
    // Assert
    assert_oauth_error(response, 400, "invalid_grant", "Refresh token has expired").await;
}

#[tokio::test]
async fn row_18_client_credentials_of_a_developer_client_are_refused() {
    let mock = spawn_mock().await;
    let response = mock
        .token_request(&[("grant_type", "client_credentials")])
        .await;
    assert_oauth_error(
        response,
        400,
        "invalid_grant",
        "Client credentials are invalid",
    )
    .await;
}

#[tokio::test]
async fn row_19_a_bad_scope_is_refused() {
    let mock = spawn_mock().await;
    let response = mock
        .token_request(&[
            ("grant_type", "password"),
            ("username", "user@example.com"),
            ("password", "password"),
            ("scope", "everything"),
        ])
        .await;
    assert_oauth_error(response, 400, "invalid_scope", "Invalid scope").await;
    let response = mock
        .token_request_without_basic(&[
            ("grant_type", "client_credentials"),
            ("client_id", PRODUCT_CLIENT),
            ("client_secret", PRODUCT_SECRET),
            ("scope", "customer=nobody@example.com"),
        ])
        .await;
    assert_oauth_error(response, 400, "invalid_scope", "Invalid scope").await;
}
