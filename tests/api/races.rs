//! Race-free state: many tasks hammer one resource at once, and the store
//! must decide exactly as if they had come one after the other.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use futures_like::join_all;
use serde_json::{json, Value};

use crate::helpers::*;

/// How many tasks race for the same resource.
const TASKS: usize = 50;

/// `join_all` without a futures dependency: spawn each, await in order.
mod futures_like {
    pub async fn join_all<T: Send + 'static>(
        futures: impl IntoIterator<Item = impl std::future::Future<Output = T> + Send + 'static>,
    ) -> Vec<T> {
        let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
        let mut out = Vec::with_capacity(handles.len());
        for handle in handles {
            out.push(handle.await.unwrap());
        }
        out
    }
}

/// A mock without rate limits: the races are about the store, not the limiter.
async fn spawn_race_mock() -> Arc<TestMock> {
    let mut config = particle_auth_mock::Config::default();
    config.no_rate_limits = true;
    Arc::new(spawn_with_config(config).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_token_used_concurrently_succeeds_exactly_once() {
    // Arrange
    let mock = spawn_race_mock().await;
    let login = mock.login("user@example.com", "password").await;
    let refresh = login["refresh_token"].as_str().unwrap().to_string();
    // Act
    let statuses = join_all((0..TASKS).map(|_| {
        let mock = mock.clone();
        let refresh = refresh.clone();
        async move {
            mock.token_request(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
                .await
                .status()
                .as_u16()
        }
    }))
    .await;
    // Assert
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 400),
        "{statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_mfa_token_with_the_right_otp_sent_concurrently_yields_exactly_one_access_token() {
    // Arrange
    let mock = spawn_race_mock().await;
    let response = mock
        .token_request(&[
            ("grant_type", "password"),
            ("username", "mfa@example.com"),
            ("password", "password"),
        ])
        .await;
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 403);
    let mfa_token = body["mfa_token"].as_str().unwrap().to_string();
    let otp = totp_code(&mock.clock);
    // Act
    let answers = join_all((0..TASKS).map(|_| {
        let mock = mock.clone();
        let (mfa_token, otp) = (mfa_token.clone(), otp.clone());
        async move {
            status_and_json(
                mock.token_request(&[
                    ("grant_type", "urn:custom:mfa-otp"),
                    ("mfa_token", &mfa_token),
                    ("otp", &otp),
                ])
                .await,
            )
            .await
        }
    }))
    .await;
    // Assert
    let tokens: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, b)| &b["access_token"])
        .collect();
    assert_eq!(tokens.len(), 1, "{answers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_scope_updates_of_one_api_user_leave_exactly_one_valid_token() {
    // Arrange: the fixture API user, re-scoped by 20 admins' requests at once, each to a
    // different scope set (so every one of them rotates the token).
    let mock = spawn_race_mock().await;
    let username = "demo-api-user+abcde12345@api.particle.io";
    let extra = [
        "customers:list",
        "devices:ping",
        "devices:update",
        "events:get",
        "events:send",
        "firmware:get",
        "firmware:list",
        "devices:remove",
        "devices:release",
        "devices:import",
        "configuration:get",
        "clients:list",
        "customers:update",
        "customers:remove",
        "devices.variable:get",
        "devices.function:call",
        "firmware:create",
        "firmware:release",
        "firmware:remove",
        "clients:create",
    ];
    // Act
    let answers = join_all(extra.iter().map(|scope| {
        let mock = mock.clone();
        let body = json!({"scopes": ["devices:list", scope]});
        async move {
            let response = mock
                .client
                .put(mock.url(&format!("/v1/products/demo-product/team/{username}")))
                .bearer_auth(USER_TOKEN)
                .json(&body)
                .send()
                .await
                .unwrap();
            status_and_json(response).await
        }
    }))
    .await;
    // Assert: every update answered, and of all the tokens ever handed out (the
    // fixture's and each update's) exactly one still works.
    assert!(answers.iter().all(|(s, _)| *s == 200), "{answers:?}");
    let mut tokens = vec![API_USER_TOKEN.to_string()];
    tokens.extend(answers.iter().map(|(_, b)| {
        b["updated"]["tokens"][0]["token"]
            .as_str()
            .unwrap()
            .to_string()
    }));
    let mut live = 0;
    for token in &tokens {
        if mock
            .get_with("/v1/access_tokens/current", token)
            .await
            .status()
            == 200
        {
            live += 1;
        }
    }
    assert_eq!(live, 1, "live tokens among {tokens:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_request_sent_after_a_revocation_answered_is_served() {
    // Arrange: a fresh token, used in a tight loop by many tasks.
    let mock = spawn_race_mock().await;
    let token = mock.login("user@example.com", "password").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let revoked = Arc::new(AtomicBool::new(false));
    let late_answers = Arc::new(AtomicUsize::new(0));
    let users = (0..16).map(|_| {
        let (mock, token, revoked, late) = (
            mock.clone(),
            token.clone(),
            revoked.clone(),
            late_answers.clone(),
        );
        async move {
            let mut served_after = 0;
            // Each task keeps going until it has sent 10 requests after the revocation.
            let mut after = 0;
            while after < 10 {
                let sent_after_revocation = revoked.load(Ordering::SeqCst);
                let status = mock.get_with("/v1/user", &token).await.status().as_u16();
                if sent_after_revocation {
                    after += 1;
                    late.fetch_add(1, Ordering::SeqCst);
                    if status != 401 {
                        served_after += 1;
                    }
                } else {
                    assert!(status == 200 || status == 401, "status {status}");
                }
            }
            served_after
        }
    });
    let users: Vec<_> = users.map(tokio::spawn).collect();
    // Act: revoke while they run.
    tokio::task::yield_now().await;
    let response = mock
        .client
        .delete(mock.url(&format!("/v1/access_tokens/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    revoked.store(true, Ordering::SeqCst);
    // Assert
    let mut served_after = 0;
    for user in users {
        served_after += user.await.unwrap();
    }
    assert_eq!(late_answers.load(Ordering::SeqCst), 160);
    assert_eq!(
        served_after, 0,
        "requests sent after the revocation were served"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_recovery_code_sent_concurrently_is_accepted_exactly_once() {
    // Arrange: one MFA challenge per task, all racing with the same recovery code.
    let mock = spawn_race_mock().await;
    let mut challenges = Vec::new();
    for _ in 0..10 {
        let response = mock
            .token_request(&[
                ("grant_type", "password"),
                ("username", "mfa@example.com"),
                ("password", "password"),
            ])
            .await;
        let (_, body) = status_and_json(response).await;
        challenges.push(body["mfa_token"].as_str().unwrap().to_string());
    }
    // Act
    let statuses = join_all(challenges.into_iter().map(|mfa_token| {
        let mock = mock.clone();
        async move {
            mock.token_request(&[
                ("grant_type", "urn:custom:recovery-code"),
                ("mfa_token", &mfa_token),
                ("recovery_code", "rc001-aaaaa"),
            ])
            .await
            .status()
            .as_u16()
        }
    }))
    .await;
    // Assert
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn revoking_all_tokens_while_others_log_in_always_answers() {
    // Arrange: logins in a loop while DELETE /v1/access_tokens runs (it once subtracted
    // map lengths taken before and after, which concurrent inserts made overflow).
    let mock = spawn_race_mock().await;
    let logins = join_all((0..8).map(|_| {
        let mock = mock.clone();
        async move {
            for _ in 0..20 {
                mock.login("user@example.com", "password").await;
            }
        }
    }));
    // Act
    let revocations = join_all((0..20).map(|_| {
        let mock = mock.clone();
        async move {
            let token = mock.login("user@example.com", "password").await["access_token"]
                .as_str()
                .unwrap()
                .to_string();
            mock.client
                .delete(mock.url("/v1/access_tokens"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    }));
    let (_, statuses) = tokio::join!(logins, revocations);
    // Assert: each answered (the connection never died with a panicking handler);
    // 401 when another revocation took the caller's token first.
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 401),
        "{statuses:?}"
    );
    assert!(statuses.contains(&200));
}
