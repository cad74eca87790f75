//! The comparison of two sides' normalised runs: status, content type, the headers that
//! matter, JSON key sets, value types, references (equalities) and exact error strings.
//! Key order is reported apart: JSON clients do not depend on it.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use crate::parity::capture::{header_matters, FlowRun, Step};

/// One difference between the mock and the target (or snapshot).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Difference {
    /// The flow.
    pub flow: String,
    /// The step within the flow (empty for a whole-flow difference).
    pub step: String,
    /// `flow`, `step`, `status`, `content_type`, `header`, `key`, `type`, `reference`,
    /// `error_string`, `events`, `key_order`.
    pub kind: &'static str,
    /// Where: a header name or a JSON path (`$.body.error`).
    pub path: String,
    /// The mock's side.
    pub mock: Value,
    /// The target's (or snapshot's) side.
    pub target: Value,
    /// The allow-list entry's `docs/fidelity.md` row, when the difference is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<String>,
}

/// Keys whose string values are compared exactly in error answers.
const ERROR_KEYS: &[&str] = &["error", "error_description", "errors", "info", "message"];

/// The pairing of the two sides' references seen so far. References are numbered per side
/// in order of first appearance, so the numbers shift when one side sees more values (an
/// account with more devices); what must hold is that the pairing stays one-to-one: a
/// mock reference always meets the same target reference and the other way round.
#[derive(Default)]
struct Pairs {
    forward: HashMap<String, String>,
    backward: HashMap<String, String>,
}

impl Pairs {
    /// Whether the references `a` (mock) and `b` (target) keep the pairing one-to-one.
    fn consistent(&mut self, a: &str, b: &str) -> bool {
        if let Some(kind) = b.strip_suffix(":*>") {
            // `<id:*>` (hand-written oracle files): any reference of that kind.
            return a.starts_with(&format!("{kind}:"));
        }
        let kind = |r: &str| r.split(':').next().unwrap_or("").to_string();
        if kind(a) != kind(b) {
            return false;
        }
        let forward_ok = self.forward.get(a).is_none_or(|x| x == b);
        let backward_ok = self.backward.get(b).is_none_or(|y| y == a);
        if forward_ok && backward_ok {
            self.forward.insert(a.to_string(), b.to_string());
            self.backward.insert(b.to_string(), a.to_string());
        }
        forward_ok && backward_ok
    }
}

struct Differ<'a> {
    pairs: &'a mut Pairs,
    flow: &'a str,
    partial: bool,
    step: &'a str,
    found: Vec<Difference>,
    order: Vec<Difference>,
}

