//! The live credentials of one world (access tokens, refresh tokens, `mfa_token`s) and
//! the [`Store`] that holds them beside the directory: what every login writes and every
//! authenticated call reads, in sharded maps whose atomic `remove` makes a refresh token
//! or an `mfa_token` single-use.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

use crate::clock::{parse_iso8601, Millis};
use crate::error::ApiError;
use crate::support::budget::Tally;
use crate::tokens::{parse_token, TokenKey};
use crate::world::fixtures::Fixtures;
use crate::world::settings::Budgets;
use crate::world::store::{ApiUserId, ClientIdx, Directory, UserId};
use crate::world::tables::{CountedMap, Expiring};
use crate::world::webhooks::WebhookBook;

/// Whom an access token acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Owner {
    /// A human user.
    User(UserId),
    /// An API user.
    ApiUser(ApiUserId),
    /// A product bearer token (client_credentials without a customer).
    Product(u32),
    /// A customer of a product (index into the directory's customers).
    Customer(u32),
}

/// A live access token, compact: the key is the map's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AccessToken {
    pub owner: Owner,
    pub client: ClientIdx,
    /// `None`: never expires.
    pub expires_at: Option<Millis>,
    /// A fixtures' token: never evicted at `--max-tokens` (API users' tokens are not
    /// either, whatever this says).
    pub pinned: bool,
}

/// A live refresh token.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct RefreshToken {
    pub owner: Owner,
    pub client: ClientIdx,
    pub expires_at: Millis,
    /// The access-token lifetime to grant again, in seconds.
    pub lifetime: i64,
}

/// An outstanding MFA challenge.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct MfaChallenge {
    pub user: UserId,
    pub client: ClientIdx,
    pub expires_at: Millis,
    /// Wrong OTPs so far.
    pub failures: u8,
    /// Lifetime requested by the password grant that raised the challenge (seconds; 0 = never).
    pub lifetime: i64,
}

/// Everything one world holds that `reset` puts back.
#[derive(Debug, Default)]
pub(crate) struct Store {
    /// Users, products, teams…: read on every login, written by rare control calls.
    pub directory: RwLock<Directory>,
    /// Live access tokens by key.
    pub tokens: CountedMap<TokenKey, AccessToken>,
    /// Live refresh tokens by key.
    pub refresh_tokens: CountedMap<TokenKey, RefreshToken>,
    /// Outstanding MFA challenges by `mfa_token`.
    pub mfa_challenges: CountedMap<String, MfaChallenge>,
    /// Webhooks and integrations, and the log of their deliveries (D7).
    pub webhooks: WebhookBook,
    /// The server-wide tally of directory records (`--max-total-records`), if counted.
    records: Option<Arc<Tally>>,
    /// What this store took of it (given back when the store is dropped: a reset or a
    /// deleted tenant).
    records_taken: AtomicUsize,
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Some(records) = &self.records {
            records.give(*self.records_taken.get_mut());
        }
    }
}

impl Store {
    /// A store holding the fixtures' directory and pre-issued tokens, counted in no
    /// server-wide tally (tests, fuzzing).
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn from_fixtures(fixtures: &Fixtures) -> Self {
        Self::fill(Store::default(), fixtures)
    }

    /// A world's store: the fixtures' directory and tokens, its credentials and records
    /// counted in the server's tallies (the fixtures' records are taken whatever the
    /// cap: a tenant is refused before its store is built).
    pub(crate) fn for_world(fixtures: &Fixtures, budgets: &Budgets) -> Self {
        let count = fixtures.record_count();
        budgets.records.take(count);
        let store = Store {
            directory: RwLock::default(),
            tokens: CountedMap::counted_in(budgets.credentials.clone()),
            refresh_tokens: CountedMap::counted_in(budgets.credentials.clone()),
            mfa_challenges: CountedMap::counted_in(budgets.credentials.clone()),
            webhooks: WebhookBook::default(),
            records: Some(budgets.records.clone()),
            records_taken: AtomicUsize::new(count),
        };
        Self::fill(store, fixtures)
    }

    /// A world's store holding `directory` (read from a state document) and no
    /// credentials yet, its records counted in the server's tallies as a fixtures
    /// document's are.
    pub(crate) fn from_directory(directory: Directory, budgets: &Budgets) -> Self {
        let count = directory.users.iter().flatten().count()
            + directory.customers.iter().flatten().count()
            + directory.devices.len()
            + directory.clients.iter().filter(|c| c.live).count()
            + directory.api_users.iter().flatten().count();
        budgets.records.take(count);
        Store {
            directory: RwLock::new(directory),
            tokens: CountedMap::counted_in(budgets.credentials.clone()),
            refresh_tokens: CountedMap::counted_in(budgets.credentials.clone()),
            mfa_challenges: CountedMap::counted_in(budgets.credentials.clone()),
            webhooks: WebhookBook::default(),
            records: Some(budgets.records.clone()),
            records_taken: AtomicUsize::new(count),
        }
    }

