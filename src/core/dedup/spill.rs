//! Where the dedup filter's spilled pairs go: the store's two spill tables, by
//! generation ([`SpillTables`]), and a Bloom filter of the spilled hashes in front of
//! them ([`SpillBloom`]).

use super::Spilled;
use crate::core::store::{Store, StoreResult};
use crate::core::Millis;

/// Bits in each generation of a [`SpillBloom`] (512 KiB).
const BLOOM_BITS: usize = 1 << 22;
/// Bits set per hash.
const BLOOM_PROBES: u64 = 3;
/// Most spilled pairs read back at start-up to rebuild the Bloom filter (~0.5 s in
/// workerd). Past it, the tables answer every new pair the memory does not hold for one
/// window instead (measured: ~19 µs more per event).
pub(super) const BLOOM_REBUILD_MOST: usize = 500_000;

/// A Bloom filter of spilled pair hashes, in two generations: entries go into the
/// current one, which becomes the previous one every dedup window (and the previous one
/// is dropped), so a pair spilled within the last window is always in one of them. It
/// answers "certainly not spilled" or "maybe": with 400,000 spilled pairs in a window,
/// about 1.6% of new pairs are looked up in the spill table for nothing; the rate grows
/// with the spill rate, never past what the table lookup alone costs. Allocated only
/// once a topic spills (1 MiB), or at start-up when its tables hold pairs (then rebuilt
/// from them, if they hold at most [`BLOOM_REBUILD_MOST`]).
#[derive(Clone)]
pub(super) struct SpillBloom {
    current: Vec<u64>,
    previous: Vec<u64>,
    /// When `current` becomes `previous`.
    rotate_at: Millis,
}

impl std::fmt::Debug for SpillBloom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ones = |bits: &[u64]| bits.iter().map(|w| w.count_ones()).sum::<u32>();
        f.debug_struct("SpillBloom")
            .field("current_bits_set", &ones(&self.current))
            .field("previous_bits_set", &ones(&self.previous))
            .field("rotate_at", &self.rotate_at)
            .finish()
    }
}

impl SpillBloom {
    pub(super) fn new(now: Millis, window: Millis) -> Self {
        SpillBloom {
            current: vec![0; BLOOM_BITS / 64],
            previous: vec![0; BLOOM_BITS / 64],
            rotate_at: now.saturating_add(window),
        }
    }

    /// The bit positions of `h` (double hashing over the pair hash, itself SHA-256), from
    /// its top 53 bits alone: a store may keep no more ([`Store::spilled_hashes`]).
    fn probes(h: u64) -> impl Iterator<Item = usize> {
        let k = h >> 11;
        let step = (k >> 22) | 1;
        (0..BLOOM_PROBES).map(move |i| (k.wrapping_add(i.wrapping_mul(step)) as usize) % BLOOM_BITS)
    }

    pub(super) fn insert(&mut self, h: u64) {
        for b in Self::probes(h) {
            self.current[b / 64] |= 1 << (b % 64);
        }
    }

    pub(super) fn may_contain(&self, h: u64) -> bool {
        let has = |bits: &[u64]| Self::probes(h).all(|b| bits[b / 64] & (1 << (b % 64)) != 0);
        has(&self.current) || has(&self.previous)
    }

    pub(super) fn rotate(&mut self, now: Millis, window: Millis) {
        while now >= self.rotate_at {
            std::mem::swap(&mut self.current, &mut self.previous);
            self.current.iter_mut().for_each(|w| *w = 0);
            self.rotate_at = self.rotate_at.saturating_add(window.max(1));
        }
    }
}

/// Where a topic's spilled pairs go: two store tables by generation, so that pairs that
/// left the window go with their whole table (dropped), never a scan of every pair
/// (a busy topic spills millions a window). Pairs are spilled into `current`; when it
/// has been in use for a whole window, the other table (every pair in it accepted
/// before `current_since`, hence out of the window) is emptied and becomes current.
/// The choice of table and its start survive restarts in the meta row [`SPILL_META`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SpillTables {
    pub(super) current: u8,
    /// Spilled into `current` since then; every pair in the other table was accepted
    /// before it (or at it).
    current_since: Millis,
    /// Every pair in `current` was accepted at or before this.
    current_until: Millis,
    /// Whether each table may hold pairs.
    pub(super) used: [bool; 2],
    /// Table 0 is not emptied while the window starts at or before this: the load time,
    /// when earlier builds' tables (emptied with it) held pairs, which a build rolled
    /// back to may have written up to then; else 0.
    table0_floor: Millis,
}

