//! Guards the control routes (`/__mock/…` except health and readiness), in this order:
//!
//! 1. `--no-control` makes them answer 404 like any unknown route;
//! 2. no web page may reach them (a page could reset or read the mock): a request is refused `403` JSON when it
//!    names a foreign `Host` (DNS rebinding), carries a foreign `Origin` (or `null`) or
//!    `Sec-Fetch-Site: cross-site`, or sends a body that is not JSON (a `text/plain` or
//!    form body is what a page can send without a preflight). A host is the mock's own
//!    when it is an IP literal (the listen address, or any address the client dialled:
//!    rebinding needs a name), `localhost` or a `*.localhost` name, or a name given with
//!    `--allowed-host`. Control answers never carry CORS headers, and a preflight on a
//!    control path is refused (`pipeline::answer`);
//! 3. `--control-secret` requires an `X-Mock-Control-Secret` header with that value
//!    (compared in constant time), else 401.
//!
//! It runs after the tenant routing, so `/t/<id>/__mock/…` is guarded the same way.
//!
//! The dashboard page and its assets (`/__mock/ui…`) need neither the secret nor the
//! cross-site checks (a link to it from another site is a plain navigation and the page
//! holds nothing), only control on; its own calls go through every check.

use axum::extract::Request;
use axum::response::{IntoResponse, Response};

use axum::http::{header, HeaderMap};

use crate::config::Config;
use crate::error::{no_store_headers, ApiError};
use crate::http::extract::is_json;
use crate::http::state::AppState;
use crate::tokens::secrets_equal;

/// The header carrying the control secret.
pub(crate) const SECRET_HEADER: &str = "x-mock-control-secret";

/// Health and readiness: never guarded (Docker health checks call them without a secret,
/// even with `--no-control`).
pub(crate) const UNGUARDED: [&str; 2] = ["/__mock/health", "/__mock/ready"];

/// Checks a control request (`/__mock/…`, health and readiness excepted; the dashboard
/// page needs no secret): `Some` refusal with `--no-control` or without the right secret,
/// `None` to let it through.
pub(crate) fn check(state: &AppState, req: &Request) -> Option<Response> {
    let path = req.uri().path();
    if UNGUARDED.contains(&path) {
        return None;
    }
    if state.config.no_control {
        return Some(
            ApiError::NotFound("Not found".into())
                .because("control API disabled (--no-control)")
                .into_response(),
        );
    }
    // The dashboard page holds no secret: it asks for it, and sends it on its own calls.
    if crate::http::routes::dashboard::is_ui(path) {
        return None;
    }
    if let Some(why) = cross_site(&state.config, req) {
        return Some(refusal(why));
    }
    let secret = state.config.control_secret.as_deref()?;
    let given = req
        .headers()
        .get(SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if secrets_equal(secret.as_bytes(), given) {
        return None;
    }
    let mut response = ApiError::ControlSecretRequired.into_response();
    no_store_headers(response.headers_mut());
    Some(response)
}

/// The `403` answer to a control request from a web page (see the module documentation).
pub(crate) fn refusal(why: &str) -> Response {
    let mut response =
        ApiError::Forbidden(format!("Control API: cross-site request refused: {why}"))
            .into_response();
    no_store_headers(response.headers_mut());
    response
}

/// The authority of an absolute-form request target (`GET http://host/path`), kept
/// when routing rewrites the target to a path: RFC 9112 §3.2.2 makes it win over `Host`.
#[derive(Debug, Clone)]
pub(crate) struct TargetAuthority(pub String);

/// The `host[:port]` a control request was sent to, once the guard let it through (what
/// a tenant's `base_url` is built from: never anything the guard did not check).
#[derive(Debug, Clone)]
pub(crate) struct RequestHost(pub String);

/// The `host[:port]` a request names: the absolute-form target's authority when there is
/// one, else its one `Host` header; `None` without either. Refused (with why): two
/// `Host` headers, or a value that is not a valid `host[:port]`.
pub(crate) fn request_host(req: &Request) -> Result<Option<String>, &'static str> {
    let target = req
        .extensions()
        .get::<TargetAuthority>()
        .map(|a| a.0.clone())
        .or_else(|| req.uri().authority().map(|a| a.as_str().to_string()));
    if let Some(authority) = target {
        return if valid_host_port(&authority) {
            Ok(Some(authority))
        } else {
            Err("the request target names an invalid host")
        };
    }
    let mut hosts = req.headers().get_all(header::HOST).iter();
    let Some(host) = hosts.next() else {
        return Ok(None);
    };
    if hosts.next().is_some() {
        return Err("more than one Host header");
    }
    match host.to_str() {
        Ok(h) if valid_host_port(h) => Ok(Some(h.to_string())),
        _ => Err("the Host header is not a valid host[:port]"),
    }
}

