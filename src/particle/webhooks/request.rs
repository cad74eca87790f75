//! Which hooks an event fires, and the request a hook makes for it
//! (particle-api-devices.md D7.4), as plain data: the sender (`deliver`) only sends it.
//!
//! Default request: `POST`, `User-Agent: ParticleBot/1.1 (https://docs.particle.io/webhooks)`,
//! a form body `event`, `data`, `published_at`, `coreid`. `json` sends JSON with those
//! defaults merged in, `form` a form, `GET` puts them in the query; `noDefaults` leaves
//! them out; `body` is sent verbatim. Every key and value, the URL, the headers and the
//! `auth` pair are mustache templates over [`variables`].

use base64::Engine;
use serde_json::{Map, Value};

use crate::clock::iso8601;
use crate::events::{Event, Source};
use crate::particle::webhooks::template::render;
use crate::world::webhooks::{HookOwner, Webhook};

/// D7.4's default `User-Agent`.
pub(crate) const USER_AGENT: &str = "ParticleBot/1.1 (https://docs.particle.io/webhooks)";

/// A request to send, rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Planned {
    /// `GET`, `POST`, `PUT` or `DELETE`.
    pub method: String,
    /// The URL, with the query appended.
    pub url: String,
    /// Header names and values, in order (`User-Agent` first unless a hook sets it).
    pub headers: Vec<(String, String)>,
    /// Basic-auth user and password, if the hook has `auth`.
    pub auth: Option<(String, String)>,
    /// The body, if any.
    pub body: Option<Vec<u8>>,
}

/// Whether `hook` fires for `event` (D7.4): a `Webhook` that is not disabled, whose
/// `event` is a case-sensitive prefix of the name, whose `deviceID` (if any) is the
/// event's device, and whose owner may see the event: a user's hook the events of the
/// user's devices and API publishes, a product's hook its product's events, an org's
/// its products'. The cloud's own events never fire a hook: `hook-*` results (they
/// would loop) and the special `spark/*`, `particle/*` events (D5.5).
pub(crate) fn fires(hook: &Webhook, event: &Event) -> bool {
    if hook.disabled || hook.integration_type != "Webhook" || !event.name.starts_with(&hook.event) {
        return false;
    }
    if matches!(event.source, Source::Internal) || is_cloud_event(&event.name) {
        return false;
    }
    if let Some(device) = &hook.device_id {
        let Source::Device(id) = &event.source else {
            return false;
        };
        if !id.eq_ignore_ascii_case(device) {
            return false;
        }
    }
    let audience = &event.audience;
    match &hook.owner {
        HookOwner::User(user) => audience.owner == Some(crate::events::Party::User(*user)),
        HookOwner::Product(product) => audience.product == Some(*product),
        HookOwner::Org(org) => audience.org.as_deref() == Some(&**org),
    }
}

/// Names the cloud publishes itself, which hooks never see.
fn is_cloud_event(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("hook-") || lower.starts_with("spark/") || lower.starts_with("particle/")
}

/// The event's id: 24 hex digits from its sequence number (D12 item 13).
pub(crate) fn event_id(event: &Event) -> String {
    format!("{:024x}", event.seq)
}

