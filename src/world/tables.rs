//! [`CountedMap`]: the credential tables' map (access tokens, refresh tokens, MFA
//! challenges). Beside the sharded map it keeps its length in an atomic counter and an
//! ordered index of every entry by eviction order, so that at the `--max-tokens` cap the
//! next entry to evict is found in O(log n), the periodic sweep visits only what has
//! expired, and the control API pages through a table without copying it.

use std::collections::BTreeSet;
use std::hash::Hash;
use std::ops::Bound;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::clock::Millis;
use crate::support::budget::Tally;
use crate::support::maps::{big_map, shrink_if_sparse, FastMap};
use crate::world::store::{AccessToken, MfaChallenge, Owner, RefreshToken};

/// Whether an entry may be evicted at the cap: [`Tier::Evictable`] entries sort first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Tier {
    /// An expiring token that is not pinned: evicted at the cap, soonest expiry first.
    Evictable,
    /// Never evicted at the cap: the fixtures' tokens, API users' tokens and tokens that
    /// never expire (only the sweep removes them, once expired, or a revocation).
    Kept,
}

/// Where an entry sits in a [`CountedMap`]'s order: its tier, then its expiry
/// (`Millis::MAX`: never), then its key. Also the control API's paging cursor.
pub(crate) type Position<K> = (Tier, Millis, K);

/// A record that may expire, for [`CountedMap`]'s order.
pub(crate) trait Expiring {
    /// When it expires; `None`: never.
    fn expires_at(&self) -> Option<Millis>;

    /// Whether it may be evicted at the cap (when it expires at all).
    fn evictable(&self) -> bool {
        true
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

/// The position of `value` under `key`.
fn position<K: Clone, V: Expiring>(key: &K, value: &V) -> Position<K> {
    let at = value.expires_at();
    let tier = match at {
        Some(_) if value.evictable() => Tier::Evictable,
        _ => Tier::Kept,
    };
    (tier, at.unwrap_or(Millis::MAX), key.clone())
}

/// Expired positions dropped per lock of the order by a sweep, so that inserts wait
/// for at most one batch however many entries expired at once.
const SWEEP_BATCH: usize = 4096;

/// A [`FastMap`] that keeps its length in an atomic counter (the cap is checked before
/// every insert, and `DashMap::len` would lock every shard to count) and every entry's
/// [`Position`] in an ordered index. Only the operations the credential tables need,
/// each keeping both exact.
///
/// The index is updated after the map, under its own lock, and never with a shard lock
/// wanted while it is held (no deadlock): every entry of the map is in the index, and
/// a position whose entry was removed or replaced concurrently may linger; every reader
/// of the index checks the map and drops such a stale position when it meets one.
pub(crate) struct CountedMap<K, V> {
    map: FastMap<K, V>,
    len: AtomicUsize,
    order: Mutex<BTreeSet<Position<K>>>,
    /// The server-wide tally this table's entries count in (`--max-total-tokens`).
    tally: Option<Arc<Tally>>,
}

impl<K: Eq + Hash, V> std::fmt::Debug for CountedMap<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CountedMap")
            .field("len", &self.len.load(Ordering::Relaxed))
            .finish()
    }
}

impl<K: Eq + Hash + Ord + Clone + Default, V: Expiring> Default for CountedMap<K, V> {
    fn default() -> Self {
        Self {
            map: big_map(),
            len: AtomicUsize::new(0),
            order: Mutex::new(BTreeSet::new()),
            tally: None,
        }
    }
}

impl<K, V> Drop for CountedMap<K, V> {
    fn drop(&mut self) {
        // A world reset or deleted gives its entries' room back to the server.
        if let Some(tally) = &self.tally {
            tally.give(*self.len.get_mut());
        }
    }
}

/// An entry of a [`CountedMap`] held under its shard's write lock (one caller at a time
/// per key: what makes an `mfa_token` single-use under concurrency).
pub(crate) struct Occupied<'a, K: Eq + Hash + Ord + Clone, V: Expiring> {
    entry: dashmap::mapref::entry::OccupiedEntry<'a, K, V>,
    table: &'a CountedMap<K, V>,
}

