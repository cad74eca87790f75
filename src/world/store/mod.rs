//! One world's data: the directory (users, products, orgs, teams, clients, customers,
//! devices, API users) and the live credentials (access tokens, refresh tokens,
//! `mfa_token`s).
//!
//! The directory changes rarely (control calls, team and MFA endpoints) and is read on
//! every login, so it sits behind one `RwLock`. Credentials are written on every login and
//! read on every authenticated call, so they live in sharded `DashMap`s; an atomic
//! `remove` is what makes a refresh token or an `mfa_token` single-use under concurrency.
//! No guard is ever held across an `.await` (nothing here is async). The credentials and
//! the [`Store`] holding both are in `credentials`; this file is the directory.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::clock::Millis;
use crate::tokens::{parse_token, token_hex, TokenKey};
use crate::totp::TotpSecret;
use crate::world::devices::DeviceActivity;
use crate::world::fixtures::{DeviceFixture, Fixtures};
use crate::world::password::Password;

mod credentials;

pub(crate) use credentials::{AccessToken, MfaChallenge, Owner, RefreshToken, Store};

/// Index of a user in the directory.
pub(crate) type UserId = u32;
/// Index of an API user in the directory.
pub(crate) type ApiUserId = u32;
/// Index of an OAuth client in the directory.
pub(crate) type ClientIdx = u16;

/// The OAuth clients every world has (particle-api.md §1.2): secret = id.
pub(crate) const BUILT_IN_CLIENTS: [&str; 3] = ["particle", "particle-api", "particle-cli"];

/// A product or org as a path or a control call names it (numeric id, 24-hex id, or slug).
#[derive(Debug, Clone, Copy)]
pub(crate) enum TeamRef<'a> {
    /// `/v1/products/{productIdOrSlug}`.
    Product(&'a str),
    /// `/v1/orgs/{orgIdOrSlug}`.
    Org(&'a str),
}

/// A product or an org: what a team, membership or API user belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) enum Team {
    /// A product, by numeric id.
    Product(u32),
    /// An org, by its 24-hex id.
    Org(String),
}

/// A user's MFA enrolment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Mfa {
    pub secret: TotpSecret,
    /// Recovery codes with their used flag.
    pub recovery_codes: Vec<(String, bool)>,
    /// The last TOTP step accepted for this user (replay protection).
    pub last_step: Option<i64>,
}

/// An MFA enrolment begun by `GET /v1/user/mfa-enable` and not yet confirmed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PendingEnrolment {
    pub mfa_token: String,
    pub secret: TotpSecret,
    pub expires_at: Millis,
}

/// A human account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct User {
    pub email: String,
    pub password: Password,
    pub first_name: String,
    pub last_name: String,
    /// `account_info.company_name` (A2.2); empty when never set.
    pub company_name: String,
    /// `account_info.business_account` (A2.2).
    pub business_account: bool,
    pub mfa: Option<Mfa>,
    pub pending_enrolment: Option<PendingEnrolment>,
}

/// An outstanding password reset (`POST /v1/user/password-reset`, A2.5): redeemed once
/// by `PUT /v1/user/password-reset`, readable through the control API.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PasswordReset {
    pub user: UserId,
    /// 40 hex characters.
    pub token: String,
    pub expires_at: Millis,
}

/// A product.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Product {
    pub id: u32,
    pub slug: String,
    pub name: String,
    pub platform_id: u32,
    pub org: Option<String>,
}

/// An org.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Org {
    pub id: String,
    pub slug: String,
    /// The display name from the fixtures (`GET /v1/orgs`).
    pub name: String,
}

/// A human's role in a team.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Membership {
    pub user: UserId,
    pub team: Team,
    pub role: String,
}

/// Who owns an OAuth client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum ClientKind {
    /// `particle`, `particle-api`, `particle-cli`: people log in through these.
    Developer,
    /// A product's OAuth client: product bearer tokens, customer tokens.
    Product(u32),
    /// A user's own OAuth client (`/v1/clients`, account spec A4): people log in through
    /// it, and its client_credentials tokens act for its owner.
    User(UserId),
}

/// An OAuth client.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Client {
    pub id: String,
    pub secret: String,
    pub kind: ClientKind,
    /// Its display name (empty for the built-in clients).
    pub name: String,
    /// `installed` or `web`.
    pub client_type: String,
    /// A web client's redirect URI.
    pub redirect_uri: Option<String>,
    /// The scope it was created with (`customers:create`, `*:*`), if any.
    pub scope: Option<String>,
    /// False once deleted: its credentials fail, its index stays (tokens name it).
    pub live: bool,
}

