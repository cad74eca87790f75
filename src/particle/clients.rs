//! OAuth clients of a user (`/v1/clients`) and of a product (`/v1/products/{p}/clients`)
//! (particle-api-account.md A4): list without secrets, create (id = slug of the name and
//! random digits, a 40-hex secret shown once), update, delete. A new client works at
//! `/oauth/token` at once; a deleted one fails there (its tokens stay valid). Free of HTTP.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ApiError, Refusal};
use crate::particle::scopes::{authorize, authorize_developer, TeamRef};
use crate::tokens::format_token;
use crate::world::store::{Client, ClientIdx, ClientKind, Directory, Owner, Team, UserId};
use crate::world::World;

/// Most live OAuth clients one world holds (a deleted one's slot is reused once no token
/// names it).
const MAX_CLIENTS: usize = 1_000;
/// Longest client name and redirect URI accepted.
const MAX_NAME: usize = 256;
const MAX_URI: usize = 2048;
/// Longest slug kept in an id (the id stays within the library's 40 characters).
const MAX_SLUG: usize = 34;

/// Whose clients a call is about.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ClientOwner<'a> {
    /// The calling human's own clients.
    User(UserId),
    /// A product's, by the path's id or slug.
    Product(TeamRef<'a>),
}

/// A create or update body: JSON (particle-api-js) or form (the docs).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ClientSpec {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, rename = "type")]
    pub client_type: Option<String>,
    #[serde(default)]
    pub redirect_uri: Option<String>,
    /// A space-separated string, or an object / array (particle-api-js types it an object).
    #[serde(default)]
    pub scope: Option<Value>,
}

/// One client as the API shows it; `secret` only in the create answer.
#[derive(Debug, Serialize)]
pub(crate) struct ClientView {
    pub name: String,
    #[serde(rename = "type")]
    pub client_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_id: Option<u32>,
    pub id: String,
}

/// `{"ok":true,"clients":[..]}`.
#[derive(Debug, Serialize)]
pub(crate) struct ClientList {
    pub ok: bool,
    pub clients: Vec<ClientView>,
}

/// `{"ok":true,"client":{..}}`.
#[derive(Debug, Serialize)]
pub(crate) struct OneClient {
    pub ok: bool,
    pub client: ClientView,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::BadRequest(message.into())
}

fn view(c: &Client, secret: bool) -> ClientView {
    ClientView {
        name: c.name.clone(),
        client_type: c.client_type.clone(),
        secret: secret.then(|| c.secret.clone()),
        redirect_uri: c.redirect_uri.clone(),
        scope: c.scope.clone(),
        product_id: match c.kind {
            ClientKind::Product(p) => Some(p),
            _ => None,
        },
        id: c.id.clone(),
    }
}

/// The kind of client `owner` names, after the access check (`write`: Developer or higher;
/// product tokens are refused, A1's suggestion).
fn kind_of(
    directory: &Directory,
    caller: Owner,
    owner: ClientOwner<'_>,
    write: bool,
) -> Result<ClientKind, Refusal> {
    match owner {
        ClientOwner::User(user) => Ok(ClientKind::User(user)),
        ClientOwner::Product(target) => {
            let team = if write {
                authorize_developer(directory, caller, target, false)?
            } else {
                if matches!(caller, Owner::Product(_)) {
                    return Err(crate::particle::scopes::role_permission_denied(
                        "a product token listed OAuth clients",
                    ));
                }
                authorize(directory, caller, target)?
            };
            match team {
                Team::Product(id) => Ok(ClientKind::Product(id)),
                Team::Org(_) => Err(crate::particle::scopes::product_permission_denied().into()),
            }
        }
    }
}

/// The scope as stored: a string as sent, an object or array as its space-joined values.
fn scope_text(scope: Option<Value>) -> Result<Option<String>, Refusal> {
    let text = match scope {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s,
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" "),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| v.as_str().map_or_else(|| k.clone(), str::to_string))
            .collect::<Vec<_>>()
            .join(" "),
        Some(_) => return Err(bad("scope must be a string.").into()),
    };
    if text.len() > MAX_NAME {
        return Err(bad("scope is too long.").into());
    }
    Ok(Some(text.trim().to_string()).filter(|s| !s.is_empty()))
}

/// A4.2 id: lowercase, every other run of characters one `-` (so "My App" is `my-app`).
fn slug(name: &str) -> String {
    crate::support::text::slug(name, MAX_SLUG, "client")
}

/// A4.1: the owner's live clients, without secrets.
pub(crate) fn list_clients(
    world: &World,
    caller: Owner,
    owner: ClientOwner<'_>,
) -> Result<ClientList, Refusal> {
    let store = world.store();
    let directory = store.directory.read();
    let kind = kind_of(&directory, caller, owner, false)?;
    let clients = directory
        .clients
        .iter()
        .filter(|c| c.live && c.kind == kind)
        .map(|c| view(c, false))
        .collect();
    Ok(ClientList { ok: true, clients })
}

