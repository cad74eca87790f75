//! Extractors: the only place besides `routes/` that reads HTTP. Each rejects with an
//! [`ApiError`], so malformed input gets a Particle-shaped answer.
//!
//! - [`CurrentWorld`]: the world (default or tenant) the request was routed to.
//! - [`Caller`]: a bearer-authenticated caller, found exactly as particle-api.md §2.1 says
//!   (header, `access_token` query parameter or form-body field; one method at a time).
//! - [`TokenForm`]: the `/oauth/token` request (form only, §1.1) with Basic client credentials.
//! - [`JsonOrForm`]: a JSON (or form) body for the JSON endpoints.

use crate::support::text::{field_too_long, json_strings_within, without_values, MAX_FIELD_BYTES};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, Refusal};
use crate::http::routes::CurrentRoute;
use crate::http::state::AppState;
pub(crate) use crate::particle::forms::parse_form;
use crate::particle::oauth::{authenticate_bearer, TokenRequest};
use crate::particle::scopes::{check_need, Need};
use crate::tokens::TokenKey;
use crate::world::store::{AccessToken, UserId};
use crate::world::World;

/// The limit this request's body is read under (set by the pipeline's body-limit stage,
/// [`check`](crate::http::pipeline::body_limit::check)).
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimit(pub usize);

/// The world this request belongs to (inserted by the tenant router).
#[derive(Clone)]
pub(crate) struct CurrentWorld(pub Arc<World>);

impl<S: Send + Sync> FromRequestParts<S> for CurrentWorld {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Refusal> {
        parts
            .extensions
            .get::<CurrentWorld>()
            .cloned()
            .ok_or(ApiError::Unavailable.into())
    }
}

/// When the request arrived, on its world's clock: the pipeline reads the clock once per
/// request and inserts the reading for the extractors and handlers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestTime(pub crate::clock::Millis);

/// The request's [`RequestTime`], or a fresh reading of `world`'s clock for a router
/// used outside the pipeline.
pub(crate) fn request_time(
    extensions: &axum::http::Extensions,
    world: &World,
) -> crate::clock::Millis {
    extensions
        .get::<RequestTime>()
        .map_or_else(|| world.now(), |t| t.0)
}

fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Whether a content type is `application/x-www-form-urlencoded` (parameters allowed).
pub(crate) fn is_form(headers: &HeaderMap) -> bool {
    media_type_is(content_type(headers), "application/x-www-form-urlencoded")
}

/// Whether a content type is JSON (`application/json` or `+json`).
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    let ct = content_type(headers);
    media_type_is(ct, "application/json")
        || ct
            .split(';')
            .next()
            .is_some_and(|m| m.trim().to_ascii_lowercase().ends_with("+json"))
}

fn media_type_is(content_type: &str, expected: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|m| m.trim().eq_ignore_ascii_case(expected))
}

/// Reads a request's body under the limit the pipeline chose for it
/// (`pipeline::body_limit`, THE body limit; `fallback` only when the request did not
/// pass the pipeline). Over the limit: 413; a body that cannot be read (a malformed
/// chunk, a connection cut mid-body): 400 `invalid_request`.
async fn read_body(req: Request, fallback: usize) -> Result<(Parts, Bytes), Refusal> {
    let limit = req
        .extensions()
        .get::<BodyLimit>()
        .map_or(fallback, |limit| limit.0);
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|error| body_error(error, limit))?;
    Ok((parts, bytes))
}

/// Why a body could not be read: over the limit, or not readable at all.
fn body_error(error: axum::Error, limit: usize) -> Refusal {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(current) = cause {
        if current.is::<http_body_util::LengthLimitError>() {
            return ApiError::PayloadTooLarge { limit }.into();
        }
        cause = current.source();
    }
    ApiError::InvalidRequest("The request body could not be read".into())
        .because(format!("body error: {error}"))
}

/// A request body as bytes, read under the request's body limit (for the control
/// routes that take a fixtures document).
pub(crate) struct RawBody(pub Bytes);

