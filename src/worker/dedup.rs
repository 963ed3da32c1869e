//! Idempotent publish in the topic object: the core's in-memory [`DedupFilter`] answers
//! most lookups; the entries it forgets while still inside the window (more than
//! `DEDUP_MEMORY_PAIRS`, default 200,000, pairs in one window) are kept in the
//! `dedup_spill` table, keyed by their hash, and looked up there only when the filter
//! cannot answer alone. A publish of a new pair thus reads nothing and writes only its
//! event row, however full the window.

use super::storage::Db;
use crate::core::{pair_hash, DedupFilter, Lookup, Seq};
use worker::Result;

/// The dedup state of one topic.
pub struct Dedup {
    filter: DedupFilter,
    /// The topic predates the spill table and has the `(source, eid)` index.
    legacy_index: bool,
    /// When to delete spilled entries that left the window (`None`: nothing spilled).
    sweep_at: Option<u64>,
}

impl Dedup {
    /// Loads the filter with the newest pairs (at most `capacity`) accepted since `since`.
    pub fn load(db: &Db, now: u64, since: u64, capacity: usize) -> Result<Dedup> {
        let sweep_at = db.expire_spilled(since)?.then_some(now);
        Ok(Dedup {
            filter: db.dedup_filter(since, capacity.max(1))?,
            legacy_index: db.has_legacy_dedup_index()?,
            sweep_at,
        })
    }

    /// Forgets pairs accepted before `since`, and every so often (once per `window`)
    /// deletes spilled entries that left the window.
    pub fn expire(&mut self, db: &Db, now: u64, since: u64, window: u64) -> Result<()> {
        self.filter.expire(since);
        if self.sweep_at.is_some_and(|t| now >= t) {
            self.sweep_at = db.expire_spilled(since)?.then(|| now.saturating_add(window));
        }
        Ok(())
    }

    /// The seq of the event accepted with (`source`, `id`) at or after `since`, if any.
    pub fn lookup(&self, db: &Db, source: &str, id: &str, since: u64) -> Result<Option<Seq>> {
        match self.filter.lookup(source, id, since) {
            Lookup::New => Ok(None),
            Lookup::Maybe(seq) => db.confirm_duplicate(seq, source, id, since),
            Lookup::Unknown => {
                if let Some(seq) = db.spilled(pair_hash(source, id), since)? {
                    if let Some(seq) = db.confirm_duplicate(seq, source, id, since)? {
                        return Ok(Some(seq));
                    }
                }
                if self.legacy_index {
                    return db.find_duplicate(source, id, since);
                }
                Ok(None)
            }
        }
    }

    /// Records an accepted pair, spilling the entry the filter forgets to make room.
    pub fn accepted(
        &mut self,
        db: &Db,
        now: u64,
        window: u64,
        source: &str,
        id: &str,
        seq: Seq,
    ) -> Result<()> {
        if let Some(s) = self.filter.insert(now, source, id, seq) {
            db.spill(&s)?;
            self.sweep_at.get_or_insert(now.saturating_add(window));
        }
        Ok(())
    }

    /// Forgets everything (the topic was deleted).
    pub fn clear(&mut self, now: u64) {
        self.filter.clear(now);
        self.sweep_at = None;
    }
}