impl Client {
    /// A live client with no name, type `installed`.
    pub(crate) fn new(id: String, secret: String, kind: ClientKind) -> Self {
        Self {
            id,
            secret,
            kind,
            name: String::new(),
            client_type: "installed".into(),
            redirect_uri: None,
            scope: None,
            live: true,
        }
    }
}

/// A product's customer (`None` in the directory once deleted: indices stay, tokens name them).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Customer {
    pub email: String,
    pub password: Option<Password>,
    pub product: u32,
}

/// An API user (particle-api.md §3).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ApiUser {
    pub username: String,
    pub friendly_name: String,
    pub team: Team,
    pub scopes: Vec<String>,
    /// Its one valid token.
    #[serde(with = "token_hex")]
    pub token: TokenKey,
}

/// The slow-changing part of a world.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(crate) struct Directory {
    pub users: Vec<Option<User>>,
    pub products: Vec<Product>,
    pub orgs: Vec<Org>,
    pub memberships: Vec<Membership>,
    pub clients: Vec<Client>,
    pub customers: Vec<Option<Customer>>,
    pub devices: Vec<DeviceFixture>,
    /// What the devices have seen (calls, claim codes) and the offline delay: capped,
    /// cleared by a reset with the rest of the directory.
    pub device_activity: DeviceActivity,
    pub api_users: Vec<Option<ApiUser>>,
    /// Outstanding password resets, oldest first (capped by the account code).
    pub password_resets: Vec<PasswordReset>,
}

/// The slot a new record takes in a table whose deletions leave `None`: the first one a
/// deletion emptied, or the end. Deleted records so give their room back (the caps count
/// live records) and a table never grows past the most it held live at once.
pub(crate) fn next_slot<T>(slots: &[Option<T>]) -> usize {
    slots
        .iter()
        .position(Option::is_none)
        .unwrap_or(slots.len())
}

/// Puts `value` in slot `index` (from [`next_slot`]).
pub(crate) fn put<T>(slots: &mut Vec<Option<T>>, index: usize, value: T) {
    match slots.get_mut(index) {
        Some(slot) => *slot = Some(value),
        None => slots.push(Some(value)),
    }
}

/// Whether a table of deleted-leaves-`None` slots may take one more live record under
/// `cap` (live records only count).
pub(crate) fn has_room<T>(slots: &[Option<T>], cap: usize) -> bool {
    next_slot(slots) < cap
}

impl Directory {
    /// Removes user `id` and everything of theirs the directory holds: team
    /// memberships, outstanding password resets, their own OAuth clients (deleted: a
    /// later user may take the slot and must not inherit them), and device ownership.
    /// Whether there was such a user. `DELETE /v1/user` and the control API share it,
    /// so the two clean up alike.
    pub fn remove_user(&mut self, id: UserId) -> bool {
        let Some(user) = self.users.get_mut(id as usize).and_then(Option::take) else {
            return false;
        };
        self.memberships.retain(|m| m.user != id);
        self.password_resets.retain(|r| r.user != id);
        for c in &mut self.clients {
            if c.kind == ClientKind::User(id) {
                c.live = false;
            }
        }
        for d in &mut self.devices {
            if d.owner
                .as_deref()
                .is_some_and(|o| o.eq_ignore_ascii_case(&user.email))
            {
                d.owner = None;
            }
        }
        true
    }

    /// Finds a live user by email, case-insensitively.
    pub fn user_by_email(&self, email: &str) -> Option<(UserId, &User)> {
        self.users.iter().enumerate().find_map(|(i, u)| {
            u.as_ref()
                .filter(|u| u.email.eq_ignore_ascii_case(email))
                .map(|u| (i as UserId, u))
        })
    }

    /// Whether a person or an API user already goes by `username` (any case): sign-up,
    /// username changes and API-user names all check it.
    pub fn username_taken(&self, username: &str) -> bool {
        self.user_by_email(username).is_some()
            || self
                .api_users
                .iter()
                .flatten()
                .any(|a| a.username.eq_ignore_ascii_case(username))
    }

    /// A live user by id.
    pub fn user(&self, id: UserId) -> Option<&User> {
        self.users.get(id as usize).and_then(Option::as_ref)
    }

    /// A live user by id, mutably.
    pub fn user_mut(&mut self, id: UserId) -> Option<&mut User> {
        self.users.get_mut(id as usize).and_then(Option::as_mut)
    }

    /// A product by numeric id or slug.
    pub fn product(&self, key: &str) -> Option<&Product> {
        // The key parsed once, not every id formatted for the comparison.
        let id = key
            .parse::<u32>()
            .ok()
            .filter(|_| !key.starts_with(['+', '0']) || key == "0");
        self.products
            .iter()
            .find(|p| Some(p.id) == id || p.slug == key)
    }