/// Whether `text` is `host[:port]` (RFC 3986 without user info): a bracketed IPv6
/// literal, an IPv4 literal or a DNS name (letters, digits, `-`, dot-separated, at most
/// 253 bytes), then optionally `:` and a port of 1–5 digits up to 65535.
fn valid_host_port(text: &str) -> bool {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let Some((inside, after)) = rest.split_once(']') else {
            return false;
        };
        if inside.parse::<std::net::Ipv6Addr>().is_err() {
            return false;
        }
        match after {
            "" => return true,
            _ => match after.strip_prefix(':') {
                Some(port) => ("", Some(port)),
                None => return false,
            },
        }
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    let port_ok = port.is_none_or(|p| {
        (1..=5).contains(&p.len())
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|n| n <= 65_535)
    });
    let host_ok = text.starts_with('[') || valid_name(host);
    port_ok && host_ok
}

/// Whether `host` is an IPv4 literal or a DNS name (a trailing dot allowed).
fn valid_name(host: &str) -> bool {
    if host.parse::<std::net::Ipv4Addr>().is_ok() {
        return true;
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Why a control request looks like it comes from a web page, if it does.
fn cross_site(config: &Config, req: &Request) -> Option<&'static str> {
    let headers = req.headers();
    match request_host(req) {
        Err(why) => return Some(why),
        Ok(Some(host)) if !own_host(config, &host) => {
            return Some("the Host header names another host (add it with --allowed-host)");
        }
        Ok(_) => {}
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = origin.to_str().ok().and_then(origin_host);
        if !host.is_some_and(|h| own_host(config, h)) {
            return Some("the Origin header names another site");
        }
    }
    let fetch_site = headers.get("sec-fetch-site").map(|v| v.as_bytes());
    if fetch_site.is_some_and(|v| v.eq_ignore_ascii_case(b"cross-site")) {
        return Some("Sec-Fetch-Site: cross-site");
    }
    if has_body(headers) && !is_json(headers) {
        return Some("a control request body must be application/json");
    }
    None
}

/// Whether a request declares a body (a non-zero length, or chunked).
fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes().trim_ascii() != b"0")
}

/// The `host[:port]` of an `Origin` (`scheme://host[:port]`); `None` for `null`.
fn origin_host(origin: &str) -> Option<&str> {
    let (_, rest) = origin.split_once("://")?;
    Some(rest.split('/').next().unwrap_or(rest))
}

/// Whether `host[:port]` names the mock itself (see the module documentation).
fn own_host(config: &Config, host_and_port: &str) -> bool {
    let host = strip_port(host_and_port.trim());
    if host.starts_with('[') || host.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || config.allowed_hosts.iter().any(|allowed| {
            strip_port(allowed.trim())
                .trim_end_matches('.')
                .eq_ignore_ascii_case(&name)
        })
}

/// `host` of `host:port` (`[v6]` literals keep their brackets).
fn strip_port(host_and_port: &str) -> &str {
    if host_and_port.starts_with('[') {
        return host_and_port
            .find(']')
            .map_or(host_and_port, |end| &host_and_port[..=end]);
    }
    host_and_port
        .rsplit_once(':')
        .map_or(host_and_port, |(host, _)| host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_hosts_are_ip_literals_loopback_names_and_allowed_names() {
        let config = Config {
            allowed_hosts: vec!["mock.internal".into()],
            ..Config::default()
        };
        for own in [
            "127.0.0.1:8080",
            "localhost",
            "LOCALHOST:1",
            "app.localhost",
            "[::1]:9",
            "10.0.0.5:80",
            "mock.internal:8080",
            "Mock.Internal.",
        ] {
            assert!(own_host(&config, own), "{own}");
        }
        for invalid in [
            "127.0.0.1:1@evil.example",
            "localhost:1@evil.example#",
            "[evil.example]",
            "127.0.0.1:\"><script>",
            "localhost:",
            "localhost:99999",
            "a..b",
            "",
        ] {
            assert!(!valid_host_port(invalid), "{invalid}");
        }
        for valid in [
            "127.0.0.1",
            "[::1]:8080",
            "localhost.",
            "mock-1.internal:80",
        ] {
            assert!(valid_host_port(valid), "{valid}");
        }
        for foreign in [
            "evil.example",
            "localhost.evil.example:80",
            "mock.internal.evil",
            "",
        ] {
            assert!(!own_host(&config, foreign), "{foreign}");
        }
    }
}
