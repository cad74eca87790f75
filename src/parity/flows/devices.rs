//! The device flows: the device list and detail, function and variable calls, unknown
//! names, an event published and read back on a stream, and a webhook created and deleted.

use serde_json::Value;

use crate::parity::flows::steps::{bearer, device, token};
use crate::parity::session::{FlowError, Request, Session};

pub(super) async fn devices(s: &mut Session) -> Result<Option<&'static str>, FlowError> {
    let authorization = bearer(&token(s)?);
    s.send(
        "list",
        Request {
            method: "GET",
            path: "/v1/devices".into(),
            authorization: authorization.clone(),
            ..Request::default()
        },
    )
    .await?;
    if let Some(device) = device(s) {
        s.send(
            "detail",
            Request {
                method: "GET",
                path: format!("/v1/devices/{device}"),
                authorization,
                ..Request::default()
            },
        )
        .await?;
    }
    Ok(None)
}

pub(super) async fn device_calls(s: &mut Session) -> Result<Option<&'static str>, FlowError> {
    let Some(device) = device(s) else {
        return Ok(Some("no device named (PARTICLE_DEVICE)"));
    };
    let authorization = bearer(&token(s)?);
    if let Some(function) = s.creds.function.clone() {
        s.send(
            "call",
            Request {
                method: "POST",
                path: format!("/v1/devices/{device}/{function}"),
                authorization: authorization.clone(),
                json: None,
                form: vec![("arg", "parity".into())],
            },
        )
        .await?;
    }
    // The first variable the device lists, read without keeping the listing twice.
    let detail = s
        .send(
            "variables",
            Request {
                method: "GET",
                path: format!("/v1/devices/{device}"),
                authorization: authorization.clone(),
                ..Request::default()
            },
        )
        .await?;
    let variable = detail
        .json
        .get("variables")
        .and_then(Value::as_object)
        .and_then(|v| v.keys().next().cloned());
    if let Some(variable) = variable {
        s.send(
            "read",
            Request {
                method: "GET",
                path: format!("/v1/devices/{device}/{variable}"),
                authorization,
                ..Request::default()
            },
        )
        .await?;
    }
    Ok(None)
}

pub(super) async fn unknown_names(s: &mut Session) -> Result<Option<&'static str>, FlowError> {
    let Some(device) = device(s) else {
        return Ok(Some("no device named (PARTICLE_DEVICE)"));
    };
    let authorization = bearer(&token(s)?);
    s.send(
        "function",
        Request {
            method: "POST",
            path: format!("/v1/devices/{device}/parityNoSuchFunction"),
            authorization: authorization.clone(),
            json: None,
            form: vec![("arg", "parity".into())],
        },
    )
    .await?;
    s.send(
        "variable",
        Request {
            method: "GET",
            path: format!("/v1/devices/{device}/parityNoSuchVariable"),
            authorization,
            ..Request::default()
        },
    )
    .await?;
    Ok(None)
}

pub(super) async fn events(s: &mut Session) -> Result<Option<&'static str>, FlowError> {
    let authorization = bearer(&token(s)?);
    let name = s.event_name.clone();
    let path = format!("/v1/devices/events/{name}");
    let stream = s
        .open_stream(Request {
            method: "GET",
            path: path.clone(),
            authorization: authorization.clone(),
            ..Request::default()
        })
        .await?;
    s.send(
        "publish",
        Request {
            method: "POST",
            path: "/v1/devices/events".into(),
            authorization,
            json: None,
            form: vec![
                ("name", name.clone()),
                ("data", "parity".into()),
                ("private", "true".into()),
                ("ttl", "60".into()),
            ],
        },
    )
    .await?;
    s.read_events("stream", &path, stream, &name).await?;
    Ok(None)
}

/// Keeps the id of a webhook an answer created, for the cleanup.
pub(super) fn keep_hook(s: &mut Session, answer: &Value, token: &str) -> Option<String> {
    let id = answer.get("id").and_then(Value::as_str)?.to_string();
    s.created_hook(&id, token);
    Some(id)
}

/// Issue 25: a webhook created for the run's unique event name, found in the list and
/// deleted. Nothing is published to that name, so no delivery is attempted (on the mock
/// the `example.com` host would be refused with a `hook-error`). The webhook is deleted by
/// the cleanup when a step after its creation fails.
pub(super) async fn webhook(s: &mut Session) -> Result<Option<&'static str>, FlowError> {
    let token = token(s)?;
    let authorization = bearer(&token);
    let name = s.event_name.clone();
    let path = "/v1/webhooks".to_string();
    let invalid = s
        .send(
            "create_invalid",
            Request {
                method: "POST",
                path: path.clone(),
                authorization: authorization.clone(),
                json: None,
                form: vec![("event", name.clone())],
            },
        )
        .await?;
    // Should a target accept a webhook without a url, it is deleted all the same.
    keep_hook(s, &invalid.json, &token);
    let created = s
        .send(
            "create",
            Request {
                method: "POST",
                path: path.clone(),
                authorization: authorization.clone(),
                json: None,
                form: vec![
                    ("event", name.clone()),
                    ("url", format!("https://example.com/{name}")),
                ],
            },
        )
        .await?;
    let id = keep_hook(s, &created.json, &token).ok_or(FlowError::Missing("id"))?;
    let listed = s
        .send(
            "list",
            Request {
                method: "GET",
                path: path.clone(),
                authorization: authorization.clone(),
                ..Request::default()
            },
        )
        .await?;
    let found = listed.json.as_array().is_some_and(|hooks| {
        hooks
            .iter()
            .any(|h| h.get("id").and_then(Value::as_str) == Some(&id))
    });
    if !found {
        return Err(FlowError::Missing("the created webhook in the list"));
    }
    let one = format!("{path}/{id}");
    let deleted = s
        .send(
            "delete",
            Request {
                method: "DELETE",
                path: one.clone(),
                authorization: authorization.clone(),
                ..Request::default()
            },
        )
        .await?;
    if deleted.status < 300 {
        s.deleted_hook(&id);
    }
    s.send(
        "delete_unknown",
        Request {
            method: "DELETE",
            path: one,
            authorization,
            ..Request::default()
        },
    )
    .await?;
    Ok(None)
}
