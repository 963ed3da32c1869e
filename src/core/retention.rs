//! Retention: an event every channel has finished stays for `retention_ms` after its
//! acceptance (for `seek`), then is pruned. Each event is pruned when its own time
//! comes: an older dead letter, deferred or in-flight message pins only itself, never
//! the finished events after it.

use super::broker::Broker;
use super::store::{Store, StoreResult};
use super::timers::Timer;
use super::{Millis, Seq};

/// Events pruned per call; more go on in the next call.
const PRUNE_BATCH: usize = 1_000;
/// How often to look again when nothing can be pruned yet.
const RECHECK_MS: Millis = 3_600_000;

impl Broker {
    /// Every event below this seq is past every channel's cursor and not a first
    /// delivery in flight (those have no row to pin them).
    fn needed_below(&self) -> Seq {
        self.channels
            .values()
            .map(|c| c.in_flight.keys().next().map_or(c.row.cursor, |&s| s.min(c.row.cursor)))
            .min()
            .unwrap_or(self.head + 1)
    }

    /// Deletes finished events whose retention ran out, then sets the next prune time.
    pub(super) fn prune(&mut self, now: Millis, store: &mut dyn Store) -> StoreResult<()> {
        self.prune_at = None;
        let below = self.needed_below();
        let cutoff = now.saturating_sub(self.limits.retention_ms);
        let pruned = store.prune_events(below, cutoff, PRUNE_BATCH)?;
        if let Some(&last) = pruned.last() {
            self.pruned_total += pruned.len() as u64;
            self.max_pruned = self.max_pruned.max(last);
            store.set_meta("pruned_total", &self.pruned_total.to_string())?;
            store.set_meta("max_pruned", &self.max_pruned.to_string())?;
            store.set_meta("head", &self.head.to_string())?;
            if self.recent.front().is_some_and(|h| h.seq <= last) {
                self.recent.clear();
            }
            for c in self.channels.values_mut() {
                c.lookahead.clear();
            }
        }
        if pruned.len() == PRUNE_BATCH {
            self.set_prune(now);
            return Ok(());
        }
        self.arm_prune(now, store)
    }

    /// Sets the prune timer from the oldest event that pruning may remove.
    pub(super) fn arm_prune(&mut self, now: Millis, store: &mut dyn Store) -> StoreResult<()> {
        if self.retained() == 0 {
            return Ok(());
        }
        let at = match store.oldest_prunable(self.needed_below())? {
            Some(ts) => ts.saturating_add(self.limits.retention_ms).max(now),
            None => now.saturating_add(RECHECK_MS.min(self.limits.retention_ms)),
        };
        self.set_prune(at);
        Ok(())
    }

    /// New events were stored: make sure a prune is scheduled.
    pub(super) fn note_published(&mut self, now: Millis, _store: &mut dyn Store) -> StoreResult<()> {
        if self.prune_at.is_none() {
            self.set_prune(now.saturating_add(self.limits.retention_ms));
        }
        Ok(())
    }

    fn set_prune(&mut self, at: Millis) {
        if let Some(old) = self.prune_at.take() {
            self.timers.remove(&(old, Timer::Prune));
        }
        self.prune_at = Some(at);
        self.timers.insert((at, Timer::Prune));
    }
}
