//! The sharded map type of the big tables (tokens, rate-limit clients, MFA challenges).

use std::hash::Hash;

use dashmap::DashMap;

/// A sharded map hashed with foldhash: several times cheaper than the standard SipHash
/// on the hot path (every login inserts two tokens, every call looks one up), and seeded
/// per map so that crafted keys cannot aim at one bucket.
pub(crate) type FastMap<K, V> = DashMap<K, V, foldhash::fast::RandomState>;

/// A [`FastMap`] for a table that may grow to millions of entries (tokens, rate-limit
/// clients): 64 shards, so that a shard doubling its table copies 1/64 of the entries
/// while requests to that shard wait (a latency spike 16 times smaller than with the
/// default 4 shards of a 1-core process).
pub(crate) fn big_map<K: Eq + Hash, V>() -> FastMap<K, V> {
    FastMap::with_hasher_and_shard_amount(foldhash::fast::RandomState::default(), 64)
}

/// Shrinks a map of `len` entries whose table is more than four times larger than that
/// (the memory a flood left behind once it has been evicted).
pub(crate) fn shrink_if_sparse<K: Eq + Hash, V>(map: &FastMap<K, V>, len: usize) {
    if len.saturating_mul(4) < map.capacity() {
        map.shrink_to_fit();
    }
}