/// A4.2: a new client; the answer is the only one that shows its secret.
pub(crate) fn create_client(
    world: &World,
    caller: Owner,
    owner: ClientOwner<'_>,
    spec: ClientSpec,
) -> Result<OneClient, Refusal> {
    let name = spec
        .name
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| bad("name is required."))?;
    if name.len() > MAX_NAME {
        return Err(bad(format!("name is too long (at most {MAX_NAME} bytes).")).into());
    }
    let client_type = spec.client_type.unwrap_or_else(|| "installed".into());
    let redirect_uri = spec.redirect_uri.filter(|u| !u.trim().is_empty());
    match (client_type.as_str(), &redirect_uri) {
        ("installed", _) => {}
        ("web", Some(uri)) if uri.len() <= MAX_URI => {}
        ("web", Some(_)) => return Err(bad("redirect_uri is too long.").into()),
        ("web", None) => return Err(bad("redirect_uri is required for a web client.").into()),
        _ => return Err(bad("type must be installed or web.").into()),
    }
    let scope = scope_text(spec.scope)?;
    let store = world.store();
    // Read before the directory lock (token tables are never read under it elsewhere);
    // a deleted client's credentials fail, so nothing names it anew meanwhile.
    let named = store.clients_named();
    let mut directory = store.directory.write();
    let kind = kind_of(&directory, caller, owner, true)?;
    // The cap counts live clients; a deleted one's slot is taken again once no token
    // names it (its tokens stay valid, A4.4, and must keep naming it).
    if directory.clients.iter().filter(|c| c.live).count() >= MAX_CLIENTS {
        return Err(bad("Too many OAuth clients in this mock world.").into());
    }
    let reuse =
        directory.clients.iter().enumerate().position(|(i, c)| {
            !c.live && ClientIdx::try_from(i).is_ok_and(|i| !named.contains(&i))
        });
    if reuse.is_none() && ClientIdx::try_from(directory.clients.len()).is_err() {
        return Err(bad("Too many OAuth clients in this mock world.").into());
    }
    let base = slug(&name);
    let id = loop {
        // 3 or 4 random digits, as the recorded ids (`testclient-1013`, `…-163`).
        let digits: String = world
            .generator
            .alphanumeric(16)
            .bytes()
            .filter(u8::is_ascii_digit)
            .take(4)
            .map(char::from)
            .collect();
        let digits = digits.trim_start_matches('0');
        if digits.len() < 3 {
            continue;
        }
        let candidate = format!("{base}-{digits}");
        if !directory.clients.iter().any(|c| c.id == candidate) {
            break candidate;
        }
    };
    let mut client = Client::new(id, format_token(&world.generator.token()), kind);
    client.name = name;
    client.client_type = client_type;
    client.redirect_uri = if client.client_type == "web" {
        redirect_uri
    } else {
        None
    };
    client.scope = scope;
    let answer = view(&client, true);
    store.take_record()?;
    tracing::info!(client = %client.id, "OAuth client created");
    match reuse.and_then(|i| directory.clients.get_mut(i)) {
        Some(slot) => *slot = client,
        None => directory.clients.push(client),
    }
    Ok(OneClient {
        ok: true,
        client: answer,
    })
}

fn find_mut<'d>(
    directory: &'d mut Directory,
    kind: &ClientKind,
    id: &str,
) -> Result<&'d mut Client, Refusal> {
    directory
        .clients
        .iter_mut()
        .find(|c| c.live && &c.kind == kind && c.id == id)
        .ok_or_else(|| ApiError::NotFound("Client not found".into()).into())
}

/// A4.3: a new name and/or scope; the answer omits the secret ("never displayed again").
pub(crate) fn update_client(
    world: &World,
    caller: Owner,
    owner: ClientOwner<'_>,
    id: &str,
    spec: ClientSpec,
) -> Result<OneClient, Refusal> {
    let name = spec.name.map(|n| n.trim().to_string());
    if name.as_deref() == Some("") {
        return Err(bad("name must not be empty.").into());
    }
    if name.as_ref().is_some_and(|n| n.len() > MAX_NAME) {
        return Err(bad("name is too long.").into());
    }
    let scope = scope_text(spec.scope)?;
    let store = world.store();
    let mut directory = store.directory.write();
    let kind = kind_of(&directory, caller, owner, true)?;
    let client = find_mut(&mut directory, &kind, id)?;
    if let Some(name) = name {
        client.name = name;
    }
    if scope.is_some() {
        client.scope = scope;
    }
    Ok(OneClient {
        ok: true,
        client: view(client, false),
    })
}

/// A4.4: the client's credentials fail from now on; tokens it issued stay valid (A4.4's
/// suggestion).
pub(crate) fn delete_client(
    world: &World,
    caller: Owner,
    owner: ClientOwner<'_>,
    id: &str,
) -> Result<(), Refusal> {
    let store = world.store();
    let mut directory = store.directory.write();
    let kind = kind_of(&directory, caller, owner, true)?;
    let client = find_mut(&mut directory, &kind, id)?;
    client.live = false;
    // What only a live client needs goes now; the id stays for its tokens' answers.
    client.secret = String::new();
    client.name = String::new();
    client.redirect_uri = None;
    client.scope = None;
    store.give_record();
    tracing::info!(client = %crate::support::text::truncate(id), "OAuth client deleted");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_slugs_of_the_name() {
        assert_eq!(slug("My App"), "my-app");
        assert_eq!(slug("particlerb-web-client"), "particlerb-web-client");
        assert_eq!(slug("!!"), "client");
        assert!(slug(&"x".repeat(100)).len() <= MAX_SLUG);
    }

    #[test]
    fn scopes_arrive_as_strings_or_objects() {
        assert_eq!(
            scope_text(Some(Value::String("*:*".into())))
                .unwrap()
                .as_deref(),
            Some("*:*")
        );
        assert_eq!(
            scope_text(Some(serde_json::json!(["customers:create"])))
                .unwrap()
                .as_deref(),
            Some("customers:create")
        );
        assert_eq!(scope_text(None).unwrap(), None);
        assert!(scope_text(Some(serde_json::json!(3))).is_err());
    }
}
