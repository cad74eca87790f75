//! Who may call what (particle-api.md §3.6): what a route may need of its token, and the
//! enforcement functions every bearer route goes through.
//!
//! Enforcement happens in two steps, both here:
//!
//! 1. [`check_need`] (called by the `Caller` extractor for every request, before the
//!    handler runs) compares the token's kind with the route's [`Need`] (from its row in
//!    the one route table, `http::routes::PARTICLE_ROUTES`): an API user
//!    without the route's scope, or on a human-only route, is refused at once with
//!    `403 {"error":"unauthorized",..}`.
//! 2. [`authorize`] (called by the domain functions of product and org routes) resolves the
//!    product or org named in the path (404 if unknown) and checks that the caller belongs
//!    to it: a team member, an API user of that product or of its org, or the product's own
//!    bearer token.
//!
//! Free of HTTP: methods and route patterns are plain strings.

use crate::error::{ApiError, Refusal};
use crate::support::text::truncate;
pub(crate) use crate::world::store::TeamRef;
use crate::world::store::{ApiUserId, Directory, Owner, Product, Store, Team, UserId};

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
    /// A device route (devices spec D1): API users need this scope; users, customers and
    /// product tokens pass, and the device domain then decides by ownership, product
    /// role, customer or product.
    Device(&'static str),
    /// No bearer token: the route authenticates its own way (client credentials, Basic
    /// auth, possession of the token it revokes) or not at all.
    Public,
}

impl Need {
    /// In words, for the OpenAPI document (`x-particle-token`).
    pub(crate) fn describe(self) -> String {
        match self {
            Need::AnyToken => "any live token".into(),
            Need::Person => "a user or customer token (API users refused)".into(),
            Need::Human => "a user token (API users, customers and products refused)".into(),
            Need::Scope(scope) => {
                format!("a team member, the product, or an API user with scope {scope}")
            }
            Need::Device(scope) => format!(
                "the device's owner or customer, a product member by role, the product, or an API user with scope {scope}"
            ),
            Need::Public => "no bearer token".into(),
        }
    }
}

/// The documented refusal for a token that is not the kind a route is for (§3.6, exact
/// body), with `why` for the journal.
pub(crate) fn not_allowed(why: &str) -> Refusal {
    ApiError::api_users_not_allowed().because(why.to_string())
}

/// The human user behind `owner`, or the documented refusal.
pub(crate) fn human(owner: Owner) -> Result<UserId, Refusal> {
    match owner {
        Owner::User(id) => Ok(id),
        _ => Err(not_allowed("a non-user token called a human-only endpoint")),
    }
}

/// Step 1: whether the token's kind may call the route at all (no resource looked up yet).
///
/// Takes the store rather than the directory so that only an API user's call on a scoped
/// route reads the directory (its lock is not taken on the hot path of other tokens).
pub(crate) fn check_need(store: &Store, owner: Owner, need: Need) -> Result<(), Refusal> {
    match need {
        Need::AnyToken | Need::Public => Ok(()),
        Need::Human => human(owner).map(|_| ()),
        Need::Person => match owner {
            Owner::User(_) | Owner::Customer(_) => Ok(()),
            Owner::ApiUser(_) | Owner::Product(_) => Err(not_allowed(
                "an API user or product token called a person-only endpoint",
            )),
        },
        Need::Device(scope) => match owner {
            Owner::User(_) | Owner::Customer(_) | Owner::Product(_) => Ok(()),
            Owner::ApiUser(id) => api_user_scope(store, id, scope),
        },
        Need::Scope(scope) => match owner {
            Owner::User(_) | Owner::Product(_) => Ok(()),
            Owner::Customer(_) => Err(ApiError::Unauthorized(
                "Customer tokens are not allowed to call this endpoint".into(),
            )
            .because("a customer token called a product endpoint")),
            Owner::ApiUser(id) => api_user_scope(store, id, scope),
        },
    }
}

