//! HTTP routes: each child module owns the handlers of one part of the spec and only
//! translates HTTP to domain calls.
//!
//! [`PARTICLE_ROUTES`] is THE table of the emulated Particle API: one row per method and
//! path, naming what a token needs there (§3.6), its rate-limit rule (§6) and its
//! handler. Adding a route is adding a row, one line:
//!
//! ```text
//! row("GET", "/v1/things/{thingId}", Scope("things:get"), None, routed!(things::show_thing)),
//! ```
//!
//! `routed!(handler)` names an axum handler (any extractors, axum's `Path` included);
//! `Answer::NotEmulated` (method `*`) an area the mock does not emulate, answered 501 for
//! every method. A `GET` row also
//! answers `HEAD`. `http::app` gives every row to axum's router, the one matcher (static
//! segments win over parameters), with the row's pipeline stage around its handler: the
//! rate-limit rule, the journal and the `Caller` extractor's scope check all read the row
//! the router chose. The OpenAPI document served at `/__mock/openapi/particle.json` is
//! annotated from the same rows (a unit test checks `openapi/particle.json` against the
//! table both ways). The control API has its own table, [`control::routes`].

use axum::routing::{on, MethodFilter, MethodRouter};

use crate::error::ApiError;
use crate::http::state::AppState;
use crate::particle::scopes::Need;
use crate::rate_limit::Rule;

pub(crate) mod access_tokens;
pub(crate) mod account;
pub(crate) mod clients;
pub(crate) mod control;
pub(crate) mod customers;
pub(crate) mod dashboard;
pub(crate) mod devices;
pub(crate) mod events;
pub(crate) mod oauth;
pub(crate) mod products;
pub(crate) mod reply;
pub(crate) mod teams;
pub(crate) mod user;
pub(crate) mod webhooks;

/// How a row is answered.
#[derive(Clone, Copy)]
pub(crate) enum Answer {
    /// By its handler: the function builds the row's method router from its method.
    Routed(fn(MethodFilter) -> MethodRouter<AppState>),
    /// A device-cloud area the mock does not emulate (devices spec D11): `501` naming the
    /// method and path, for every method, so no token is needed to learn it is not there.
    NotEmulated,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Answer::Routed(_) => "Routed",
            Answer::NotEmulated => "NotEmulated",
        })
    }
}

/// One row of the route table.
#[derive(Debug)]
pub(crate) struct Route {
    /// HTTP method, upper case (a `GET` row also answers `HEAD`, with an empty body).
    pub method: &'static str,
    /// The path pattern (axum 0.8 / matchit syntax).
    pub path: &'static str,
    /// What the calling token needs (§3.6).
    pub need: Need,
    /// The rate-limit rule that counts this route besides the global one (§6).
    pub limit: Option<Rule>,
    /// How it is answered.
    pub answer: Answer,
}

const fn row(
    method: &'static str,
    path: &'static str,
    need: Need,
    limit: Option<Rule>,
    answer: Answer,
) -> Route {
    Route {
        method,
        path,
        need,
        limit,
        answer,
    }
}

/// A routed row's answer: `routed!(handler)`.
macro_rules! routed {
    ($handler:path) => {
        Answer::Routed(|method| on(method, $handler))
    };
}

use Need::{AnyToken, Device, Human, Person, Public, Scope};

/// A D11 area the mock does not emulate: 501 JSON naming the route, for every method.
const NOT_EMULATED: Answer = Answer::NotEmulated;