    /// Takes room for one more directory record in the server-wide tally; `503` when
    /// all worlds together hold `--max-total-records`.
    pub(crate) fn take_record(&self) -> Result<(), ApiError> {
        let Some(records) = &self.records else {
            return Ok(());
        };
        if !records.try_take(1) {
            return Err(ApiError::ServerFull {
                what: "directory records",
                max: records.cap(),
                option: "--max-total-records",
            });
        }
        self.records_taken.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Gives back a record taken by [`Store::take_record`] that was not made after all.
    pub(crate) fn give_record(&self) {
        if let Some(records) = &self.records {
            records.give(1);
            self.records_taken.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Loads `fixtures` into the empty `store`.
    fn fill(store: Store, fixtures: &Fixtures) -> Self {
        let directory = Directory::from_fixtures(fixtures);
        for (i, api_user) in directory.api_users.iter().enumerate() {
            if let Some(a) = api_user {
                store.tokens.insert(
                    a.token,
                    AccessToken {
                        owner: Owner::ApiUser(i as ApiUserId),
                        client: 0,
                        expires_at: None,
                        pinned: true,
                    },
                );
            }
        }
        let user_ids: HashMap<String, UserId> = directory
            .users
            .iter()
            .enumerate()
            .filter_map(|(i, u)| Some((u.as_ref()?.email.to_ascii_lowercase(), i as UserId)))
            .collect();
        let client_ids: HashMap<&str, ClientIdx> = directory
            .clients
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.as_str(), i as ClientIdx))
            .collect();
        for t in &fixtures.tokens {
            let user = user_ids.get(&t.user.to_ascii_lowercase()).copied();
            let client = client_ids.get(t.client.as_str()).copied();
            if let (Some(key), Some(user), Some(client)) = (parse_token(&t.token), user, client) {
                let expires_at = t.expires_at.as_deref().and_then(parse_iso8601);
                store.tokens.insert(
                    key,
                    AccessToken {
                        owner: Owner::User(user),
                        client,
                        expires_at,
                        pinned: true,
                    },
                );
            }
        }
        *store.directory.write() = directory;
        store
    }

    /// Removes expired access tokens, refresh tokens and MFA challenges; returns how many.
    ///
    /// Counted inside `retain`, not as a difference of lengths: other requests insert
    /// concurrently, so the maps may hold more afterwards than before.
    pub fn evict_expired(&self, now: Millis) -> usize {
        self.tokens.evict_expired(now)
            + self.refresh_tokens.evict_expired(now)
            + self.mfa_challenges.evict_expired(now)
    }

    /// The OAuth clients some live credential still names (a deleted client's slot is
    /// reused only once none does).
    pub(crate) fn clients_named(&self) -> std::collections::HashSet<ClientIdx> {
        let mut named = std::collections::HashSet::new();
        named.extend(self.tokens.iter().map(|t| t.value().client));
        named.extend(self.refresh_tokens.iter().map(|t| t.value().client));
        named.extend(self.mfa_challenges.iter().map(|c| c.value().client));
        named
    }

    /// Revokes every access and refresh token of `owner`; returns how many access tokens.
    /// (Counted inside `retain`: concurrent inserts make a difference of lengths wrong.)
    pub fn revoke_all_of(&self, owner: Owner) -> usize {
        let mut revoked = 0usize;
        self.tokens.retain(|_, t| {
            let keep = t.owner != owner;
            revoked += usize::from(!keep);
            keep
        });
        self.refresh_tokens.retain(|_, t| t.owner != owner);
        revoked
    }
}

impl Expiring for AccessToken {
    fn expires_at(&self) -> Option<Millis> {
        self.expires_at
    }

    fn evictable(&self) -> bool {
        !self.pinned && !matches!(self.owner, Owner::ApiUser(_))
    }
}

impl Expiring for RefreshToken {
    fn expires_at(&self) -> Option<Millis> {
        Some(self.expires_at)
    }
}

impl Expiring for MfaChallenge {
    fn expires_at(&self) -> Option<Millis> {
        Some(self.expires_at)
    }
}
