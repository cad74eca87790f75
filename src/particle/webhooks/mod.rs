//! Webhooks and integrations (particle-api-devices.md D7), free of HTTP: who may create,
//! read, change and delete which hook (D1), what a body must hold (D7.2), the answers
//! of D7.3; and, in the child modules, the templates ([`template`]), the request a hook
//! makes for an event ([`request`]) and the delivery of it ([`deliver`]).
//!
//! The records live in the world's store (`world::webhooks`), at most
//! [`MAX_WEBHOOKS`] per world.

pub(crate) mod deliver;
pub(crate) mod request;
pub(crate) mod template;

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::clock::iso8601;
use crate::error::{ApiError, Refusal};
use crate::particle::scopes::{
    authorize, authorize_developer, not_allowed, role_permission_denied,
};
use crate::support::text::truncate;
use crate::world::store::{Owner, Team, TeamRef};
use crate::world::webhooks::{HookOwner, Webhook, MAX_WEBHOOKS};
use crate::world::World;

/// Longest `event` prefix (as an event name, D6).
const MAX_EVENT: usize = 64;

/// Longest `url` template.
const MAX_URL: usize = 2048;

/// The integration types D7.1 names; only `Webhook` is delivered (D11).
const TYPES: [&str; 4] = ["Webhook", "AzureIotHub", "GoogleCloudPubSub", "GoogleMaps"];

/// Which hooks a path names: the caller's own, a product's or an org's.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Hooks<'a> {
    /// `/v1/webhooks`, `/v1/integrations`.
    Mine,
    /// `/v1/products/{p}/…`.
    Product(&'a str),
    /// `/v1/orgs/{o}/…`.
    Org(&'a str),
}

/// Which route family answers: the legacy webhook routes or the integration routes
/// (they differ in the URL key and the wrapper of a single hook, D7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// `…/webhooks`.
    Webhooks,
    /// `…/integrations`.
    Integrations,
}

/// The 404 of D7.3 (recorded body).
fn not_found(id: &str) -> Refusal {
    ApiError::NotFound("Webhook not found".into())
        .because(format!("no webhook `{}` for this caller", truncate(id)))
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::BadRequest(message.into())
}

/// D1: whose hooks `caller` reaches at `hooks`; `write` for create, update, delete
/// (Developer or higher for people, D1; customers are refused, D12 item 7).
fn owner_of(
    world: &World,
    caller: Owner,
    hooks: Hooks<'_>,
    write: bool,
) -> Result<HookOwner, Refusal> {
    let team_ref = match hooks {
        Hooks::Mine => {
            return match caller {
                Owner::User(user) => Ok(HookOwner::User(user)),
                Owner::Customer(_) => Err(role_permission_denied(
                    "a customer token called a webhook route",
                )),
                Owner::ApiUser(_) | Owner::Product(_) => Err(not_allowed(
                    "an API user or product token called a sandbox webhook route",
                )),
            };
        }
        Hooks::Product(p) => TeamRef::Product(p),
        Hooks::Org(o) => TeamRef::Org(o),
    };
    let store = world.store();
    let directory = store.directory.read();
    let team = if write {
        authorize_developer(&directory, caller, team_ref, true)?
    } else {
        authorize(&directory, caller, team_ref)?
    };
    Ok(match team {
        Team::Product(id) => HookOwner::Product(id),
        Team::Org(id) => HookOwner::Org(id.into()),
    })
}