/// Every Particle route the mock emulates or rate-limits.
#[rustfmt::skip]
pub(crate) static PARTICLE_ROUTES: &[Route] = &[
    // §1: the token endpoint; any other method than POST gets §1.7 row 1, unlimited.
    row("POST", "/oauth/token", Public, Some(Rule::Oauth), routed!(oauth::create_token)),
    row("GET", "/oauth/token", Public, None, routed!(oauth::create_token)),
    row("PUT", "/oauth/token", Public, None, routed!(oauth::create_token)),
    row("PATCH", "/oauth/token", Public, None, routed!(oauth::create_token)),
    row("DELETE", "/oauth/token", Public, None, routed!(oauth::create_token)),
    // §2.2: the legacy token list (Basic auth; a bearer API-user token is refused).
    row("GET", "/v1/access_tokens", Human, Some(Rule::AccessTokensList), routed!(access_tokens::list_tokens)),
    // §2.5: revokes every token of the caller.
    row("DELETE", "/v1/access_tokens", AnyToken, None, routed!(access_tokens::delete_all_tokens)),
    // §2.6, §2.4: introspection and revocation of the calling token.
    row("GET", "/v1/access_tokens/current", AnyToken, None, routed!(access_tokens::current_token)),
    row("DELETE", "/v1/access_tokens/current", AnyToken, None, routed!(access_tokens::delete_current_token)),
    // §2.3: possession of the token is the credential.
    row("DELETE", "/v1/access_tokens/{token}", Public, Some(Rule::AccessTokenDelete), routed!(access_tokens::delete_token)),
    // §5.1, §5.2: a person's own account and devices.
    row("GET", "/v1/user", Person, None, routed!(user::get_user)),
    row("GET", "/v1/devices", Person, None, routed!(user::list_devices)),
    // §4.1: MFA enrolment.
    row("GET", "/v1/user/mfa-enable", Human, None, routed!(user::start_mfa)),
    row("POST", "/v1/user/mfa-enable", Human, None, routed!(user::confirm_mfa)),
    row("PUT", "/v1/user/mfa-disable", Human, None, routed!(user::stop_mfa)),
    // §3.6: product and org resources.
    row("GET", "/v1/products/{productIdOrSlug}", Scope("products:get"), None, routed!(products::show_product)),
    row("GET", "/v1/products/{productIdOrSlug}/devices", Scope("devices:list"), None, routed!(products::product_devices)),
    row("GET", "/v1/products/{productIdOrSlug}/customers", Scope("customers:list"), None, routed!(products::product_customers)),
    row("GET", "/v1/orgs/{orgIdOrSlug}/products", Scope("products:list"), None, routed!(products::org_products)),
    // Account spec A6: the caller's products (the docs' and api-js' paths, same body).
    row("GET", "/v1/products", Scope("products:list"), None, routed!(products::products_of_caller)),
    row("GET", "/v1/user/products", Human, None, routed!(products::products_of_caller)),
    // Account spec A11: product device membership.
    row("POST", "/v1/products/{productIdOrSlug}/devices", Scope("devices:import"), None, routed!(products::add_product_devices)),
    row("DELETE", "/v1/products/{productIdOrSlug}/devices/{deviceId}", Scope("devices:remove"), None, routed!(products::remove_product_device)),
    // Devices spec D1–D4, D8: the simulated devices. Sandbox rows take an id or a name,
    // product rows an id; who may act on which device is decided by the device domain.
    row("GET", "/v1/devices/{deviceId}", Device("devices:get"), None, routed!(devices::show_device)),
    row("GET", "/v1/products/{productIdOrSlug}/devices/{deviceId}", Device("devices:get"), None, routed!(devices::show_product_device)),
    row("POST", "/v1/devices", Person, None, routed!(devices::claim)),
    row("PUT", "/v1/devices/{deviceId}", Device("devices:update"), None, routed!(devices::update_sandbox_device)),
    row("PUT", "/v1/products/{productIdOrSlug}/devices/{deviceId}", Device("devices:update"), None, routed!(devices::update_product_device)),
    row("DELETE", "/v1/devices/{deviceId}", Device("devices:release"), None, routed!(devices::unclaim)),
    row("DELETE", "/v1/products/{productIdOrSlug}/devices/{deviceId}/owner", Device("devices:release"), None, routed!(devices::remove_owner)),
    row("PUT", "/v1/devices/{deviceId}/ping", Device("devices:ping"), None, routed!(devices::ping)),
    row("PUT", "/v1/products/{productIdOrSlug}/devices/{deviceId}/ping", Device("devices:ping"), None, routed!(devices::ping_product_device)),
    row("POST", "/v1/devices/{deviceId}/{name}", Device("devices.function:call"), None, routed!(devices::call_device_function)),
    row("POST", "/v1/products/{productIdOrSlug}/devices/{deviceId}/{name}", Device("devices.function:call"), None, routed!(devices::call_product_device_function)),
    row("GET", "/v1/devices/{deviceId}/{name}", Device("devices.variable:get"), None, routed!(devices::read_device_variable)),
    row("GET", "/v1/products/{productIdOrSlug}/devices/{deviceId}/{name}", Device("devices.variable:get"), None, routed!(devices::read_product_device_variable)),
    row("POST", "/v1/device_claims", Person, None, routed!(devices::claim_code)),
    row("POST", "/v1/products/{productIdOrSlug}/device_claims", Person, None, routed!(devices::product_claim_code)),
    // D8, D11: cloud compile refused with the answer particle-cli prints.
    row("POST", "/v1/binaries", AnyToken, None, routed!(devices::compile)),
    // D11: device-cloud areas not emulated answer 501 naming the route (every method),
    // after the global rate limit like any route.
    row("*", "/v1/binaries/{*rest}", Public, None, NOT_EMULATED),
    row("*", "/v1/build_targets", Public, None, NOT_EMULATED),
    row("*", "/v1/libraries", Public, None, NOT_EMULATED),
    row("*", "/v1/libraries/{*rest}", Public, None, NOT_EMULATED),
    row("*", "/v1/sims", Public, None, NOT_EMULATED),
    row("*", "/v1/sims/{*rest}", Public, None, NOT_EMULATED),
    row("*", "/v1/diagnostics/{*rest}", Public, None, NOT_EMULATED),
    row("*", "/v1/logic/{*rest}", Public, None, NOT_EMULATED),
    row("*", "/v1/env-vars", Public, None, NOT_EMULATED),
    row("*", "/v1/env-vars/{*rest}", Public, None, NOT_EMULATED),
    row("*", "/v1/products/{productIdOrSlug}/firmware", Public, None, NOT_EMULATED),
    row("*", "/v1/products/{productIdOrSlug}/firmware/{*rest}", Public, None, NOT_EMULATED),
    row("*", "/v1/products/{productIdOrSlug}/sims", Public, None, NOT_EMULATED),
    row("*", "/v1/products/{productIdOrSlug}/sims/{*rest}", Public, None, NOT_EMULATED),
    row("*", "/v1/products/{productIdOrSlug}/config", Public, None, NOT_EMULATED),
    row("*", "/v1/products/{productIdOrSlug}/config/{*rest}", Public, None, NOT_EMULATED),
    row("*", "/v1/products/{productIdOrSlug}/locations", Public, None, NOT_EMULATED),
    row("*", "/v1/products/{productIdOrSlug}/locations/{*rest}", Public, None, NOT_EMULATED),
    row("*", "/v1/products/{productIdOrSlug}/diagnostics/{*rest}", Public, None, NOT_EMULATED),
    row("*", "/v1/products/{productIdOrSlug}/env-vars", Public, None, NOT_EMULATED),
    row("*", "/v1/products/{productIdOrSlug}/env-vars/{*rest}", Public, None, NOT_EMULATED),
    row("*", "/v1/products/{productIdOrSlug}/logic/{*rest}", Public, None, NOT_EMULATED),
    row("*", "/v1/products/{productIdOrSlug}/ledgers", Public, None, NOT_EMULATED),
    row("*", "/v1/products/{productIdOrSlug}/ledgers/{*rest}", Public, None, NOT_EMULATED),
    row("*", "/v1/orgs/{orgIdOrSlug}/ledgers", Public, None, NOT_EMULATED),
    row("*", "/v1/orgs/{orgIdOrSlug}/ledgers/{*rest}", Public, None, NOT_EMULATED),
    row("*", "/v1/orgs/{orgIdOrSlug}/logic/{*rest}", Public, None, NOT_EMULATED),
    row("*", "/v1/orgs/{orgIdOrSlug}/env-vars", Public, None, NOT_EMULATED),
    row("*", "/v1/orgs/{orgIdOrSlug}/env-vars/{*rest}", Public, None, NOT_EMULATED),
    // Account spec A3: customers. Creating one authenticates its own way.
    row("POST", "/v1/products/{productIdOrSlug}/customers", Public, None, routed!(customers::create_product_customer)),
    row("PUT", "/v1/products/{productIdOrSlug}/customers/{customerEmail}", Scope("customers:update"), None, routed!(customers::update_product_customer)),
    row("DELETE", "/v1/products/{productIdOrSlug}/customers/{customerEmail}", Scope("customers:remove"), None, routed!(customers::delete_product_customer)),
    // Account spec A4: OAuth clients of the user and of products.
    row("GET", "/v1/clients", Human, None, routed!(clients::list_user_clients)),
    row("POST", "/v1/clients", Human, None, routed!(clients::create_user_client)),
    row("PUT", "/v1/clients/{clientId}", Human, None, routed!(clients::update_user_client)),
    row("DELETE", "/v1/clients/{clientId}", Human, None, routed!(clients::delete_user_client)),
    row("GET", "/v1/products/{productIdOrSlug}/clients", Scope("clients:list"), None, routed!(clients::list_product_clients)),
    row("POST", "/v1/products/{productIdOrSlug}/clients", Scope("clients:create"), None, routed!(clients::create_product_client)),
    row("PUT", "/v1/products/{productIdOrSlug}/clients/{clientId}", Scope("clients:update"), None, routed!(clients::update_product_client)),
    row("DELETE", "/v1/products/{productIdOrSlug}/clients/{clientId}", Scope("clients:remove"), None, routed!(clients::delete_product_client)),
    // §3.2–3.5 and account spec A5: teams. Listing takes a scope; changing a team (API
    // users, invites, roles) is for human admins. Updates come as PUT or POST (A5).
    row("GET", "/v1/products/{productIdOrSlug}/team", Scope("teams.users:list"), None, routed!(teams::list_product_team)),
    row("POST", "/v1/products/{productIdOrSlug}/team", Human, None, routed!(teams::create_product_api_user)),
    row("PUT", "/v1/products/{productIdOrSlug}/team/{username}", Human, None, routed!(teams::update_product_api_user)),
    row("POST", "/v1/products/{productIdOrSlug}/team/{username}", Human, None, routed!(teams::update_product_api_user)),
    row("DELETE", "/v1/products/{productIdOrSlug}/team/{username}", Human, None, routed!(teams::delete_product_member)),
    row("GET", "/v1/orgs/{orgIdOrSlug}/team", Scope("teams.users:list"), None, routed!(teams::list_org_team)),
    row("POST", "/v1/orgs/{orgIdOrSlug}/team", Human, None, routed!(teams::create_org_api_user)),
    row("PUT", "/v1/orgs/{orgIdOrSlug}/team/{username}", Human, None, routed!(teams::update_org_api_user)),
    row("POST", "/v1/orgs/{orgIdOrSlug}/team/{username}", Human, None, routed!(teams::update_org_api_user)),
    row("DELETE", "/v1/orgs/{orgIdOrSlug}/team/{username}", Human, None, routed!(teams::delete_org_member)),
    // Account spec A7.2: regenerate an API user's token (human Administrators).
    row("PUT", "/v1/products/{productIdOrSlug}/team/{username}/token", Human, None, routed!(teams::regenerate_product_api_user_token)),
    row("PUT", "/v1/orgs/{orgIdOrSlug}/team/{username}/token", Human, None, routed!(teams::regenerate_org_api_user_token)),
    // The user's orgs (particle-cli's org picker).
    row("GET", "/v1/orgs", Human, None, routed!(products::list_user_orgs)),
    // Account spec A2: the account lifecycle, limited as §6 says.
    row("POST", "/v1/users", Public, Some(Rule::UsersCreate), routed!(account::create_user)),
    row("PUT", "/v1/user", Human, None, routed!(account::update_user)),
    row("DELETE", "/v1/user", Human, Some(Rule::UserDelete), routed!(account::delete_user)),
    row("POST", "/v1/user/password-reset", Public, Some(Rule::PasswordResetPost), routed!(account::start_password_reset)),
    row("PUT", "/v1/user/password-reset", Public, Some(Rule::PasswordResetPut), routed!(account::finish_password_reset)),
    row("GET", "/v1/user/identify", Person, None, routed!(account::identify_user)),
    // Devices spec D5.1: the event streams, limited by §6's events rule. Sandbox streams
    // are for people (D1: API users and product tokens get the "not allowed" body);
    // product and org streams take `events:get`.
    row("GET", "/v1/events", Person, Some(Rule::Events), routed!(events::stream_public)),
    row("GET", "/v1/events/{*rest}", Person, Some(Rule::Events), routed!(events::stream_public)),
    row("GET", "/v1/devices/events", Person, Some(Rule::Events), routed!(events::stream)),
    row("GET", "/v1/devices/events/{*rest}", Person, Some(Rule::Events), routed!(events::stream)),
    row("GET", "/v1/devices/{deviceId}/events", Person, Some(Rule::Events), routed!(events::stream)),
    row("GET", "/v1/devices/{deviceId}/events/{*rest}", Person, Some(Rule::Events), routed!(events::stream)),
    row("GET", "/v1/products/{productIdOrSlug}/events", Scope("events:get"), Some(Rule::Events), routed!(events::stream)),
    row("GET", "/v1/products/{productIdOrSlug}/events/{*rest}", Scope("events:get"), Some(Rule::Events), routed!(events::stream)),
    row("GET", "/v1/products/{productIdOrSlug}/devices/{deviceId}/events", Scope("events:get"), Some(Rule::Events), routed!(events::stream)),
    row("GET", "/v1/products/{productIdOrSlug}/devices/{deviceId}/events/{*rest}", Scope("events:get"), Some(Rule::Events), routed!(events::stream)),
    row("GET", "/v1/orgs/{orgIdOrSlug}/events", Scope("events:get"), Some(Rule::Events), routed!(events::stream)),
    row("GET", "/v1/orgs/{orgIdOrSlug}/events/{*rest}", Scope("events:get"), Some(Rule::Events), routed!(events::stream)),
    row("GET", "/v1/orgs/{orgIdOrSlug}/devices/{deviceId}/events", Scope("events:get"), Some(Rule::Events), routed!(events::stream)),
    row("GET", "/v1/orgs/{orgIdOrSlug}/devices/{deviceId}/events/{*rest}", Scope("events:get"), Some(Rule::Events), routed!(events::stream)),
    // D6: publishing. People publish on the user route without a scope; an API user
    // there needs `events:send` (checked by the domain, as the token kinds differ).
    row("POST", "/v1/devices/events", AnyToken, None, routed!(events::publish_event)),
    row("POST", "/v1/products/{productIdOrSlug}/events", Scope("events:send"), None, routed!(events::publish_product_event)),
    // D7: webhooks and integrations. The sandbox routes are a user's (customers get 403,
    // D12 item 7); product and org routes take the `integrations:*` scopes (D1), and
    // changes need the Developer role (checked by the domain).
    row("GET", "/v1/webhooks", Person, None, routed!(webhooks::list_hooks)),
    row("POST", "/v1/webhooks", Person, None, routed!(webhooks::create_hook)),
    row("GET", "/v1/webhooks/{hookId}", Person, None, routed!(webhooks::show_hook)),
    row("DELETE", "/v1/webhooks/{hookId}", Person, None, routed!(webhooks::delete_hook)),
    row("GET", "/v1/products/{productIdOrSlug}/webhooks", Scope("integrations:list"), None, routed!(webhooks::list_hooks)),
    row("POST", "/v1/products/{productIdOrSlug}/webhooks", Scope("integrations:create"), None, routed!(webhooks::create_hook)),
    row("GET", "/v1/products/{productIdOrSlug}/webhooks/{hookId}", Scope("integrations:get"), None, routed!(webhooks::show_hook)),
    row("DELETE", "/v1/products/{productIdOrSlug}/webhooks/{hookId}", Scope("integrations:remove"), None, routed!(webhooks::delete_hook)),
    row("GET", "/v1/integrations", Person, None, routed!(webhooks::list_hooks)),
    row("POST", "/v1/integrations", Person, None, routed!(webhooks::create_hook)),
    row("GET", "/v1/integrations/{hookId}", Person, None, routed!(webhooks::show_hook)),
    row("PUT", "/v1/integrations/{hookId}", Person, None, routed!(webhooks::update_hook)),
    row("DELETE", "/v1/integrations/{hookId}", Person, None, routed!(webhooks::delete_hook)),
    row("POST", "/v1/integrations/{hookId}/test", Person, None, routed!(webhooks::test_hook)),
    row("GET", "/v1/products/{productIdOrSlug}/integrations", Scope("integrations:list"), None, routed!(webhooks::list_hooks)),
    row("POST", "/v1/products/{productIdOrSlug}/integrations", Scope("integrations:create"), None, routed!(webhooks::create_hook)),
    row("GET", "/v1/products/{productIdOrSlug}/integrations/{hookId}", Scope("integrations:get"), None, routed!(webhooks::show_hook)),
    row("PUT", "/v1/products/{productIdOrSlug}/integrations/{hookId}", Scope("integrations:update"), None, routed!(webhooks::update_hook)),
    row("DELETE", "/v1/products/{productIdOrSlug}/integrations/{hookId}", Scope("integrations:remove"), None, routed!(webhooks::delete_hook)),
    row("POST", "/v1/products/{productIdOrSlug}/integrations/{hookId}/test", Scope("integrations:test"), None, routed!(webhooks::test_hook)),
    row("GET", "/v1/orgs/{orgIdOrSlug}/integrations", Scope("integrations:list"), None, routed!(webhooks::list_hooks)),
    row("POST", "/v1/orgs/{orgIdOrSlug}/integrations", Scope("integrations:create"), None, routed!(webhooks::create_hook)),
    row("GET", "/v1/orgs/{orgIdOrSlug}/integrations/{hookId}", Scope("integrations:get"), None, routed!(webhooks::show_hook)),
    row("PUT", "/v1/orgs/{orgIdOrSlug}/integrations/{hookId}", Scope("integrations:update"), None, routed!(webhooks::update_hook)),
    row("DELETE", "/v1/orgs/{orgIdOrSlug}/integrations/{hookId}", Scope("integrations:remove"), None, routed!(webhooks::delete_hook)),
    row("POST", "/v1/orgs/{orgIdOrSlug}/integrations/{hookId}/test", Scope("integrations:test"), None, routed!(webhooks::test_hook)),
];

