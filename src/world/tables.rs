//! [`CountedMap`]: the token tables' map, which keeps its length in an atomic counter and
//! a lower bound on its earliest expiry, so the cap check and the periodic sweep are cheap.

use std::hash::Hash;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

use crate::clock::Millis;
use crate::support::maps::{big_map, shrink_if_sparse, FastMap};
use crate::world::store::{AccessToken, RefreshToken};

/// A [`FastMap`] that keeps its length in an atomic counter: the `--max-tokens` cap is
/// checked before every insert, and `DashMap::len` would lock every shard to count.
/// Only the operations the token tables need, each keeping the count exact.
pub(crate) struct CountedMap<K, V> {
    map: FastMap<K, V>,
    len: AtomicUsize,
    /// No entry expires before this (a lower bound): the periodic sweep skips the scan
    /// of a table in which nothing can have expired yet.
    earliest_expiry: AtomicI64,
}

/// A record that may expire, for [`CountedMap`]'s sweep.
pub(crate) trait Expiring {
    /// When it expires; `None`: never.
    fn expires_at(&self) -> Option<Millis>;
}

impl Expiring for AccessToken {
    fn expires_at(&self) -> Option<Millis> {
        self.expires_at
    }
}

impl Expiring for RefreshToken {
    fn expires_at(&self) -> Option<Millis> {
        Some(self.expires_at)
    }
}

impl<K: Eq + Hash + std::fmt::Debug, V: std::fmt::Debug> std::fmt::Debug for CountedMap<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CountedMap")
            .field("len", &self.len.load(Ordering::Relaxed))
            .finish()
    }
}

impl<K: Eq + Hash, V: Expiring> Default for CountedMap<K, V> {
    fn default() -> Self {
        Self {
            map: big_map(),
            len: AtomicUsize::new(0),
            earliest_expiry: AtomicI64::new(Millis::MAX),
        }
    }
}

impl<K: Eq + Hash, V: Expiring> CountedMap<K, V> {
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
        if let Some(at) = value.expires_at() {
            self.earliest_expiry.fetch_min(at, Ordering::AcqRel);
        }
        let old = self.map.insert(key, value);
        if old.is_none() {
            self.len.fetch_add(1, Ordering::Relaxed);
        }
        old
    }

    /// Removes `key`; returns its entry.
    pub(crate) fn remove(&self, key: &K) -> Option<(K, V)> {
        let removed = self.map.remove(key);
        if removed.is_some() {
            self.len.fetch_sub(1, Ordering::Relaxed);
        }
        removed
    }

    /// Removes `key` if `keep_out` says so, atomically; returns its entry.
    pub(crate) fn remove_if(
        &self,
        key: &K,
        keep_out: impl FnOnce(&K, &V) -> bool,
    ) -> Option<(K, V)> {
        let removed = self.map.remove_if(key, keep_out);
        if removed.is_some() {
            self.len.fetch_sub(1, Ordering::Relaxed);
        }
        removed
    }

    /// Keeps the entries for which `keep` is true.
    pub(crate) fn retain(&self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.map.retain(|k, v| {
            let kept = keep(k, v);
            if !kept {
                self.len.fetch_sub(1, Ordering::Relaxed);
            }
            kept
        });
    }

    /// The entry for `key`, read-locked.
    pub(crate) fn get(&self, key: &K) -> Option<dashmap::mapref::one::Ref<'_, K, V>> {
        self.map.get(key)
    }

    /// Whether `key` is present.
    pub(crate) fn contains_key(&self, key: &K) -> bool {
        self.map.contains_key(key)
    }

    /// Every entry (each shard read-locked in turn).
    pub(crate) fn iter(&self) -> dashmap::iter::Iter<'_, K, V, foldhash::fast::RandomState> {
        self.map.iter()
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
            self.shrink_if_sparse();
        }
        evicted
    }

    /// Gives back the memory of a table more than four times larger than its contents.
    fn shrink_if_sparse(&self) {
        shrink_if_sparse(&self.map, self.len());
    }
}
