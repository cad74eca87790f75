//! MFA (particle-api.md §1.7 rows 10–14, §4): OTP and recovery-code grants, the
//! `mfa_token`'s life, and enrolment.

use std::time::Duration;

use crate::helpers::*;

#[tokio::test]
async fn a_valid_otp_completes_the_login_and_the_token_needs_no_otp() {
    // Arrange
    let mock = spawn_mock().await;
    let mfa_token = mock.mfa_challenge().await;
    // Act
    let response = mock.send_otp(&mfa_token, &totp_code(&mock.clock)).await;
    // Assert
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 7_776_000);
    let token = body["access_token"].as_str().unwrap();
    let (status, user) = status_and_json(mock.get_with("/v1/user", token).await).await;
    assert_eq!(status, 200);
    assert_eq!(user["username"], "mfa@example.com");
    assert_eq!(user["mfa"]["enabled"], true);
}

#[tokio::test]
async fn the_lifetime_asked_with_the_password_carries_over_to_the_otp_step() {
    let mock = spawn_mock().await;
    let response = mock
        .token_request(&[
            ("grant_type", "password"),
            ("username", "mfa@example.com"),
            ("password", "password"),
            ("expires_in", "0"),
        ])
        .await;
    let (_, body) = status_and_json(response).await;
    let mfa_token = body["mfa_token"].as_str().unwrap();
    let (status, body) =
        status_and_json(mock.send_otp(mfa_token, &totp_code(&mock.clock)).await).await;
    assert_eq!(status, 200);
    assert_eq!(body["expires_in"], 0);
    assert!(body.get("refresh_token").is_none());
}

#[tokio::test]
async fn a_code_from_the_previous_step_is_accepted_but_not_two_steps_back() {
    let mock = spawn_mock().await;
    let now = mock.clock.now_millis() / 1000;
    let two_back = totp_at("JBSWY3DPEHPK3PXP", now - 60);
    let one_back = totp_at("JBSWY3DPEHPK3PXP", now - 30);
    let mfa_token = mock.mfa_challenge().await;
    assert_eq!(mock.send_otp(&mfa_token, &two_back).await.status(), 401);
    assert_eq!(mock.send_otp(&mfa_token, &one_back).await.status(), 200);
}