impl FromRequest<AppState> for RawBody {
    type Rejection = Refusal;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Refusal> {
        let (_, bytes) = read_body(req, state.body_limit).await?;
        Ok(Self(bytes))
    }
}

/// Decodes `Authorization: Basic base64(user:pass)`; `None` if the header is not Basic or
/// does not decode (the caller then falls back to other credentials).
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_string(), pass.to_string()))
}

/// A `POST /oauth/token` request: form fields plus Basic client credentials.
pub(crate) struct TokenForm(pub TokenRequest);

impl FromRequest<AppState> for TokenForm {
    type Rejection = Refusal;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Refusal> {
        // §1.7 row 1: POST with a form body, nothing else.
        if req.method() != Method::POST || !is_form(req.headers()) {
            // The journal says what arrived instead, so a user can see why; the answer is Particle's.
            let received = req
                .headers()
                .get(header::CONTENT_TYPE)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            let reason = match received {
                Some(ct) => format!(
                    "{} with Content-Type `{}`, not application/x-www-form-urlencoded",
                    req.method(),
                    crate::support::text::truncate(&ct)
                ),
                None => format!("{} without a Content-Type", req.method()),
            };
            return Err(ApiError::InvalidRequest(
                "Method must be POST with application/x-www-form-urlencoded encoding".into(),
            )
            .because(reason));
        }
        let basic = basic_credentials(req.headers());
        let now = match req.extensions().get::<CurrentWorld>() {
            Some(CurrentWorld(world)) => request_time(req.extensions(), world),
            None => return Err(ApiError::Unavailable.into()),
        };
        let (_, bytes) = read_body(req, state.body_limit).await?;
        let params = parse_form(&bytes);
        if !params.within(MAX_FIELD_BYTES) {
            return Err(ApiError::InvalidRequest(field_too_long()).into());
        }
        Ok(Self(TokenRequest { params, basic, now }))
    }
}

/// An authenticated caller (§2.1), with the request body left for the handler.
pub(crate) struct Caller {
    /// The world the call belongs to.
    pub world: Arc<World>,
    /// The token used.
    pub key: TokenKey,
    /// Its record.
    pub token: AccessToken,
    /// The request body (already read to find a body token).
    pub body: Bytes,
    /// Whether that body was JSON.
    pub body_is_json: bool,
    /// The request headers (for a multipart body's boundary).
    pub headers: HeaderMap,
}

impl Caller {
    /// The human user behind the token, or the documented refusal for API users and
    /// product tokens (particle-api.md §3.6).
    pub fn human(&self) -> Result<UserId, Refusal> {
        crate::particle::scopes::human(self.token.owner)
    }

    /// The body's fields (a form, or a flat JSON object), as [`RawRequest::fields`].
    pub fn fields(&self) -> Result<crate::particle::forms::FormFields, Refusal> {
        body_fields(&self.headers, &self.body)
    }

    /// The content of the multipart part named `name`, as [`RawRequest::multipart_part`].
    pub fn multipart_part(&self, name: &str) -> Option<&[u8]> {
        multipart_named(&self.headers, &self.body, name)
    }

    /// Decodes the body as JSON (or as a form when that is what was sent).
    pub fn body<T: DeserializeOwned>(&self) -> Result<T, Refusal> {
        decode_body(&self.body, self.body_is_json)
    }
}

