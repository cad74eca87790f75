//! Injected faults: make requests that match a method and a path pattern answer with a
//! chosen status and body, wait first, or lose their connection without an answer.
//!
//! A fault applies to its next `times` matching requests, or to a `fraction` of them
//! decided by its own seeded generator (the same seed gives the same sequence run to run),
//! or to every matching request until cleared. The first matching fault, in the order they
//! were added, decides. Control calls (`/__mock/…`) are never faulted.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use parking_lot::Mutex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};

use crate::support::text::glob_match;

/// The longest delay a fault may ask for (one minute).
pub(crate) const MAX_DELAY_MS: u64 = 60_000;

/// What a test asks for (`POST /__mock/faults`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// The method to match (`GET`, `POST`, …); absent or `*`: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The path to match: exact (`/oauth/token`), or a glob where `*` matches any run of
    /// characters (`/v1/*`). Matched without the query string and, under a tenant, without
    /// the `/t/<id>` prefix.
    pub path: String,
    /// Fault only the next `times` matching requests (then the fault is gone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// Fault this fraction (0 < f ≤ 1) of matching requests, drawn from a generator
    /// seeded with `seed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraction: Option<f64>,
    /// Seed of the `fraction` draw (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Answer with this status instead of the real handler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The JSON body of that answer (default `{"ok":false,"error":"Injected fault"}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    /// Wait this many milliseconds first (alone: a slow but real answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Close the connection without any answer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drop: bool,
}

/// A live fault, as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultInfo {
    /// Its id within the world.
    pub id: u64,
    /// What it does.
    #[serde(flatten)]
    pub spec: FaultSpec,
    /// Matching requests it still applies to (`None`: unlimited).
    pub remaining: Option<u32>,
    /// Requests it has faulted so far.
    pub hits: u64,
}

/// What the middleware must do with one request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FaultAction {
    /// The fault that fired.
    pub id: u64,
    /// Wait this long first.
    pub delay_ms: u64,
    /// Then do this.
    pub outcome: Outcome,
}

/// The end of a fault.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// Let the real handler answer (a pure delay).
    PassThrough,
    /// Answer with this status and JSON body.
    Respond {
        /// The status.
        status: u16,
        /// The body.
        body: serde_json::Value,
    },
    /// Close the connection unanswered.
    Drop,
}

#[derive(Debug)]
struct Fault {
    info: FaultInfo,
    rng: ChaCha20Rng,
}

/// A world's faults. A mutex, because deciding a `times` or `fraction` fault mutates it;
/// requests skip the lock entirely while no fault is set (`live` is 0).
#[derive(Debug, Default)]
pub(crate) struct Faults {
    list: Mutex<Vec<Fault>>,
    live: AtomicUsize,
    next_id: AtomicU64,
}

impl FaultSpec {
    fn validate(&self) -> Result<(), String> {
        if !self.path.starts_with('/') && !self.path.starts_with('*') {
            return Err("`path` must start with `/` (or be a glob starting with `*`)".into());
        }
        if self.path.starts_with("/__mock/") {
            return Err("control routes (/__mock/…) cannot be faulted".into());
        }
        if let Some(status) = self.status {
            if !(200..=599).contains(&status) {
                return Err("`status` must be between 200 and 599".into());
            }
        }
        if self.times == Some(0) {
            return Err("`times` must be at least 1".into());
        }
        if let Some(f) = self.fraction {
            if !(f > 0.0 && f <= 1.0) {
                return Err("`fraction` must be greater than 0 and at most 1".into());
            }
        }
        if self.delay_ms.is_some_and(|d| d > MAX_DELAY_MS) {
            return Err(format!("`delay_ms` must be at most {MAX_DELAY_MS}"));
        }
        if self.drop && (self.status.is_some() || self.body.is_some()) {
            return Err(
                "a fault either drops the connection or answers a `status`, not both".into(),
            );
        }
        if self.body.is_some() && self.status.is_none() {
            return Err("a `body` needs a `status`".into());
        }
        if !self.drop && self.status.is_none() && self.delay_ms.is_none() {
            return Err("a fault needs `status`, `delay_ms` or `drop`".into());
        }
        Ok(())
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m == "*" || m.eq_ignore_ascii_case(method))
            && glob_match(&self.path, path)
    }
}

impl Faults {
    /// Adds a fault after checking it; returns it as listed.
    pub(crate) fn add(&self, spec: FaultSpec) -> Result<FaultInfo, String> {
        spec.validate()?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let info = FaultInfo {
            id,
            remaining: spec.times,
            hits: 0,
            spec,
        };
        let rng = ChaCha20Rng::seed_from_u64(info.spec.seed.unwrap_or(0));
        let mut list = self.list.lock();
        list.push(Fault {
            info: info.clone(),
            rng,
        });
        self.live.store(list.len(), Ordering::Release);
        Ok(info)
    }

