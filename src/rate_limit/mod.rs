//! Per-client rate limits (particle-api.md §6): windows, the failed-login lockout,
//! bounded memory and the `Retry-After` arithmetic. No HTTP here: the middleware
//! (`http::pipeline::limit`) feeds plain values in and renders the verdicts.
//!
//! # Rules
//!
//! | Rule | Applies to | Default |
//! | --- | --- | --- |
//! | `global` | every request except `/__mock/*` and CORS preflights | 10,000 / 300 s |
//! | `oauth` | `POST /oauth/token` | 100 / 300 s |
//! | `oauth-failures` | `POST /oauth/token`: consecutive failures → block | 10 failures → 1,800 s |
//! | `access-tokens-list` | `GET /v1/access_tokens` | 100 / 300 s |
//! | `access-token-delete` | `DELETE /v1/access_tokens/{token}` (not `current`) | 100 / 300 s |
//! | `users-create` | `POST /v1/users` | 100 / 300 s |
//! | `user-delete` | `DELETE /v1/user` | 100 / 300 s |
//! | `password-reset-post` | `POST /v1/user/password-reset` | 100 / 300 s |
//! | `password-reset-put` | `PUT /v1/user/password-reset` | 100 / 300 s |
//! | `events` | `GET /v1/events…` and the device/product/org event streams | 100 / 300 s |
//!
//! The route table (`http::routes`) gives each row its rule; its test
//! `routes_map_to_their_rules` asserts the routes this table names.
//!
//! A request counts against `global` and against its route's rule, if any; it is
//! admitted only if every applicable rule has room, and only an admitted request is
//! counted (a refused one costs nothing).
//!
//! # Algorithms
//!
//! Both share one log per client: the time (ms) of each admitted request and its route
//! rule. They differ in which entries count:
//!
//! - **Sliding** (default, exact sliding log): a request at `t` is admitted if fewer than
//!   `count` admitted requests of the rule lie in `(t − window, t]`. `Retry-After` is the
//!   time until enough of them leave that interval for one more to fit.
//! - **Fixed**: windows are aligned on the Unix epoch (`[k·window, (k+1)·window)`, so
//!   300-s windows start at :00, :05, …); a request is admitted if fewer than `count`
//!   admitted requests lie in the current window. `Retry-After` is the time until the
//!   window ends.
//!
//! `Retry-After` is that time in whole seconds, rounded up, so a client that waits
//! exactly that long is admitted. Time comes from the world's [`Clock`](crate::Clock).
//!
//! # The lockout
//!
//! Answers of `POST /oauth/token` are classified: a 200 resets the failure streak; a 400,
//! a 401 or the handler's own 429 (too many OTP attempts) adds one failure; anything else
//! (403 `mfa_required`, 5xx) leaves the streak alone. When the streak reaches the
//! `oauth-failures` count the client's token requests are refused for the rule's window
//! and the streak starts again from zero. A streak is forgotten with the client's state
//! (after the longest window without activity).
//!
//! # Clients and memory
//!
//! An IPv4 client is keyed by its address, an IPv6 client by its /64 prefix (one
//! subscriber usually owns a whole /64); an IPv4-mapped IPv6 address counts as IPv4.
//! A client's state is dropped once all its windows have passed and it is not blocked:
//! lazily when it is next seen, by a periodic sweep, or by `RateLimiter::evict_expired`.
//! At most `max_tracked_clients` are tracked; when a new client arrives and the table is
//! full, expired state is swept first (at most once per clock second); if the table is
//! still full, the new client's request is admitted **without tracking** and counted in
//! `untracked_admissions` (memory stays bounded; that client is unlimited until room frees).
//!
//! Time on a client never goes backwards: if the clock is set back, the client's own
//! latest instant is used until the clock catches up.

