//! [`Tally`]: a server-wide count with a cap, shared by every world (the default world
//! and each tenant), so that per-world caps multiplied by the number of tenants cannot
//! grow memory without bound.

use std::sync::atomic::{AtomicUsize, Ordering};

/// How much of something all worlds hold together, and the most they may.
#[derive(Debug)]
pub(crate) struct Tally {
    used: AtomicUsize,
    cap: usize,
}

impl Tally {
    /// An empty tally allowing `cap`.
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            used: AtomicUsize::new(0),
            cap,
        }
    }

    /// The cap.
    pub(crate) fn cap(&self) -> usize {
        self.cap
    }

    /// How much is held now.
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Whether the cap is reached.
    pub(crate) fn is_full(&self) -> bool {
        self.used() >= self.cap
    }

    /// Takes `n` if that stays within the cap; whether it did (never over the cap, under
    /// any concurrency).
    pub(crate) fn try_take(&self, n: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|after| *after <= self.cap)
            })
            .is_ok()
    }

    /// Takes `n` whatever the cap (what is counted but cannot be refused: a fixtures
    /// document being loaded, an entry the caller has made room for).
    pub(crate) fn take(&self, n: usize) {
        self.used.fetch_add(n, Ordering::AcqRel);
    }

    /// Gives back `n`.
    pub(crate) fn give(&self, n: usize) {
        // Saturating: a give never goes below zero, whatever the interleaving.
        let _ = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                Some(used.saturating_sub(n))
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_stop_at_the_cap_and_gives_free_room() {
        let tally = Tally::new(3);
        assert!(tally.try_take(2));
        assert!(!tally.try_take(2));
        assert!(tally.try_take(1));
        assert!(tally.is_full());
        tally.give(2);
        assert_eq!(tally.used(), 1);
        tally.take(5);
        assert_eq!(tally.used(), 6);
        tally.give(10);
        assert_eq!(tally.used(), 0);
    }
}
