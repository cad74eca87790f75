//! What a flow keeps of each answer, already normalised: the shape that is compared and
//! written to snapshot files. Nothing here holds a raw token, password or e-mail.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One request's answer, normalised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Step {
    /// The step's name within its flow (`login`, `wrong_password`, …).
    pub name: String,
    /// Method and normalised path (`GET /v1/devices/<id:1>`).
    pub request: String,
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type`, lower-cased, without spaces; absent when the answer had none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The headers that matter (cache, CORS, `Retry-After`, rate limits), normalised.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// When set (hand-written oracle files), only these headers are compared: the
    /// recording did not say whether the others were sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers_checked: Option<Vec<String>>,
    /// The JSON body (normalised), a normalised text, or `null` when empty.
    #[serde(default)]
    pub body: Value,
    /// Stream events read (each `{"event": …, "data": …}`), for stream steps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<Value>,
}

/// One flow's run on one side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct FlowRun {
    /// The flow's name.
    pub flow: String,
    /// Where the answers come from (snapshot files: the recording and its origin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// When the answers were recorded (`YYYY-MM-DD`), for snapshot files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded: Option<String>,
    /// True when the steps are a subset (an oracle built from quoted recordings): steps
    /// absent here are not compared.
    #[serde(default)]
    pub partial: bool,
    /// Why the flow did not run (no device named, not emulated, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Why the flow stopped early (a network error, a missing value, a safety limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The answers, in order.
    #[serde(default)]
    pub steps: Vec<Step>,
}

impl FlowRun {
    /// An empty run of `flow`.
    pub(crate) fn new(flow: &str) -> Self {
        Self {
            flow: flow.to_string(),
            source: None,
            recorded: None,
            partial: false,
            skipped: None,
            error: None,
            steps: Vec::new(),
        }
    }
}

/// Whether a response header is one parity compares, and whether its value (not only its
/// presence) must match. Rate-limit counters and `Retry-After` vary from run to run.
pub(crate) fn header_matters(name: &str) -> Option<bool> {
    match name {
        "cache-control"
        | "pragma"
        | "access-control-allow-origin"
        | "access-control-allow-credentials" => Some(true),
        "retry-after" => Some(false),
        _ if name.starts_with("x-ratelimit") || name.starts_with("ratelimit") => Some(false),
        _ => None,
    }
}