#[tokio::test]
async fn a_wrong_code_is_refused_and_the_mfa_token_stays_usable() {
    let mock = spawn_mock().await;
    let mfa_token = mock.mfa_challenge().await;
    let response = mock.send_otp(&mfa_token, "12345x").await;
    assert_oauth_error(response, 401, "invalid_token", "Could not validate OTP.").await;
    let response = mock.send_otp(&mfa_token, &totp_code(&mock.clock)).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn an_mfa_token_is_single_use() {
    let mock = spawn_mock().await;
    let mfa_token = mock.mfa_challenge().await;
    assert_eq!(
        mock.send_otp(&mfa_token, &totp_code(&mock.clock))
            .await
            .status(),
        200
    );
    mock.clock.advance(Duration::from_secs(30));
    let response = mock.send_otp(&mfa_token, &totp_code(&mock.clock)).await;
    assert_oauth_error(response, 401, "invalid_token", "Could not validate OTP.").await;
}

#[tokio::test]
async fn a_code_accepted_once_cannot_be_replayed_in_its_window() {
    // Arrange: one successful login with the current code.
    let mock = spawn_mock().await;
    let code = totp_code(&mock.clock);
    let first = mock.mfa_challenge().await;
    assert_eq!(mock.send_otp(&first, &code).await.status(), 200);
    // Act: a second login with the same code, same step.
    let second = mock.mfa_challenge().await;
    let response = mock.send_otp(&second, &code).await;
    // Assert
    assert_oauth_error(response, 401, "invalid_token", "Could not validate OTP.").await;
    // The next step's code works.
    mock.clock.advance(Duration::from_secs(30));
    assert_eq!(
        mock.send_otp(&second, &totp_code(&mock.clock))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn five_wrong_codes_give_429_and_kill_the_mfa_token() {
    // Arrange
    let mock = spawn_mock().await;
    let mfa_token = mock.mfa_challenge().await;
    // Act
    for _ in 0..4 {
        assert_eq!(mock.send_otp(&mfa_token, "000000").await.status(), 401);
    }
    let fifth = mock.send_otp(&mfa_token, "000000").await;
    // Assert
    assert_oauth_error(fifth, 429, "rate_limit_exceeded", "Rate limit exceeded.").await;
    let response = mock.send_otp(&mfa_token, &totp_code(&mock.clock)).await;
    assert_oauth_error(response, 401, "invalid_token", "Could not validate OTP.").await;
}

#[tokio::test]
async fn an_mfa_token_expires_after_five_minutes() {
    // Arrange: two challenges opened at T0.
    let mock = spawn_mock().await;
    let early = mock.mfa_challenge().await;
    let late = mock.mfa_challenge().await;
    // Act + Assert: one second before the end the first still works...
    mock.clock.advance(Duration::from_secs(299));
    let response = mock.send_otp(&early, &totp_code(&mock.clock)).await;
    assert_eq!(response.status(), 200);
    // ...at five minutes the second is dead.
    mock.clock.advance(Duration::from_secs(1));
    let response = mock.send_otp(&late, &totp_code(&mock.clock)).await;
    assert_oauth_error(response, 401, "invalid_token", "Could not validate OTP.").await;
}

#[tokio::test]
async fn the_mfa_token_ttl_is_configurable() {
    let config = particle_auth_mock::Config {
        mfa_token_ttl: 10,
        ..Default::default()
    };
    let mock = spawn_with_config(config).await;
    let mfa_token = mock.mfa_challenge().await;
    mock.clock.advance(Duration::from_secs(10));
    let response = mock.send_otp(&mfa_token, &totp_code(&mock.clock)).await;
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn an_mfa_token_is_bound_to_its_client() {
    let mock = spawn_mock().await;
    let mfa_token = mock.mfa_challenge().await;
    let response = mock
        .token_request_without_basic(&[
            ("grant_type", "urn:custom:mfa-otp"),
            ("mfa_token", &mfa_token),
            ("otp", &totp_code(&mock.clock)),
            ("client_id", "particle-cli"),
            ("client_secret", "particle-cli"),
        ])
        .await;
    assert_eq!(response.status(), 401);
}

async fn send_recovery(mock: &TestMock, mfa_token: &str, code: &str) -> reqwest::Response {
    mock.token_request(&[
        ("grant_type", "urn:custom:recovery-code"),
        ("mfa_token", mfa_token),
        ("recovery_code", code),
    ])
    .await
}

#[tokio::test]
async fn a_recovery_code_works_once() {
    // Arrange
    let mock = spawn_mock().await;
    let first = mock.mfa_challenge().await;
    // Act
    let response = send_recovery(&mock, &first, "rc003-ccccc").await;
    // Assert
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].is_string());
    let second = mock.mfa_challenge().await;
    let response = send_recovery(&mock, &second, "rc003-ccccc").await;
    assert_oauth_error(
        response,
        401,
        "invalid_token",
        "Could not validate recovery code.",
    )
    .await;
    // Another code still works.
    assert_eq!(
        send_recovery(&mock, &second, "rc004-ddddd").await.status(),
        200
    );
}

// ---- enrolment (§4.1) ----

#[tokio::test]
async fn enrolment_shows_a_secret_and_an_otpauth_qr_url() {
    let mock = spawn_mock().await;
    let token = mock.login("developer@example.com", "password").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let response = mock.get_with("/v1/user/mfa-enable", &token).await;
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200, "{body}");
    let secret = body["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 32);
    assert!(body["mfa_token"].as_str().unwrap().starts_with("eyJ"));
    assert_eq!(
        body["qr_url"],
        format!("otpauth://totp/Particle:developer@example.com?secret={secret}&issuer=Particle&algorithm=SHA1&digits=6&period=30")
    );
}

#[tokio::test]
async fn an_enrolled_user_must_then_log_in_with_an_otp() {
    // Arrange
    let mock = spawn_mock().await;
    let token = mock.login("developer@example.com", "password").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, start) = status_and_json(mock.get_with("/v1/user/mfa-enable", &token).await).await;
    let secret = start["secret"].as_str().unwrap().to_string();
    let now = mock.clock.now_millis() / 1000;
    // Act: confirm with the current code.
    let response = mock
        .client
        .post(mock.url("/v1/user/mfa-enable"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"mfa_token": start["mfa_token"], "otp": totp_at(&secret, now)}))
        .send()
        .await
        .unwrap();
    // Assert: enrolled with ten recovery codes...
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["enrolled"], true);
    let codes = body["recovery_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    assert!(codes.iter().all(|c| {
        let c = c.as_str().unwrap();
        c.len() == 11 && c.as_bytes()[5] == b'-'
    }));
    let (_, user) = status_and_json(mock.get_with("/v1/user", &token).await).await;
    assert_eq!(user["mfa"]["enabled"], true);
    // ...and the next login needs the OTP.
    let response = mock
        .token_request(&[
            ("grant_type", "password"),
            ("username", "developer@example.com"),
            ("password", "password"),
        ])
        .await;
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 403);
    mock.clock.advance(Duration::from_secs(30));
    let code = totp_at(&secret, now + 30);
    let response = mock
        .send_otp(body["mfa_token"].as_str().unwrap(), &code)
        .await;
    assert_eq!(response.status(), 200);
    // A recovery code from the enrolment works too.
    let (_, body) = status_and_json(
        mock.token_request(&[
            ("grant_type", "password"),
            ("username", "developer@example.com"),
            ("password", "password"),
        ])
        .await,
    )
    .await;
    let response = send_recovery(
        &mock,
        body["mfa_token"].as_str().unwrap(),
        codes[0].as_str().unwrap(),
    )
    .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn enrolment_with_a_wrong_otp_is_a_clear_400() {
    let mock = spawn_mock().await;
    let token = mock.login("developer@example.com", "password").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, start) = status_and_json(mock.get_with("/v1/user/mfa-enable", &token).await).await;
    let response = mock
        .client
        .post(mock.url("/v1/user/mfa-enable"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"mfa_token": start["mfa_token"], "otp": "000000"}))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 400);
    assert_eq!(body["ok"], false);
    assert_eq!(body["error"], "Invalid one-time password.");
    let (_, user) = status_and_json(mock.get_with("/v1/user", &token).await).await;
    assert_eq!(user["mfa"]["enabled"], false);
}

