//! Rate limits (particle-api.md §6): defaults, Retry-After, the lockout, headers,
//! configuration, client identity, eviction, concurrency and the tracked-clients cap.
//! Every test moves the manual clock; none sleeps.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use particle_auth_mock::rate_limit::{Algorithm, HeaderStyle, Limit, RateLimitSettings, Rule};
use particle_auth_mock::{Config, MockServer};
use reqwest::{Method, Response};

use crate::helpers::*;

const LOCALHOST: &str = "127.0.0.1";

fn localhost() -> IpAddr {
    LOCALHOST.parse().unwrap()
}

async fn spawn_with_limits(settings: RateLimitSettings) -> TestMock {
    spawn_with(MockServer::builder().rate_limits(settings)).await
}

fn config_with(flags: &[&str]) -> Config {
    use clap::Parser;
    let mut args = vec!["particle-auth-mock"];
    args.extend_from_slice(flags);
    Config::try_parse_from(args).expect("valid flags")
}

impl TestMock {
    async fn send(&self, method: Method, path: &str) -> Response {
        self.client
            .request(method, self.url(path))
            .send()
            .await
            .unwrap()
    }

    async fn good_login(&self) -> Response {
        self.token_request(&[
            ("grant_type", "password"),
            ("username", "user@example.com"),
            ("password", "password"),
        ])
        .await
    }

    async fn bad_login(&self) -> Response {
        self.token_request(&[
            ("grant_type", "password"),
            ("username", "user@example.com"),
            ("password", "wrong"),
        ])
        .await
    }

    async fn get_as(&self, path: &str, forwarded_for: &str) -> Response {
        self.client
            .get(self.url(path))
            .header("x-forwarded-for", forwarded_for)
            .send()
            .await
            .unwrap()
    }

    fn advance_ms(&self, ms: u64) {
        self.clock.advance(Duration::from_millis(ms));
    }
}