impl Differ<'_> {
    fn push(&mut self, kind: &'static str, path: String, mock: Value, target: Value) {
        let difference = Difference {
            flow: self.flow.to_string(),
            step: self.step.to_string(),
            kind,
            path,
            mock,
            target,
            allowed: None,
        };
        if kind == "key_order" {
            self.order.push(difference);
        } else {
            self.found.push(difference);
        }
    }

    fn step(&mut self, mock: &Step, target: &Step) {
        if mock.status != target.status {
            self.push(
                "status",
                "status".into(),
                mock.status.into(),
                target.status.into(),
            );
        }
        // An oracle step without a content type did not record one.
        let recorded = !(self.partial && target.content_type.is_none());
        if recorded && mock.content_type != target.content_type {
            self.push(
                "content_type",
                "content-type".into(),
                option(&mock.content_type),
                option(&target.content_type),
            );
        }
        let mut names: Vec<&String> = match &target.headers_checked {
            Some(checked) => checked.iter().collect(),
            None => mock.headers.keys().chain(target.headers.keys()).collect(),
        };
        names.sort();
        names.dedup();
        for name in names {
            let (a, b) = (mock.headers.get(name), target.headers.get(name));
            let value_matters = header_matters(name).unwrap_or(true);
            let differs = match (a, b) {
                (Some(a), Some(b)) => value_matters && a != b,
                (None, None) => false,
                _ => true,
            };
            if differs {
                self.push(
                    "header",
                    name.clone(),
                    option(&a.cloned()),
                    option(&b.cloned()),
                );
            }
        }
        let error = target.status >= 400;
        self.json("$.body".into(), &mock.body, &target.body, error, false);
        if mock.events.len() != target.events.len() {
            self.push(
                "events",
                "$.events".into(),
                mock.events.len().into(),
                target.events.len().into(),
            );
        }
        for (i, (a, b)) in mock.events.iter().zip(&target.events).enumerate() {
            self.json(format!("$.events[{i}]"), a, b, false, false);
        }
    }

    fn json(&mut self, path: String, mock: &Value, target: &Value, error: bool, exact: bool) {
        match (mock, target) {
            (Value::Object(a), Value::Object(b)) => {
                for (key, value) in a {
                    if !b.contains_key(key) {
                        self.push("key", format!("{path}.{key}"), value.clone(), Value::Null);
                    }
                }
                for (key, value) in b {
                    if !a.contains_key(key) {
                        self.push("key", format!("{path}.{key}"), Value::Null, value.clone());
                    }
                }
                let common_a: Vec<&String> = a.keys().filter(|k| b.contains_key(*k)).collect();
                let common_b: Vec<&String> = b.keys().filter(|k| a.contains_key(*k)).collect();
                if common_a != common_b {
                    self.push("key_order", path.clone(), keys(&common_a), keys(&common_b));
                }
                for key in common_a {
                    let exact = error && ERROR_KEYS.contains(&key.as_str());
                    self.json(format!("{path}.{key}"), &a[key], &b[key], error, exact);
                }
            }
            (Value::Array(a), Value::Array(b)) => {
                // Error lists are compared item by item; other lists (devices, tokens)
                // differ by account, so only their first items' shapes are compared.
                let pairs = if exact { a.len().max(b.len()) } else { 1 };
                for i in 0..pairs {
                    match (a.get(i), b.get(i)) {
                        (Some(x), Some(y)) => self.json(format!("{path}[{i}]"), x, y, error, exact),
                        (None, None) => {}
                        (x, y) if exact => self.push(
                            "error_string",
                            format!("{path}[{i}]"),
                            x.cloned().unwrap_or(Value::Null),
                            y.cloned().unwrap_or(Value::Null),
                        ),
                        _ => {}
                    }
                }
            }
            (Value::String(a), Value::String(b)) => {
                if is_reference(a) && is_reference(b) {
                    if !self.pairs.consistent(a, b) {
                        self.push("reference", path, mock.clone(), target.clone());
                    }
                } else if exact && a != b {
                    self.push("error_string", path, mock.clone(), target.clone());
                }
            }
            (a, b) if type_name(a) != type_name(b) => {
                self.push("type", path, a.clone(), b.clone());
            }
            _ => {}
        }
    }
}

fn option(value: &Option<String>) -> Value {
    value.clone().map_or(Value::Null, Value::String)
}

fn keys(list: &[&String]) -> Value {
    Value::Array(list.iter().map(|k| Value::String((*k).clone())).collect())
}