/// The method router of one row: its handler, or for a not-emulated area the 501 answer
/// (the row is still matched, limited and journaled like any other).
pub(crate) fn endpoint(route: &Route) -> MethodRouter<AppState> {
    let filter = method_filter(route.method);
    match route.answer {
        Answer::Routed(build) => build(filter),
        Answer::NotEmulated => on(filter, devices::not_emulated),
    }
}

/// Unknown route, or a method no row of the path has: 404 JSON (§5.3 suggests this body).
pub(crate) async fn not_found() -> ApiError {
    ApiError::NotFound("Not found".into())
}

/// The router's filter for a row's method (a unit test checks every row has one).
pub(crate) fn method_filter(method: &str) -> MethodFilter {
    match method {
        "GET" => MethodFilter::GET,
        "POST" => MethodFilter::POST,
        "PUT" => MethodFilter::PUT,
        "PATCH" => MethodFilter::PATCH,
        "DELETE" => MethodFilter::DELETE,
        "*" => MethodFilter::GET
            .or(MethodFilter::POST)
            .or(MethodFilter::PUT)
            .or(MethodFilter::PATCH)
            .or(MethodFilter::DELETE),
        // Fail closed: a row with another method answers nothing through the router.
        _ => MethodFilter::OPTIONS,
    }
}