fn retry_after(response: &Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Sends `n` requests and asserts none is refused.
async fn send_admitted(mock: &TestMock, method: Method, path: &str, n: usize) {
    for i in 0..n {
        let response = mock.send(method.clone(), path).await;
        assert_ne!(response.status(), 429, "request {} of {n} refused", i + 1);
    }
}

#[tokio::test]
async fn token_requests_are_refused_at_exactly_the_101st_by_default() {
    // Arrange
    let mock = spawn_mock().await;
    for i in 0..100 {
        assert_eq!(mock.good_login().await.status(), 200, "login {}", i + 1);
    }
    // Act
    let refused = mock.good_login().await;
    // Assert
    assert_eq!(refused.status(), 429);
    assert_eq!(retry_after(&refused), 300);
    assert_eq!(refused.headers()["access-control-allow-origin"], "*");
    let (_, body) = status_and_json(refused).await;
    assert_eq!(body["error"], "rate_limit_exceeded");
    assert_eq!(
        body["error_description"],
        "Rate limit exceeded: 100 requests per 300 s on POST /oauth/token (oauth)."
    );
}

#[tokio::test]
async fn each_other_limited_route_is_refused_at_exactly_the_101st_by_default() {
    let routes = [
        (Method::GET, "/v1/access_tokens"),
        (
            Method::DELETE,
            "/v1/access_tokens/0123456789abcdef0123456789abcdef01234567",
        ),
        (Method::POST, "/v1/users"),
        (Method::DELETE, "/v1/user"),
        (Method::POST, "/v1/user/password-reset"),
        (Method::PUT, "/v1/user/password-reset"),
        (Method::GET, "/v1/events"),
    ];
    for (method, path) in routes {
        // Arrange: a fresh mock per route, 100 requests admitted.
        let mock = spawn_mock().await;
        send_admitted(&mock, method.clone(), path, 100).await;
        // Act
        let refused = mock.send(method.clone(), path).await;
        // Assert
        assert_eq!(refused.status(), 429, "{method} {path}");
        assert_eq!(retry_after(&refused), 300);
    }
}

#[tokio::test]
async fn routes_without_their_own_rule_only_count_against_the_global_limit() {
    // Arrange / Act: 150 revocations of the current token (unauthenticated: 400).
    let mock = spawn_mock().await;
    send_admitted(&mock, Method::DELETE, "/v1/access_tokens/current", 150).await;
    // Assert
    let counters = &mock
        .server
        .controls()
        .rate_limit_client(localhost())
        .unwrap()
        .counters;
    assert_eq!(counters.len(), 1);
    assert_eq!((counters[0].rule, counters[0].count), (Rule::Global, 150));
}

#[tokio::test]
async fn the_global_limit_defaults_to_10000_per_300_seconds() {
    // Arrange / Act
    let mock = spawn_mock().await;
    mock.send(Method::GET, "/v1/user").await;
    // Assert: the counters API shows the default.
    let client = mock
        .server
        .controls()
        .rate_limit_client(localhost())
        .unwrap();
    let global = &client.counters[0];
    assert_eq!(global.rule, Rule::Global);
    assert_eq!(global.limit, Limit::secs(10_000, 300));
    assert_eq!((global.count, global.remaining), (1, 9_999));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_global_limit_refuses_the_10001st_request() {
    // Arrange: 10,000 requests over a few keep-alive connections.
    let mock = Arc::new(spawn_mock().await);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let mock = mock.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..1_250 {
                let status = mock.send(Method::GET, "/v1/user").await.status();
                assert_eq!(status, 400, "admitted with the documented no-token answer");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    // Act
    let refused = mock.send(Method::GET, "/v1/user").await;
    // Assert
    assert_eq!(refused.status(), 429);
    let (_, body) = status_and_json(refused).await;
    assert_eq!(
        body["error_description"],
        "Rate limit exceeded: 10000 requests per 300 s on all routes (global)."
    );
}

#[tokio::test]
async fn a_small_global_limit_is_reached_at_exactly_its_count_across_routes() {
    let mock = spawn_with_config(config_with(&["--rate-limit", "global=50/300s"])).await;
    send_admitted(&mock, Method::GET, "/v1/user", 30).await;
    send_admitted(&mock, Method::GET, "/v1/devices", 20).await;
    assert_eq!(mock.send(Method::GET, "/v1/user").await.status(), 429);
    assert_eq!(mock.send(Method::GET, "/nowhere").await.status(), 429);
}

#[tokio::test]
async fn retry_after_follows_a_sliding_window_exactly() {
    // Arrange: 3 token requests per 60 s, at 0 s, 10 s and 20 s.
    let mock = spawn_with_limits(
        RateLimitSettings::default().with_rule(Rule::Oauth, Some(Limit::secs(3, 60))),
    )
    .await;
    for step in [0, 10_000, 10_000] {
        mock.advance_ms(step);
        assert_eq!(mock.good_login().await.status(), 200);
    }
    // Act / Assert: the request at 0 s frees a slot at 60 s.
    mock.advance_ms(10_000); // 30 s
    assert_eq!(retry_after(&mock.good_login().await), 30);
    mock.advance_ms(29_001); // 59.001 s
    assert_eq!(retry_after(&mock.good_login().await), 1);
    mock.advance_ms(998); // 59.999 s
    assert_eq!(retry_after(&mock.good_login().await), 1);
    mock.advance_ms(1); // 60 s
    assert_eq!(mock.good_login().await.status(), 200);
    // Full again: the request at 10 s frees the next slot at 70 s.
    mock.advance_ms(500);
    assert_eq!(retry_after(&mock.good_login().await), 10);
    mock.advance_ms(9_500);
    assert_eq!(mock.good_login().await.status(), 200);
}

#[tokio::test]
async fn retry_after_follows_a_fixed_window_to_its_end() {
    // Arrange: 3 per 60 s in epoch-aligned windows (T0 starts one).
    let mock = spawn_with_limits(
        RateLimitSettings::default()
            .with_algorithm(Algorithm::Fixed)
            .with_rule(Rule::Oauth, Some(Limit::secs(3, 60))),
    )
    .await;
    for step in [0, 10_000, 10_000] {
        mock.advance_ms(step);
        assert_eq!(mock.good_login().await.status(), 200);
    }
    // Act / Assert: refused until the window ends at 60 s, whatever the requests' times.
    mock.advance_ms(10_000); // 30 s
    assert_eq!(retry_after(&mock.good_login().await), 30);
    mock.advance_ms(29_500); // 59.5 s
    assert_eq!(retry_after(&mock.good_login().await), 1);
    mock.advance_ms(500); // 60 s: a new window, three fresh slots
    for _ in 0..3 {
        assert_eq!(mock.good_login().await.status(), 200);
    }
    mock.advance_ms(15_250); // 75.25 s
    assert_eq!(retry_after(&mock.good_login().await), 45);
}

#[tokio::test]
async fn ten_consecutive_failed_logins_block_token_requests_for_30_minutes() {
    // Arrange: ten wrong passwords, each answered normally.
    let mock = spawn_mock().await;
    for _ in 0..10 {
        assert_eq!(mock.bad_login().await.status(), 400);
    }
    // Act: even the right password is refused now.
    let refused = mock.good_login().await;
    // Assert
    assert_eq!(refused.status(), 429);
    assert_eq!(retry_after(&refused), 1_800);
    let (_, body) = status_and_json(refused).await;
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("10 consecutive failed token requests"));
    assert_eq!(mock.get_with("/v1/user", USER_TOKEN).await.status(), 200);
    let client = mock
        .server
        .controls()
        .rate_limit_client(localhost())
        .unwrap();
    assert_eq!(client.blocked_for_secs, Some(1_800));
    mock.advance_ms(1_799_000);
    assert_eq!(retry_after(&mock.good_login().await), 1);
    mock.advance_ms(1_000);
    assert_eq!(mock.good_login().await.status(), 200);
}

#[tokio::test]
async fn a_successful_login_resets_the_failure_streak_and_mfa_required_does_not() {
    // Arrange: 9 failures, a success, 9 failures, an mfa_required (neutral).
    let mock = spawn_mock().await;
    for _ in 0..9 {
        mock.bad_login().await;
    }
    assert_eq!(mock.good_login().await.status(), 200);
    for _ in 0..9 {
        mock.bad_login().await;
    }
    let mfa = mock
        .token_request(&[
            ("grant_type", "password"),
            ("username", "mfa@example.com"),
            ("password", "password"),
        ])
        .await;
    assert_eq!(mfa.status(), 403);
    assert_eq!(
        mock.server
            .controls()
            .rate_limit_client(localhost())
            .unwrap()
            .failure_streak,
        9
    );
    // Act: the 10th consecutive failure.
    assert_eq!(mock.bad_login().await.status(), 400);
    // Assert
    assert_eq!(mock.good_login().await.status(), 429);
}

#[tokio::test]
async fn no_rate_limit_headers_are_sent_by_default() {
    let mock = spawn_mock().await;
    let response = mock.good_login().await;
    assert!(response.headers().get("x-ratelimit-limit").is_none());
    assert!(response.headers().get("ratelimit").is_none());
    assert!(response.headers().get("ratelimit-policy").is_none());
}

#[tokio::test]
async fn x_ratelimit_headers_show_the_most_constrained_rule() {
    // Arrange
    let mock = spawn_with_config(config_with(&[
        "--rate-limit-headers",
        "x-ratelimit",
        "--rate-limit",
        "oauth=2/60s",
    ]))
    .await;
    // Act
    let first = mock.good_login().await;
    mock.advance_ms(20_000);
    let second = mock.good_login().await;
    let refused = mock.good_login().await;
    // Assert
    let h = first.headers();
    assert_eq!(
        (
            &h["x-ratelimit-limit"],
            &h["x-ratelimit-remaining"],
            &h["x-ratelimit-reset"]
        ),
        (
            &"2".parse().unwrap(),
            &"1".parse().unwrap(),
            &"60".parse().unwrap()
        )
    );
    assert_eq!(second.headers()["x-ratelimit-remaining"], "0");
    assert_eq!(second.headers()["x-ratelimit-reset"], "40");
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["x-ratelimit-remaining"], "0");
    assert_eq!(refused.headers()["x-ratelimit-reset"], "40");
    assert_eq!(refused.headers()["retry-after"], "40");
    let plain = mock.send(Method::GET, "/v1/user").await;
    assert_eq!(plain.headers()["x-ratelimit-limit"], "10000");
    assert_eq!(plain.headers()["x-ratelimit-remaining"], "9997");
}

#[tokio::test]
async fn ietf_headers_list_every_applicable_policy() {
    // Arrange
    let mock = spawn_with_config(config_with(&["--rate-limit-headers", "ietf"])).await;
    // Act
    let response = mock.good_login().await;
    // Assert
    assert_eq!(
        response.headers()["ratelimit-policy"],
        r#""oauth";q=100;w=300, "global";q=10000;w=300"#
    );
    assert_eq!(
        response.headers()["ratelimit"],
        r#""oauth";r=99;t=300, "global";r=9999;t=300"#
    );
    let plain = mock.send(Method::GET, "/v1/user").await;
    assert_eq!(
        plain.headers()["ratelimit-policy"],
        r#""global";q=10000;w=300"#
    );
}

#[tokio::test]
async fn a_route_limit_can_be_set_per_rule_by_flag() {
    // Arrange: list limited to 2 per 10 s, deletion off.
    let mock = spawn_with_config(config_with(&[
        "--rate-limit",
        "access-tokens-list=2/10s,access-token-delete=off",
    ]))
    .await;
    send_admitted(&mock, Method::GET, "/v1/access_tokens", 2).await;
    send_admitted(&mock, Method::DELETE, "/v1/access_tokens/abc", 150).await;
    // Act
    let refused = mock.send(Method::GET, "/v1/access_tokens").await;
    // Assert
    assert_eq!(refused.status(), 429);
    assert_eq!(retry_after(&refused), 10);
    mock.advance_ms(10_000);
    assert_ne!(
        mock.send(Method::GET, "/v1/access_tokens").await.status(),
        429
    );
}

#[tokio::test]
async fn the_fixtures_file_sets_limits_and_flags_override_it() {
    // Arrange: the file says oauth 1/60s and fixed windows; a flag says oauth 2/60s.
    let mut json: serde_json::Value =
        serde_json::from_str(&particle_auth_mock::Fixtures::default_set().to_json()).unwrap();
    json["rate_limits"] = serde_json::json!({
        "algorithm": "fixed", "headers": "x-ratelimit", "rules": {"oauth": "1/60s"}
    });
    let fixtures = particle_auth_mock::Fixtures::from_json(&json.to_string()).unwrap();
    let file_only = spawn_with(MockServer::builder().fixtures(fixtures.clone())).await;
    let mut config = config_with(&["--rate-limit", "oauth=2/60s"]);
    config.listen = "127.0.0.1:0".parse().unwrap();
    let overridden = spawn_with(MockServer::builder().config(config).fixtures(fixtures)).await;
    // Act
    file_only.good_login().await;
    let second = file_only.good_login().await;
    // Assert
    assert_eq!(second.status(), 429);
    assert_eq!(second.headers()["x-ratelimit-limit"], "1");
    let settings = overridden.server.controls().rate_limit_settings();
    assert_eq!(settings.algorithm, Algorithm::Fixed);
    assert_eq!(settings.limit(Rule::Oauth), Some(Limit::secs(2, 60)));
}

#[tokio::test]
async fn no_rate_limits_switches_every_limit_off() {
    // Arrange
    let mock = spawn_with_config(config_with(&["--no-rate-limits"])).await;
    // Act: well past the token limit, with failures past the lockout.
    for _ in 0..110 {
        assert_eq!(mock.bad_login().await.status(), 400);
    }
    // Assert
    assert_eq!(mock.good_login().await.status(), 200);
    assert_eq!(mock.server.controls().rate_limits().tracked_clients, 0);
}

#[tokio::test]
async fn forwarded_addresses_are_separate_clients_when_trusted() {
    // Arrange: one token request per minute, forwarded headers trusted.
    let mock = spawn_with_config(config_with(&[
        "--trust-forwarded",
        "--rate-limit",
        "access-tokens-list=1/60s",
    ]))
    .await;
    let path = "/v1/access_tokens";
    // Act
    let a1 = mock.get_as(path, "203.0.113.5, 10.0.0.1").await;
    let a2 = mock.get_as(path, "203.0.113.5").await;
    let b = mock
        .client
        .get(mock.url(path))
        .header("forwarded", r#"for="[2001:db8:1:2::7]:4711";proto=https"#)
        .send()
        .await
        .unwrap();
    let b_same_64 = mock.get_as(path, "2001:db8:1:2:ffff::1").await;
    let malformed = mock.get_as(path, "not-an-address").await;
    let malformed_again = mock.get_as(path, "999.0.0.1").await;
    // Assert
    let refused = |r: &Response| r.status() == 429;
    assert_eq!((refused(&a1), refused(&a2)), (false, true));
    assert_eq!((refused(&b), refused(&b_same_64)), (false, true));
    assert_eq!(
        (refused(&malformed), refused(&malformed_again)),
        (false, true)
    );
    let clients: Vec<String> = mock
        .server
        .controls()
        .rate_limits()
        .clients
        .into_iter()
        .map(|c| c.client)
        .collect();
    assert_eq!(clients, ["127.0.0.1", "203.0.113.5", "2001:db8:1:2::/64"]);
}

#[tokio::test]
async fn forwarded_headers_are_ignored_unless_trusted() {
    // Arrange
    let mock = spawn_with_config(config_with(&["--rate-limit", "access-tokens-list=1/60s"])).await;
    // Act
    let a = mock.get_as("/v1/access_tokens", "203.0.113.5").await;
    let b = mock.get_as("/v1/access_tokens", "198.51.100.9").await;
    // Assert: both are 127.0.0.1.
    assert_ne!(a.status(), 429);
    assert_eq!(b.status(), 429);
    assert_eq!(mock.server.controls().rate_limits().clients.len(), 1);
}

#[tokio::test]
async fn client_state_is_evicted_once_its_windows_have_passed() {
    // Arrange
    let mock = spawn_mock().await;
    mock.good_login().await;
    mock.send(Method::GET, "/v1/user").await;
    assert_eq!(mock.server.controls().rate_limits().tracked_clients, 1);
    // Act / Assert: nothing goes before the 300-s window has passed.
    mock.advance_ms(299_999);
    assert_eq!(mock.server.controls().evict_rate_limits(), 0);
    mock.advance_ms(1);
    assert_eq!(mock.server.controls().evict_rate_limits(), 1);
    assert_eq!(mock.server.controls().rate_limits().tracked_clients, 0);
    assert!(mock
        .server
        .controls()
        .rate_limit_client(localhost())
        .is_none());
}

#[tokio::test]
async fn a_thousand_concurrent_requests_from_one_client_admit_exactly_100() {
    // Arrange: GET /v1/access_tokens is limited to 100 per 300 s by default.
    let mock = Arc::new(spawn_mock().await);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1_000)
        .build()
        .unwrap();
    // Act
    let tasks: Vec<_> = (0..1_000)
        .map(|_| {
            let client = client.clone();
            let url = mock.url("/v1/access_tokens");
            tokio::spawn(async move { client.get(url).send().await.unwrap().status() })
        })
        .collect();
    let mut admitted = 0;
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap().as_u16() {
            429 => refused += 1,
            _ => admitted += 1,
        }
    }
    // Assert
    assert_eq!((admitted, refused), (100, 900));
    let counters = mock
        .server
        .controls()
        .rate_limit_client(localhost())
        .unwrap()
        .counters;
    let list = counters
        .iter()
        .find(|c| c.rule == Rule::AccessTokensList)
        .unwrap();
    assert_eq!(list.count, 100);
}