fn is_reference(text: &str) -> bool {
    text.starts_with('<') && text.ends_with('>') && text.contains(':') && !text.contains(' ')
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Compares the mock's runs with the target's (or the snapshots'): the differences, and
/// the key-order differences apart. Flows absent or skipped on the target side are not
/// compared; steps absent from a partial (oracle) target flow are not compared.
pub(crate) fn compare(mock: &[FlowRun], target: &[FlowRun]) -> (Vec<Difference>, Vec<Difference>) {
    let mut found = Vec::new();
    let mut order = Vec::new();
    let mut pairs = Pairs::default();
    for t in target {
        if t.skipped.is_some() {
            continue;
        }
        let mut d = Differ {
            pairs: &mut pairs,
            flow: &t.flow,
            partial: t.partial,
            step: "",
            found: Vec::new(),
            order: Vec::new(),
        };
        let Some(m) = mock.iter().find(|m| m.flow == t.flow) else {
            d.push("flow", String::new(), Value::Null, "ran".into());
            found.extend(d.found);
            continue;
        };
        if m.skipped.is_some() || m.error != t.error {
            let side = |r: &FlowRun| {
                r.skipped
                    .clone()
                    .or(r.error.clone())
                    .map_or(Value::from("ran"), Value::String)
            };
            d.push("flow", String::new(), side(m), side(t));
        }
        for ts in &t.steps {
            match m.steps.iter().find(|ms| ms.name == ts.name) {
                Some(ms) => {
                    d.step = &ts.name;
                    d.step(ms, ts);
                    d.step = "";
                }
                None => d.push(
                    "step",
                    ts.name.clone(),
                    Value::Null,
                    ts.request.clone().into(),
                ),
            }
        }
        if !t.partial {
            for ms in m
                .steps
                .iter()
                .filter(|ms| !t.steps.iter().any(|ts| ts.name == ms.name))
            {
                d.push(
                    "step",
                    ms.name.clone(),
                    ms.request.clone().into(),
                    Value::Null,
                );
            }
        }
        found.extend(d.found);
        order.extend(d.order);
    }
    (found, order)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(flow: &str, partial: bool, body: Value, content_type: Option<&str>) -> FlowRun {
        let mut run = FlowRun::new(flow);
        run.partial = partial;
        run.steps.push(Step {
            name: "s".into(),
            request: "GET /".into(),
            status: 200,
            content_type: content_type.map(str::to_string),
            headers: Default::default(),
            headers_checked: None,
            body,
            events: Vec::new(),
        });
        run
    }

    #[test]
    fn key_order_is_reported_apart_and_is_not_a_difference() {
        let mock = run("f", false, json!({"a": 1, "b": 2}), None);
        let target = run("f", false, json!({"b": 3, "a": 4}), None);
        let (found, order) = compare(&[mock], &[target]);
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(order.len(), 1);
        assert_eq!(order[0].mock, json!(["a", "b"]));
    }

    #[test]
    fn a_wildcard_reference_matches_any_reference_of_its_kind_only() {
        let mock = run("f", true, json!({"t": "<token:7>", "i": "<token:1>"}), None);
        let target = run(
            "f",
            true,
            json!({"t": "<token:*>", "i": "<id:*>"}),
            Some("x"),
        );
        let (found, _) = compare(&[mock], &[target]);
        let kinds: Vec<_> = found.iter().map(|d| (d.kind, d.path.as_str())).collect();
        assert_eq!(
            kinds,
            vec![("content_type", "content-type"), ("reference", "$.body.i")]
        );
    }

    #[test]
    fn a_broken_equality_is_a_reference_difference_but_other_numbers_are_not() {
        // Arrange: the target numbers differently (it saw more values first)...
        let mock = run(
            "f",
            false,
            json!({"t": "<token:1>", "u": "<token:1>", "v": "<id:1>"}),
            None,
        );
        // ...and its `u` is not the token `t` is, unlike the mock's.
        let target = run(
            "f",
            false,
            json!({"t": "<token:4>", "u": "<token:5>", "v": "<id:3>"}),
            None,
        );
        // Act
        let (found, _) = compare(&[mock], &[target]);
        // Assert
        let kinds: Vec<_> = found.iter().map(|d| (d.kind, d.path.as_str())).collect();
        assert_eq!(kinds, vec![("reference", "$.body.u")]);
    }

    #[test]
    fn an_oracle_step_without_a_content_type_does_not_compare_it() {
        let mock = run("f", false, json!(null), Some("application/json"));
        let target = run("f", true, json!(null), None);
        let (found, _) = compare(&[mock], &[target]);
        assert!(found.is_empty(), "{found:?}");
    }
}