impl<K: Eq + Hash + Ord + Clone, V: Expiring> Occupied<'_, K, V> {
    /// The entry's value.
    pub(crate) fn get(&self) -> &V {
        self.entry.get()
    }

    /// The entry's value, to change anything but its expiry (the index keeps the
    /// position it was inserted with).
    pub(crate) fn get_mut(&mut self) -> &mut V {
        self.entry.get_mut()
    }

    /// Removes the entry.
    pub(crate) fn remove(self) -> V {
        let table = self.table;
        let (key, value) = self.entry.remove_entry();
        table.shrank(1);
        table.order.lock().remove(&position(&key, &value));
        value
    }
}

impl<K, V> CountedMap<K, V> {
    /// Counts `n` more entries, here and in the server-wide tally.
    fn grew(&self, n: usize) {
        self.len.fetch_add(n, Ordering::Relaxed);
        if let Some(tally) = &self.tally {
            tally.take(n);
        }
    }

    /// Counts `n` fewer entries, here and in the server-wide tally.
    fn shrank(&self, n: usize) {
        self.len.fetch_sub(n, Ordering::Relaxed);
        if let Some(tally) = &self.tally {
            tally.give(n);
        }
    }
}

impl<K: Eq + Hash + Ord + Clone + Default, V: Expiring> CountedMap<K, V> {
    /// An empty table whose entries also count in `tally`.
    pub(crate) fn counted_in(tally: Arc<Tally>) -> Self {
        Self {
            map: big_map(),
            len: AtomicUsize::new(0),
            order: Mutex::new(BTreeSet::new()),
            tally: Some(tally),
        }
    }

    /// Whether the server-wide tally is full (all worlds together hold their most).
    pub(crate) fn over_total(&self) -> bool {
        self.tally.as_ref().is_some_and(|t| t.is_full())
    }

    /// How many entries (one atomic load).
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// Whether the map is empty.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Inserts or replaces; returns the replaced value.
    pub(crate) fn insert(&self, key: K, value: V) -> Option<V> {
        let at = position(&key, &value);
        let old = self.map.insert(key, value);
        let mut order = self.order.lock();
        match &old {
            Some(old) => {
                order.remove(&position(&at.2, old));
            }
            None => self.grew(1),
        }
        order.insert(at);
        old
    }

    /// Removes `key`; returns its entry.
    pub(crate) fn remove(&self, key: &K) -> Option<(K, V)> {
        self.remove_if(key, |_, _| true)
    }

    /// Removes `key` if `keep_out` says so, atomically; returns its entry.
    pub(crate) fn remove_if(
        &self,
        key: &K,
        keep_out: impl FnOnce(&K, &V) -> bool,
    ) -> Option<(K, V)> {
        let removed = self.map.remove_if(key, keep_out);
        if let Some((k, v)) = &removed {
            self.shrank(1);
            self.order.lock().remove(&position(k, v));
        }
        removed
    }

    /// Keeps the entries for which `keep` is true (a full scan: revocations of every
    /// token of one owner).
    pub(crate) fn retain(&self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        let mut gone = Vec::new();
        self.map.retain(|k, v| {
            let kept = keep(k, v);
            if !kept {
                gone.push(position(k, v));
            }
            kept
        });
        self.shrank(gone.len());
        let mut order = self.order.lock();
        for at in &gone {
            order.remove(at);
        }
    }