/// A hook as the API shows it (D7.3 keys, in the recorded order).
pub(crate) fn view(hook: &Webhook) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), hook.id.clone().into());
    m.insert("event".into(), hook.event.clone().into());
    m.insert("name".into(), hook.name.clone().into());
    m.insert("created_at".into(), iso8601(hook.created_at).into());
    m.insert(
        "integration_type".into(),
        hook.integration_type.clone().into(),
    );
    m.insert("url".into(), hook.url.clone().into());
    m.insert("requestType".into(), hook.request_type.clone().into());
    if let Some(d) = &hook.device_id {
        m.insert("deviceID".into(), d.clone().into());
    }
    m.insert("noDefaults".into(), hook.no_defaults.into());
    m.insert("rejectUnauthorized".into(), hook.reject_unauthorized.into());
    m.insert("unchunked".into(), hook.unchunked.into());
    m.insert("disabled".into(), hook.disabled.into());
    m.insert(
        "dataUrlResponseEvent".into(),
        hook.data_url_response_event.into(),
    );
    let mut optional = |key: &str, value: Option<Value>| {
        if let Some(v) = value {
            m.insert(key.into(), v);
        }
    };
    optional("body", hook.body.clone().map(Value::String));
    optional("json", hook.json.clone());
    optional("form", hook.form.clone().map(Value::Object));
    optional("query", hook.query.clone().map(Value::Object));
    optional("headers", hook.headers.clone().map(Value::Object));
    optional(
        "auth",
        hook.auth
            .as_ref()
            .map(|(u, p)| serde_json::json!({ "username": u, "password": p })),
    );
    optional(
        "responseTopic",
        hook.response_topic.clone().map(Value::String),
    );
    optional(
        "errorResponseTopic",
        hook.error_response_topic.clone().map(Value::String),
    );
    optional(
        "responseTemplate",
        hook.response_template.clone().map(Value::String),
    );
    m
}

/// The base the recorded answers' `hookUrl` and `integrationUrl` use (REC-RB, DOC-COPY).
const API_BASE: &str = "https://api.particle.io";

/// The `…Url` key and value of a created hook.
fn url_of(hook: &Webhook, family: Family, hooks: Hooks<'_>) -> (&'static str, String) {
    let (key, word) = match family {
        Family::Webhooks => ("hookUrl", "webhooks"),
        Family::Integrations => ("integrationUrl", "integrations"),
    };
    let prefix = match hooks {
        Hooks::Mine => String::new(),
        Hooks::Product(p) => format!("/products/{p}"),
        Hooks::Org(o) => format!("/orgs/{o}"),
    };
    (key, format!("{API_BASE}/v1{prefix}/{word}/{}", hook.id))
}

/// The hooks `caller` sees at `hooks`, oldest first (D7.3: an array). The webhook
/// routes list only `Webhook` hooks.
pub(crate) fn list(
    world: &World,
    caller: Owner,
    hooks: Hooks<'_>,
    family: Family,
) -> Result<Vec<Map<String, Value>>, Refusal> {
    let owner = owner_of(world, caller, hooks, false)?;
    Ok(world
        .store()
        .webhooks
        .hooks()
        .iter()
        .filter(|h| h.owner == owner)
        .filter(|h| family == Family::Integrations || h.integration_type == "Webhook")
        .map(|h| view(h))
        .collect())
}

/// One hook, wrapped as D7.3 records it (`{"webhook":…}` or `{"integration":…}`, with
/// empty `logs`, `errors`, `counters`).
pub(crate) fn show(
    world: &World,
    caller: Owner,
    hooks: Hooks<'_>,
    family: Family,
    id: &str,
) -> Result<Value, Refusal> {
    let hook = find(world, caller, hooks, id, false)?;
    let mut body = view(&hook);
    body.insert("logs".into(), Value::Array(Vec::new()));
    body.insert("errors".into(), Value::Array(Vec::new()));
    body.insert("counters".into(), Value::Array(Vec::new()));
    let key = match family {
        Family::Webhooks => "webhook",
        Family::Integrations => "integration",
    };
    Ok(serde_json::json!({ key: body }))
}

fn find(
    world: &World,
    caller: Owner,
    hooks: Hooks<'_>,
    id: &str,
    write: bool,
) -> Result<Arc<Webhook>, Refusal> {
    let owner = owner_of(world, caller, hooks, write)?;
    world
        .store()
        .webhooks
        .hooks()
        .iter()
        .find(|h| h.owner == owner && h.id == id)
        .cloned()
        .ok_or_else(|| not_found(id))
}

