//! [`CountedMap`]: the credential tables' map (access tokens, refresh tokens, MFA
//! challenges). Beside the sharded map it keeps its length in an atomic counter, a lower
//! bound on its earliest expiry (so the periodic sweep skips a table in which nothing can
//! have expired), and the next entries to evict at the cap, picked ahead of time (so a new
//! entry at the cap evicts one in O(log n) instead of scanning the table).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hash::Hash;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::clock::Millis;
use crate::support::budget::Tally;
use crate::support::maps::{big_map, shrink_if_sparse, FastMap};
/// A record that may expire, for [`CountedMap`]'s sweep and eviction.
pub(crate) trait Expiring {
    /// When it expires; `None`: never.
    fn expires_at(&self) -> Option<Millis>;

    /// Whether it may be evicted at the cap (when it expires at all).
    fn evictable(&self) -> bool {
        true
    }
}

/// The expiry of `value` if it may be evicted at the cap.
fn evictable_at<V: Expiring>(value: &V) -> Option<Millis> {
    value.expires_at().filter(|_| value.evictable())
}

/// The candidates for eviction at the cap: a min-heap of (expiry, key), and the bound
/// below which it is complete.
#[derive(Debug)]
struct Candidates<K> {
    heap: BinaryHeap<Reverse<(Millis, K)>>,
}

/// A [`FastMap`] that keeps its length in an atomic counter (the cap is checked before
/// every insert, and `DashMap::len` would lock every shard to count), a lower bound on
/// its earliest expiry, and its eviction candidates.
///
/// **Eviction order.** [`CountedMap::prepare`] picks, in one pass that keeps only them,
/// the `batch` evictable entries closest to expiry into a min-heap and records the
/// largest expiry picked as `complete_below`: from then on, every evictable entry
/// expiring before that bound is in the heap, because an insert below it pushes itself
/// (an O(1) check that, for tokens issued with the usual lifetimes, is always false).
/// Popping the heap therefore yields the soonest-expiring evictable entry in O(log n).
/// An entry removed meanwhile leaves a stale candidate, skipped when it is popped (its
/// expiry is checked against the map). The pass runs ahead of the cap in the background
/// (the housekeeper prepares a table past 15/16 of its cap), so the request path pays it
/// only when it outruns the housekeeper (or for a small cap, where it is cheap).
/// Concurrent inserts racing a pass may be missed by it: they are then evicted a little
/// later than their expiry says, never wrongly kept or wrongly evicted.
pub(crate) struct CountedMap<K, V> {
    map: FastMap<K, V>,
    len: AtomicUsize,
    /// No entry expires before this (a lower bound): the periodic sweep skips the scan
    /// of a table in which nothing can have expired yet.
    earliest_expiry: AtomicI64,
    /// The next entries to evict at the cap.
    candidates: Mutex<Candidates<K>>,
    /// Every evictable entry expiring before this is among the candidates
    /// (`Millis::MIN`: none is known, the candidates are empty).
    complete_below: AtomicI64,
    /// How many candidates are queued (stale ones included), readable without the lock.
    queued: AtomicUsize,
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

impl<K: Eq + Hash + Ord + Clone, V: Expiring> Default for CountedMap<K, V> {
    fn default() -> Self {
        Self::with_tally(None)
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

    /// The entry's value, to change anything but its expiry.
    pub(crate) fn get_mut(&mut self) -> &mut V {
        self.entry.get_mut()
    }

    /// Removes the entry.
    pub(crate) fn remove(self) -> V {
        let table = self.table;
        let (_, value) = self.entry.remove_entry();
        table.shrank(1);
        value
    }
}

impl<K: Eq + Hash + Ord + Clone, V: Expiring> CountedMap<K, V> {
    fn with_tally(tally: Option<Arc<Tally>>) -> Self {
        Self {
            map: big_map(),
            len: AtomicUsize::new(0),
            earliest_expiry: AtomicI64::new(Millis::MAX),
            candidates: Mutex::new(Candidates {
                heap: BinaryHeap::new(),
            }),
            complete_below: AtomicI64::new(Millis::MIN),
            queued: AtomicUsize::new(0),
            tally,
        }
    }

    /// An empty table whose entries also count in `tally`.
    pub(crate) fn counted_in(tally: Arc<Tally>) -> Self {
        Self::with_tally(Some(tally))
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
        let at = value.expires_at();
        if let Some(at) = at {
            self.earliest_expiry.fetch_min(at, Ordering::AcqRel);
        }
        let evict_at = evictable_at(&value);
        let pushed_key = evict_at
            .filter(|at| *at < self.complete_below.load(Ordering::Acquire))
            .map(|at| (at, key.clone()));
        let old = self.map.insert(key, value);
        if old.is_none() {
            self.grew(1);
        }
        if let Some((at, key)) = pushed_key {
            // Expires before every entry the candidates left out: it must be one.
            let mut candidates = self.candidates.lock();
            if at < self.complete_below.load(Ordering::Acquire) {
                candidates.heap.push(Reverse((at, key)));
                self.queued.store(candidates.heap.len(), Ordering::Release);
            }
        }
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
        if removed.is_some() {
            self.shrank(1);
        }
        removed
    }