/// The meta row of [`SpillTables`]: `"<current table>,<its start>"`.
const SPILL_META: &str = "spill_generation";

impl SpillTables {
    pub(super) fn load(store: &dyn Store, now: Millis) -> StoreResult<Self> {
        let [used0, used1, earlier] = store.spill_used()?;
        let used = [used0, used1];
        let saved = store.meta(SPILL_META)?.and_then(|v| {
            let (t, since) = v.split_once(',')?;
            Some((t.parse::<u8>().ok().filter(|t| *t < 2)?, since.parse::<Millis>().ok()?))
        });
        // Without a saved state (topics spilled by earlier builds used table 0 alone),
        // every stored pair was accepted before now: starting table 0's generation now
        // keeps the invariant.
        let (current, current_since) = saved.unwrap_or((0, if used != [false; 2] { now } else { 0 }));
        let table0_floor = if earlier { now } else { 0 };
        Ok(SpillTables { current, current_since, current_until: now, used, table0_floor })
    }

    fn other(&self) -> u8 {
        1 - self.current
    }

    /// Whether every pair in table `t` left the window starting at `since`, so that it
    /// may be emptied.
    fn dead(&self, t: u8, since: Millis) -> bool {
        let newest = if t == self.current { self.current_until } else { self.current_since };
        newest < since && (t != 0 || self.table0_floor < since)
    }

    fn empty(&mut self, store: &mut dyn Store, t: u8) -> StoreResult<()> {
        if self.used[usize::from(t)] {
            store.clear_spilled(t)?;
            self.used[usize::from(t)] = false;
        }
        Ok(())
    }

    /// Empties the tables whose pairs all left the window (`since` on).
    pub(super) fn expire(&mut self, store: &mut dyn Store, since: Millis) -> StoreResult<()> {
        for t in [self.other(), self.current] {
            if self.dead(t, since) {
                self.empty(store, t)?;
            }
        }
        Ok(())
    }