    /// An org by id or slug.
    pub fn org(&self, key: &str) -> Option<&Org> {
        self.orgs.iter().find(|o| o.slug == key || o.id == key)
    }

    /// A live customer by index.
    pub fn customer(&self, index: u32) -> Option<&Customer> {
        self.customers.get(index as usize).and_then(Option::as_ref)
    }

    /// The live customer of `product` with `email` (any case), with its index.
    pub fn customer_by_email(&self, product: u32, email: &str) -> Option<(u32, &Customer)> {
        self.customers.iter().enumerate().find_map(|(i, c)| {
            c.as_ref()
                .filter(|c| c.product == product && c.email.eq_ignore_ascii_case(email))
                .and_then(|c| Some((u32::try_from(i).ok()?, c)))
        })
    }

    /// A live client by its id.
    pub fn client_by_id(&self, id: &str) -> Option<(ClientIdx, &Client)> {
        self.clients
            .iter()
            .enumerate()
            .find(|(_, c)| c.live && c.id == id)
            .map(|(i, c)| (i as ClientIdx, c))
    }

    /// The client id of an index (empty if unknown).
    pub fn client_name(&self, idx: ClientIdx) -> &str {
        self.clients.get(idx as usize).map_or("", |c| c.id.as_str())
    }

    /// A live API user by id.
    pub fn api_user(&self, id: ApiUserId) -> Option<&ApiUser> {
        self.api_users.get(id as usize).and_then(Option::as_ref)
    }

    /// The orgs a user belongs to.
    pub fn orgs_of(&self, user: UserId) -> Vec<&Org> {
        self.memberships
            .iter()
            .filter(|m| m.user == user)
            .filter_map(|m| match &m.team {
                Team::Org(id) => self.orgs.iter().find(|o| &o.id == id),
                Team::Product(_) => None,
            })
            .collect()
    }

    /// The team `target` names: the ONE team resolver (routes, the control API and the
    /// fixtures all go through it, each saying "unknown" its own way).
    pub fn team(&self, target: TeamRef<'_>) -> Option<Team> {
        match target {
            TeamRef::Product(key) => self.product(key).map(|p| Team::Product(p.id)),
            TeamRef::Org(key) => self.org(key).map(|o| Team::Org(o.id.clone())),
        }
    }

