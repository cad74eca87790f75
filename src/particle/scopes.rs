//! Who may call what (particle-api.md §3.6): ONE table mapping every bearer-authenticated
//! route to what it needs, and the enforcement functions every such route goes through.
//!
//! Enforcement happens in two steps, both here:
//!
//! 1. [`check_route`] (called by the `Caller` extractor for every request, before the
//!    handler runs) compares the token's kind with the route's [`Need`]: an API user
//!    without the route's scope, or on a human-only route, is refused at once with
//!    `403 {"error":"unauthorized",..}`.
//! 2. [`authorize`] (called by the domain functions of product and org routes) resolves the
//!    product or org named in the path (404 if unknown) and checks that the caller belongs
//!    to it: a team member, an API user of that product or of its org, or the product's own
//!    bearer token.
//!
//! Free of HTTP: methods and route patterns are plain strings.

use crate::error::ApiError;
use crate::support::text::truncate;
use crate::world::store::{Directory, Owner, Store, Team, UserId};

/// What a route needs from the calling token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    /// Any live token (token introspection and revocation).
    AnyToken,
    /// A person: a human user or a product's customer. API users and product bearer
    /// tokens get the documented "API users are not allowed" body.
    Person,
    /// A human user only (MFA, team management, token listing).
    Human,
    /// A product or org resource: API users need this scope; humans must belong to the
    /// team, product tokens to the product; customers are refused.
    Scope(&'static str),
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    /// HTTP method, upper case.
    pub method: &'static str,
    /// The route pattern exactly as registered with the router (axum 0.8 syntax).
    pub path: &'static str,
    /// What the caller needs.
    pub need: Need,
}

const fn rule(method: &'static str, path: &'static str, need: Need) -> Rule {
    Rule { method, path, need }
}

/// Every bearer-authenticated route of the mock and what it needs. A route missing from
/// this table is treated as [`Need::Human`] (fail closed, with a warning in the log):
/// whoever adds a route that takes a `Caller` adds its row here.
pub(crate) const ROUTES: &[Rule] = &[
    // §5.1, §5.2: a person's own account and devices.
    rule("GET", "/v1/user", Need::Person),
    rule("GET", "/v1/devices", Need::Person),
    // §4.1: MFA enrolment.
    rule("GET", "/v1/user/mfa-enable", Need::Human),
    rule("POST", "/v1/user/mfa-enable", Need::Human),
    rule("PUT", "/v1/user/mfa-disable", Need::Human),
    // §2.2: the legacy token list (Basic auth; a bearer API-user token is refused).
    rule("GET", "/v1/access_tokens", Need::Human),
    // §2.4–2.6: introspection and revocation of the calling token.
    rule("GET", "/v1/access_tokens/current", Need::AnyToken),
    rule("DELETE", "/v1/access_tokens/current", Need::AnyToken),
    rule("DELETE", "/v1/access_tokens", Need::AnyToken),
    // §3: product resources.
    rule(
        "GET",
        "/v1/products/{productIdOrSlug}",
        Need::Scope("products:get"),
    ),
    rule(
        "GET",
        "/v1/products/{productIdOrSlug}/devices",
        Need::Scope("devices:list"),
    ),
    rule(
        "GET",
        "/v1/products/{productIdOrSlug}/devices/{deviceId}",
        Need::Scope("devices:get"),
    ),
    rule(
        "GET",
        "/v1/products/{productIdOrSlug}/customers",
        Need::Scope("customers:list"),
    ),
    rule(
        "GET",
        "/v1/orgs/{orgIdOrSlug}/products",
        Need::Scope("products:list"),
    ),
    // §3.2–3.5: teams. Listing takes a scope; changing a team is for human admins.
    rule(
        "GET",
        "/v1/products/{productIdOrSlug}/team",
        Need::Scope("teams.users:list"),
    ),
    rule("POST", "/v1/products/{productIdOrSlug}/team", Need::Human),
    rule(
        "PUT",
        "/v1/products/{productIdOrSlug}/team/{username}",
        Need::Human,
    ),
    rule(
        "DELETE",
        "/v1/products/{productIdOrSlug}/team/{username}",
        Need::Human,
    ),
    rule(
        "GET",
        "/v1/orgs/{orgIdOrSlug}/team",
        Need::Scope("teams.users:list"),
    ),
    rule("POST", "/v1/orgs/{orgIdOrSlug}/team", Need::Human),
    rule("PUT", "/v1/orgs/{orgIdOrSlug}/team/{username}", Need::Human),
    rule(
        "DELETE",
        "/v1/orgs/{orgIdOrSlug}/team/{username}",
        Need::Human,
    ),
];