#[tokio::test]
async fn the_tracked_clients_cap_admits_new_clients_untracked() {
    // Arrange: room for three clients.
    let mock = spawn_with_config(config_with(&[
        "--trust-forwarded",
        "--max-tracked-clients",
        "3",
        "--rate-limit",
        "access-tokens-list=1/60s",
    ]))
    .await;
    // Act: five clients, one request each; then the third again.
    for n in 1..=5 {
        let status = mock
            .get_as("/v1/access_tokens", &format!("10.0.0.{n}"))
            .await
            .status();
        assert_ne!(status, 429);
    }
    let tracked_again = mock.get_as("/v1/access_tokens", "10.0.0.3").await;
    // Assert
    let snapshot = mock.server.controls().rate_limits();
    assert_eq!(snapshot.tracked_clients, 3);
    assert_eq!(snapshot.untracked_admissions, 2);
    assert_eq!(tracked_again.status(), 429);
    // Once the windows have passed, a new client takes a freed place.
    mock.advance_ms(300_000);
    mock.get_as("/v1/access_tokens", "10.0.0.9").await;
    let snapshot = mock.server.controls().rate_limits();
    assert_eq!(snapshot.tracked_clients, 1);
    assert_eq!(snapshot.clients[0].client, "10.0.0.9");
}