    /// The live faults, oldest first.
    pub(crate) fn list(&self) -> Vec<FaultInfo> {
        self.list.lock().iter().map(|f| f.info.clone()).collect()
    }

    /// Removes every fault.
    pub(crate) fn clear(&self) {
        let mut list = self.list.lock();
        list.clear();
        self.live.store(0, Ordering::Release);
    }

    /// Decides whether this request is faulted, consuming one use of the fault if so.
    pub(crate) fn take(&self, method: &str, path: &str) -> Option<FaultAction> {
        if self.live.load(Ordering::Acquire) == 0 || path.starts_with("/__mock/") {
            return None;
        }
        let mut list = self.list.lock();
        let index = list.iter_mut().position(|f| {
            if !f.info.spec.matches(method, path) {
                return false;
            }
            match f.info.spec.fraction {
                Some(fraction) => f.rng.gen_bool(fraction),
                None => true,
            }
        })?;
        let fault = list.get_mut(index)?;
        fault.info.hits += 1;
        let spec = &fault.info.spec;
        let action = FaultAction {
            id: fault.info.id,
            delay_ms: spec.delay_ms.unwrap_or(0),
            outcome: match (spec.drop, spec.status) {
                (true, _) => Outcome::Drop,
                (false, Some(status)) => Outcome::Respond {
                    status,
                    body: spec.body.clone().unwrap_or_else(
                        || serde_json::json!({"ok": false, "error": "Injected fault"}),
                    ),
                },
                (false, None) => Outcome::PassThrough,
            },
        };
        if let Some(remaining) = fault.info.remaining.as_mut() {
            *remaining = remaining.saturating_sub(1);
            if *remaining == 0 {
                list.remove(index);
                self.live.store(list.len(), Ordering::Release);
            }
        }
        Some(action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(path: &str) -> FaultSpec {
        FaultSpec {
            path: path.into(),
            status: Some(503),
            ..Default::default()
        }
    }

    #[test]
    fn a_times_fault_fires_n_times_then_disappears() {
        let faults = Faults::default();
        faults
            .add(FaultSpec {
                times: Some(2),
                method: Some("post".into()),
                ..spec("/oauth/token")
            })
            .unwrap();
        assert!(faults.take("GET", "/oauth/token").is_none());
        assert!(faults.take("POST", "/oauth/token").is_some());
        assert!(faults.take("POST", "/oauth/token").is_some());
        assert!(faults.take("POST", "/oauth/token").is_none());
        assert!(faults.list().is_empty());
    }

    #[test]
    fn a_fraction_fault_is_reproducible_with_its_seed() {
        let run = || {
            let faults = Faults::default();
            faults
                .add(FaultSpec {
                    fraction: Some(0.5),
                    seed: Some(42),
                    ..spec("/v1/*")
                })
                .unwrap();
            (0..64)
                .map(|_| faults.take("GET", "/v1/user").is_some())
                .collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        let hits = first.iter().filter(|h| **h).count();
        assert!((16..=48).contains(&hits), "{hits}");
    }

    #[test]
    fn control_routes_are_never_faulted() {
        let faults = Faults::default();
        faults.add(spec("*")).unwrap();
        assert!(faults.take("GET", "/__mock/health").is_none());
        assert!(faults.add(spec("/__mock/clock")).is_err());
    }

    #[test]
    fn invalid_specs_are_refused() {
        let faults = Faults::default();
        for bad in [
            FaultSpec {
                status: None,
                ..spec("/x")
            },
            FaultSpec {
                drop: true,
                ..spec("/x")
            },
            FaultSpec {
                fraction: Some(1.5),
                ..spec("/x")
            },
            FaultSpec {
                times: Some(0),
                ..spec("/x")
            },
            spec("x"),
            FaultSpec {
                status: Some(42),
                ..spec("/x")
            },
        ] {
            assert!(faults.add(bad.clone()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_outcome_follows_the_spec() {
        let faults = Faults::default();
        faults
            .add(FaultSpec {
                path: "/a".into(),
                drop: true,
                ..Default::default()
            })
            .unwrap();
        faults
            .add(FaultSpec {
                path: "/b".into(),
                delay_ms: Some(5),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(faults.take("GET", "/a").unwrap().outcome, Outcome::Drop);
        let b = faults.take("GET", "/b").unwrap();
        assert_eq!((b.delay_ms, b.outcome), (5, Outcome::PassThrough));
    }
}