/// What a route needs: its table entry, or [`Need::Human`] if it has none (fail closed).
pub(crate) fn need_of(method: &str, path: Option<&str>) -> Need {
    let found = path.and_then(|path| {
        ROUTES
            .iter()
            .find(|r| r.path == path && r.method.eq_ignore_ascii_case(method))
    });
    match found {
        Some(rule) => rule.need,
        None => {
            // A bearer route without a row is a bug: say so, and refuse API users.
            tracing::warn!(
                method,
                route = path.unwrap_or("?"),
                "route missing from scopes::ROUTES"
            );
            Need::Human
        }
    }
}

/// The documented refusal for a token that is not the kind a route is for (§3.6, exact
/// body), with `why` for the journal.
pub(crate) fn not_allowed(why: &str) -> ApiError {
    ApiError::api_users_not_allowed().because(why.to_string())
}

/// The human user behind `owner`, or the documented refusal.
pub(crate) fn human(owner: Owner) -> Result<UserId, ApiError> {
    match owner {
        Owner::User(id) => Ok(id),
        _ => Err(not_allowed("a non-user token called a human-only endpoint")),
    }
}

/// Step 1: whether the token's kind may call the route at all (no resource looked up yet).
///
/// Takes the store rather than the directory so that only an API user's call on a scoped
/// route reads the directory (its lock is not taken on the hot path of other tokens).
pub(crate) fn check_route(
    store: &Store,
    owner: Owner,
    method: &str,
    path: Option<&str>,
) -> Result<(), ApiError> {
    match need_of(method, path) {
        Need::AnyToken => Ok(()),
        Need::Human => human(owner).map(|_| ()),
        Need::Person => match owner {
            Owner::User(_) | Owner::Customer(_) => Ok(()),
            Owner::ApiUser(_) | Owner::Product(_) => Err(not_allowed(
                "an API user or product token called a person-only endpoint",
            )),
        },
        Need::Scope(scope) => match owner {
            Owner::User(_) | Owner::Product(_) => Ok(()),
            Owner::Customer(_) => Err(ApiError::Unauthorized(
                "Customer tokens are not allowed to call this endpoint".into(),
            )
            .because("a customer token called a product endpoint")),
            Owner::ApiUser(id) => {
                let directory = store.directory.read();
                let api_user = directory
                    .api_user(id)
                    .ok_or_else(|| ApiError::invalid_token().because("the API user was deleted"))?;
                if api_user.scopes.iter().any(|s| s == scope) {
                    Ok(())
                } else {
                    Err(insufficient_scope(scope))
                }
            }
        },
    }
}

/// `403 unauthorized` naming the missing scope (the real wording is unknown, §3.6).
pub(crate) fn insufficient_scope(scope: &str) -> ApiError {
    ApiError::Unauthorized(format!(
        "Insufficient scope: this endpoint requires {scope}"
    ))
    .because(format!("missing scope {scope}"))
}

/// A product or org as a path names it (numeric id, 24-hex id, or slug).
#[derive(Debug, Clone, Copy)]
pub(crate) enum TeamRef<'a> {
    /// `/v1/products/{productIdOrSlug}`.
    Product(&'a str),
    /// `/v1/orgs/{orgIdOrSlug}`.
    Org(&'a str),
}

/// The team a path names, or 404 `Product not found.` / `Organization not found.`.
pub(crate) fn resolve(directory: &Directory, target: TeamRef<'_>) -> Result<Team, ApiError> {
    match target {
        TeamRef::Product(key) => directory
            .product(key)
            .map(|p| Team::Product(p.id))
            .ok_or_else(|| {
                ApiError::NotFound("Product not found.".into())
                    .because(format!("unknown product `{}`", truncate(key)))
            }),
        TeamRef::Org(key) => directory
            .org(key)
            .map(|o| Team::Org(o.id.clone()))
            .ok_or_else(|| {
                ApiError::NotFound("Organization not found.".into())
                    .because(format!("unknown org `{}`", truncate(key)))
            }),
    }
}

/// The org that owns a team: the org itself, or a product's org.
fn org_of(directory: &Directory, team: &Team) -> Option<String> {
    match team {
        Team::Org(id) => Some(id.clone()),
        Team::Product(id) => directory
            .products
            .iter()
            .find(|p| p.id == *id)
            .and_then(|p| p.org.clone()),
    }
}

/// Whether `team` is `within` or, for a product, belongs to the org `within`.
fn covers(directory: &Directory, within: &Team, team: &Team) -> bool {
    within == team
        || matches!(within, Team::Org(org) if org_of(directory, team).as_deref() == Some(org.as_str()))
}

/// The role of a human in a team: their own membership, else their membership of the
/// product's org.
pub(crate) fn role_in(directory: &Directory, user: UserId, team: &Team) -> Option<String> {
    let role_on = |t: &Team| {
        directory
            .memberships
            .iter()
            .find(|m| m.user == user && &m.team == t)
            .map(|m| m.role.clone())
    };
    role_on(team).or_else(|| {
        org_of(directory, team)
            .filter(|org| !matches!(team, Team::Org(id) if id == org))
            .and_then(|org| role_on(&Team::Org(org)))
    })
}

fn team_word(team: &Team) -> &'static str {
    match team {
        Team::Product(_) => "product",
        Team::Org(_) => "organization",
    }
}