    /// Builds the directory of a validated fixtures document.
    ///
    /// Every reference is resolved through a hash map built here (users by email,
    /// products and orgs by key): loading costs O(n) in the document's size.
    fn from_fixtures(fixtures: &Fixtures) -> Self {
        let mut dir = Directory::default();
        let user_ids: HashMap<String, UserId> = fixtures
            .users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.email.to_ascii_lowercase(), i as UserId))
            .collect();
        let user_of = |email: &str| user_ids.get(&email.to_ascii_lowercase()).copied();
        let mut product_ids: HashMap<String, u32> = HashMap::new();
        for p in &fixtures.products {
            product_ids.insert(p.id.to_string(), p.id);
            product_ids.insert(p.slug.clone(), p.id);
        }
        let product_of = |key: &str| product_ids.get(key).copied();
        let mut org_ids: HashMap<&str, &str> = HashMap::new();
        for o in &fixtures.orgs {
            org_ids.insert(&o.id, &o.id);
            org_ids.insert(&o.slug, &o.id);
        }
        let team_of = |product: Option<&str>, org: Option<&str>| match (product, org) {
            (Some(p), _) => product_of(p).map(Team::Product),
            (None, Some(o)) => org_ids.get(o).map(|id| Team::Org((*id).to_string())),
            (None, None) => None,
        };
        for u in &fixtures.users {
            let mfa = u.mfa.as_ref().and_then(|m| {
                Some(Mfa {
                    secret: TotpSecret::from_base32(&m.secret).ok()?,
                    recovery_codes: m
                        .recovery_codes
                        .iter()
                        .map(|c| (c.clone(), false))
                        .collect(),
                    last_step: None,
                })
            });
            dir.users.push(Some(User {
                email: u.email.clone(),
                password: Password::from(u.password.clone()),
                first_name: u.first_name.clone(),
                last_name: u.last_name.clone(),
                company_name: String::new(),
                business_account: false,
                mfa,
                pending_enrolment: None,
            }));
        }
        for o in &fixtures.orgs {
            dir.orgs.push(Org {
                id: o.id.clone(),
                slug: o.slug.clone(),
                name: o.name.clone(),
            });
        }
        for p in &fixtures.products {
            let org = p
                .org
                .as_deref()
                .and_then(|o| org_ids.get(o))
                .map(|id| (*id).to_string());
            dir.products.push(Product {
                id: p.id,
                slug: p.slug.clone(),
                name: p.name.clone(),
                platform_id: p.platform_id,
                org,
            });
        }
        for m in &fixtures.memberships {
            let user = user_of(&m.user);
            let team = team_of(m.product.as_deref(), m.org.as_deref());
            if let (Some(user), Some(team)) = (user, team) {
                dir.memberships.push(Membership {
                    user,
                    team,
                    role: m.role.clone(),
                });
            }
        }
        for id in BUILT_IN_CLIENTS {
            dir.clients
                .push(Client::new(id.into(), id.into(), ClientKind::Developer));
        }
        for c in &fixtures.clients {
            let kind = match (c.product.as_deref(), c.owner.as_deref()) {
                (Some(p), _) => product_of(p).map(ClientKind::Product),
                (None, Some(o)) => user_of(o).map(ClientKind::User),
                (None, None) => None,
            };
            if let Some(kind) = kind {
                let mut client = Client::new(c.id.clone(), c.secret.clone(), kind);
                client.name = c.name.clone();
                client.client_type = c.client_type.clone();
                client.redirect_uri = c.redirect_uri.clone();
                dir.clients.push(client);
            }
        }
        for c in &fixtures.customers {
            if let Some(product) = product_of(&c.product) {
                dir.customers.push(Some(Customer {
                    email: c.email.to_ascii_lowercase(),
                    password: c.password.clone().map(Password::from),
                    product,
                }));
            }
        }
        dir.devices = fixtures.devices.clone();
        for d in &mut dir.devices {
            // Store the product by numeric id whatever the fixture named it by.
            if let Some(p) = d.product.as_deref() {
                d.product = product_of(p).map(|id| id.to_string());
            }
        }
        for a in &fixtures.api_users {
            let team = team_of(a.product.as_deref(), a.org.as_deref());
            if let (Some(team), Some(token)) = (team, parse_token(&a.token)) {
                dir.api_users.push(Some(ApiUser {
                    username: a.username.clone(),
                    friendly_name: a.friendly_name.clone(),
                    team,
                    scopes: a.scopes.clone(),
                    token,
                }));
            }
        }
        dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::tables::CountedMap;

    #[test]
    fn the_default_fixtures_load_users_clients_and_tokens() {
        let store = Store::from_fixtures(&Fixtures::default_set());
        let dir = store.directory.read();
        assert!(dir.user_by_email("USER@example.com").is_some());
        assert_eq!(
            dir.client_by_id("particle-cli").unwrap().1.kind,
            ClientKind::Developer
        );
        assert!(matches!(
            dir.client_by_id("demo-product-2146").unwrap().1.kind,
            ClientKind::Product(1001)
        ));
        let key = parse_token("1111111111111111111111111111111111111111").unwrap();
        assert_eq!(store.tokens.get(&key).unwrap().expires_at, None);
        assert_eq!(dir.product("1001").unwrap().slug, "demo-product");
        assert_eq!(dir.product("demo-product").unwrap().id, 1001);
    }

    #[test]
    fn eviction_drops_only_expired_entries() {
        let store = Store::default();
        let token = |expires_at| AccessToken {
            owner: Owner::User(0),
            client: 0,
            expires_at,
            pinned: false,
        };
        store.tokens.insert([1; 20], token(Some(100)));
        store.tokens.insert([2; 20], token(Some(200)));
        store.tokens.insert([3; 20], token(None));
        assert_eq!(store.evict_expired(100), 1);
        assert_eq!(store.tokens.len(), 2);
        assert!(store.tokens.contains_key(&[3; 20]));
    }

    #[test]
    fn a_sweep_skipped_while_nothing_expired_still_finds_every_expiry_later() {
        let tokens: CountedMap<TokenKey, AccessToken> = CountedMap::default();
        let token = |expires_at| AccessToken {
            owner: Owner::User(0),
            client: 0,
            expires_at,
            pinned: false,
        };
        tokens.insert([1; 20], token(Some(100)));
        tokens.insert([2; 20], token(Some(300)));
        tokens.insert([3; 20], token(None));
        // Nothing expired yet: skipped.
        assert_eq!(tokens.evict_expired(99), 0);
        assert_eq!(tokens.evict_expired(150), 1);
        // After a scan, an insert that expires before the earliest kept one still counts.
        tokens.insert([4; 20], token(Some(200)));
        assert_eq!(tokens.evict_expired(250), 1);
        assert!(!tokens.contains_key(&[4; 20]));
        assert_eq!(tokens.evict_expired(300), 1);
        assert_eq!(tokens.len(), 1);
        // Removals keep the count exact.
        assert!(tokens.remove(&[3; 20]).is_some());
        assert!(tokens.remove(&[3; 20]).is_none());
        assert!(tokens.is_empty());
    }
}