/// D7.2, D7.3: a new hook from `body`; the answer of 201 (`ok`, the hook, and its
/// `hookUrl` or `integrationUrl`). Starts the world's deliveries on first use.
pub(crate) fn create(
    world: &Arc<World>,
    caller: Owner,
    hooks: Hooks<'_>,
    family: Family,
    body: &Value,
) -> Result<Map<String, Value>, Refusal> {
    let owner = owner_of(world, caller, hooks, true)?;
    let mut id = [0u8; 12];
    world.generator.fill(&mut id);
    let hook = parse(body, family, hex::encode(id), owner, world.now())?;
    let hook = Arc::new(hook);
    let store = world.store();
    store.webhooks.change(|all| {
        if all.len() >= MAX_WEBHOOKS {
            return Err(bad(format!(
                "A mock world may hold at most {MAX_WEBHOOKS} webhooks and integrations."
            )));
        }
        all.push(hook.clone());
        Ok(())
    })?;
    drop(store);
    deliver::start(world);
    tracing::info!(webhook = %hook.id, event = %hook.event, "webhook created");
    let mut answer = view(&hook);
    answer.insert("ok".into(), true.into());
    let (key, url) = url_of(&hook, family, hooks);
    answer.insert(key.into(), url.into());
    Ok(answer)
}

/// D7.3: `PUT …/integrations/{id}` replaces the whole configuration (no merge); the
/// answer is `{"integration":…}`.
pub(crate) fn update(
    world: &Arc<World>,
    caller: Owner,
    hooks: Hooks<'_>,
    id: &str,
    body: &Value,
) -> Result<Value, Refusal> {
    let old = find(world, caller, hooks, id, true)?;
    let mut hook = parse(
        body,
        Family::Integrations,
        old.id.clone(),
        old.owner.clone(),
        old.created_at,
    )?;
    hook.legacy = old.legacy;
    let hook = Arc::new(hook);
    world.store().webhooks.change(|all| {
        let slot = all
            .iter_mut()
            .find(|h| h.id == old.id)
            .ok_or_else(|| not_found(id))?;
        *slot = hook.clone();
        Ok::<_, Refusal>(())
    })?;
    deliver::start(world);
    Ok(serde_json::json!({ "integration": view(&hook) }))
}

/// D7.3: deletes a hook (the route answers 204).
pub(crate) fn delete(
    world: &World,
    caller: Owner,
    hooks: Hooks<'_>,
    id: &str,
) -> Result<(), Refusal> {
    let hook = find(world, caller, hooks, id, true)?;
    world.store().webhooks.change(|all| {
        all.retain(|h| h.id != hook.id);
        Ok::<_, Refusal>(())
    })
}

/// D7.3, D11: `POST …/integrations/{id}/test` answers `{"pass":true,"data":null}` for a
/// hook the caller may change (no request is sent).
pub(crate) fn test(
    world: &World,
    caller: Owner,
    hooks: Hooks<'_>,
    id: &str,
) -> Result<Value, Refusal> {
    find(world, caller, hooks, id, true)?;
    Ok(serde_json::json!({ "pass": true, "data": null }))
}

/// A text field: strings as sent, numbers and booleans as text, `null` as absent.
fn text(body: &Value, key: &str) -> Option<String> {
    match body.get(key)? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// A flag: JSON booleans, or `"true"`/`"false"` from a form.
fn flag(body: &Value, key: &str, default: bool) -> Result<bool, Refusal> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") || s.is_empty() => Ok(false),
        Some(_) => Err(bad(format!("{key} must be true or false.")).into()),
    }
}