/// The table row the router matched for a request, inserted by the row's pipeline stage
/// before its handler runs: the `Caller` extractor reads what the token needs from it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CurrentRoute(pub &'static Route);

/// [`PARTICLE_ROUTES`] annotated into the OpenAPI document: each operation gets
/// `x-particle-token` (what a token needs there) and `x-particle-rate-limit` (its rule,
/// if any) from its row, and a routed row the document lacks gets a minimal operation,
/// so the served document always covers the table (a unit test refuses such gaps).
pub(crate) fn particle_openapi(document: &str) -> serde_json::Value {
    let mut doc: serde_json::Value =
        serde_json::from_str(document).unwrap_or_else(|_| serde_json::json!({ "paths": {} }));
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return doc;
    };
    for route in PARTICLE_ROUTES {
        if !matches!(route.answer, Answer::Routed(_)) {
            continue;
        }
        let item = paths
            .entry(openapi_path(route.path))
            .or_insert_with(|| serde_json::json!({}));
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        let operation = item
            .entry(route.method.to_ascii_lowercase())
            .or_insert_with(|| serde_json::json!({ "summary": "Not described yet", "responses": { "default": { "description": "See particle-api.md" } } }));
        if let Some(operation) = operation.as_object_mut() {
            operation.insert("x-particle-token".into(), route.need.describe().into());
            if let Some(rule) = route.limit {
                operation.insert("x-particle-rate-limit".into(), rule.to_string().into());
            }
        }
    }
    doc
}

