//! The dedup filter of idempotent publish: the (`source`, `id`) pairs a topic accepted
//! within the dedup window, in memory, so a publish of a new pair needs no storage lookup.
//!
//! It answers "maybe this seq" (a hash match, to be confirmed against the stored event)
//! or "certainly new" (no match, and the filter is complete for the whole window). Entries
//! are 64-bit hashes, so a match must be confirmed; the filter holds at most `capacity`
//! of them, and when it had to forget entries still inside the window it says so
//! ([`Lookup::Unknown`]) and the driver looks in storage instead. Clock-free: time comes
//! in as arguments.

use super::{Millis, Seq};
use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};

/// What the filter knows of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// Not accepted within the window.
    New,
    /// Possibly accepted as this seq: confirm against the stored event.
    Maybe(Seq),
    /// The filter forgot part of the window: look in storage.
    Unknown,
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

fn hash(source: &str, id: &str) -> u64 {
    let mut h = DefaultHasher::new();
    (source, id).hash(&mut h);
    h.finish()
}

impl DedupFilter {
    /// An empty filter that knows every pair accepted from `complete_since` on (0 for a
    /// topic that starts empty, or the oldest time the driver loaded), holding at most
    /// `capacity` entries.
    pub fn new(capacity: usize, complete_since: Millis) -> Self {
        DedupFilter { capacity, by_hash: HashMap::new(), order: VecDeque::new(), complete_since }
    }

    /// Records that (`source`, `id`) was accepted as `seq` at `at` (in acceptance order).
    pub fn insert(&mut self, at: Millis, source: &str, id: &str, seq: Seq) {
        let h = hash(source, id);
        self.by_hash.insert(h, seq);
        self.order.push_back((at, h, seq));
        while self.order.len() > self.capacity {
            if let Some((t, h, s)) = self.order.pop_front() {
                self.forget(h, s);
                self.complete_since = self.complete_since.max(t.saturating_add(1));
            }
        }
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
        match self.by_hash.get(&hash(source, id)) {
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
        f.insert(1, "/s", "a", 1);
        f.insert(2, "/s", "b", 2);
        f.insert(3, "/s", "c", 3);
        assert_eq!(f.len(), 2);
        assert_eq!(f.lookup("/s", "a", 0), Lookup::Unknown, "a was forgot inside the window");
        assert_eq!(f.lookup("/s", "z", 2), Lookup::New, "complete for a window starting after it");
        assert_eq!(f.lookup("/s", "c", 0), Lookup::Maybe(3));
    }

    #[test]
    fn a_loaded_filter_is_complete_only_from_its_start() {
        let f = DedupFilter::new(10, 100);
        assert_eq!(f.lookup("/s", "a", 50), Lookup::Unknown);
        assert_eq!(f.lookup("/s", "a", 100), Lookup::New);
    }
}