/// Decodes a JSON body, or a form body into the same type; clear 400 otherwise.
pub(crate) fn decode_body<T: DeserializeOwned>(bytes: &[u8], is_json: bool) -> Result<T, Refusal> {
    let bytes = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        bytes
    };
    if is_json || bytes.first() == Some(&b'{') {
        if !json_strings_within(bytes, MAX_FIELD_BYTES) {
            return Err(ApiError::BadRequest(field_too_long()).into());
        }
        // Every typed body is an object: serde would read a struct from an array (`[]`
        // taken as "no fields", i.e. all defaults) and some types from `null`.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(
                ApiError::BadRequest("The request body must be a JSON object".into()).into(),
            );
        }
        serde_json::from_slice(bytes).map_err(|e| {
            ApiError::BadRequest(format!(
                "Invalid JSON body: {}",
                without_values(&e.to_string())
            ))
            .into()
        })
    } else {
        if !parse_form(bytes).within(MAX_FIELD_BYTES) {
            return Err(ApiError::BadRequest(field_too_long()).into());
        }
        serde_urlencoded::from_bytes(bytes).map_err(|e| {
            ApiError::BadRequest(format!(
                "Invalid form body: {}",
                without_values(&e.to_string())
            ))
            .into()
        })
    }
}

/// The token of an `Authorization` header value, as the Particle library reads it:
/// `/Bearer\s(\S+)/`, case-sensitive and unanchored. The ONE bearer parser: every
/// route that looks for a bearer token goes through it.
pub(crate) fn bearer_token(header: &str) -> Option<&str> {
    let at = header.find("Bearer")?;
    let rest = &header[at + "Bearer".len()..];
    let mut chars = rest.char_indices();
    chars.next().filter(|(_, c)| c.is_whitespace())?;
    let start = chars.next().map(|(i, _)| i)?;
    let token = &rest[start..];
    let end = token.find(char::is_whitespace).unwrap_or(token.len());
    let token = &token[..end];
    (!token.is_empty()).then_some(token)
}

/// Finds the request's bearer token in the header, the query string or a form body,
/// refusing two methods at once (particle-api.md §2.1).
pub(crate) fn find_bearer(
    parts: &Parts,
    body: &[u8],
    body_is_json: bool,
) -> Result<String, Refusal> {
    let header = parts.headers.get(header::AUTHORIZATION);
    let query_token = parts.uri.query().and_then(|q| {
        parse_form(q.as_bytes())
            .get("access_token")
            .map(str::to_owned)
    });
    let body_token = if is_form(&parts.headers) {
        parse_form(body).get("access_token").map(str::to_owned)
    } else if body_is_json {
        serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("access_token")?.as_str().map(str::to_string))
    } else {
        None
    };
    let methods = usize::from(header.is_some())
        + usize::from(query_token.is_some())
        + usize::from(body_token.is_some());
    if methods > 1 {
        return Err(ApiError::InvalidRequest(
            "Only one method may be used to authenticate at a time (Auth header,  GET or POST)."
                .into(),
        )
        .into());
    }
    if let Some(value) = header {
        return bearer_token(value.to_str().unwrap_or(""))
            .map(str::to_owned)
            .ok_or_else(|| ApiError::InvalidRequest("Malformed auth header".into()).into());
    }
    if let Some(token) = query_token {
        return Ok(token);
    }
    if let Some(token) = body_token {
        if parts.method == Method::GET {
            return Err(ApiError::InvalidRequest(
                "Method cannot be GET When putting the token in the body.".into(),
            )
            .into());
        }
        if !is_form(&parts.headers) {
            return Err(ApiError::InvalidRequest(
                "When putting the token in the body, content type must be application/x-www-form-urlencoded."
                    .into(),
            ).into());
        }
        return Ok(token);
    }
    Err(ApiError::InvalidRequest("The access token was not found".into()).into())
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentRoute {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Refusal> {
        parts
            .extensions
            .get::<CurrentRoute>()
            .copied()
            .ok_or(ApiError::Unavailable.into())
    }
}

impl FromRequest<AppState> for Caller {
    type Rejection = Refusal;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Refusal> {
        let world = req
            .extensions()
            .get::<CurrentWorld>()
            .map(|w| w.0.clone())
            .ok_or(ApiError::Unavailable)?;
        // The pipeline found the row; without one (impossible for a routed row), fail
        // closed: a person-only route refuses API users.
        let need = req
            .extensions()
            .get::<CurrentRoute>()
            .map_or(Need::Human, |route| route.0.need);
        Self::authenticate(world, req, state, need).await
    }
}