    /// Keeps the entries for which `keep` is true (a full scan: revocations of every
    /// token of one owner).
    pub(crate) fn retain(&self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        let mut gone = 0;
        self.map.retain(|k, v| {
            let kept = keep(k, v);
            gone += usize::from(!kept);
            kept
        });
        self.shrank(gone);
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

    /// Whether the table is past 15/16 of `cap` with fewer than a quarter of `batch`
    /// candidates left: the housekeeper then [prepares](Self::prepare) the next ones, off
    /// the request path and before the last is used.
    pub(crate) fn wants_candidates(&self, cap: usize, batch: usize) -> bool {
        self.len() >= cap - cap / 16 && self.queued.load(Ordering::Acquire) < batch.div_ceil(4)
    }

    /// Picks the `batch` evictable entries closest to expiry as the candidates, in one
    /// pass over the table that keeps only them, replacing those left (the pass saw them
    /// too); whether there was any evictable entry.
    pub(crate) fn prepare(&self, batch: usize) -> bool {
        // A bounded max-heap over one pass: O(batch) memory, not a copy of the table.
        let evictable = self
            .map
            .iter()
            .filter_map(|e| Some((evictable_at(e.value())?, e.key().clone())));
        let (picked, more) = crate::support::paging::smallest_after(evictable, None, batch.max(1));
        let Some(last) = picked.last() else {
            return false;
        };
        // Everything left out expires at or after the last one picked; when nothing was
        // left out, every new evictable entry must be a candidate.
        let bound = if more { last.0 } else { Millis::MAX };
        let mut candidates = self.candidates.lock();
        // Entries pushed during the pass (they expire before the old bound) are kept:
        // the pass may have missed them. Those it saw come twice; the second is stale.
        let pushed_during_pass = std::mem::take(&mut candidates.heap)
            .into_iter()
            .filter(|Reverse((at, _))| *at < bound);
        let mut heap: BinaryHeap<_> = picked.into_iter().map(Reverse).collect();
        heap.extend(pushed_during_pass);
        candidates.heap = heap;
        self.queued.store(candidates.heap.len(), Ordering::Release);
        self.complete_below.store(bound, Ordering::Release);
        true
    }

    /// Evicts the evictable entry closest to expiry (expired ones first), preparing the
    /// candidates first if there are none (a pass over the table, the rare case: the
    /// housekeeper normally has them ready); `false` when nothing may be evicted.
    pub(crate) fn evict_one(&self, batch: usize) -> bool {
        loop {
            let next = {
                let mut candidates = self.candidates.lock();
                let next = candidates.heap.pop();
                if candidates.heap.is_empty() {
                    // Nothing known any more: inserts stop pushing until the next pass.
                    self.complete_below.store(Millis::MIN, Ordering::Release);
                }
                self.queued.store(candidates.heap.len(), Ordering::Release);
                next
            };
            match next {
                Some(Reverse((at, key))) => {
                    let evicted = self.remove_if(&key, |_, v| evictable_at(v) == Some(at));
                    if evicted.is_some() {
                        return true;
                    }
                    // A stale candidate (revoked, refreshed or evicted meanwhile): next.
                }
                None => {
                    if !self.prepare(batch) {
                        return false;
                    }
                }
            }
        }
    }

    /// Removes the entries expired at `now`; returns how many. O(1) while nothing can
    /// have expired yet (a table of 90-day tokens is not scanned every sweep).
    pub(crate) fn evict_expired(&self, now: Millis) -> usize {
        if now < self.earliest_expiry.load(Ordering::Acquire) {
            return 0;
        }
        // Inserts racing with the scan lower the bound again after this reset, so none
        // is forgotten; the scan then lowers it to the earliest expiry it kept.
        self.earliest_expiry.store(Millis::MAX, Ordering::Release);
        let mut evicted = 0;
        let mut earliest = Millis::MAX;
        self.retain(|_, v| match v.expires_at() {
            Some(at) if at <= now => {
                evicted += 1;
                false
            }
            Some(at) => {
                earliest = earliest.min(at);
                true
            }
            None => true,
        });
        self.earliest_expiry.fetch_min(earliest, Ordering::AcqRel);
        if evicted > 0 {
            // After a flood has expired, give the memory of its oversized table back.
            shrink_if_sparse(&self.map, self.len());
        }
        evicted
    }

    /// Up to `limit` live entries (not expired at `now`) with keys after `after`, in key
    /// order, whether more follow, and how many live entries there are in all: one pass
    /// over the table that keeps only the page (no copy of the table).
    pub(crate) fn page(
        &self,
        after: Option<&K>,
        limit: usize,
        now: Millis,
    ) -> (Vec<(K, V)>, bool, usize)
    where
        V: Clone,
    {
        let mut live = 0usize;
        let keys = self.map.iter().filter_map(|e| {
            let expired = e.value().expires_at().is_some_and(|at| at <= now);
            live += usize::from(!expired);
            (!expired).then(|| e.key().clone())
        });
        let (keys, more) = crate::support::paging::smallest_after(keys, after, limit);
        let page = keys
            .into_iter()
            .filter_map(|k| {
                let value = self.map.get(&k)?.value().clone();
                Some((k, value))
            })
            .collect();
        (page, more, live)
    }

    /// The live entries at sorted positions `skip .. skip + limit` (a numbered page),
    /// whether more follow, and how many are live in all: one pass collecting the live
    /// keys, then two linear-time selections and a sort of the page, so page 15,000
    /// costs what page 1 does (reading every page before it made it quadratic).
    pub(crate) fn page_at(
        &self,
        skip: usize,
        limit: usize,
        now: Millis,
    ) -> (Vec<(K, V)>, bool, usize)
    where
        V: Clone,
    {
        #[cfg(test)]
        PASSES.with(|p| p.set(p.get() + 1));
        let mut keys: Vec<K> = self
            .map
            .iter()
            .filter(|e| e.value().expires_at().is_none_or(|at| at > now))
            .map(|e| e.key().clone())
            .collect();
        let live = keys.len();
        if skip >= live || limit == 0 {
            return (Vec::new(), false, live);
        }
        keys.select_nth_unstable(skip);
        let rest = &mut keys[skip..];
        let more = rest.len() > limit;
        if more {
            rest.select_nth_unstable(limit);
        }
        let end = limit.min(rest.len());
        let page = &mut rest[..end];
        page.sort_unstable();
        let page = page
            .iter()
            .filter_map(|k| {
                let value = self.map.get(k)?.value().clone();
                Some((k.clone(), value))
            })
            .collect();
        (page, more, live)
    }
}

#[cfg(test)]
thread_local! {
    /// How many passes over a table numbered pages made (a cost bound a test can assert
    /// as a count, not as a time).
    pub(crate) static PASSES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::store::{AccessToken, Owner};

    fn token(expires_at: Option<Millis>, pinned: bool) -> AccessToken {
        AccessToken {
            owner: Owner::User(0),
            client: 0,
            expires_at,
            pinned,
        }
    }

    #[test]
    fn eviction_takes_the_soonest_to_expire_and_never_a_kept_entry() {
        // Arrange: expiries in scrambled order, one pinned, one never expiring.
        let table: CountedMap<[u8; 20], AccessToken> = CountedMap::default();
        for k in 0..8u8 {
            table.insert([k; 20], token(Some(1_000 + i64::from((k * 5) % 8)), false));
        }
        table.insert([100; 20], token(Some(1), true));
        table.insert([101; 20], token(None, false));
        // Act + Assert: one entry per call, soonest first (k*5 % 8 = 0, 1, 2, …), with
        // candidates prepared two at a time.
        let mut order: Vec<u8> = Vec::new();
        for _ in 0..8 {
            assert!(table.evict_one(2));
            let gone = (0..8u8).find(|k| !table.contains_key(&[*k; 20]) && !order.contains(k));
            order.push(gone.unwrap());
        }
        assert_eq!(order, [0, 5, 2, 7, 4, 1, 6, 3]);
        assert!(!table.evict_one(2));
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn an_insert_below_the_candidates_bound_is_evicted_first() {
        // Arrange: candidates prepared from expiries 100..=103 (two picked: 100, 101).
        let table: CountedMap<[u8; 20], AccessToken> = CountedMap::default();
        for k in 0..4u8 {
            table.insert([k; 20], token(Some(100 + i64::from(k)), false));
        }
        assert!(table.prepare(2));
        // Act: a token that expires sooner than all of them, and one later.
        table.insert([50; 20], token(Some(10), false));
        table.insert([51; 20], token(Some(500), false));
        // Assert: it goes first, then the prepared ones, then a new pass.
        assert!(table.evict_one(2));
        assert!(!table.contains_key(&[50; 20]));
        assert!(table.evict_one(2) && table.evict_one(2));
        assert!(!table.contains_key(&[0; 20]) && !table.contains_key(&[1; 20]));
        assert!(table.evict_one(2));
        assert!(!table.contains_key(&[2; 20]));
        assert!(table.contains_key(&[51; 20]));
    }

    #[test]
    fn a_stale_candidate_is_skipped() {
        let table: CountedMap<[u8; 20], AccessToken> = CountedMap::default();
        table.insert([1; 20], token(Some(10), false));
        table.insert([2; 20], token(Some(20), false));
        assert!(table.prepare(2));
        // Revoked after it became a candidate, then replaced by a later one.
        assert!(table.remove(&[1; 20]).is_some());
        table.insert([1; 20], token(Some(30), false));
        assert!(table.evict_one(2));
        assert!(!table.contains_key(&[2; 20]));
        assert!(table.contains_key(&[1; 20]));
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn the_housekeeper_is_wanted_past_fifteen_sixteenths_of_the_cap() {
        // Arrange: 15 of a cap of 16, no candidates yet.
        let table: CountedMap<[u8; 20], AccessToken> = CountedMap::default();
        for k in 0..15u8 {
            table.insert([k; 20], token(Some(100), false));
        }
        assert!(table.wants_candidates(16, 8));
        assert!(!table.wants_candidates(17, 8), "below 15/16 of the cap");
        // Act + Assert: 8 candidates satisfy it until fewer than 2 (a quarter) are left.
        assert!(table.prepare(8));
        assert!(!table.wants_candidates(16, 8));
        for k in 20..26u8 {
            assert!(table.evict_one(8));
            table.insert([k; 20], token(Some(200), false));
        }
        assert!(!table.wants_candidates(16, 8), "two left");
        assert!(table.evict_one(8));
        table.insert([30; 20], token(Some(200), false));
        assert!(
            table.wants_candidates(16, 8),
            "one left: the next batch is wanted"
        );
        assert!(!CountedMap::<[u8; 20], AccessToken>::default().wants_candidates(16, 8));
    }

    #[test]
    fn pages_follow_the_keys_and_skip_expired_entries() {
        let table: CountedMap<[u8; 20], AccessToken> = CountedMap::default();
        for k in 0..7u8 {
            table.insert([k; 20], token(Some(100 + i64::from(k)), false));
        }
        table.insert([7; 20], token(None, false));
        let keys =
            |page: &[([u8; 20], AccessToken)]| page.iter().map(|(k, _)| k[0]).collect::<Vec<_>>();
        // 0 and 1 have expired at 101.
        let (first, more, live) = table.page(None, 3, 101);
        assert_eq!((keys(&first), more, live), (vec![2, 3, 4], true, 6));
        let (rest, more, _) = table.page(Some(&[4; 20]), 3, 101);
        assert_eq!((keys(&rest), more), (vec![5, 6, 7], false));
    }

    #[test]
    fn the_sweep_drops_what_expired_and_skips_a_table_with_nothing_expired() {
        let table: CountedMap<[u8; 20], AccessToken> = CountedMap::default();
        table.insert([1; 20], token(Some(100), false));
        table.insert([2; 20], token(Some(300), true));
        table.insert([3; 20], token(None, false));
        assert_eq!(table.evict_expired(99), 0);
        assert_eq!(table.evict_expired(150), 1);
        // After a scan, an insert that expires before the earliest kept one still counts.
        table.insert([4; 20], token(Some(200), false));
        assert_eq!(table.evict_expired(250), 1);
        assert_eq!(table.evict_expired(300), 1);
        assert_eq!(table.len(), 1);
        assert!(table.contains_key(&[3; 20]));
    }

    #[test]
    fn a_deep_numbered_page_is_one_pass_and_agrees_with_the_cursor_pages() {
        // Issue 27 (2): page 15,000 read every page before it.
        let table: CountedMap<[u8; 20], AccessToken> = CountedMap::default();
        for k in 0..3_000u16 {
            let mut key = [0u8; 20];
            key[..2].copy_from_slice(&k.wrapping_mul(7919).to_be_bytes());
            table.insert(key, token(None, false));
        }
        let before = PASSES.with(std::cell::Cell::get);
        let (deep, more, live) = table.page_at(2_998, 1, 0);
        assert_eq!(PASSES.with(std::cell::Cell::get) - before, 1);
        assert_eq!((deep.len(), more, live), (1, true, 3_000));
        let (all, _, _) = table.page(None, 1_000, 0);
        let (rest, _, _) = table.page(all.last().map(|e| &e.0), 1_000, 0);
        let (rest2, _, _) = table.page(rest.last().map(|e| &e.0), 1_000, 0);
        assert_eq!(deep[0].0, rest2[998].0);
        let (last, more, _) = table.page_at(2_999, 5, 0);
        assert_eq!((last.len(), more), (1, false));
        assert!(table.page_at(3_000, 5, 0).0.is_empty());
    }
}