    /// Spills `entries` (accepted at or before `now`), starting a new generation first
    /// when the current one is a window old (so every pair of the other one is out).
    pub(super) fn spill(
        &mut self,
        store: &mut dyn Store,
        now: Millis,
        since: Millis,
        entries: &[Spilled],
    ) -> StoreResult<()> {
        let other = self.other();
        if self.dead(other, since) {
            self.empty(store, other)?;
            self.current = other;
            self.current_since = now;
            store.set_meta(SPILL_META, &format!("{other},{now}"))?;
        }
        store.spill(self.current, entries)?;
        self.used[usize::from(self.current)] = true;
        self.current_until = self.current_until.max(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::dedup::pair_hash;
    use crate::core::mem_store::MemStore;

    fn pairs(at: Millis, from: u64, n: u64) -> Vec<Spilled> {
        (from..from + n).map(|i| Spilled { at, hash: pair_hash("/s", &i.to_string()), seq: i }).collect()
    }

    #[test]
    fn the_spill_bloom_keeps_every_hash_for_a_window_and_few_others() {
        let mut b = SpillBloom::new(0, 100);
        let inserted: Vec<u64> = (0..50_000u64).map(|i| pair_hash("/s", &i.to_string())).collect();
        for &h in &inserted {
            b.insert(h);
        }
        assert!(inserted.iter().all(|&h| b.may_contain(h)), "no false negative");
        let others = (0..50_000u64).filter(|i| b.may_contain(pair_hash("/t", &i.to_string()))).count();
        assert!(others < 50, "false positives: {others} of 50,000");
        b.rotate(100, 100);
        assert!(inserted.iter().all(|&h| b.may_contain(h)), "still there one window later");
        b.rotate(250, 100);
        assert!(!b.may_contain(inserted[0]) && b.rotate_at == 300, "gone after two");
    }

    #[test]
    fn each_table_is_emptied_whole_once_its_pairs_left_the_window() {
        let window = 100;
        let mut store = MemStore::new();
        let mut t = SpillTables::load(&store, 0).unwrap();
        t.spill(&mut store, 10, 0, &pairs(10, 0, 5)).unwrap();
        let first = t.current;
        t.spill(&mut store, 60, 0, &pairs(60, 5, 5)).unwrap();
        assert_eq!(t.current, first, "one generation for a window");
        // A window after the generation began: the next spill starts the other table.
        t.spill(&mut store, 120, 120 - window, &pairs(120, 10, 5)).unwrap();
        assert_eq!(t.current, 1 - first);
        assert_eq!(
            store.spilled_pairs(),
            15,
            "the first generation's pairs (10, 60) are still inside the window"
        );
        let h = |i: u64| pair_hash("/s", &i.to_string());
        assert_eq!(store.spilled(h(7), 20).unwrap(), vec![7], "found in the older table");
        t.expire(&mut store, 61).unwrap();
        assert_eq!(store.spilled_pairs(), 15, "the older table's start is not past the window yet");
        // Every pair of the first table was accepted by 120, when the second began.
        t.spill(&mut store, 221, 121, &pairs(221, 15, 1)).unwrap();
        assert_eq!(t.current, first, "back to the first table, emptied first");
        assert_eq!(store.spilled_pairs(), 6);
        assert_eq!(store.spilled(h(7), 0).unwrap(), Vec::<u64>::new());
        assert_eq!(
            store.spilled(h(12), 121).unwrap(),
            Vec::<u64>::new(),
            "outside the window, though still stored"
        );
        assert_eq!(store.spilled(h(12), 120).unwrap(), vec![12]);
        // Quiet: both tables empty once their newest pair left the window.
        t.expire(&mut store, 222).unwrap();
        assert_eq!(store.spilled_pairs(), 0);
        assert_eq!(t.used, [false; 2]);
    }

    #[test]
    fn the_generation_survives_a_restart_and_an_old_single_table_is_kept_a_window() {
        let mut store = MemStore::new();
        // As an earlier build left it: pairs in table 0, no saved generation.
        store.spill(0, &pairs(50, 0, 3)).unwrap();
        let mut t = SpillTables::load(&store, 100).unwrap();
        assert_eq!((t.current, t.current_since, t.used), (0, 100, [true, false]));
        t.expire(&mut store, 60).unwrap();
        assert_eq!(store.spilled_pairs(), 3, "kept: loaded pairs may be as new as the load");
        t.spill(&mut store, 210, 110, &pairs(210, 3, 2)).unwrap();
        assert_eq!(t.current, 1, "table 0 is a window old: the next generation goes to table 1");
        assert_eq!(store.spilled_pairs(), 5);
        let again = SpillTables::load(&store, 250).unwrap();
        assert_eq!((again.current, again.current_since, again.used), (1, 210, [true, true]));
    }

    #[test]
    fn two_pairs_under_one_hash_are_both_kept_newest_first() {
        let mut store = MemStore::new();
        let one = |at, seq| Spilled { at, hash: 5, seq };
        store.spill(0, &[one(1, 1)]).unwrap();
        store.spill(1, &[one(2, 2), one(3, 3)]).unwrap();
        assert_eq!(store.spilled(5, 0).unwrap(), vec![3, 2, 1]);
        assert_eq!(store.spilled(5, 2).unwrap(), vec![3, 2]);
    }

    #[test]
    fn table_0_waits_a_window_when_earlier_builds_tables_held_pairs_at_the_start() {
        // A rollback to an earlier build wrote its pairs into its own tables (emptied with
        // table 0); the saved state says table 1 is current since long ago.
        let mut store = MemStore::new();
        store.spill(0, &pairs(90, 0, 3)).unwrap();
        let mut t = SpillTables {
            current: 1,
            current_since: 0,
            current_until: 100,
            used: [true, false],
            table0_floor: 100,
        };
        t.expire(&mut store, 50).unwrap();
        t.spill(&mut store, 150, 50, &pairs(150, 3, 1)).unwrap();
        assert_eq!(
            (t.current, store.spilled_pairs()),
            (1, 4),
            "table 0 kept: pairs up to the start may be in it"
        );
        t.spill(&mut store, 201, 101, &pairs(201, 4, 1)).unwrap();
        assert_eq!((t.current, store.spilled_pairs()), (0, 2), "a window after the start it goes");
    }
}