/// An object of templates (`form`, `query`, `headers`): keys to strings, numbers or
/// booleans; a JSON text of such an object is accepted too (a form body).
fn templates(body: &Value, key: &str) -> Result<Option<Map<String, Value>>, Refusal> {
    let value = match body.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => serde_json::from_str::<Value>(s)
            .map_err(|_| bad(format!("{key} must be an object.")))?,
        Some(v) => v.clone(),
    };
    let Value::Object(map) = value else {
        return Err(bad(format!("{key} must be an object.")).into());
    };
    if map
        .values()
        .any(|v| matches!(v, Value::Object(_) | Value::Array(_)))
    {
        return Err(bad(format!(
            "{key} values must be strings, numbers or booleans."
        ))
        .into());
    }
    Ok(Some(map))
}

/// D7.2: a hook from a create (or update) body, validated with clear 400s.
fn parse(
    body: &Value,
    family: Family,
    id: String,
    owner: HookOwner,
    created_at: crate::clock::Millis,
) -> Result<Webhook, Refusal> {
    if !body.is_object() {
        return Err(bad("The body must be a JSON object or a form.").into());
    }
    let integration_type = text(body, "integration_type")
        .or_else(|| text(body, "integrationType"))
        .unwrap_or_else(|| "Webhook".into());
    if !TYPES.contains(&integration_type.as_str()) {
        return Err(bad(format!(
            "integration_type must be one of {}.",
            TYPES.join(", ")
        ))
        .into());
    }
    if family == Family::Webhooks && integration_type != "Webhook" {
        return Err(bad("integration_type must be set to Webhook.").into());
    }
    let event = text(body, "event").unwrap_or_default();
    if event.is_empty() {
        return Err(bad("event is required.").into());
    }
    if event.len() > MAX_EVENT || !event.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(bad(format!(
            "event must be 1 to {MAX_EVENT} printable ASCII characters."
        ))
        .into());
    }
    let url = text(body, "url").unwrap_or_default();
    let webhook = integration_type == "Webhook";
    if webhook && url.is_empty() {
        return Err(bad("url is required.").into());
    }
    let lower = url.to_ascii_lowercase();
    if webhook && !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err(bad("url must be an http:// or https:// URL.").into());
    }
    if url.len() > MAX_URL {
        return Err(bad(format!("url is longer than {MAX_URL} bytes.")).into());
    }
    let request_type = text(body, "requestType")
        .or_else(|| text(body, "request_type"))
        .map(|m| m.to_ascii_uppercase())
        .unwrap_or_else(|| "POST".into());
    if !["GET", "POST", "PUT", "DELETE"].contains(&request_type.as_str()) {
        return Err(bad("requestType must be GET, POST, PUT or DELETE.").into());
    }
    // D7.2: three spellings of the device key.
    let device_id = ["deviceID", "deviceid", "deviceId"]
        .iter()
        .find_map(|k| text(body, k))
        .filter(|d| !d.is_empty());
    let json = match body.get("json") {
        None | Some(Value::Null) => None,
        Some(v @ (Value::Object(_) | Value::String(_))) => Some(v.clone()),
        Some(_) => return Err(bad("json must be an object or a template string.").into()),
    };
    let form = templates(body, "form")?;
    let body_text = text(body, "body");
    if [json.is_some(), form.is_some(), body_text.is_some()]
        .iter()
        .filter(|x| **x)
        .count()
        > 1
    {
        return Err(bad("form, json and body are mutually exclusive.").into());
    }
    let auth = match body.get("auth") {
        None | Some(Value::Null) => None,
        Some(Value::Object(a)) => {
            let field = |k: &str| match a.get(k) {
                Some(Value::String(s)) => Ok(s.clone()),
                None | Some(Value::Null) => Ok(String::new()),
                Some(_) => Err(bad("auth must be {\"username\",\"password\"} strings.")),
            };
            Some((field("username")?, field("password")?))
        }
        Some(_) => return Err(bad("auth must be {\"username\",\"password\"} strings.").into()),
    };
    let name = text(body, "name")
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("{event} for {}", domain_of(&url)));
    Ok(Webhook {
        id,
        owner,
        legacy: family == Family::Webhooks,
        integration_type,
        event,
        name,
        url,
        request_type,
        device_id,
        body: body_text,
        json,
        form,
        query: templates(body, "query")?,
        headers: templates(body, "headers")?,
        auth,
        response_topic: text(body, "responseTopic").filter(|t| !t.is_empty()),
        error_response_topic: text(body, "errorResponseTopic").filter(|t| !t.is_empty()),
        response_template: text(body, "responseTemplate").filter(|t| !t.is_empty()),
        no_defaults: flag(body, "noDefaults", false)?,
        disabled: flag(body, "disabled", false)?,
        reject_unauthorized: flag(body, "rejectUnauthorized", true)?,
        unchunked: flag(body, "unchunked", false)?,
        data_url_response_event: flag(body, "dataUrlResponseEvent", false)?,
        created_at,
    })
}