/// The template variables of D7.4 for `event` (and `hook`'s product variables), with
/// the top-level keys of JSON event data besides them (never over them).
pub(crate) fn variables(event: &Event) -> Value {
    let data = event.data.as_deref().unwrap_or("");
    let mut m = Map::new();
    if let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(data) {
        m.extend(fields);
    }
    let published_at = iso8601(event.published_at);
    let product = event.audience.product.map(|p| p.to_string());
    let facts: [(&str, String); 13] = [
        ("PARTICLE_DEVICE_ID", event.source.coreid().to_string()),
        ("PARTICLE_EVENT_NAME", event.name.to_string()),
        ("PARTICLE_EVENT_VALUE", data.to_string()),
        ("PARTICLE_PUBLISHED_AT", published_at.clone()),
        ("PARTICLE_EVENT_ID", event_id(event)),
        (
            "PARTICLE_EVENT_JSON",
            Value::String(data.into()).to_string(),
        ),
        (
            "PARTICLE_EVENT_BASE64",
            base64::engine::general_purpose::STANDARD.encode(data),
        ),
        ("PRODUCT_ID", product.clone().unwrap_or_default()),
        (
            "PRODUCT_VERSION",
            product
                .as_ref()
                .map(|_| "0".to_string())
                .unwrap_or_default(),
        ),
        // The CLI's documented sample still uses the old names (D7.4).
        ("SPARK_EVENT_VALUE", data.to_string()),
        ("SPARK_EVENT_NAME", event.name.to_string()),
        ("SPARK_CORE_ID", event.source.coreid().to_string()),
        ("SPARK_PUBLISHED_AT", published_at),
    ];
    for (key, value) in facts {
        m.insert(key.into(), Value::String(value));
    }
    Value::Object(m)
}

/// The default fields (D7.4), in the documented order.
fn defaults(event: &Event) -> Vec<(String, String)> {
    vec![
        ("event".into(), event.name.to_string()),
        (
            "data".into(),
            event.data.as_deref().unwrap_or("").to_string(),
        ),
        ("published_at".into(), iso8601(event.published_at)),
        ("coreid".into(), event.source.coreid().to_string()),
    ]
}

/// Renders every key and value of a template object.
fn render_pairs(map: &Map<String, Value>, vars: &Value) -> Vec<(String, String)> {
    map.iter()
        .map(|(k, v)| {
            let value = match v {
                Value::String(s) => render(s, vars),
                Value::Null => String::new(),
                other => render(&other.to_string(), vars),
            };
            (render(k, vars), value)
        })
        .collect()
}

