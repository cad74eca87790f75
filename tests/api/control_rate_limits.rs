//! Control API: rate limits (`/__mock/rate-limits…`) over HTTP and through the library:
//! counters, resetting one client or all, changing limits and the algorithm at run time,
//! tenants, the guard, reset, and the client the journal records. Every test moves the
//! manual clock; none sleeps.

use std::net::IpAddr;
use std::time::Duration;

use particle_auth_mock::control::JournalFilter;
use particle_auth_mock::rate_limit::{Algorithm, Limit, Rule};
use particle_auth_mock::Config;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

fn config_with(flags: &[&str]) -> Config {
    use clap::Parser;
    let mut args = vec!["particle-auth-mock"];
    args.extend_from_slice(flags);
    Config::try_parse_from(args).expect("valid flags")
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// `GET {base}{path}` as user@example.com, claiming to come from `client` (the limiter
/// believes it with `--trust-forwarded`).
async fn get_as(mock: &TestMock, base: &str, path: &str, client: &str) -> u16 {
    mock.client
        .get(format!("{base}{path}"))
        .bearer_auth(USER_TOKEN)
        .header("x-forwarded-for", client)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A good password login at `base`; its status and `Retry-After`, if any.
async fn login(mock: &TestMock, base: &str) -> (u16, Option<String>) {
    let response = mock
        .client
        .post(format!("{base}/oauth/token"))
        .basic_auth("particle", Some("particle"))
        .form(&[
            ("grant_type", "password"),
            ("username", "user@example.com"),
            ("password", "password"),
        ])
        .send()
        .await
        .unwrap();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (response.status().as_u16(), retry_after)
}

/// The count of `rule` in a client's JSON counters (0 if the rule is not listed).
fn count(client: &Value, rule: &str) -> u64 {
    client["counters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["rule"] == rule)
        .map_or(0, |c| c["count"].as_u64().unwrap())
}

fn client_names(clients: &Value) -> Vec<&str> {
    clients["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn counters_are_read_over_http_and_match_the_library() {
    // Arrange: three requests from one client, one from another.
    let mock = spawn_with_config(config_with(&["--trust-forwarded"])).await;
    for _ in 0..3 {
        get_as(&mock, &mock.uri, "/v1/access_tokens", "10.0.0.1").await;
    }
    get_as(&mock, &mock.uri, "/v1/user", "10.0.0.2").await;
    // Act
    let (status, all) = mock.get_json("/__mock/rate-limits/clients").await;
    let (_, one) = mock
        .get_json("/__mock/rate-limits/clients?client=10.0.0.2")
        .await;
    let (_, unknown) = mock
        .get_json("/__mock/rate-limits/clients?client=10.0.0.3")
        .await;
    let (_, summary) = mock.get_json("/__mock/rate-limits").await;
    let (_, page1) = mock.get_json("/__mock/rate-limits/clients?limit=1").await;
    let (_, page2) = mock
        .get_json("/__mock/rate-limits/clients?limit=1&cursor=10.0.0.1")
        .await;
    // Assert
    assert_eq!(status, 200);
    assert_eq!(client_names(&all), ["10.0.0.1", "10.0.0.2"]);
    let first = &all["clients"][0];
    assert_eq!(count(first, "global"), 3);
    assert_eq!(count(first, "access-tokens-list"), 3);
    assert_eq!(first["counters"][1]["remaining"], 97);
    assert_eq!(first["counters"][1]["limit"], "100/300s");
    assert_eq!(first["blocked_for_secs"], Value::Null);
    assert_eq!(client_names(&one), ["10.0.0.2"]);
    // Paged, so a large table is never one answer: one client a page, the cursor is the last client.
    assert_eq!(client_names(&page1), ["10.0.0.1"]);
    assert_eq!(page1["next_cursor"], "10.0.0.1");
    assert_eq!(client_names(&page2), ["10.0.0.2"]);
    assert_eq!(page2["next_cursor"], Value::Null);
    assert_eq!(count(&one["clients"][0], "global"), 1);
    assert_eq!(unknown, json!({"clients": [], "next_cursor": null}));
    assert_eq!(summary["tracked_clients"], 2);
    assert_eq!(summary["untracked_admissions"], 0);
    assert_eq!(summary["settings"]["algorithm"], "sliding");
    assert_eq!(summary["settings"]["headers"], "none");
    assert_eq!(summary["settings"]["max_tracked_clients"], 1_000_000);
    assert_eq!(summary["settings"]["rules"]["oauth-failures"], "10/1800s");
    // The library tells the same.
    let snapshot = mock.server.controls().rate_limits();
    assert_eq!(
        serde_json::to_value(&snapshot.clients).unwrap(),
        all["clients"]
    );
    assert_eq!(
        serde_json::to_value(mock.server.controls().rate_limit_summary()).unwrap(),
        summary
    );
    let library_one = mock
        .server
        .controls()
        .rate_limit_client(ip("10.0.0.2"))
        .unwrap();
    assert_eq!(
        serde_json::to_value(library_one).unwrap(),
        one["clients"][0]
    );
    assert!(mock
        .server
        .controls()
        .rate_limit_client(ip("10.0.0.3"))
        .is_none());
}

#[tokio::test]
async fn resetting_one_client_over_http_lifts_its_block_and_leaves_the_others_counters() {
    // Arrange: 10.0.0.1 is refused by a 1/60s limit; 10.0.0.2 has used its one request.
    let mock = spawn_with_config(config_with(&[
        "--trust-forwarded",
        "--rate-limit",
        "global=1/60s",
    ]))
    .await;
    get_as(&mock, &mock.uri, "/v1/user", "10.0.0.1").await;
    get_as(&mock, &mock.uri, "/v1/user", "10.0.0.2").await;
    assert_eq!(get_as(&mock, &mock.uri, "/v1/user", "10.0.0.1").await, 429);
    // Act
    let reset = mock
        .call(Method::DELETE, "/__mock/rate-limits/clients/10.0.0.1", None)
        .await;
    let again = mock
        .call(Method::DELETE, "/__mock/rate-limits/clients/10.0.0.1", None)
        .await;
    // Assert
    assert_eq!(reset, (200, json!({"ok": true, "was_tracked": true})));
    assert_eq!(again, (200, json!({"ok": true, "was_tracked": false})));
    let (_, clients) = mock.get_json("/__mock/rate-limits/clients").await;
    assert_eq!(client_names(&clients), ["10.0.0.2"]);
    assert_eq!(get_as(&mock, &mock.uri, "/v1/user", "10.0.0.1").await, 200);
    assert_eq!(get_as(&mock, &mock.uri, "/v1/user", "10.0.0.2").await, 429);
}

#[tokio::test]
async fn resetting_every_client_over_http_empties_the_table() {
    // Arrange
    let mock = spawn_with_config(config_with(&["--trust-forwarded"])).await;
    get_as(&mock, &mock.uri, "/v1/user", "10.0.0.1").await;
    get_as(&mock, &mock.uri, "/v1/user", "10.0.0.2").await;
    // Act
    let reset = mock
        .call(Method::DELETE, "/__mock/rate-limits/clients", None)
        .await;
    // Assert
    assert_eq!(reset, (200, json!({"ok": true})));
    let (_, clients) = mock.get_json("/__mock/rate-limits/clients").await;
    assert_eq!(clients, json!({"clients": [], "next_cursor": null}));
    assert_eq!(
        mock.get_json("/__mock/rate-limits").await.1["tracked_clients"],
        0
    );
}

#[tokio::test]
async fn resetting_one_client_through_the_library_leaves_the_others_counters() {
    // Arrange
    let mock = spawn_with_config(config_with(&["--trust-forwarded"])).await;
    get_as(&mock, &mock.uri, "/v1/user", "10.0.0.1").await;
    get_as(&mock, &mock.uri, "/v1/user", "10.0.0.2").await;
    // Act
    let was_tracked = mock
        .server
        .controls()
        .reset_rate_limit_client(ip("10.0.0.1"));
    // Assert
    assert!(was_tracked);
    assert!(mock
        .server
        .controls()
        .rate_limit_client(ip("10.0.0.1"))
        .is_none());
    let other = mock
        .server
        .controls()
        .rate_limit_client(ip("10.0.0.2"))
        .unwrap();
    assert_eq!(other.counters[0].count, 1);
    mock.server.controls().reset_rate_limits();
    assert_eq!(
        mock.server.controls().rate_limit_summary().tracked_clients,
        0
    );
}

#[tokio::test]
async fn a_limit_changed_over_http_bites_at_the_new_count_with_counters_kept() {
    // Arrange: two logins under the default 100/300s.
    let mock = spawn_mock().await;
    assert_eq!(login(&mock, &mock.uri).await.0, 200);
    assert_eq!(login(&mock, &mock.uri).await.0, 200);
    // Act
    let (status, settings) = mock
        .call(
            Method::PATCH,
            "/__mock/rate-limits",
            Some(json!({"rules": {"oauth": "3/60s"}})),
        )
        .await;
    let third = login(&mock, &mock.uri).await;
    let fourth = login(&mock, &mock.uri).await;
    // Assert
    assert_eq!(status, 200);
    assert_eq!(settings["rules"]["oauth"], "3/60s");
    assert_eq!(settings["rules"]["global"], "10000/300s");
    assert_eq!(third, (200, None));
    assert_eq!(fourth, (429, Some("60".into())));
    assert_eq!(
        mock.server
            .controls()
            .rate_limit_settings()
            .limit(Rule::Oauth),
        Some(Limit::secs(3, 60))
    );
}

#[tokio::test]
async fn a_limit_changed_through_the_library_bites_at_the_new_count() {
    // Arrange
    let mock = spawn_mock().await;
    assert_eq!(login(&mock, &mock.uri).await.0, 200);
    // Act
    mock.server.controls().set_rate_limit_settings(
        mock.server
            .controls()
            .rate_limit_settings()
            .with_rule(Rule::Oauth, Some(Limit::secs(2, 30))),
    );
    // Assert
    assert_eq!(login(&mock, &mock.uri).await.0, 200);
    assert_eq!(login(&mock, &mock.uri).await, (429, Some("30".into())));
    let (_, summary) = mock.get_json("/__mock/rate-limits").await;
    assert_eq!(summary["settings"]["rules"]["oauth"], "2/30s");
}

#[tokio::test]
async fn put_starts_from_the_defaults_patch_from_the_settings_in_force_and_reset_restores_the_configured_ones(
) {
    // Arrange: configured with a 5/60s token limit.
    let mock = spawn_with_config(config_with(&["--rate-limit", "oauth=5/60s"])).await;
    // Act
    let (_, patched) = mock
        .call(
            Method::PATCH,
            "/__mock/rate-limits",
            Some(json!({"headers": "x-ratelimit", "rules": {"global": "off"}})),
        )
        .await;
    let (_, replaced) = mock
        .call(
            Method::PUT,
            "/__mock/rate-limits",
            Some(json!({"algorithm": "fixed"})),
        )
        .await;
    let (_, after_replace) = mock.get_json("/__mock/rate-limits").await;
    mock.call(Method::POST, "/__mock/reset", None).await;
    let (_, after_reset) = mock.get_json("/__mock/rate-limits").await;
    // Assert
    assert_eq!(patched["rules"]["oauth"], "5/60s");
    assert_eq!(patched["rules"]["global"], "off");
    assert_eq!(patched["headers"], "x-ratelimit");
    assert_eq!(replaced["algorithm"], "fixed");
    assert_eq!(replaced["rules"]["oauth"], "100/300s");
    assert_eq!(replaced["rules"]["global"], "10000/300s");
    assert_eq!(replaced["headers"], "none");
    assert_eq!(after_replace["settings"], replaced);
    assert_eq!(after_reset["settings"]["rules"]["oauth"], "5/60s");
    assert_eq!(after_reset["settings"]["algorithm"], "sliding");
}

#[tokio::test]
async fn switching_the_algorithm_over_http_changes_when_a_client_is_admitted_again() {
    // Arrange: one token request per 60 s, made 30 s into an epoch-aligned minute.
    let mock = spawn_with_config(config_with(&["--rate-limit", "oauth=1/60s"])).await;
    mock.clock.advance(Duration::from_secs(30));
    assert_eq!(login(&mock, &mock.uri).await.0, 200);
    let sliding = login(&mock, &mock.uri).await;
    // Act
    let (status, settings) = mock
        .call(
            Method::PATCH,
            "/__mock/rate-limits",
            Some(json!({"algorithm": "fixed"})),
        )
        .await;
    let fixed = login(&mock, &mock.uri).await;
    mock.clock.advance(Duration::from_secs(30));
    let next_window = login(&mock, &mock.uri).await;
    // Assert: sliding waits for the request to leave (60 s), fixed for the minute's end.
    assert_eq!(sliding, (429, Some("60".into())));
    assert_eq!((status, &settings["algorithm"]), (200, &json!("fixed")));
    assert_eq!(fixed, (429, Some("30".into())));
    assert_eq!(next_window, (200, None));
}

#[tokio::test]
async fn switching_the_algorithm_through_the_library_changes_the_retry_after() {
    // Arrange
    let mock = spawn_with_config(config_with(&["--rate-limit", "oauth=1/60s"])).await;
    mock.clock.advance(Duration::from_secs(45));
    login(&mock, &mock.uri).await;
    // Act
    mock.server.controls().set_rate_limit_settings(
        mock.server
            .controls()
            .rate_limit_settings()
            .with_algorithm(Algorithm::Fixed),
    );
    // Assert
    assert_eq!(login(&mock, &mock.uri).await, (429, Some("15".into())));
    let (_, summary) = mock.get_json("/__mock/rate-limits").await;
    assert_eq!(summary["settings"]["algorithm"], "fixed");
}

#[tokio::test]
async fn a_tenants_limits_and_counters_are_independent_of_the_default_world() {
    // Arrange
    let mock = spawn_mock().await;
    let tenant = mock.server.create_tenant().unwrap();
    let prefix = tenant.uri().replace(&mock.uri, "");
    // Act: a 1/60s token limit in the tenant only, then two logins on each side.
    let (status, _) = mock
        .call(
            Method::PATCH,
            &format!("{prefix}/__mock/rate-limits"),
            Some(json!({"rules": {"oauth": "1/60s"}})),
        )
        .await;
    let tenant_logins = (
        login(&mock, &tenant.uri()).await.0,
        login(&mock, &tenant.uri()).await.0,
    );
    let default_logins = (
        login(&mock, &mock.uri).await.0,
        login(&mock, &mock.uri).await.0,
    );
    // Assert
    assert_eq!(status, 200);
    assert_eq!(tenant_logins, (200, 429));
    assert_eq!(default_logins, (200, 200));
    let (_, root) = mock.get_json("/__mock/rate-limits/clients").await;
    let (_, inside) = mock
        .get_json(&format!("{prefix}/__mock/rate-limits/clients"))
        .await;
    assert_eq!(count(&root["clients"][0], "oauth"), 2);
    assert_eq!(count(&inside["clients"][0], "oauth"), 1);
    let (_, root_summary) = mock.get_json("/__mock/rate-limits").await;
    assert_eq!(root_summary["settings"]["rules"]["oauth"], "100/300s");
    assert_eq!(
        serde_json::to_value(tenant.controls().rate_limits().clients).unwrap(),
        inside["clients"]
    );
    // Resetting the tenant's clients leaves the default world's.
    mock.call(
        Method::DELETE,
        &format!("{prefix}/__mock/rate-limits/clients"),
        None,
    )
    .await;
    assert_eq!(tenant.controls().rate_limit_summary().tracked_clients, 0);
    assert_eq!(
        mock.server.controls().rate_limit_summary().tracked_clients,
        1
    );
    assert_eq!(login(&mock, &tenant.uri()).await.0, 200);
}

#[tokio::test]
async fn rate_limit_routes_are_guarded_like_other_control_routes_in_tenants_too() {
    // Arrange
    let mut config = Config::default();
    config.control_secret = Some("s3cret".into());
    let mock = spawn_with_config(config).await;
    let tenant = mock.server.create_tenant().unwrap();
    let prefix = tenant.uri().replace(&mock.uri, "");
    let tenant_path = format!("{prefix}/__mock/rate-limits");
    // Act
    let root_read = mock.get_json("/__mock/rate-limits").await.0;
    let tenant_change = mock
        .call(
            Method::PUT,
            &tenant_path,
            Some(json!({"rules": {"oauth": "1/60s"}})),
        )
        .await
        .0;
    let tenant_reset = mock
        .call(
            Method::DELETE,
            &format!("{tenant_path}/clients/127.0.0.1"),
            None,
        )
        .await
        .0;
    let with_secret = mock
        .client
        .get(mock.url(&tenant_path))
        .header("X-Mock-Control-Secret", "s3cret")
        .send()
        .await
        .unwrap();
    // Assert
    assert_eq!((root_read, tenant_change, tenant_reset), (401, 401, 401));
    assert_eq!(with_secret.status(), 200);
    assert_eq!(with_secret.headers()["cache-control"], "no-store");
    assert_eq!(
        tenant.controls().rate_limit_settings().limit(Rule::Oauth),
        Some(Limit::secs(100, 300))
    );
}

#[tokio::test]
async fn invalid_rate_limit_changes_are_refused_with_400_json_and_change_nothing() {
    // Arrange
    let mock = spawn_mock().await;
    let before = mock.server.controls().rate_limit_settings();
    // Act / Assert
    for (body, mentions) in [
        (json!({"rules": {"nope": "1/1s"}}), "nope"),
        (json!({"rules": {"oauth": "0/60s"}}), "at least 1"),
        (json!({"rules": {"oauth": "5/200h"}}), "7 days"),
        (
            json!({"rules": {"oauth-failures": "70000/60s"}}),
            "rules.oauth-failures",
        ),
        (json!({"algorithm": "leaky"}), "leaky"),
        (json!({"max_tracked_clients": 0}), "max_tracked_clients"),
        (json!({"limits": {}}), "limits"),
    ] {
        for method in [Method::PUT, Method::PATCH] {
            let (status, answer) = mock
                .call(method.clone(), "/__mock/rate-limits", Some(body.clone()))
                .await;
            assert_eq!(status, 400, "{method} {body}");
            assert_eq!(answer["ok"], false, "{method} {body}");
            let error = answer["error"].as_str().unwrap();
            assert!(error.contains(mentions), "{method} {body}: {error}");
        }
    }
    let bad_client = mock
        .call(
            Method::DELETE,
            "/__mock/rate-limits/clients/localhost",
            None,
        )
        .await;
    let bad_filter = mock
        .get_json("/__mock/rate-limits/clients?client=10.0.0")
        .await;
    assert_eq!(bad_client.0, 400);
    assert_eq!(bad_filter.0, 400);
    assert_eq!(mock.server.controls().rate_limit_settings(), before);
}

#[tokio::test]
async fn reset_over_http_clears_the_counters_and_lifts_blocks() {
    // Arrange: the token limit (1/60s) reached.
    let mock = spawn_with_config(config_with(&["--rate-limit", "oauth=1/60s"])).await;
    login(&mock, &mock.uri).await;
    assert_eq!(login(&mock, &mock.uri).await.0, 429);
    // Act
    let (status, _) = mock.call(Method::POST, "/__mock/reset", None).await;
    // Assert
    assert_eq!(status, 200);
    let (_, clients) = mock.get_json("/__mock/rate-limits/clients").await;
    assert_eq!(clients, json!({"clients": [], "next_cursor": null}));
    assert_eq!(
        mock.server.controls().rate_limit_summary().tracked_clients,
        0
    );
    assert_eq!(login(&mock, &mock.uri).await.0, 200);
}

#[tokio::test]
async fn expired_client_state_is_evicted_over_http() {
    // Arrange
    let mock = spawn_mock().await;
    mock.get_json("/v1/user").await;
    // Act
    let early = mock
        .call(Method::POST, "/__mock/rate-limits/evict", None)
        .await;
    mock.clock.advance(Duration::from_secs(300));
    let late = mock
        .call(Method::POST, "/__mock/rate-limits/evict", None)
        .await;
    // Assert
    assert_eq!(early, (200, json!({"evicted": 0})));
    assert_eq!(late, (200, json!({"evicted": 1})));
    assert_eq!(
        mock.server.controls().rate_limit_summary().tracked_clients,
        0
    );
}

#[tokio::test]
async fn with_trust_forwarded_the_journal_records_the_client_the_limiter_counts() {
    // Arrange
    let mock = spawn_with_config(config_with(&["--trust-forwarded"])).await;
    // Act
    get_as(&mock, &mock.uri, "/v1/user", "203.0.113.7").await;
    mock.client
        .get(mock.url("/v1/user"))
        .header("forwarded", "for=\"[2001:db8::7]:443\"")
        .send()
        .await
        .unwrap();
    get_as(&mock, &mock.uri, "/v1/user", "not-an-address").await;
    // Assert
    let entries = mock
        .server
        .controls()
        .journal(&JournalFilter::default())
        .unwrap();
    let clients: Vec<&str> = entries.iter().map(|e| e.client.as_str()).collect();
    assert_eq!(clients, ["203.0.113.7", "2001:db8::7", "127.0.0.1"]);
    let (_, filtered) = mock.get_json("/__mock/journal?client=203.0.113.7").await;
    assert_eq!(filtered["entries"].as_array().unwrap().len(), 1);
    // The journal's client names the limiter's client (an IPv6 address its /64).
    let (_, counted) = mock.get_json("/__mock/rate-limits/clients").await;
    assert_eq!(
        client_names(&counted),
        ["127.0.0.1", "203.0.113.7", "2001:db8::/64"]
    );
    let reset = mock
        .call(
            Method::DELETE,
            "/__mock/rate-limits/clients/2001:db8::7",
            None,
        )
        .await;
    assert_eq!(reset.1["was_tracked"], true);
}

#[tokio::test]
async fn without_trust_forwarded_the_journal_records_the_socket_peer() {
    // Arrange
    let mock = spawn_mock().await;
    // Act
    get_as(&mock, &mock.uri, "/v1/user", "203.0.113.7").await;
    // Assert
    let entries = mock
        .server
        .controls()
        .journal(&JournalFilter::default())
        .unwrap();
    assert_eq!(entries[0].client, "127.0.0.1");
}