/// The host part of a URL, for the default name (`"{event} for {domain}"`, D7.2).
fn domain_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    host.rsplit_once('@').map_or(host, |(_, h)| h)
}

/// A sandbox hook of user 0 from `body` (unit tests of the sibling modules).
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) fn parse_for_tests(body: &Value) -> Webhook {
    parse(
        body,
        Family::Integrations,
        "a".repeat(24),
        HookOwner::User(0),
        0,
    )
    .unwrap()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parsed(body: Value) -> Result<Webhook, Refusal> {
        parse(
            &body,
            Family::Integrations,
            "a".repeat(24),
            HookOwner::User(0),
            0,
        )
    }

    #[test]
    fn every_field_is_stored_and_the_device_key_has_three_spellings() {
        for key in ["deviceID", "deviceid", "deviceId"] {
            let hook = parsed(json!({ "event": "t", "url": "http://h/x", key: "abc" })).unwrap();
            assert_eq!(hook.device_id.as_deref(), Some("abc"));
        }
        let hook = parsed(json!({
            "event": "temp", "url": "http://127.0.0.1:9/x", "requestType": "put",
            "json": { "a": "{{b}}" }, "query": { "q": 1 }, "headers": { "X-Key": "s" },
            "auth": { "username": "u", "password": "p" }, "responseTopic": "r",
            "errorResponseTopic": "e", "responseTemplate": "{{x}}", "noDefaults": true,
            "disabled": "true", "rejectUnauthorized": false, "unchunked": true,
            "dataUrlResponseEvent": true, "mydevices": true
        }))
        .unwrap();
        assert_eq!(hook.request_type, "PUT");
        assert_eq!(hook.name, "temp for 127.0.0.1:9");
        assert!(hook.no_defaults && hook.disabled && hook.unchunked && !hook.reject_unauthorized);
        let shown = view(&hook);
        for key in [
            "json",
            "query",
            "headers",
            "auth",
            "responseTopic",
            "errorResponseTopic",
            "responseTemplate",
        ] {
            assert!(shown.contains_key(key), "{key}");
        }
    }

    #[test]
    fn invalid_bodies_get_clear_messages() {
        for (body, message) in [
            (json!({ "url": "http://h" }), "event is required."),
            (json!({ "event": "e" }), "url is required."),
            (json!({ "event": "e", "url": "ftp://h" }), "url must be an http:// or https:// URL."),
            (json!({ "event": "e", "url": "http://h", "requestType": "PATCH" }), "requestType must be GET, POST, PUT or DELETE."),
            (json!({ "event": "e", "url": "http://h", "json": {}, "form": {} }), "form, json and body are mutually exclusive."),
            (json!({ "event": "e", "url": "http://h", "integration_type": "Nope" }), "integration_type must be one of Webhook, AzureIotHub, GoogleCloudPubSub, GoogleMaps."),
            (json!({ "event": "e", "url": "http://h", "headers": { "a": {} } }), "headers values must be strings, numbers or booleans."),
            (json!({ "event": "e", "url": "http://h", "noDefaults": 3 }), "noDefaults must be true or false."),
        ] {
            match parsed(body) {
                Err(Refusal {
                    error: ApiError::BadRequest(m),
                    ..
                }) => assert_eq!(m, message),
                other => panic!("{other:?}"),
            }
        }
    }
}