async fn disable(mock: &TestMock, token: &str, password: &str) -> reqwest::Response {
    mock.client
        .put(mock.url("/v1/user/mfa-disable"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "current_password": password }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn mfa_disable_needs_the_current_password() {
    // Arrange: the MFA user logged in.
    let mock = spawn_mock().await;
    let mfa_token = mock.mfa_challenge().await;
    let (_, body) = status_and_json(mock.send_otp(&mfa_token, &totp_code(&mock.clock)).await).await;
    let token = body["access_token"].as_str().unwrap().to_string();
    // Act + Assert: a wrong password is a clear 400.
    let (status, body) = status_and_json(disable(&mock, &token, "nope").await).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "Incorrect current_password.");
    // The right one disables MFA, and the next login needs no OTP.
    let (status, body) = status_and_json(disable(&mock, &token, "password").await).await;
    assert_eq!(status, 200);
    assert_eq!(body, serde_json::json!({"ok": true}));
    let (_, user) = status_and_json(mock.get_with("/v1/user", &token).await).await;
    assert_eq!(user["mfa"]["enabled"], false);
    mock.login("mfa@example.com", "password").await;
}

#[tokio::test]
async fn mfa_endpoints_refuse_api_user_tokens() {
    let mock = spawn_mock().await;
    let (status, body) =
        status_and_json(mock.get_with("/v1/user/mfa-enable", API_USER_TOKEN).await).await;
    assert_eq!(status, 403);
    assert_eq!(
        body["error_description"],
        "API users are not allowed to call this endpoint"
    );
}