/// Whether the API user holds `scope`; the §3.6 refusal otherwise.
fn api_user_scope(store: &Store, id: ApiUserId, scope: &str) -> Result<(), Refusal> {
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

/// `403 unauthorized` naming the missing scope (the real wording is unknown, §3.6).
pub(crate) fn insufficient_scope(scope: &str) -> Refusal {
    ApiError::Unauthorized(format!(
        "Insufficient scope: this endpoint requires {scope}"
    ))
    .because(format!("missing scope {scope}"))
}

/// The refusal for a product that does not exist or that the caller may not see: 403
/// `Permission denied` (account spec A11, what production answered in 2025; it
/// supersedes the 2018 recording of 404 `Product not found.`).
pub(crate) fn product_permission_denied() -> ApiError {
    ApiError::Forbidden("Permission denied".into())
}

/// The product a resolved team is, or the same refusal as for an unknown product (an org
/// is not a product): shared by the product resources and product device membership.
pub(crate) fn product_by_id(directory: &Directory, team: &Team) -> Result<Product, ApiError> {
    match team {
        Team::Product(id) => directory
            .products
            .iter()
            .find(|p| p.id == *id)
            .cloned()
            .ok_or_else(product_permission_denied),
        Team::Org(_) => Err(product_permission_denied()),
    }
}

/// The refusal for a role too low for a change (account spec A1's suggestion).
pub(crate) fn role_permission_denied(why: &str) -> Refusal {
    ApiError::Forbidden("Permission Denied".into()).because(why.to_string())
}

/// The team a path names, or 403 `Permission denied` (product) / 404 `Organization not found.`.
pub(crate) fn resolve(directory: &Directory, target: TeamRef<'_>) -> Result<Team, Refusal> {
    directory.team(target).ok_or_else(|| match target {
        TeamRef::Product(key) => {
            product_permission_denied().because(format!("unknown product `{}`", truncate(key)))
        }
        TeamRef::Org(key) => ApiError::NotFound("Organization not found.".into())
            .because(format!("unknown org `{}`", truncate(key))),
    })
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
pub(crate) fn covers(directory: &Directory, within: &Team, team: &Team) -> bool {
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
) -> Result<Team, Refusal> {
    let team = resolve(directory, target)?;
    let word = team_word(&team);
    match owner {
        Owner::User(user) => {
            if role_in(directory, user, &team).is_none() && matches!(team, Team::Product(_)) {
                return Err(product_permission_denied()
                    .because("user is not a member of the product".to_string()));
            }
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
) -> Result<Team, Refusal> {
    let user = human(owner)?;
    let team = authorize(directory, owner, target)?;
    if !matches!(
        role_in(directory, user, &team).as_deref(),
        Some("Administrator" | "Owner")
    ) {
        let word = team_word(&team);
        return Err(ApiError::Forbidden(format!(
            "Only an Administrator of this {word} may manage its API users."
        ))
        .because(format!("user is not an Administrator of the {word}")));
    }
    Ok(team)
}

/// Step 2 for writes to customers and OAuth clients (account spec A1, D-TAC): a human
/// needs the Developer role or higher (Owner, Administrator, Developer); an API user of
/// the team has passed its scope check; the product's own token only when
/// `product_token_may` (customers: yes, OAuth clients: refused).
pub(crate) fn authorize_developer(
    directory: &Directory,
    owner: Owner,
    target: TeamRef<'_>,
    product_token_may: bool,
) -> Result<Team, Refusal> {
    let team = authorize(directory, owner, target)?;
    match owner {
        Owner::User(user)
            if !matches!(
                role_in(directory, user, &team).as_deref(),
                Some("Owner" | "Administrator" | "Developer")
            ) =>
        {
            return Err(role_permission_denied(
                "a View-only or Support member tried a change",
            ));
        }
        Owner::Product(_) if !product_token_may => {
            return Err(role_permission_denied(
                "a product token called an OAuth-client route",
            ))
        }
        _ => {}
    }
    Ok(team)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::world::fixtures::Fixtures;

    #[test]
    fn the_fixture_api_user_is_checked_scope_by_scope() {
        let store = Store::from_fixtures(&Fixtures::default_set());
        let api = Owner::ApiUser(0);
        assert!(check_need(&store, api, Need::Scope("devices:list")).is_ok());
        let refusal = check_need(&store, api, Need::Scope("customers:list")).unwrap_err();
        assert_eq!(refusal.reason(), "missing scope customers:list");
        assert_eq!(
            check_need(&store, api, Need::Person).unwrap_err().error,
            ApiError::api_users_not_allowed()
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
                .error,
            ApiError::Forbidden("Permission denied".into())
        );
    }
}
