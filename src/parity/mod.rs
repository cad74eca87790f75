//! `particle-auth-mock parity`: the same safe flows run against a target (the real
//! Particle Cloud, or any stand-in) and against an in-process mock, normalised (numbered
//! references for tokens, ids, e-mails, times and secrets) and compared field by field;
//! or recorded as snapshot files, or the mock compared with committed snapshots offline.
//!
//! Exit codes: 0 equal, 1 drift, 2 a usage or network error. docs/parity.md has the
//! command, the flows, the allow-list and the weekly CI recipe.

mod allow;
mod capture;
mod diff;
mod flows;
mod normalise;
mod options;
mod session;

use std::time::Duration;

use serde_json::{json, Value};

use crate::control::UserPatch;
use crate::parity::capture::FlowRun;
use crate::parity::diff::Difference;
use crate::parity::flows::FLOWS;
use crate::parity::session::{FlowError, Request, Session};
use crate::{Clock, Fixtures, MockServer};

pub use options::ParityArgs;

/// Exit code: no difference (or a recording written).
pub const EXIT_EQUAL: u8 = 0;
/// Exit code: at least one difference not in the allow-list.
pub const EXIT_DRIFT: u8 = 1;
/// Exit code: bad options, unreadable files, or the target unreachable.
pub const EXIT_ERROR: u8 = 2;

/// The TOTP secret the mock's user gets when the target account has MFA and no
/// `--mock-otp-secret` is given (the default fixtures' MFA secret).
const MOCK_MFA_SECRET: &str = "JBSWY3DPEHPK3PXP";

/// One side's outcome.
struct SideRun {
    runs: Vec<FlowRun>,
    requests: usize,
    token_requests: usize,
    failed_logins: usize,
    network_error: bool,
}

/// Runs the subcommand, writing the report to `out`; returns the exit code.
///
/// ```
/// # #[tokio::main] async fn main() {
/// use particle_auth_mock::parity::{run, ParityArgs, EXIT_EQUAL};
///
/// // Arrange: a dry run sends nothing.
/// let args = ParityArgs {
///     target: Some("https://api.particle.io".into()),
///     username: Some("someone@example.com".into()),
///     password: Some("not-printed".into()),
///     dry_run: true,
///     ..ParityArgs::default()
/// };
/// let mut out = Vec::new();
/// // Act
/// let code = run(args, &mut out).await;
/// // Assert
/// let text = String::from_utf8(out).unwrap();
/// assert_eq!(code, EXIT_EQUAL);
/// assert!(text.contains("POST /oauth/token"));
/// assert!(!text.contains("not-printed"));
/// # }
/// ```
pub async fn run(args: ParityArgs, out: &mut dyn std::io::Write) -> u8 {
    match run_inner(&args, out).await {
        Ok(code) => code,
        Err(message) => {
            let _ = writeln!(out, "parity: {message}");
            EXIT_ERROR
        }
    }
}

fn selected(args: &ParityArgs) -> Result<Vec<&'static str>, String> {
    if let Some(bad) = args
        .flows
        .iter()
        .find(|f| !FLOWS.iter().any(|i| i.name == *f))
    {
        return Err(format!(
            "unknown flow `{bad}`; flows: {}",
            names().join(", ")
        ));
    }
    Ok(FLOWS
        .iter()
        .map(|i| i.name)
        .filter(|n| args.flows.is_empty() || args.flows.iter().any(|f| f == n))
        .collect())
}

fn names() -> Vec<&'static str> {
    FLOWS.iter().map(|i| i.name).collect()
}

