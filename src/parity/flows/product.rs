//! The product flows: the product and its devices with the user's token, a product
//! (`client_credentials`) token, and an API user with one scope, each revoked or deleted.

use serde_json::Value;

use crate::parity::flows::steps::{bearer, text, token};
use crate::parity::session::{FlowError, Request, Session, TOKEN_LIFETIME};

/// The product as the account's member and as the product itself (a client-credentials
/// token of the product's client, revoked by the flow or by the cleanup).
pub(super) async fn product(s: &mut Session) -> Result<Option<&'static str>, FlowError> {
    let Some(product) = s.creds.product.clone() else {
        return Ok(Some("no product named (PARTICLE_PRODUCT)"));
    };
    let base = format!("/v1/products/{product}");
    let user = bearer(&token(s)?);
    s.send("product", Request::get(base.clone(), user.clone()))
        .await?;
    s.send("devices", Request::get(format!("{base}/devices"), user))
        .await?;
    let (Some(id), Some(secret)) = (
        s.creds.product_client_id.clone(),
        s.creds.product_client_secret.clone(),
    ) else {
        return Ok(None);
    };
    let form = vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", id),
        ("client_secret", secret),
        ("expires_in", TOKEN_LIFETIME.into()),
    ];
    let answer = s.send("product_token", Request::token(form)).await?;
    let token = text(&answer.json, "access_token")?;
    s.created_token(&token);
    let as_product = bearer(&token);
    for (step, path) in [
        ("product_devices", format!("{base}/devices")),
        ("product_customers", format!("{base}/customers")),
        ("product_user", "/v1/user".to_string()),
    ] {
        s.send(step, Request::get(path, as_product.clone())).await?;
    }
    let revoked = s
        .send(
            "revoke",
            Request::delete("/v1/access_tokens/current", as_product),
        )
        .await?;
    if revoked.status < 300 {
        s.revoked(&token);
    }
    Ok(None)
}

/// An API user of the product with one scope: a call in its scope, one out of it, one no
/// API user may make; then deleted (by the cleanup when a step after its creation fails),
/// and its token tried once more. The API user's token never expires, so the deletion is
/// what ends it.
pub(super) async fn api_user(s: &mut Session) -> Result<Option<&'static str>, FlowError> {
    let Some(product) = s.creds.product.clone() else {
        return Ok(Some("no product named (PARTICLE_PRODUCT)"));
    };
    let owner = token(s)?;
    let base = format!("/v1/products/{product}");
    let created = s
        .send(
            "create",
            Request {
                method: "POST",
                path: format!("{base}/team"),
                authorization: bearer(&owner),
                json: Some(serde_json::json!({
                    "friendly_name": s.event_name.clone(),
                    "scopes": ["devices:list"],
                })),
                ..Request::default()
            },
        )
        .await?;
    let made = created.json.get("created");
    let username = made
        .and_then(|c| c.get("username"))
        .and_then(Value::as_str)
        .ok_or(FlowError::Missing("created.username"))?;
    let member = format!("{base}/team/{username}");
    s.created_api_user(&member, &owner);
    let token = made
        .and_then(|c| c.pointer("/tokens/0/token"))
        .and_then(Value::as_str)
        .ok_or(FlowError::Missing("created.tokens[0].token"))?
        .to_string();
    s.secret_token(&token);
    let as_api_user = bearer(&token);
    for (step, path) in [
        ("in_scope", format!("{base}/devices")),
        ("out_of_scope", format!("{base}/customers")),
        ("not_allowed", "/v1/user".to_string()),
    ] {
        s.send(step, Request::get(path, as_api_user.clone()))
            .await?;
    }
    let deleted = s
        .send("delete", Request::delete(member.clone(), bearer(&owner)))
        .await?;
    if deleted.status < 300 {
        s.deleted_api_user(&member);
    }
    s.send(
        "deleted_token",
        Request::get(format!("{base}/devices"), as_api_user),
    )
    .await?;
    Ok(None)
}