mod client;
mod engine;
mod log;
mod report;
mod rules;
mod settings;
pub(crate) use client::{forwarded_client, ClientKey};
pub(crate) use engine::{RateLimiter, TokenOutcome, Verdict};
pub(crate) use log::Quota;
pub use report::{ClientRateLimits, RateLimitSnapshot, RateLimitSummary, RuleCounter};
pub use rules::{Algorithm, HeaderStyle, Limit, Rule, RuleOverride, RuleSetting, SettingError};
pub use settings::RateLimitSettings;
pub(crate) use settings::{RateLimitOverrides, RateLimitSection};

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    use crate::clock::Millis;
    use crate::rate_limit::client::V4_TAG;
    use crate::rate_limit::log::ClientState;

    const T0: Millis = 1_767_225_600_000; // a multiple of 300 s
    const A: ClientKey = ClientKey(V4_TAG << 32 | 0x0A00_0001);

    fn key(n: u32) -> ClientKey {
        ClientKey::v4(Ipv4Addr::from(n))
    }

    fn limiter(rules: &[(Rule, Option<Limit>)], algorithm: Algorithm) -> RateLimiter {
        let mut s = RateLimitSettings::default().with_algorithm(algorithm);
        for &(r, l) in rules {
            s.set_rule(r, l);
        }
        RateLimiter::new(s)
    }

    fn retry(v: Verdict) -> u64 {
        match v {
            Verdict::Refused(r) => r.retry_after,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    fn admitted(v: &Verdict) -> bool {
        matches!(v, Verdict::Admitted(..))
    }

    #[test]
    fn concurrent_settings_changes_are_never_lost() {
        // Arrange: 4 threads, each adding 1 to the tracked-clients cap 2,000 times (a
        // read-then-store would lose some of the 8,000 changes).
        let limiter = RateLimiter::new(RateLimitSettings::default());
        let before = limiter.settings().max_tracked_clients;
        // Act
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..2_000 {
                        limiter.update_settings(|s| s.max_tracked_clients += 1);
                    }
                });
            }
        });
        // Assert
        assert_eq!(limiter.settings().max_tracked_clients, before + 8_000);
    }

    #[test]
    fn a_settings_change_returns_what_it_stored() {
        // Arrange
        let limiter = RateLimiter::new(RateLimitSettings::default());
        // Act
        let stored = limiter.update_settings(|s| s.headers = HeaderStyle::Ietf);
        // Assert
        assert_eq!(stored.headers, HeaderStyle::Ietf);
        assert_eq!(limiter.header_style(), HeaderStyle::Ietf);
    }

    #[test]
    fn limits_parse_with_units_and_print_back() {
        assert_eq!("100/300s".parse::<Limit>().unwrap(), Limit::secs(100, 300));
        assert_eq!("5/10".parse::<Limit>().unwrap(), Limit::secs(5, 10));
        assert_eq!("1/5m".parse::<Limit>().unwrap(), Limit::secs(1, 300));
        assert_eq!("2/1h".parse::<Limit>().unwrap(), Limit::secs(2, 3600));
        let ms: Limit = "3/500ms".parse().unwrap();
        assert_eq!((ms.window_ms, ms.to_string()), (500, "3/500ms".into()));
        assert!("0/10s".parse::<Limit>().is_err());
        assert!("10/0s".parse::<Limit>().is_err());
        assert!("10/8d".parse::<Limit>().is_err());
        assert!("ten/10s".parse::<Limit>().is_err());
    }

    #[test]
    fn overrides_name_a_rule_and_a_setting() {
        let o: RuleOverride = "oauth=5/60s".parse().unwrap();
        assert_eq!(o.rule, Rule::Oauth);
        assert_eq!(o.setting, RuleSetting::Limit(Limit::secs(5, 60)));
        let off: RuleOverride = "global=off".parse().unwrap();
        assert_eq!(off.setting, RuleSetting::Off);
        let e = "nope=1/1s".parse::<RuleOverride>().unwrap_err();
        assert!(e.contains("unknown rate-limit rule `nope`"), "{e}");
    }

    #[test]
    fn the_defaults_are_those_of_section_6() {
        let s = RateLimitSettings::default();
        assert!(s.enabled);
        assert_eq!(s.algorithm, Algorithm::Sliding);
        assert_eq!(s.max_tracked_clients, 1_000_000);
        assert_eq!(s.limit(Rule::Global), Some(Limit::secs(10_000, 300)));
        assert_eq!(s.limit(Rule::OauthFailures), Some(Limit::secs(10, 1800)));
        for r in Rule::ALL
            .into_iter()
            .filter(|r| !matches!(r, Rule::Global | Rule::OauthFailures))
        {
            assert_eq!(s.limit(r), Some(Limit::secs(100, 300)), "{r}");
        }
    }

    #[test]
    fn ipv4_is_keyed_by_address_and_ipv6_by_its_64_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ClientKey::from(a), ClientKey::from(b));
        assert_ne!(ClientKey::from(a), ClientKey::from(c));
        assert_eq!(ClientKey::from(a).to_string(), "2001:db8:1:2::/64");
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(ClientKey::from(mapped), A);
        assert_eq!(A.to_string(), "10.0.0.1");
        let loopback: IpAddr = "::1".parse().unwrap();
        assert_eq!(ClientKey::from(loopback).to_string(), "::/64");
        assert_ne!(ClientKey::from(loopback), key(0));
    }

    #[test]
    fn forwarded_headers_give_the_leftmost_valid_address() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            forwarded_client(&[], &["203.0.113.7, 10.0.0.1"]),
            Some(ip("203.0.113.7"))
        );
        assert_eq!(
            forwarded_client(&[], &["unknown, 198.51.100.2:8080"]),
            Some(ip("198.51.100.2"))
        );
        assert_eq!(
            forwarded_client(&[], &["[2001:db8::1]:443"]),
            Some(ip("2001:db8::1"))
        );
        assert_eq!(
            forwarded_client(
                &[r#"for="[2001:db8:cafe::17]:4711";proto=https, for=192.0.2.43"#],
                &["198.51.100.2"]
            ),
            Some(ip("2001:db8:cafe::17"))
        );
        assert_eq!(
            forwarded_client(&["proto=http;For=192.0.2.60:80"], &[]),
            Some(ip("192.0.2.60"))
        );
        assert_eq!(
            forwarded_client(&["for=_hidden"], &["192.0.2.9"]),
            Some(ip("192.0.2.9"))
        );
        assert_eq!(
            forwarded_client(&["for=\"[::1\""], &["garbage, 999.1.1.1"]),
            None
        );
        assert_eq!(forwarded_client(&[], &[]), None);
    }

    #[test]
    fn sliding_window_admits_exactly_count_and_retries_when_the_oldest_leaves() {
        // Arrange: 3 per 10 s; requests at 0 s, 2 s and 4.5 s.
        let l = limiter(
            &[(Rule::Oauth, Some(Limit::secs(3, 10)))],
            Algorithm::Sliding,
        );
        let o = Some(Rule::Oauth);
        for at in [0, 2_000, 4_500] {
            assert!(admitted(&l.check(A, o, T0 + at)));
        }
        // Act / Assert: the 4th is refused until the request at 0 s leaves (10 s).
        assert_eq!(retry(l.check(A, o, T0 + 5_000)), 5);
        assert_eq!(retry(l.check(A, o, T0 + 9_000)), 1);
        assert_eq!(retry(l.check(A, o, T0 + 9_999)), 1);
        assert!(admitted(&l.check(A, o, T0 + 10_000)));
        // Full again: the next frees when the request at 2 s leaves (12 s).
        assert_eq!(retry(l.check(A, o, T0 + 10_001)), 2);
        assert_eq!(retry(l.check(A, o, T0 + 11_500)), 1);
        assert!(admitted(&l.check(A, o, T0 + 12_000)));
    }

    #[test]
    fn fixed_window_retries_at_the_window_end() {
        // Arrange: 3 per 10 s, epoch-aligned; T0 starts a window.
        let l = limiter(&[(Rule::Oauth, Some(Limit::secs(3, 10)))], Algorithm::Fixed);
        let o = Some(Rule::Oauth);
        for at in [1_000, 2_000, 8_000] {
            assert!(admitted(&l.check(A, o, T0 + at)));
        }
        // Act / Assert
        assert_eq!(retry(l.check(A, o, T0 + 8_000)), 2);
        assert_eq!(retry(l.check(A, o, T0 + 9_500)), 1);
        assert!(admitted(&l.check(A, o, T0 + 10_000)));
        assert!(admitted(&l.check(A, o, T0 + 10_000)));
        assert!(admitted(&l.check(A, o, T0 + 12_300)));
        assert_eq!(retry(l.check(A, o, T0 + 12_300)), 8);
    }

    #[test]
    fn a_request_counts_against_global_and_its_route_and_the_longest_wait_wins() {
        let l = limiter(
            &[
                (Rule::Global, Some(Limit::secs(5, 100))),
                (Rule::Oauth, Some(Limit::secs(2, 10))),
            ],
            Algorithm::Sliding,
        );
        assert!(admitted(&l.check(A, Some(Rule::Oauth), T0)));
        assert!(admitted(&l.check(A, Some(Rule::Oauth), T0)));
        let Verdict::Refused(r) = l.check(A, Some(Rule::Oauth), T0 + 1_000) else {
            panic!()
        };
        assert_eq!((r.rule, r.retry_after), (Rule::Oauth, 9));
        for _ in 0..3 {
            assert!(admitted(&l.check(A, None, T0 + 2_000)));
        }
        let Verdict::Refused(r) = l.check(A, Some(Rule::Oauth), T0 + 3_000) else {
            panic!()
        };
        assert_eq!((r.rule, r.retry_after), (Rule::Global, 97));
        assert!(r
            .description()
            .contains("5 requests per 100 s on all routes"));
    }

    #[test]
    fn refused_requests_are_not_counted_and_only_the_first_is_noticed() {
        let l = limiter(
            &[(Rule::Oauth, Some(Limit::secs(1, 10)))],
            Algorithm::Sliding,
        );
        let o = Some(Rule::Oauth);
        assert!(admitted(&l.check(A, o, T0)));
        let Verdict::Refused(first) = l.check(A, o, T0 + 1) else {
            panic!()
        };
        let Verdict::Refused(second) = l.check(A, o, T0 + 2) else {
            panic!()
        };
        assert!(first.first && !second.first);
        assert!(admitted(&l.check(A, o, T0 + 10_000)));
    }

    #[test]
    fn ten_failures_block_token_requests_and_a_success_resets_the_streak() {
        let l = limiter(&[], Algorithm::Sliding);
        let o = Some(Rule::Oauth);
        for _ in 0..9 {
            assert!(admitted(&l.check(A, o, T0)));
            assert!(l
                .record_token_outcome(A, TokenOutcome::Failure, T0)
                .is_none());
        }
        assert!(admitted(&l.check(A, o, T0)));
        l.record_token_outcome(A, TokenOutcome::Success, T0);
        for _ in 0..9 {
            assert!(admitted(&l.check(A, o, T0)));
            l.record_token_outcome(A, TokenOutcome::Failure, T0);
        }
        assert!(admitted(&l.check(A, o, T0)));
        assert!(l
            .record_token_outcome(A, TokenOutcome::Failure, T0)
            .is_some());
        let Verdict::Refused(r) = l.check(A, o, T0 + 1) else {
            panic!()
        };
        assert_eq!(
            (r.rule, r.retry_after, r.first),
            (Rule::OauthFailures, 1800, false)
        );
        assert!(
            admitted(&l.check(A, None, T0 + 1)),
            "other routes stay open"
        );
        assert_eq!(retry(l.check(A, o, T0 + 1_799_001)), 1);
        assert!(admitted(&l.check(A, o, T0 + 1_800_000)));
    }

    #[test]
    fn state_is_evicted_once_every_window_has_passed() {
        let l = limiter(&[], Algorithm::Sliding);
        l.check(A, Some(Rule::Oauth), T0);
        l.check(key(2), None, T0 + 100_000);
        assert_eq!(l.evict_expired(T0 + 299_999), 0);
        assert_eq!(l.evict_expired(T0 + 300_000), 1);
        assert_eq!(l.tracked_clients(), 1);
        assert_eq!(l.evict_expired(T0 + 400_000), 1);
        assert_eq!(l.tracked_clients(), 0);
    }

    #[test]
    fn a_blocked_client_is_kept_until_its_block_ends() {
        let l = limiter(
            &[(Rule::OauthFailures, Some(Limit::secs(1, 1000)))],
            Algorithm::Sliding,
        );
        l.check(A, Some(Rule::Oauth), T0);
        l.record_token_outcome(A, TokenOutcome::Failure, T0);
        assert_eq!(l.evict_expired(T0 + 999_999), 0);
        assert_eq!(l.evict_expired(T0 + 1_000_000), 1);
    }

    #[test]
    fn a_full_table_admits_new_clients_untracked() {
        let l = RateLimiter::new(RateLimitSettings::default().with_max_tracked_clients(2));
        for n in 0..5 {
            assert!(admitted(&l.check(key(n), None, T0)));
        }
        assert_eq!(l.tracked_clients(), 2);
        assert_eq!(l.snapshot(T0).untracked_admissions, 3);
        // Once the windows pass, a new client takes a freed slot (sweep on demand).
        assert!(admitted(&l.check(key(9), None, T0 + 300_000)));
        assert_eq!(l.tracked_clients(), 1);
    }

    #[test]
    fn time_never_runs_backwards_for_a_client() {
        let l = limiter(
            &[(Rule::Oauth, Some(Limit::secs(1, 10)))],
            Algorithm::Sliding,
        );
        assert!(admitted(&l.check(A, Some(Rule::Oauth), T0 + 5_000)));
        assert_eq!(retry(l.check(A, Some(Rule::Oauth), T0)), 10);
    }

    #[test]
    fn offsets_are_rebased_for_long_lived_clients() {
        let l = limiter(
            &[(Rule::Oauth, Some(Limit::secs(2, 10)))],
            Algorithm::Sliding,
        );
        let o = Some(Rule::Oauth);
        let mut t = T0;
        for _ in 0..40 {
            assert!(admitted(&l.check(A, o, t)));
            t += 86_400_000; // one day, 40 days in all
        }
        assert!(admitted(&l.check(A, o, t)));
        assert!(admitted(&l.check(A, o, t + 1)));
        assert_eq!(retry(l.check(A, o, t + 2)), 10);
    }

    #[test]
    fn limits_hold_over_the_whole_range_of_the_clock() {
        // Issue 27 (5): a base kept in `u32` seconds ended in 2106 and every offset read 0.
        for at in [7_258_118_400_000, 253_402_300_000_000] {
            // 2200-01-01 and 9999-12-31
            let l = limiter(
                &[(Rule::Oauth, Some(Limit::secs(2, 60)))],
                Algorithm::Sliding,
            );
            let o = Some(Rule::Oauth);
            assert!(admitted(&l.check(A, o, at)));
            assert!(admitted(&l.check(A, o, at + 1)));
            assert_eq!(retry(l.check(A, o, at + 2)), 60, "at {at}");
        }
    }

    #[test]
    fn the_client_state_stays_small() {
        assert_eq!(std::mem::size_of::<ClientState>(), 40);
        assert_eq!(std::mem::size_of::<ClientKey>(), 8);
    }

    #[test]
    fn a_fixtures_section_parses_and_applies() {
        let section: RateLimitSection = serde_json::from_str(
            r#"{"algorithm":"fixed","headers":"ietf","rules":{"oauth":"5/60s","global":"off"}}"#,
        )
        .unwrap();
        let mut s = RateLimitSettings::default();
        s.apply_section(&section);
        assert_eq!(s.algorithm, Algorithm::Fixed);
        assert_eq!(s.headers, HeaderStyle::Ietf);
        assert_eq!(s.limit(Rule::Oauth), Some(Limit::secs(5, 60)));
        assert_eq!(s.limit(Rule::Global), None);
        let bad = serde_json::from_str::<RateLimitSection>(r#"{"rules":{"nope":"1/1s"}}"#);
        assert!(bad.is_err());
    }
}