async fn run_inner(args: &ParityArgs, out: &mut dyn std::io::Write) -> Result<u8, String> {
    let flows = selected(args)?;
    let allow = match &args.allow {
        Some(path) => allow::read(path)?,
        None => Vec::new(),
    };
    let target_creds = match &args.target {
        Some(_) => Some(args.target_credentials()?),
        None if args.snapshots.is_some() => None,
        None => return Err("--target URL or --snapshots DIR is required".into()),
    };
    if args.dry_run {
        dry_run(args, &flows, out).map_err(|e| e.to_string())?;
        return Ok(EXIT_EQUAL);
    }
    let timeout = Duration::from_secs(args.timeout_secs.clamp(1, 300));
    let target = match (&args.target, target_creds.clone()) {
        (Some(url), Some(creds)) => Some(run_side(url, creds, &flows, timeout).await),
        _ => None,
    };
    if let (Some(dir), true, Some(side)) = (&args.snapshots, args.record, &target) {
        if side.network_error {
            return Err("the target could not be reached; nothing recorded".into());
        }
        let date = crate::clock::iso8601(Clock::system().now_millis());
        let host = args.target.as_deref().map(host).unwrap_or_default();
        let mut runs = side.runs.clone();
        for run in &mut runs {
            run.source = Some(format!("particle-auth-mock parity --record against {host}"));
            run.recorded = date.get(..10).map(str::to_string);
        }
        snapshots::write(dir, &runs)?;
        let _ = writeln!(out, "recorded {} flows into {}", runs.len(), dir.display());
        return Ok(EXIT_EQUAL);
    }
    let (target_runs, label) = match (&target, &args.snapshots) {
        (Some(side), _) => {
            if side.network_error {
                return Err("the target could not be reached".into());
            }
            (side.runs.clone(), "target")
        }
        (None, Some(dir)) => {
            let runs = snapshots::read(dir)?;
            let runs = runs
                .into_iter()
                .filter(|r| flows.contains(&r.flow.as_str()))
                .collect();
            (runs, "snapshot")
        }
        (None, None) => return Err("--target URL or --snapshots DIR is required".into()),
    };
    let fixtures = match &args.fixtures {
        Some(path) => Fixtures::from_path(path).map_err(|e| e.to_string())?,
        None => Fixtures::default_set(),
    };
    let mock = MockServer::builder()
        .fixtures(fixtures)
        .start()
        .await
        .map_err(|e| format!("the in-process mock did not start: {e}"))?;
    let mut mock_creds = args.mock_credentials(target_creds.as_ref());
    let target_has_mfa = target_creds
        .as_ref()
        .is_some_and(|c| c.otp_secret.is_some());
    if target_has_mfa && mock_creds.otp_secret.is_none() {
        // An MFA account on the target: the mock's user gets MFA too, so that the login
        // flows compare challenge with challenge.
        let patch = UserPatch {
            mfa_secret: Some(Some(MOCK_MFA_SECRET.into())),
            ..UserPatch::default()
        };
        mock.controls()
            .update_user(&mock_creds.username, patch)
            .map_err(|e| format!("the mock user could not get MFA: {e}"))?;
        mock_creds.otp_secret = Some(MOCK_MFA_SECRET.into());
    }
    let mock_side = run_side(&mock.uri(), mock_creds, &flows, timeout).await;
    mock.shutdown().await;
    let (mut found, order) = diff::compare(&mock_side.runs, &target_runs);
    allow::apply(&allow, &mut found);
    let drift = found.iter().any(|d| d.allowed.is_none());
    report(
        args.json,
        label,
        &found,
        &order,
        &mock_side,
        target.as_ref(),
        &target_runs,
        out,
    )
    .map_err(|e| e.to_string())?;
    Ok(if drift { EXIT_DRIFT } else { EXIT_EQUAL })
}

mod snapshots;

/// The host of a URL (snapshots name where they were recorded, never a credential).
fn host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?']).next().unwrap_or("");
    host.rsplit('@').next().unwrap_or("").to_string()
}

/// A unique, unguessable event name for this run.
fn event_name() -> String {
    format!(
        "parity-{}",
        crate::tokens::TokenGenerator::new(None)
            .alphanumeric(12)
            .to_ascii_lowercase()
    )
}

/// Runs the flows on one side, then revokes every token still live.
async fn run_side(
    base: &str,
    creds: crate::parity::options::Credentials,
    flows: &[&str],
    timeout: Duration,
) -> SideRun {
    let mut s = Session::new(base, creds, event_name(), timeout);
    let mut runs = Vec::new();
    let mut network_error = false;
    for name in flows {
        s.current = FlowRun::new(name);
        match flows::run(name, &mut s).await {
            Ok(skipped) => s.current.skipped = skipped.map(str::to_string),
            Err(error) => {
                network_error |= matches!(error, FlowError::Network(_));
                s.current.error = Some(error.to_string());
            }
        }
        runs.push(std::mem::replace(&mut s.current, FlowRun::new("")));
    }
    // The cleanup, even after a failure: first every webhook and API user created and not
    // deleted by its flow (with the token that created it, so before the tokens go), then
    // every token created and not revoked by its flow.
    for (id, token) in std::mem::take(&mut s.created_hooks) {
        let request = Request {
            method: "DELETE",
            path: format!("/v1/webhooks/{id}"),
            authorization: Some(format!("Bearer {token}")),
            ..Request::default()
        };
        if s.send_unkept(request).await.is_err() {
            network_error = true;
        }
    }
    for (path, token) in std::mem::take(&mut s.created_api_users) {
        let request = Request::delete(path, Some(format!("Bearer {token}")));
        if s.send_unkept(request).await.is_err() {
            network_error = true;
        }
    }
    for token in std::mem::take(&mut s.created) {
        let request = Request {
            method: "DELETE",
            path: "/v1/access_tokens/current".into(),
            authorization: Some(format!("Bearer {token}")),
            ..Request::default()
        };
        if s.send_unkept(request).await.is_err() {
            network_error = true;
        }
    }
    SideRun {
        runs,
        requests: s.sent.len(),
        token_requests: s.token_requests,
        failed_logins: s.failed_logins,
        network_error,
    }
}