impl Caller {
    /// Authenticates `req` to `world` as a call of a route that needs `need` (its row
    /// in the route table, §3.6).
    pub(crate) async fn authenticate(
        world: Arc<World>,
        req: Request,
        state: &AppState,
        need: Need,
    ) -> Result<Self, Refusal> {
        let (parts, body) = read_body(req, state.body_limit).await?;
        let body_is_json = is_json(&parts.headers);
        let token = find_bearer(&parts, &body, body_is_json)?;
        let store = world.store();
        let now = request_time(&parts.extensions, &world);
        let (key, record) = authenticate_bearer(&store, &token, now)?;
        // §3.6: the route table decides whether this kind of token may call the route.
        check_need(&store, record.owner, need)?;
        drop(store);
        Ok(Self {
            world,
            key,
            token: record,
            body,
            body_is_json,
            headers: parts.headers,
        })
    }
}

/// For a route that does not authenticate with a bearer token (the legacy Basic-auth token
/// list): if the request nevertheless carries a valid `Authorization: Bearer` token, the
/// route table decides whether that kind of token is refused (§3.6). Anything else passes
/// through to the route's own checks.
pub(crate) fn refuse_bearer_by_table(
    world: &World,
    headers: &HeaderMap,
    need: Need,
) -> Result<(), Refusal> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    let store = world.store();
    match token.and_then(|t| authenticate_bearer(&store, t, world.now()).ok()) {
        Some((_, record)) => check_need(&store, record.owner, need),
        None => Ok(()),
    }
}

/// A request's headers and body, read within the body limit, for routes that
/// authenticate their own way (create-customer: Basic, body credentials or a bearer
/// token) or take a multipart upload (product device import).
pub(crate) struct RawRequest {
    /// The request headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl FromRequest<AppState> for RawRequest {
    type Rejection = Refusal;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Refusal> {
        let (parts, body) = read_body(req, state.body_limit).await?;
        Ok(Self {
            headers: parts.headers,
            body,
        })
    }
}

impl RawRequest {
    /// The body's fields: a form, or a JSON object whose string, number and boolean
    /// values become text; anything else is a clear 400.
    pub fn fields(&self) -> Result<crate::particle::forms::FormFields, Refusal> {
        body_fields(&self.headers, &self.body)
    }

    /// The `Authorization: Bearer` token, if any (the ONE bearer parser).
    pub fn bearer(&self) -> Option<&str> {
        self.headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_token)
    }

    /// The content of the multipart part named `name` (a `multipart/form-data` upload,
    /// as particle-api-js sends `files`); `None` if the body is not multipart or has no
    /// such part.
    pub fn multipart_part(&self, name: &str) -> Option<&[u8]> {
        multipart_named(&self.headers, &self.body, name)
    }
}

/// A body's fields: a form, or a JSON object whose string, number and boolean values
/// become text; anything else is a clear 400.
pub(crate) fn body_fields(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<crate::particle::forms::FormFields, Refusal> {
    if !is_json(headers) && body.first() != Some(&b'{') {
        let fields = parse_form(body);
        if !fields.within(MAX_FIELD_BYTES) {
            return Err(ApiError::BadRequest(field_too_long()).into());
        }
        return Ok(fields);
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(crate::particle::forms::FormFields::default());
    }
    if !json_strings_within(body, MAX_FIELD_BYTES) {
        return Err(ApiError::BadRequest(field_too_long()).into());
    }
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(body).map_err(|e| {
            ApiError::BadRequest(format!(
                "Invalid JSON body: {}",
                without_values(&e.to_string())
            ))
        })?;
    let mut fields = crate::particle::forms::FormFields::default();
    fields.extend(map.into_iter().filter_map(|(k, v)| {
        let text = match v {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            _ => return None,
        };
        Some((k, text))
    }));
    Ok(fields)
}

/// The part named `name` of a `multipart/form-data` body; `None` if the body is not
/// multipart or has no such part.
fn multipart_named<'a>(headers: &HeaderMap, body: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let ct = content_type(headers);
    if !media_type_is(ct, "multipart/form-data") {
        return None;
    }
    let boundary = ct.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.eq_ignore_ascii_case("boundary")
            .then(|| v.trim_matches('"').to_string())
    })?;
    multipart_part(body, &boundary, name)
}