/// A row's path as OpenAPI spells it: a catch-all `{*rest}` is the parameter `{rest}`
/// (OpenAPI has no catch-all syntax; the parameter's description says it may hold `/`).
pub(crate) fn openapi_path(path: &str) -> String {
    path.replace("{*", "{")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use axum::body::Body;
    use axum::extract::Request;
    use axum::http::Method;
    use axum::Router;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    #[test]
    fn every_row_appears_once_with_a_method_the_router_knows() {
        let mut seen = BTreeSet::new();
        for r in PARTICLE_ROUTES {
            assert!(
                seen.insert((r.method, r.path)),
                "{} {} twice",
                r.method,
                r.path
            );
            let known = ["GET", "POST", "PUT", "PATCH", "DELETE", "*"].contains(&r.method);
            assert!(known, "{} {}", r.method, r.path);
        }
    }

    #[test]
    fn every_scope_in_the_table_is_a_known_scope() {
        for r in PARTICLE_ROUTES {
            if let Need::Scope(s) | Need::Device(s) = r.need {
                assert!(crate::world::fixtures::KNOWN_SCOPES.contains(&s), "{s}");
            }
        }
    }

    /// The table in axum's router (the one matcher), each row answering its own index:
    /// which row a request reaches, without any stage around it.
    fn probe() -> Router {
        PARTICLE_ROUTES
            .iter()
            .enumerate()
            .fold(Router::new(), |router, (i, r)| {
                router.route(
                    r.path,
                    on(
                        method_filter(r.method),
                        move || async move { i.to_string() },
                    ),
                )
            })
    }

    /// The row `method path` reaches, if any.
    async fn row_of(method: &str, path: &str) -> Option<&'static Route> {
        let method = Method::from_bytes(method.as_bytes()).expect("a method");
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .expect("a request");
        let response = probe().oneshot(request).await.expect("infallible");
        if !response.status().is_success() {
            return None;
        }
        let body = response.into_body().collect().await.expect("a body");
        let index: usize = String::from_utf8_lossy(&body.to_bytes())
            .parse()
            .expect("an index");
        PARTICLE_ROUTES.get(index)
    }

    async fn rule_of(method: &str, path: &str) -> Option<Rule> {
        row_of(method, path).await.and_then(|r| r.limit)
    }

    #[tokio::test]
    async fn every_row_is_reached_by_a_request_of_its_own_shape() {
        for r in PARTICLE_ROUTES {
            let path = r.path.replace("{*rest}", "x/y").replace(['{', '}'], "");
            let method = if r.method == "*" { "DELETE" } else { r.method };
            let found = row_of(method, &path).await.expect("found");
            assert!(std::ptr::eq(found, r), "{} {}", r.method, r.path);
        }
    }

    #[tokio::test]
    async fn the_row_of_a_path_is_found_with_its_rule() {
        assert_eq!(
            row_of("GET", "/v1/products/demo-product/devices")
                .await
                .map(|r| r.need),
            Some(Need::Scope("devices:list"))
        );
        assert!(row_of("GET", "/v1/nowhere").await.is_none());
        // A static segment wins over a parameter: `events` is never a device id.
        assert_eq!(
            row_of("GET", "/v1/devices/events").await.map(|r| r.path),
            Some("/v1/devices/events")
        );
        // Any method but POST on the token endpoint: its own row, unlimited.
        assert_eq!(
            row_of("PATCH", "/oauth/token").await.map(|r| r.method),
            Some("PATCH")
        );
    }

    #[tokio::test]
    async fn routes_map_to_their_rules() {
        assert_eq!(rule_of("POST", "/oauth/token").await, Some(Rule::Oauth));
        assert_eq!(rule_of("GET", "/oauth/token").await, None);
        assert_eq!(
            rule_of("GET", "/v1/access_tokens").await,
            Some(Rule::AccessTokensList)
        );
        assert_eq!(rule_of("DELETE", "/v1/access_tokens").await, None);
        assert_eq!(
            rule_of("DELETE", "/v1/access_tokens/abc").await,
            Some(Rule::AccessTokenDelete)
        );
        assert_eq!(rule_of("DELETE", "/v1/access_tokens/current").await, None);
        assert_eq!(rule_of("POST", "/v1/users").await, Some(Rule::UsersCreate));
        assert_eq!(rule_of("DELETE", "/v1/user").await, Some(Rule::UserDelete));
        assert_eq!(
            rule_of("POST", "/v1/user/password-reset").await,
            Some(Rule::PasswordResetPost)
        );
        assert_eq!(
            rule_of("PUT", "/v1/user/password-reset").await,
            Some(Rule::PasswordResetPut)
        );
        assert_eq!(rule_of("GET", "/v1/events").await, Some(Rule::Events));
        assert_eq!(rule_of("GET", "/v1/events/temp").await, Some(Rule::Events));
        assert_eq!(
            rule_of("GET", "/v1/devices/0123/events/x").await,
            Some(Rule::Events)
        );
        assert_eq!(
            rule_of("GET", "/v1/devices/events").await,
            Some(Rule::Events)
        );
        for stream in [
            "/v1/devices/0123/events",
            "/v1/products/p/events",
            "/v1/products/p/events/x",
            "/v1/products/p/devices/0123/events",
            "/v1/orgs/o/events",
        ] {
            assert_eq!(rule_of("GET", stream).await, Some(Rule::Events), "{stream}");
        }
        assert_eq!(rule_of("GET", "/v1/user").await, None);
    }

    /// `(METHOD, path)` of the operations a document describes.
    fn described(doc: &serde_json::Value) -> BTreeSet<(String, String)> {
        let mut found = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("an item").keys() {
                if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                    found.insert((method.to_ascii_uppercase(), path.clone()));
                }
            }
        }
        found
    }

    #[test]
    fn the_openapi_document_describes_exactly_the_answered_rows() {
        // Arrange
        let file: serde_json::Value =
            serde_json::from_str(control::PARTICLE_OPENAPI).expect("valid JSON");
        let answered: BTreeSet<(String, String)> = PARTICLE_ROUTES
            .iter()
            .filter(|r| matches!(r.answer, Answer::Routed(_)))
            .map(|r| (r.method.to_string(), openapi_path(r.path)))
            .collect();
        // Act
        let described = described(&file);
        // Assert: both ways, and every served operation carries its row's facts.
        let undescribed: Vec<_> = answered.difference(&described).collect();
        let phantom: Vec<_> = described.difference(&answered).collect();
        assert!(
            undescribed.is_empty(),
            "routed, not described: {undescribed:?}"
        );
        assert!(phantom.is_empty(), "described, not routed: {phantom:?}");
        let served = particle_openapi(control::PARTICLE_OPENAPI);
        for (method, path) in &answered {
            let operation = &served["paths"][path][method.to_ascii_lowercase()];
            assert!(operation["x-particle-token"].is_string(), "{method} {path}");
        }
        assert_eq!(
            served["paths"]["/oauth/token"]["post"]["x-particle-rate-limit"],
            "oauth"
        );
    }
}