/// Renders a `json` template: strings in it are templates, other values kept.
fn render_json(value: &Value, vars: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(render(s, vars)),
        Value::Array(items) => Value::Array(items.iter().map(|v| render_json(v, vars)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (render(k, vars), render_json(v, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn form_encode(pairs: &[(String, String)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        out.append_pair(k, v);
    }
    out.finish()
}

/// The request `hook` makes for `event` (D7.4).
pub(crate) fn plan(hook: &Webhook, event: &Event) -> Planned {
    let vars = variables(event);
    let defaults = if hook.no_defaults {
        Vec::new()
    } else {
        defaults(event)
    };
    let mut headers: Vec<(String, String)> = vec![("User-Agent".into(), USER_AGENT.into())];
    let mut query: Vec<(String, String)> = hook
        .query
        .as_ref()
        .map(|q| render_pairs(q, &vars))
        .unwrap_or_default();
    let get = hook.request_type == "GET";
    let body = if let Some(text) = &hook.body {
        Some(render(text, &vars).into_bytes())
    } else if let Some(json) = &hook.json {
        headers.push(("Content-Type".into(), "application/json".into()));
        headers.push(("Accept".into(), "application/json".into()));
        Some(match json {
            Value::String(text) => render(text, &vars).into_bytes(),
            other => {
                let mut object: Map<String, Value> = defaults
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                if let Value::Object(rendered) = render_json(other, &vars) {
                    object.extend(rendered);
                }
                serde_json::to_vec(&Value::Object(object)).unwrap_or_default()
            }
        })
    } else if let Some(form) = &hook.form {
        headers.push((
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
        let mut pairs = defaults.clone();
        pairs.extend(render_pairs(form, &vars));
        Some(form_encode(&pairs).into_bytes())
    } else if get || hook.query.is_some() {
        // GET (or a hook that chose `query`): the defaults go in the query.
        let mut pairs = defaults.clone();
        pairs.append(&mut query);
        query = pairs;
        None
    } else if defaults.is_empty() {
        None
    } else {
        headers.push((
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
        Some(form_encode(&defaults).into_bytes())
    };
    if let Some(custom) = &hook.headers {
        for (name, value) in render_pairs(custom, &vars) {
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
            headers.push((name, value));
        }
    }
    let mut url = render(&hook.url, &vars);
    if !query.is_empty() {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&form_encode(&query));
    }
    Planned {
        method: hook.request_type.clone(),
        url,
        headers,
        auth: hook
            .auth
            .as_ref()
            .map(|(u, p)| (render(u, &vars), render(p, &vars))),
        body,
    }
}

/// The host of a URL (lower case, IPv6 brackets removed), if it has one.
pub(crate) fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        host_port.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Whether a delivery may go to `url` (D7.4, offline by design): loopback addresses,
/// `localhost`, and the hosts of `--webhook-allow-host`. `None` when it may, else why.
pub(crate) fn refusal(url: &str, allowed: &[String]) -> Option<String> {
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Some(format!("refused: {url} is not an http:// or https:// URL"));
    }
    let Some(host) = host_of(url) else {
        return Some(format!("refused: {url} has no host"));
    };
    let loopback = host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback || allowed.contains(&host) {
        None
    } else {
        Some(format!(
            "refused: {host} is not a loopback address; particle-auth-mock delivers webhooks offline only to loopback and to hosts given with --webhook-allow-host"
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::events::{Audience, EventBus, NewEvent, Party};
    use serde_json::json;
    use std::sync::Arc;

    fn event(name: &str, data: &str) -> Arc<Event> {
        EventBus::new(1).publish(
            NewEvent {
                name: name.into(),
                data: Some(data.into()),
                ttl: 60,
                source: Source::Device("0123456789abcdef01234567".into()),
                audience: Audience {
                    owner: Some(Party::User(0)),
                    product: Some(1001),
                    org: Some("org".into()),
                    public: false,
                },
                userid: None,
                version: 0,
            },
            1_485_983_285_763,
        )
    }

    fn hook(extra: Value) -> Webhook {
        let mut body = json!({ "event": "temp", "url": "http://127.0.0.1:9/x" });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        crate::particle::webhooks::parse_for_tests(&body)
    }

    #[test]
    fn the_default_request_is_a_form_post_with_the_particle_bot_agent() {
        let planned = plan(&hook(json!({})), &event("temp", "mydata"));
        assert_eq!(planned.method, "POST");
        assert_eq!(planned.headers[0], ("User-Agent".into(), USER_AGENT.into()));
        assert_eq!(
            String::from_utf8(planned.body.unwrap()).unwrap(),
            "event=temp&data=mydata&published_at=2017-02-01T21%3A08%3A05.763Z&coreid=0123456789abcdef01234567"
        );
    }

    #[test]
    fn json_fields_of_the_event_data_are_variables() {
        let planned = plan(
            &hook(
                json!({ "json": { "v": "{{{a.b}}}", "c": "{{c.0.ca}}", "raw": "{{{PARTICLE_EVENT_VALUE}}}" }, "noDefaults": true }),
            ),
            &event("temp", r#"{"a":{"b":"<1>"},"c":[{"ca":"x&y"}]}"#),
        );
        let body: Value = serde_json::from_slice(&planned.body.unwrap()).unwrap();
        assert_eq!(body["v"], "<1>");
        assert_eq!(body["c"], "x&amp;y");
        assert_eq!(body["raw"], r#"{"a":{"b":"<1>"},"c":[{"ca":"x&y"}]}"#);
        assert!(body.get("event").is_none());
    }

    #[test]
    fn hosts_other_than_loopback_are_refused_unless_allowed() {
        assert!(refusal("http://127.0.0.1:8080/x", &[]).is_none());
        assert!(refusal("http://[::1]:8080/x", &[]).is_none());
        assert!(refusal("http://localhost/x", &[]).is_none());
        let refused = refusal("https://example.com/x", &[]).unwrap();
        assert!(refused.contains("--webhook-allow-host"), "{refused}");
        assert!(refusal("https://Example.com/x", &["example.com".into()]).is_none());
        assert!(refusal("http://user@10.0.0.1/x", &[]).is_some());
    }
}