    /// The entry for `key`, read-locked.
    pub(crate) fn get(&self, key: &K) -> Option<dashmap::mapref::one::Ref<'_, K, V>> {
        self.map.get(key)
    }

    /// The entry for `key`, write-locked until the [`Occupied`] is dropped.
    pub(crate) fn occupied(&self, key: K) -> Option<Occupied<'_, K, V>> {
        match self.map.entry(key) {
            dashmap::mapref::entry::Entry::Occupied(entry) => Some(Occupied { entry, table: self }),
            dashmap::mapref::entry::Entry::Vacant(_) => None,
        }
    }

    /// Every entry (each shard read-locked in turn): a full scan.
    pub(crate) fn iter(&self) -> dashmap::iter::Iter<'_, K, V, foldhash::fast::RandomState> {
        self.map.iter()
    }

    /// Whether `key` is present.
    pub(crate) fn contains_key(&self, key: &K) -> bool {
        self.map.contains_key(key)
    }

    /// Removes the entry at `at` if it is still there with that position; whether it was.
    fn remove_at(&self, at: &Position<K>) -> bool {
        self.map
            .remove_if(&at.2, |k, v| position(k, v) == *at)
            .inspect(|_| self.shrank(1))
            .is_some()
    }

    /// Evicts one entry to make room for an insert, in O(log n): the evictable entry
    /// closest to expiry (an expired one first, as those sort first), or else a kept one
    /// that has expired at `now`. `false` when there is none: every entry is kept and
    /// live.
    pub(crate) fn evict_one(&self, now: Millis) -> bool {
        loop {
            let at = {
                let mut order = self.order.lock();
                let next = order
                    .iter()
                    .next()
                    .filter(|first| first.0 == Tier::Evictable)
                    .or_else(|| {
                        order
                            .range((Tier::Kept, Millis::MIN, first_key_bound())..)
                            .next()
                    })
                    .cloned();
                match next {
                    Some(at) if at.0 == Tier::Evictable || at.1 <= now => {
                        order.remove(&at);
                        at
                    }
                    _ => return false,
                }
            };
            if self.remove_at(&at) {
                return true;
            }
            // A stale position (its entry was removed or replaced meanwhile): dropped; next.
        }
    }

    /// Removes the entries expired at `now`; returns how many. Visits only the expired
    /// entries (a table of 90-day tokens costs nothing to sweep), in batches.
    pub(crate) fn evict_expired(&self, now: Millis) -> usize {
        let mut evicted = 0;
        for tier in [Tier::Evictable, Tier::Kept] {
            loop {
                let batch: Vec<Position<K>> = {
                    let mut order = self.order.lock();
                    let expired: Vec<Position<K>> = order
                        .range((tier, Millis::MIN, first_key_bound())..)
                        .take_while(|at| at.0 == tier && at.1 <= now)
                        .take(SWEEP_BATCH)
                        .cloned()
                        .collect();
                    for at in &expired {
                        order.remove(at);
                    }
                    expired
                };
                let full = batch.len() == SWEEP_BATCH;
                evicted += batch.iter().filter(|at| self.remove_at(at)).count();
                if !full {
                    break;
                }
            }
        }
        if evicted > 0 {
            // After a flood has expired, give the memory of its oversized table back.
            shrink_if_sparse(&self.map, self.len());
        }
        evicted
    }

    /// How many entries expired at `now` are still in the table (the sweep has not
    /// reached them yet): O(expired).
    pub(crate) fn expired_count(&self, now: Millis) -> usize {
        let order = self.order.lock();
        [Tier::Evictable, Tier::Kept]
            .into_iter()
            .map(|tier| {
                order
                    .range((tier, Millis::MIN, first_key_bound())..)
                    .take_while(|at| at.0 == tier && at.1 <= now)
                    .count()
            })
            .sum()
    }

    /// Up to `limit` live entries (not expired at `now`, accepted by `wanted`) after
    /// `cursor`, in [`Position`] order, with the position to resume from when there may
    /// be more. Copies only the page: the index is read `limit` positions at a time and
    /// the map entries looked up after its lock is let go.
    pub(crate) fn page(
        &self,
        cursor: Option<&Position<K>>,
        limit: usize,
        now: Millis,
        mut wanted: impl FnMut(&K, &V) -> bool,
    ) -> (Vec<(K, V)>, Option<Position<K>>)
    where
        V: Clone,
    {
        let mut page = Vec::new();
        let mut from = cursor.cloned();
        while page.len() < limit {
            let batch: Vec<Position<K>> = {
                let order = self.order.lock();
                let start = match &from {
                    Some(at) => Bound::Excluded(at),
                    None => Bound::Unbounded,
                };
                order
                    .range((start, Bound::Unbounded))
                    .take(limit - page.len())
                    .cloned()
                    .collect()
            };
            let Some(last) = batch.last().cloned() else {
                return (page, None);
            };
            for at in batch {
                if at.1 <= now {
                    continue;
                }
                if let Some(entry) = self.map.get(&at.2) {
                    if position(entry.key(), entry.value()) == at && wanted(&at.2, entry.value()) {
                        page.push((at.2.clone(), entry.value().clone()));
                    }
                }
            }
            from = Some(last);
        }
        (page, from)
    }
}