/// The part named `name` of a multipart body with `boundary` (RFC 7578, minimal).
fn multipart_part<'a>(body: &'a [u8], boundary: &str, name: &str) -> Option<&'a [u8]> {
    let delimiter = format!("--{boundary}");
    let wanted = format!("name=\"{name}\"");
    let mut rest = body;
    while let Some(at) = find(rest, delimiter.as_bytes()) {
        rest = rest.get(at + delimiter.len()..)?;
        let end = find(rest, delimiter.as_bytes()).unwrap_or(rest.len());
        let part = rest.get(..end)?;
        let split = find(part, b"\r\n\r\n")?;
        let head = std::str::from_utf8(part.get(..split)?).ok()?;
        if head.contains(&wanted) {
            let content = part.get(split + 4..)?;
            return Some(content.strip_suffix(b"\r\n").unwrap_or(content));
        }
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A JSON (or form) body for endpoints without bearer auth.
pub(crate) struct JsonOrForm<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonOrForm<T> {
    type Rejection = Refusal;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Refusal> {
        let json = is_json(req.headers());
        let (_, bytes) = read_body(req, state.body_limit).await?;
        decode_body(&bytes, json).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn parts(method: Method, uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut builder = axum::http::Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn bearer_rules_follow_the_library() {
        let p = parts(Method::GET, "/", &[("authorization", "Bearer abc")]);
        assert_eq!(find_bearer(&p, b"", false).unwrap(), "abc");
        let p = parts(Method::GET, "/", &[("authorization", "bearer abc")]);
        assert_eq!(
            find_bearer(&p, b"", false).unwrap_err(),
            ApiError::InvalidRequest("Malformed auth header".into()).into()
        );
        let p = parts(
            Method::GET,
            "/?access_token=q",
            &[("authorization", "Bearer abc")],
        );
        assert!(find_bearer(&p, b"", false)
            .unwrap_err()
            .to_string()
            .contains("Only one method"));
        let p = parts(Method::GET, "/", &[]);
        assert!(find_bearer(&p, b"", false)
            .unwrap_err()
            .to_string()
            .contains("not found"));
        let p = parts(
            Method::GET,
            "/",
            &[("content-type", "application/x-www-form-urlencoded")],
        );
        assert!(find_bearer(&p, b"access_token=x", false)
            .unwrap_err()
            .to_string()
            .contains("cannot be GET"));
        let p = parts(Method::POST, "/", &[("content-type", "application/json")]);
        assert!(find_bearer(&p, br#"{"access_token":"x"}"#, true)
            .unwrap_err()
            .to_string()
            .contains("content type must be"));
    }

    #[test]
    fn basic_credentials_decode_and_split_at_the_first_colon() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic cGFydGljbGU6cGE6cnQ="),
        );
        assert_eq!(
            basic_credentials(&headers),
            Some(("particle".into(), "pa:rt".into()))
        );
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        assert_eq!(basic_credentials(&headers), None);
    }

    #[test]
    fn a_multipart_part_is_found_by_name() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nno\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"ids.txt\"\r\nContent-Type: text/plain\r\n\r\na\nb\r\n--XyZ--\r\n";
        assert_eq!(multipart_part(body, "XyZ", "file"), Some(&b"a\nb"[..]));
        assert_eq!(multipart_part(body, "XyZ", "missing"), None);
        assert_eq!(multipart_part(b"garbage", "XyZ", "file"), None);
    }

    #[test]
    fn form_content_type_accepts_a_charset() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded; charset=UTF-8"),
        );
        assert!(is_form(&headers));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        assert!(!is_form(&headers));
        assert!(is_json(&headers));
    }
}
