//! The dedup filter of idempotent publish: the (`source`, `id`) pairs a topic accepted
//! within the dedup window, in memory, so a publish of a new pair needs no storage lookup.
//!
//! It answers "maybe this seq" (a hash match, to be confirmed against the stored event)
//! or "certainly new" (no match, and the filter is complete for the whole window). Entries
//! are 64-bit hashes ([`pair_hash`], stable across builds), so a match must be confirmed.
//! The filter holds at most `capacity` of them: [`DedupFilter::insert`] returns the
//! entries it had to forget while still inside the window, for the driver to keep in
//! storage ("spilled"), and a lookup the filter cannot answer alone says so
//! ([`Lookup::Unknown`]): the driver then looks among the spilled entries. Clock-free:
//! time comes in as arguments. [`Dedup`] is the filter with its spill tables in storage
//! (two generations, emptied whole: [`SpillTables`]) and a Bloom filter of the spilled
//! hashes ([`SpillBloom`]) so that a new pair is not looked up in those tables either,
//! unless the Bloom filter says it may be there.

mod spill;

use super::store::{Store, StoreResult};
use super::{Millis, Seq};
use sha2::{Digest, Sha256};
use spill::{SpillBloom, SpillTables, BLOOM_REBUILD_MOST};
use std::collections::{HashMap, VecDeque};

/// What the filter knows of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// Not accepted within the window.
    New,
    /// Possibly accepted as this seq: confirm against the stored event.
    Maybe(Seq),
    /// The filter forgot part of the window: look among the spilled entries.
    Unknown,
}

/// An entry the filter forgot while it was still inside the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spilled {
    /// Acceptance time.
    pub at: Millis,
    /// [`pair_hash`] of the pair.
    pub hash: u64,
    /// The seq it was accepted as.
    pub seq: Seq,
}

/// Recently accepted pairs of one topic.
#[derive(Debug, Clone)]
pub struct DedupFilter {
    capacity: usize,
    by_hash: HashMap<u64, Seq>,
    /// (acceptance time, hash, seq), oldest first.
    order: VecDeque<(Millis, u64, Seq)>,
    /// The filter knows every pair accepted at or after this time.
    complete_since: Millis,
}

/// The 64-bit hash of a (`source`, `id`) pair: the first 8 bytes of SHA-256 over both,
/// length-prefixed. Stable across builds and Rust releases, since spilled hashes are
/// stored.
pub fn pair_hash(source: &str, id: &str) -> u64 {
    let mut h = Sha256::new();
    h.update((source.len() as u64).to_le_bytes());
    h.update(source.as_bytes());
    h.update(id.as_bytes());
    let d = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    u64::from_le_bytes(first)
}

impl DedupFilter {
    /// An empty filter that knows every pair accepted from `complete_since` on (0 for a
    /// topic that starts empty, or the oldest time the driver loaded), holding at most
    /// `capacity` entries.
    pub fn new(capacity: usize, complete_since: Millis) -> Self {
        DedupFilter { capacity, by_hash: HashMap::new(), order: VecDeque::new(), complete_since }
    }

    /// Records that (`source`, `id`) was accepted as `seq` at `at` (in acceptance order).
    /// Returns the entry forgotten to make room, if the filter was full.
    pub fn insert(&mut self, at: Millis, source: &str, id: &str, seq: Seq) -> Option<Spilled> {
        self.insert_hashed(at, pair_hash(source, id), seq)
    }

    /// [`DedupFilter::insert`] of a pair whose [`pair_hash`] is `h`.
    pub fn insert_hashed(&mut self, at: Millis, h: u64, seq: Seq) -> Option<Spilled> {
        self.by_hash.insert(h, seq);
        self.order.push_back((at, h, seq));
        let mut spilled = None;
        while self.order.len() > self.capacity {
            if let Some((t, h, s)) = self.order.pop_front() {
                self.forget(h, s);
                self.complete_since = self.complete_since.max(t.saturating_add(1));
                spilled = Some(Spilled { at: t, hash: h, seq: s });
            }
        }
        spilled
    }

    fn forget(&mut self, h: u64, seq: Seq) {
        if self.by_hash.get(&h) == Some(&seq) {
            self.by_hash.remove(&h);
        }
    }

    /// Forgets pairs accepted before `since` (the start of the window).
    pub fn expire(&mut self, since: Millis) {
        while let Some(&(t, h, s)) = self.order.front() {
            if t >= since {
                break;
            }
            self.order.pop_front();
            self.forget(h, s);
        }
    }

    /// What the filter knows of (`source`, `id`) for a window starting at `since`.
    pub fn lookup(&self, source: &str, id: &str, since: Millis) -> Lookup {
        self.lookup_hashed(pair_hash(source, id), since)
    }

    /// [`DedupFilter::lookup`] of a pair whose [`pair_hash`] is `h`.
    pub fn lookup_hashed(&self, h: u64, since: Millis) -> Lookup {
        match self.by_hash.get(&h) {
            Some(&seq) => Lookup::Maybe(seq),
            None if self.complete_since <= since => Lookup::New,
            None => Lookup::Unknown,
        }
    }

