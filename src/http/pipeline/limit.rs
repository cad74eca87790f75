//! Applies the world's rate limits (particle-api.md §6) to each request: finds the
//! client, asks [`RateLimiter::check`](crate::rate_limit::RateLimiter), answers 429 or
//! passes the request on, records token outcomes for the lockout and writes the
//! selected rate-limit headers. The rules themselves live in `crate::rate_limit`.

use std::fmt::Write;
use std::net::IpAddr;

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::rate_limit::{
    forwarded_client, ClientKey, HeaderStyle, Quota, Rule, TokenOutcome, Verdict,
};
use crate::world::World;

/// The client of a request as the limiter counts it (see [`client_ip`]), inserted by the
/// pipeline for the handlers that count per client too (the event streams).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddr(pub IpAddr);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<ClientAddr>()
            .copied()
            .ok_or(ApiError::Unavailable)
    }
}

/// An admitted request whose answer still matters to the limiter (token outcomes for the
/// lockout, and the rate-limit headers).
pub(crate) struct Admission {
    client: ClientKey,
    rule: Option<Rule>,
    quotas: smallvec::SmallVec<[Quota; 2]>,
    /// The client's failed-login streak when admitted.
    streak: u16,
    /// When the request arrived (the pipeline's one reading of the world's clock).
    now: crate::clock::Millis,
}

/// Asks the world's limiter about a non-control request of `client` arriving at `now`
/// (the world's clock), counted against the global limit and the route's `rule`: `Ok(None)` when nothing limits
/// it, `Ok(Some(admission))` when it was counted, `Err(429 answer)` when refused.
#[allow(clippy::result_large_err)] // the error is the answer itself, built once
pub(crate) fn admit(
    world: &World,
    rule: Option<Rule>,
    client: IpAddr,
    now: crate::clock::Millis,
) -> Result<Option<Admission>, Response> {
    let client = ClientKey::from(client);
    let limiter = &world.rate_limiter;
    match limiter.check(client, rule, now) {
        Verdict::Unlimited => Ok(None),
        Verdict::Refused(refusal) => {
            if refusal.first {
                tracing::warn!(
                    client = %client,
                    rule = %refusal.rule,
                    limit = %refusal.limit,
                    retry_after = refusal.retry_after,
                    "rate limit reached"
                );
            }
            let mut response = ApiError::RateLimited {
                description: refusal.description(),
                retry_after: Some(refusal.retry_after),
            }
            .because(refusal.reason())
            .into_response();
            // A stream route's refusal may be the 529 of D5.7's SSE paragraph.
            if rule == Some(Rule::Events) {
                *response.status_mut() = stream_refusal_status(world);
            }
            write_headers(
                limiter.header_style(),
                &refusal.quotas,
                response.headers_mut(),
            );
            Err(response)
        }
        Verdict::Admitted(quotas, streak) => Ok(Some(Admission {
            client,
            rule,
            quotas,
            streak,
            now,
        })),
    }
}

impl Admission {
    /// Records the outcome of a token request (what the login code reported with its
    /// answer; an answer that reports none, such as an injected fault, changes nothing)
    /// and writes the selected headers.
    pub(crate) fn finish(self, world: &World, response: &mut Response) {
        let limiter = &world.rate_limiter;
        let outcome = response
            .extensions()
            .get::<TokenOutcome>()
            .copied()
            .unwrap_or(TokenOutcome::Neutral);
        // A success with no failure before it leaves the client as it was: no second
        // lookup in the client table for the common case.
        let unchanged = outcome == TokenOutcome::Neutral
            || (outcome == TokenOutcome::Success && self.streak == 0);
        if self.rule == Some(Rule::Oauth) && !unchanged {
            if let Some(limit) = limiter.record_token_outcome(self.client, outcome, self.now) {
                tracing::warn!(
                    client = %self.client,
                    rule = %Rule::OauthFailures,
                    limit = %limit,
                    "rate limit reached: token requests blocked after consecutive failures"
                );
            }
        }
        write_headers(limiter.header_style(), &self.quotas, response.headers_mut());
    }
}

/// The client of a request, as the limiter counts it and the journal records it: the
/// socket `peer`, or with `--trust-forwarded` the client a proxy names (a malformed or
/// absent header falls back to the peer).
pub(crate) fn client_ip(req: &Request, peer: IpAddr, trust_forwarded: bool) -> IpAddr {
    if !trust_forwarded {
        return peer;
    }
    // Header names as constants: a `&str` name would be parsed on every request.
    static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
    let lines = |name: &HeaderName| -> smallvec::SmallVec<[&str; 2]> {
        req.headers()
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    };
    forwarded_client(&lines(&header::FORWARDED), &lines(&X_FORWARDED_FOR)).unwrap_or(peer)
}

/// Writes the selected rate-limit headers for the rules that applied.
fn write_headers(style: HeaderStyle, quotas: &[Quota], headers: &mut HeaderMap) {
    match style {
        HeaderStyle::None => {}
        HeaderStyle::XRateLimit => {
            // The most constrained rule (fewest remaining; the route's rule on a tie).
            let Some(q) = quotas.iter().min_by_key(|q| q.remaining) else {
                return;
            };
            headers.insert("x-ratelimit-limit", HeaderValue::from(q.limit.count));
            headers.insert("x-ratelimit-remaining", HeaderValue::from(q.remaining));
            headers.insert("x-ratelimit-reset", HeaderValue::from(q.reset_secs));
        }
        HeaderStyle::Ietf => {
            // draft-ietf-httpapi-ratelimit-headers (-08 on): structured-field lists,
            // one item per rule: quota `q`, window `w`, remaining `r`, reset `t`.
            let mut policy = String::new();
            let mut status = String::new();
            for (i, q) in quotas.iter().enumerate() {
                let sep = if i == 0 { "" } else { ", " };
                let window = u64::from(q.limit.window_ms).div_ceil(1000);
                let _ = write!(policy, "{sep}\"{}\";q={};w={window}", q.rule, q.limit.count);
                let _ = write!(
                    status,
                    "{sep}\"{}\";r={};t={}",
                    q.rule, q.remaining, q.reset_secs
                );
            }
            for (name, value) in [("ratelimit-policy", policy), ("ratelimit", status)] {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    headers.insert(HeaderName::from_static(name), value);
                }
            }
        }
    }
}

/// The status a refused event-stream open gets (`--stream-limit-status`: 429 or 529).
pub(crate) fn stream_refusal_status(world: &World) -> StatusCode {
    StatusCode::from_u16(world.rate_limit_settings().stream_refusal_status())
        .unwrap_or(StatusCode::TOO_MANY_REQUESTS)
}