/// Step 2: resolves the product or org of the path (404) and checks that the caller
/// belongs to it (403).
pub(crate) fn authorize(
    directory: &Directory,
    owner: Owner,
    target: TeamRef<'_>,
) -> Result<Team, ApiError> {
    let team = resolve(directory, target)?;
    let word = team_word(&team);
    match owner {
        Owner::User(user) => {
            if role_in(directory, user, &team).is_none() {
                return Err(
                    ApiError::Forbidden(format!("You are not a member of this {word}."))
                        .because(format!("user is not a member of the {word}")),
                );
            }
        }
        Owner::ApiUser(id) => {
            let api_user = directory
                .api_user(id)
                .ok_or_else(|| ApiError::invalid_token().because("the API user was deleted"))?;
            if !covers(directory, &api_user.team, &team) {
                return Err(ApiError::Unauthorized(format!(
                    "This API user does not belong to this {word}"
                ))
                .because(format!("API user of another {word}")));
            }
        }
        Owner::Product(product) => {
            if team != Team::Product(product) {
                return Err(ApiError::Unauthorized(
                    "A product token may only call its own product's endpoints".into(),
                )
                .because(format!("product {product}'s token called another {word}")));
            }
        }
        Owner::Customer(_) => {
            return Err(ApiError::Unauthorized(
                "Customer tokens are not allowed to call this endpoint".into(),
            )
            .because("a customer token called a product endpoint"));
        }
    }
    Ok(team)
}

/// Step 2 for team changes: [`authorize`], then the caller must be a human
/// Administrator of the team (or of the product's org).
pub(crate) fn authorize_admin(
    directory: &Directory,
    owner: Owner,
    target: TeamRef<'_>,
) -> Result<Team, ApiError> {
    let user = human(owner)?;
    let team = authorize(directory, owner, target)?;
    if role_in(directory, user, &team).as_deref() != Some("Administrator") {
        let word = team_word(&team);
        return Err(ApiError::Forbidden(format!(
            "Only an Administrator of this {word} may manage its API users."
        ))
        .because(format!("user is not an Administrator of the {word}")));
    }
    Ok(team)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::world::fixtures::Fixtures;

    #[test]
    fn every_route_appears_once() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(
                    !(a.method == b.method && a.path == b.path),
                    "{} {} twice",
                    a.method,
                    a.path
                );
            }
        }
    }

    #[test]
    fn every_scope_in_the_table_is_a_known_scope() {
        for r in ROUTES {
            if let Need::Scope(s) = r.need {
                assert!(crate::world::fixtures::KNOWN_SCOPES.contains(&s), "{s}");
            }
        }
    }

    #[test]
    fn unlisted_routes_fail_closed() {
        assert_eq!(need_of("GET", Some("/v1/nowhere")), Need::Human);
        assert_eq!(need_of("GET", None), Need::Human);
        assert_eq!(
            need_of("get", Some("/v1/products/{productIdOrSlug}")),
            Need::Scope("products:get")
        );
    }

    #[test]
    fn the_fixture_api_user_is_checked_scope_by_scope() {
        let store = Store::from_fixtures(&Fixtures::default_set());
        let api = Owner::ApiUser(0);
        let devices = Some("/v1/products/{productIdOrSlug}/devices");
        let customers = Some("/v1/products/{productIdOrSlug}/customers");
        assert!(check_route(&store, api, "GET", devices).is_ok());
        let refusal = check_route(&store, api, "GET", customers).unwrap_err();
        assert_eq!(refusal.reason(), "missing scope customers:list");
        assert_eq!(
            check_route(&store, api, "GET", Some("/v1/user"))
                .unwrap_err()
                .inner(),
            &ApiError::api_users_not_allowed()
        );
    }

    #[test]
    fn org_membership_covers_the_orgs_products() {
        let store = Store::from_fixtures(&Fixtures::default_set());
        let dir = store.directory.read();
        let (user, _) = dir.user_by_email("user@example.com").unwrap();
        let (developer, _) = dir.user_by_email("developer@example.com").unwrap();
        let product = Team::Product(1001);
        assert_eq!(
            role_in(&dir, user, &product).as_deref(),
            Some("Administrator")
        );
        assert_eq!(
            role_in(&dir, developer, &product).as_deref(),
            Some("Developer")
        );
        assert_eq!(role_in(&dir, developer, &Team::Product(1002)), None);
        assert!(authorize_admin(&dir, Owner::User(developer), TeamRef::Product("1001")).is_err());
        assert!(authorize_admin(&dir, Owner::User(user), TeamRef::Product("demo-product")).is_ok());
        assert_eq!(
            authorize(&dir, Owner::User(user), TeamRef::Product("nope"))
                .unwrap_err()
                .inner(),
            &ApiError::NotFound("Product not found.".into())
        );
    }
}