fn dry_run(args: &ParityArgs, flows: &[&str], out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let target = args
        .target
        .as_deref()
        .map(host)
        .unwrap_or_else(|| "(snapshots)".into());
    writeln!(
        out,
        "parity dry run: nothing is sent. Target: {target}; mock: in-process."
    )?;
    writeln!(
        out,
        "Limits per side: {} token requests, {} failed logins; tokens live {} s and are revoked at the end.",
        session::MAX_TOKEN_REQUESTS,
        session::MAX_FAILED_LOGINS,
        session::TOKEN_LIFETIME
    )?;
    for info in FLOWS.iter().filter(|i| flows.contains(&i.name)) {
        writeln!(out, "{}", info.name)?;
        for request in info.requests {
            writeln!(out, "  {request}")?;
        }
        for unknown in info.settles {
            writeln!(out, "  settles [UNKNOWN] {unknown}")?;
        }
    }
    writeln!(
        out,
        "cleanup\n  DELETE /v1/webhooks/<id> (each webhook still there)\n  DELETE /v1/access_tokens/current (each token still live)"
    )
}

fn side_json(side: &SideRun) -> Value {
    json!({
        "requests": side.requests,
        "token_requests": side.token_requests,
        "failed_logins": side.failed_logins,
    })
}

#[allow(clippy::too_many_arguments)] // one report, written from the run's parts
fn report(
    as_json: bool,
    label: &str,
    found: &[Difference],
    order: &[Difference],
    mock: &SideRun,
    target: Option<&SideRun>,
    target_runs: &[FlowRun],
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let drift = found.iter().any(|d| d.allowed.is_none());
    let flows: Vec<Value> = target_runs
        .iter()
        .map(|r| {
            let settles = FLOWS
                .iter()
                .find(|i| i.name == r.flow)
                .map_or(&[][..], |i| i.settles);
            json!({
                "flow": r.flow,
                "state": if r.skipped.is_some() { "skipped" } else if r.error.is_some() { "error" } else { "compared" },
                "note": r.skipped.clone().or(r.error.clone()),
                "source": r.source,
                "recorded": r.recorded,
                "settles": settles,
            })
        })
        .collect();
    if as_json {
        let body = json!({
            "result": if drift { "drift" } else { "equal" },
            "compared_with": label,
            "flows": flows,
            "differences": found,
            "key_order": order,
            "mock": side_json(mock),
            "target": target.map(side_json),
        });
        return writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&body).unwrap_or_default()
        );
    }
    writeln!(out, "parity: mock vs {label}")?;
    for f in &flows {
        writeln!(
            out,
            "  {:<20} {}{}",
            f["flow"].as_str().unwrap_or(""),
            f["state"].as_str().unwrap_or(""),
            f["note"]
                .as_str()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        )?;
    }
    let row = |d: &Difference| {
        format!(
            "{:<18} {:<18} {:<13} {:<28} mock={} {label}={}{}",
            d.flow,
            d.step,
            d.kind,
            d.path,
            d.mock,
            d.target,
            d.allowed
                .as_ref()
                .map(|a| format!(" (allowed: {a})"))
                .unwrap_or_default()
        )
    };
    if found.is_empty() {
        writeln!(out, "no differences")?;
    } else {
        writeln!(
            out,
            "{:<18} {:<18} {:<13} {:<28} answers",
            "flow", "step", "kind", "path"
        )?;
        for d in found {
            writeln!(out, "{}", row(d))?;
        }
    }
    if !order.is_empty() {
        writeln!(out, "key order (reported apart, not drift):")?;
        for d in order {
            writeln!(out, "{}", row(d))?;
        }
    }
    writeln!(
        out,
        "requests: mock {}{}; result: {}",
        mock.requests,
        target
            .map(|t| format!(
                ", target {} ({} token requests, {} failed logins)",
                t.requests, t.token_requests, t.failed_logins
            ))
            .unwrap_or_default(),
        if drift { "drift" } else { "equal" }
    )
}