/// The smallest key, as a range bound: `(tier, MIN, ..)` must sort before every key.
/// Keys are compared last, so any key works as long as the range starts at
/// `Millis::MIN`, which no entry has (expiries are clamped to the representable dates).
fn first_key_bound<K>() -> K
where
    K: Default,
{
    K::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(expires_at: Option<Millis>, pinned: bool) -> AccessToken {
        AccessToken {
            owner: Owner::User(0),
            client: 0,
            expires_at,
            pinned,
        }
    }

    #[test]
    fn eviction_takes_the_soonest_to_expire_and_never_a_kept_live_entry() {
        // Arrange: expiries in scrambled order, one pinned, one never expiring.
        let table: CountedMap<[u8; 20], AccessToken> = CountedMap::default();
        for k in 0..8u8 {
            table.insert([k; 20], token(Some(1_000 + i64::from((k * 5) % 8)), false));
        }
        table.insert([100; 20], token(Some(1), true));
        table.insert([101; 20], token(None, false));
        // Act + Assert: one entry per call, soonest first (k*5 % 8 = 0, 1, 2, …).
        let mut order: Vec<u8> = Vec::new();
        for _ in 0..8 {
            assert!(table.evict_one(500));
            let gone = (0..8u8).find(|k| !table.contains_key(&[*k; 20]) && !order.contains(k));
            order.push(gone.unwrap());
        }
        assert_eq!(order, [0, 5, 2, 7, 4, 1, 6, 3]);
        assert_eq!(table.len(), 2);
        // The pinned entry goes once it has expired (it is dead anyway); never the other.
        assert!(table.evict_one(500));
        assert!(!table.contains_key(&[100; 20]));
        assert!(!table.evict_one(i64::MAX - 1));
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn a_stale_position_is_skipped_and_dropped() {
        let table: CountedMap<[u8; 20], AccessToken> = CountedMap::default();
        table.insert([1; 20], token(Some(10), false));
        table.insert([2; 20], token(Some(20), false));
        // A position left behind by a concurrent replace: in the index, not in the map.
        table.order.lock().insert((Tier::Evictable, 5, [9; 20]));
        assert!(table.evict_one(0));
        assert!(!table.contains_key(&[1; 20]));
        assert!(table.contains_key(&[2; 20]));
        assert_eq!(table.order.lock().len(), 1);
    }

    #[test]
    fn replacing_and_removing_keep_the_index_in_step() {
        let table: CountedMap<[u8; 20], AccessToken> = CountedMap::default();
        table.insert([1; 20], token(Some(10), false));
        table.insert([1; 20], token(None, false));
        table.insert([2; 20], token(Some(30), false));
        table.retain(|k, _| *k != [2; 20]);
        assert_eq!(table.len(), 1);
        assert_eq!(
            table.order.lock().iter().cloned().collect::<Vec<_>>(),
            [(Tier::Kept, Millis::MAX, [1; 20])]
        );
        assert!(table.remove(&[1; 20]).is_some());
        assert!(table.order.lock().is_empty());
    }

    #[test]
    fn the_sweep_visits_only_what_expired() {
        let table: CountedMap<[u8; 20], AccessToken> = CountedMap::default();
        for k in 0..10u8 {
            table.insert([k; 20], token(Some(i64::from(k) * 10), k == 9));
        }
        table.insert([50; 20], token(None, false));
        assert_eq!(table.expired_count(45), 5);
        assert_eq!(table.evict_expired(45), 5);
        assert_eq!(table.evict_expired(45), 0);
        // A pinned entry is swept once expired, like any other.
        assert_eq!(table.evict_expired(90), 5);
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn pages_follow_the_order_and_skip_expired_entries() {
        let table: CountedMap<[u8; 20], AccessToken> = CountedMap::default();
        for k in 0..7u8 {
            table.insert([k; 20], token(Some(100 + i64::from(k)), false));
        }
        table.insert([7; 20], token(None, false));
        let (first, next) = table.page(None, 3, 101, |_, _| true);
        let keys =
            |page: &[([u8; 20], AccessToken)]| page.iter().map(|(k, _)| k[0]).collect::<Vec<_>>();
        // 0 and 1 have expired at 101: skipped, the page still holds 3.
        assert_eq!(keys(&first), [2, 3, 4]);
        let (second, next) = table.page(next.as_ref(), 3, 101, |_, _| true);
        assert_eq!(keys(&second), [5, 6, 7]);
        let (rest, next) = table.page(next.as_ref(), 3, 101, |_, _| true);
        assert!(rest.is_empty());
        assert!(next.is_none());
    }
}
