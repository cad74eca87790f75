//! The `healthcheck` subcommand: one HTTP/1.1 `GET` to the mock's health endpoint, so a
//! container's `HEALTHCHECK` needs neither a shell nor curl (the image is `FROM scratch`).
//!
//! Only plain `http://host[:port]/path` URLs are understood: the probe talks to the mock
//! inside its own container, never through TLS or a proxy.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::cli::HealthcheckArgs;

/// How long one probe may take, connect to last byte, before it counts as a failure.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Why a health probe failed.
#[derive(Debug, thiserror::Error)]
pub enum HealthcheckError {
    /// The URL is not of the form `http://host[:port]/path`.
    #[error("unsupported URL {0:?} (expected http://host[:port]/path)")]
    BadUrl(String),
    /// Connecting, writing or reading failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The whole exchange took longer than the timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The server answered with something other than `200`.
    #[error("unhealthy: {0}")]
    Status(String),
}

/// A parsed `http://` URL: what to connect to and what to ask for.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    /// `host:port` for `TcpStream::connect` (brackets kept around IPv6 literals).
    authority: String,
    /// The `Host` header value.
    host: String,
    /// Path and query, starting with `/`.
    path: String,
}

fn parse_url(url: &str) -> Result<Target, HealthcheckError> {
    let bad = || HealthcheckError::BadUrl(url.to_owned());
    let rest = url.strip_prefix("http://").ok_or_else(bad)?;
    let (host_port, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    if host_port.is_empty() || host_port.contains('@') {
        return Err(bad());
    }
    // A port is present when a ':' follows the host (after the `]` of an IPv6 literal).
    let host_end = if host_port.starts_with('[') {
        host_port.find(']').map(|i| i + 1).ok_or_else(bad)?
    } else {
        host_port.find(':').unwrap_or(host_port.len())
    };
    let (host, port) = host_port.split_at(host_end);
    let port = match port.strip_prefix(':') {
        Some(p) => p.parse::<u16>().map_err(|_| bad())?,
        None if port.is_empty() => 80,
        None => return Err(bad()),
    };
    Ok(Target {
        authority: format!("{host}:{port}"),
        host: host_port.to_owned(),
        path: path.to_owned(),
    })
}

/// The URL probed when none is given: the health endpoint on the port the server is
/// configured to listen on, reached over loopback when it listens on every address.
pub fn default_url(listen: SocketAddr) -> String {
    let host = match listen {
        SocketAddr::V4(a) if a.ip().is_unspecified() => "127.0.0.1".to_owned(),
        SocketAddr::V4(a) => a.ip().to_string(),
        SocketAddr::V6(a) if a.ip().is_unspecified() => "[::1]".to_owned(),
        SocketAddr::V6(a) => format!("[{}]", a.ip()),
    };
    format!("http://{host}:{}/__mock/health", listen.port())
}

/// Sends one `GET` to `url` and succeeds only on a `200` answer within `timeout`.
///
/// ```
/// # #[tokio::main] async fn main() {
/// use particle_auth_mock::{healthcheck, MockServer};
///
/// // Arrange: a running mock.
/// let mock = MockServer::start().await;
/// // Act: probe its health endpoint.
/// let result = healthcheck::probe(&format!("{}/__mock/health", mock.uri()), healthcheck::PROBE_TIMEOUT).await;
/// // Assert
/// assert!(result.is_ok());
/// # }
/// ```
pub async fn probe(url: &str, timeout: Duration) -> Result<(), HealthcheckError> {
    let target = parse_url(url)?;
    let exchange = async {
        let mut stream = TcpStream::connect(&target.authority).await?;
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: particle-auth-mock-healthcheck\r\nConnection: close\r\n\r\n",
            target.path, target.host
        );
        stream.write_all(request.as_bytes()).await?;
        // The status line is all that matters; read until it is complete or the peer closes.
        let mut head = Vec::with_capacity(256);
        let mut buf = [0u8; 256];
        while !head.contains(&b'\n') && head.len() < 4096 {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(buf.get(..n).unwrap_or_default());
        }
        Ok::<_, HealthcheckError>(head)
    };
    let head = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| HealthcheckError::Timeout(timeout))??;
    let text = String::from_utf8_lossy(&head);
    let status_line = text.lines().next().unwrap_or_default().trim();
    match status_line.split_whitespace().nth(1) {
        Some("200") if status_line.starts_with("HTTP/1.") => Ok(()),
        _ if status_line.is_empty() => Err(HealthcheckError::Status("empty answer".into())),
        _ => Err(HealthcheckError::Status(status_line.to_owned())),
    }
}

/// Runs the subcommand: exit status 0 when healthy, 1 otherwise (the reason on stderr).
pub async fn run(args: &HealthcheckArgs, listen: SocketAddr) -> ExitCode {
    let url = args.url.clone().unwrap_or_else(|| default_url(listen));
    match probe(&url, PROBE_TIMEOUT).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("particle-auth-mock healthcheck: {url}: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_with_host_port_and_path_is_split_into_its_parts() {
        let t = parse_url("http://127.0.0.1:8080/__mock/health").expect("valid");
        assert_eq!(t.authority, "127.0.0.1:8080");
        assert_eq!(t.host, "127.0.0.1:8080");
        assert_eq!(t.path, "/__mock/health");
    }

    #[test]
    fn a_url_without_port_or_path_defaults_to_80_and_slash() {
        let t = parse_url("http://localhost").expect("valid");
        assert_eq!(t.authority, "localhost:80");
        assert_eq!(t.path, "/");
    }

    #[test]
    fn an_ipv6_literal_keeps_its_brackets() {
        let t = parse_url("http://[::1]:9000/x").expect("valid");
        assert_eq!(t.authority, "[::1]:9000");
        assert_eq!(t.path, "/x");
    }

    #[test]
    fn https_and_garbage_urls_are_refused() {
        for url in [
            "https://a/b",
            "ftp://x",
            "http://",
            "http://h:notaport/",
            "http://u@h/",
        ] {
            assert!(
                matches!(parse_url(url), Err(HealthcheckError::BadUrl(_))),
                "{url}"
            );
        }
    }

    #[test]
    fn the_default_url_reaches_a_wildcard_listener_over_loopback() {
        let listen: SocketAddr = "0.0.0.0:8080".parse().expect("addr");
        assert_eq!(default_url(listen), "http://127.0.0.1:8080/__mock/health");
        let listen: SocketAddr = "[::]:9".parse().expect("addr");
        assert_eq!(default_url(listen), "http://[::1]:9/__mock/health");
    }

    #[tokio::test]
    async fn probe_succeeds_against_a_running_mock() {
        // Arrange
        let mock = particle_auth_mock::MockServer::start().await;
        // Act
        let result = probe(&format!("{}/__mock/health", mock.uri()), PROBE_TIMEOUT).await;
        // Assert
        assert!(result.is_ok(), "{result:?}");
    }

    #[tokio::test]
    async fn probe_reports_a_non_200_status_as_unhealthy() {
        // Arrange
        let mock = particle_auth_mock::MockServer::start().await;
        // Act
        let result = probe(&format!("{}/no/such/route", mock.uri()), PROBE_TIMEOUT).await;
        // Assert
        assert!(
            matches!(&result, Err(HealthcheckError::Status(s)) if s.contains("404")),
            "{result:?}"
        );
    }
}