    /// Forgets everything (the topic was deleted); complete again from `now`.
    pub fn clear(&mut self, now: Millis) {
        self.by_hash.clear();
        self.order.clear();
        self.complete_since = now;
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

/// The dedup state of one topic partition: the in-memory filter answers most lookups;
/// the pairs it forgets while still inside the window are kept in the store's spill
/// tables, keyed by hash, and looked up there only when the filter cannot answer alone.
/// A publish of a new pair thus reads nothing and writes only its event row.
#[derive(Debug)]
pub struct Dedup {
    filter: DedupFilter,
    spill: SpillTables,
    /// The hashes spilled since this filter was made (once any is).
    bloom: Option<SpillBloom>,
    /// `bloom` knows every spilled pair accepted at or after this time: pairs spilled
    /// before a restart (accepted up to the load) are only in the tables.
    bloom_since: Millis,
}

/// The meta row of the capacity the filter was last loaded with.
const CAPACITY_META: &str = "dedup_memory_pairs";

impl Dedup {
    /// Loads the filter with the newest pairs (at most `capacity`) accepted within the
    /// `window` before `now`.
    pub fn load(store: &mut dyn Store, now: Millis, window: Millis, capacity: usize) -> StoreResult<Dedup> {
        let capacity = capacity.max(1);
        let since = now.saturating_sub(window);
        let mut spill = SpillTables::load(store, now)?;
        spill.expire(store, since)?;
        // Pairs past the capacity the previous run held were spilled by it; if it held
        // more than this one will, the ones in between are spilled now. Unrecorded, it
        // was the default (limits can only be lowered from it): a topic on the default
        // writes no row for this.
        let most = crate::proto::Limits::default().dedup_memory_pairs;
        let held = store.meta(CAPACITY_META)?.and_then(|v| v.parse::<usize>().ok()).unwrap_or(most);
        if held != capacity {
            store.set_meta(CAPACITY_META, &capacity.to_string())?;
        }
        let held = held.max(capacity);
        let mut rows = store.recent_pairs(since, held + 1)?;
        // Newest first: past `capacity`, the filter knows only pairs accepted after the
        // first one it leaves out.
        let complete_since = if rows.len() > capacity {
            let left_out = rows[capacity].3;
            let forgot: Vec<Spilled> = rows[capacity..rows.len().min(held)]
                .iter()
                .map(|(source, id, seq, ts)| Spilled { at: *ts, hash: pair_hash(source, id), seq: *seq })
                .collect();
            if !forgot.is_empty() {
                spill.spill(store, now, since, &forgot)?;
            }
            rows.truncate(capacity);
            left_out.saturating_add(1)
        } else {
            0
        };
        // The Bloom filter of what is spilled, rebuilt from the tables if they are small
        // enough; otherwise the tables answer for pairs accepted before now.
        let (bloom, bloom_since) = if spill.used == [false; 2] {
            (None, 0)
        } else if let Some(hashes) = store.spilled_hashes(since, BLOOM_REBUILD_MOST)? {
            let mut b = SpillBloom::new(now, window);
            hashes.into_iter().for_each(|h| b.insert(h));
            (Some(b), 0)
        } else {
            // Pairs spilled before the load, even in its millisecond, are in the tables.
            (None, now.saturating_add(1))
        };
        let mut filter = DedupFilter::new(capacity, complete_since);
        for (source, id, seq, ts) in rows.into_iter().rev() {
            filter.insert(ts, &source, &id, seq);
        }
        Ok(Dedup { filter, spill, bloom, bloom_since })
    }

    /// Forgets pairs accepted before `since`, and empties the spill tables whose pairs
    /// all left the window.
    pub fn expire(
        &mut self,
        store: &mut dyn Store,
        now: Millis,
        since: Millis,
        window: Millis,
    ) -> StoreResult<()> {
        self.filter.expire(since);
        if let Some(b) = self.bloom.as_mut() {
            b.rotate(now, window);
        }
        self.spill.expire(store, since)
    }

    /// The seq of the event accepted with (`source`, `id`) at or after `since`, if any
    /// (`hash`: the pair's [`pair_hash`]).
    pub fn lookup(
        &self,
        store: &dyn Store,
        (source, id, hash): (&str, &str, u64),
        since: Millis,
    ) -> StoreResult<Option<Seq>> {
        let candidates = match self.filter.lookup_hashed(hash, since) {
            Lookup::New => return Ok(None),
            Lookup::Maybe(seq) => vec![seq],
            Lookup::Unknown => {
                let certainly_not =
                    since >= self.bloom_since && self.bloom.as_ref().is_none_or(|b| !b.may_contain(hash));
                if certainly_not {
                    return Ok(None);
                }
                store.spilled(hash, since)?
            }
        };
        for seq in candidates {
            if store.confirm_pair(seq, source, id, since)? {
                return Ok(Some(seq));
            }
        }
        Ok(None)
    }

    /// Pairs held in memory.
    pub fn len(&self) -> usize {
        self.filter.len()
    }

    /// Records the pairs a publish accepted (`(hash, seq)`, in order), spilling the
    /// entries the filter forgets to make room, in one store call.
    pub fn accepted(
        &mut self,
        store: &mut dyn Store,
        now: Millis,
        window: Millis,
        pairs: &[(u64, Seq)],
    ) -> StoreResult<()> {
        let mut spilled = Vec::new();
        for &(hash, seq) in pairs {
            if let Some(s) = self.filter.insert_hashed(now, hash, seq) {
                self.bloom.get_or_insert_with(|| SpillBloom::new(now, window)).insert(s.hash);
                spilled.push(s);
            }
        }
        if !spilled.is_empty() {
            self.spill.spill(store, now, now.saturating_sub(window), &spilled)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_pairs_need_no_lookup_and_known_ones_are_candidates() {
        let mut f = DedupFilter::new(10, 0);
        assert_eq!(f.lookup("/s", "a", 0), Lookup::New);
        f.insert(5, "/s", "a", 1);
        assert_eq!(f.lookup("/s", "a", 0), Lookup::Maybe(1));
        assert_eq!(f.lookup("/s", "b", 0), Lookup::New);
        assert_eq!(f.lookup("/t", "a", 0), Lookup::New, "the source is part of the pair");
        f.expire(6);
        assert_eq!(f.lookup("/s", "a", 6), Lookup::New, "outside the window");
        assert!(f.is_empty());
    }

    #[test]
    fn a_full_filter_admits_what_it_forgot() {
        let mut f = DedupFilter::new(2, 0);
        assert_eq!(f.insert(1, "/s", "a", 1), None);
        assert_eq!(f.insert(2, "/s", "b", 2), None);
        let spilled = f.insert(3, "/s", "c", 3);
        assert_eq!(spilled, Some(Spilled { at: 1, hash: pair_hash("/s", "a"), seq: 1 }), "a is spilled");
        assert_eq!(f.len(), 2);
        assert_eq!(f.lookup("/s", "a", 0), Lookup::Unknown, "a was forgot inside the window");
        assert_eq!(f.lookup("/s", "z", 2), Lookup::New, "complete for a window starting after it");
        assert_eq!(f.lookup("/s", "c", 0), Lookup::Maybe(3));
    }

    #[test]
    fn the_hash_separates_source_from_id_and_is_stable() {
        assert_ne!(pair_hash("/a", "b/c"), pair_hash("/a/b", "/c"));
        // Spilled hashes are stored: the function must never change.
        // Values computed with Python's hashlib: sha256(u64le(len(source)) + source + id)[..8].
        assert_eq!(pair_hash("", ""), 0x7a0b_81a1_f570_55af);
        assert_eq!(pair_hash("/s", "a"), 0x42e4_6ab4_ad49_df82);
    }

    #[test]
    fn a_loaded_filter_is_complete_only_from_its_start() {
        let f = DedupFilter::new(10, 100);
        assert_eq!(f.lookup("/s", "a", 50), Lookup::Unknown);
        assert_eq!(f.lookup("/s", "a", 100), Lookup::New);
    }

    #[test]
    fn past_the_rebuild_limit_the_spill_tables_answer_for_a_window_after_a_start() {
        use crate::core::mem_store::MemStore;
        use crate::core::store::EventRow;
        let window = 1_000;
        let mut store = MemStore::new();
        let spilled: Vec<Spilled> = (0..=BLOOM_REBUILD_MOST as u64)
            .map(|i| Spilled { at: 10, hash: pair_hash("/s", &i.to_string()), seq: i + 1 })
            .collect();
        store.spill(1, &spilled).unwrap();
        // More pairs in the window than the memory holds, so the filter alone is not enough.
        for seq in 1..=11 {
            let (source, eid) = ("/e".to_owned(), seq.to_string());
            let body = String::new();
            let row = EventRow {
                seq,
                ts: 400,
                source,
                eid,
                key: None,
                deliver_at: None,
                expires_at: None,
                reply: false,
                body,
            };
            store.insert_event(&row).unwrap();
        }
        store.set_meta(CAPACITY_META, "10").unwrap();
        let d = Dedup::load(&mut store, 500, window, 10).unwrap();
        assert!(d.bloom.is_none() && d.bloom_since == 501, "too many to read back");
        let h = pair_hash("/s", "new");
        d.lookup(&store, ("/s", "new", h), 0).unwrap();
        assert_eq!(store.spill_lookups.get(), 1, "a new pair is looked up in the tables");
        store.clear_spilled(1).unwrap();
        store.spill(1, &spilled[..10]).unwrap();
        let d = Dedup::load(&mut store, 500, window, 10).unwrap();
        assert_eq!(d.bloom_since, 0, "rebuilt");
        d.lookup(&store, ("/s", "new", h), 0).unwrap();
        assert_eq!(store.spill_lookups.get(), 1, "answered by the rebuilt Bloom filter");
        let first = spilled[0].hash;
        assert!(d.bloom.as_ref().is_some_and(|b| b.may_contain(first)));
    }
}