#[tokio::test]
async fn limits_change_and_counters_reset_at_run_time() {
    // Arrange
    let mock = spawn_mock().await;
    mock.server.controls().set_rate_limit_settings(
        mock.server
            .controls()
            .rate_limit_settings()
            .with_headers(HeaderStyle::XRateLimit)
            .with_rule(Rule::Oauth, Some(Limit::secs(1, 60))),
    );
    assert_eq!(mock.good_login().await.status(), 200);
    assert_eq!(mock.good_login().await.status(), 429);
    // Act
    assert!(mock.server.controls().reset_rate_limit_client(localhost()));
    // Assert
    let again = mock.good_login().await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["x-ratelimit-remaining"], "0");
    mock.server.controls().reset_rate_limits();
    assert_eq!(mock.server.controls().rate_limits().tracked_clients, 0);
    mock.server.controls().reset();
    assert_eq!(
        mock.server.controls().rate_limit_settings(),
        RateLimitSettings::default()
    );
}

#[tokio::test]
async fn the_control_plane_is_never_limited() {
    let mock = spawn_with_config(config_with(&["--rate-limit", "global=1/60s"])).await;
    send_admitted(&mock, Method::GET, "/v1/user", 1).await;
    assert_eq!(mock.send(Method::GET, "/v1/user").await.status(), 429);
    assert_eq!(mock.send(Method::GET, "/__mock/health").await.status(), 200);
}

#[tokio::test]
async fn each_tenant_counts_its_own_clients_with_its_own_limits() {
    // Arrange: a tenant whose fixtures allow one token request per minute.
    let mock = spawn_mock().await;
    let mut json: serde_json::Value =
        serde_json::from_str(&particle_auth_mock::Fixtures::default_set().to_json()).unwrap();
    json["rate_limits"] = serde_json::json!({"rules": {"oauth": "1/60s"}});
    let fixtures = particle_auth_mock::Fixtures::from_json(&json.to_string()).unwrap();
    let tenant = mock.server.create_tenant_with(fixtures).unwrap();
    let login = |base: String| {
        let client = mock.client.clone();
        async move {
            client
                .post(format!("{base}/oauth/token"))
                .basic_auth("particle", Some("particle"))
                .form(&[
                    ("grant_type", "password"),
                    ("username", "user@example.com"),
                    ("password", "password"),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // Act
    let tenant_first = login(tenant.uri()).await;
    let tenant_second = login(tenant.uri()).await;
    let default_second = {
        login(mock.uri.clone()).await;
        login(mock.uri.clone()).await
    };
    // Assert
    assert_eq!((tenant_first, tenant_second), (200, 429));
    assert_eq!(default_second, 200);
    assert_eq!(tenant.controls().rate_limits().tracked_clients, 1);
    assert_eq!(
        tenant.controls().rate_limit_settings().limit(Rule::Oauth),
        Some(Limit::secs(1, 60))
    );
}

#[tokio::test]
async fn the_journal_records_which_limit_refused_a_request() {
    // Arrange
    let mock = spawn_with_config(config_with(&["--rate-limit", "oauth=1/60s"])).await;
    mock.good_login().await;
    // Act
    mock.good_login().await;
    // Assert
    let entries = mock
        .server
        .controls()
        .journal(&particle_auth_mock::control::JournalFilter::default())
        .unwrap();
    let refused = entries.iter().find(|e| e.status == Some(429)).unwrap();
    assert_eq!(refused.reason.as_deref(), Some("oauth limit 1/60s reached"));
}
