//! The dedup filter's spill tables (`core::dedup`): `dedup_gen_0` and `dedup_gen_1`, one
//! generation each, dropped whole; and the tables of earlier builds, read and dropped
//! with table 0 (`schema.rs`). A spilled pair is keyed by the top 53 bits of its hash
//! (an integer that crosses into JavaScript exactly) and its seq: two pairs whose keys
//! match are both kept, and each is confirmed against its event. Pairs go 33 to an
//! `INSERT` (3 parameters each).

use super::{int, js_int, SqlStore};
use crate::core::store::{Spilled, StoreResult};
use crate::core::{Millis, Seq};
use crate::worker::topic::schema;

const SPILL: [&str; 2] = [
    "INSERT OR IGNORE INTO dedup_gen_0 (hash, seq, ts) VALUES ",
    "INSERT OR IGNORE INTO dedup_gen_1 (hash, seq, ts) VALUES ",
];
const SPILL_ROW: &str = "(?, ?, ?)";

/// A spilled hash's key: its top 53 bits.
fn spill_key(hash: u64) -> u64 {
    hash >> 11
}

impl SqlStore<'_> {
    /// Spilled dedup pairs (any number) into spill table `table`, in as few statements
    /// as the parameter limit allows.
    pub(super) fn insert_spilled(&self, table: u8, entries: &[Spilled]) -> StoreResult<()> {
        let head = SPILL[usize::from(table.min(1))];
        self.insert_chunked(entries, (head, SPILL_ROW), |e, b| {
            b.extend([js_int(spill_key(e.hash)), js_int(e.seq), js_int(e.at)])
        })
    }

    /// Seqs spilled under `hash`'s key and accepted at or after `since`, newest first.
    pub(super) fn spilled_seqs(&self, hash: u64, since: Millis) -> StoreResult<Vec<Seq>> {
        let key = int(spill_key(hash));
        self.numbers(
            "SELECT seq FROM (SELECT seq, ts FROM dedup_gen_0 WHERE hash = ? \
             UNION ALL SELECT seq, ts FROM dedup_gen_1 WHERE hash = ? \
             UNION ALL SELECT seq, ts FROM dedup_pairs WHERE hash = ? \
             UNION ALL SELECT seq, ts FROM dedup_spill WHERE hash = ?) WHERE ts >= ? ORDER BY ts DESC",
            vec![key.clone(), key.clone(), key, format!("{hash:016x}").into(), int(since)],
        )
    }

    /// The hashes spilled at or after `since` (their top 53 bits, the rest zero), if at
    /// most `most` are stored (counted first, natively) and none is in the oldest table
    /// (hex keys; it empties itself within a window of an upgrade).
    pub(super) fn spilled_keys(&self, since: Millis, most: usize) -> StoreResult<Option<Vec<u64>>> {
        let hex = self.number("SELECT EXISTS (SELECT 1 FROM dedup_spill) AS v", vec![])?;
        let count = self.number(
            "SELECT (SELECT count(*) FROM dedup_gen_0) + (SELECT count(*) FROM dedup_gen_1) \
             + (SELECT count(*) FROM dedup_pairs) AS v",
            vec![],
        )?;
        if hex == Some(1) || count.unwrap_or(0) > most as u64 {
            return Ok(None);
        }
        let keys = self.numbers(
            "SELECT hash FROM dedup_gen_0 WHERE ts >= ? UNION ALL SELECT hash FROM dedup_gen_1 WHERE ts >= ? \
             UNION ALL SELECT hash FROM dedup_pairs WHERE ts >= ?",
            vec![int(since), int(since), int(since)],
        )?;
        Ok(Some(keys.into_iter().map(|k| k << 11).collect()))
    }

    /// Empties spill table `table` by dropping it (no row written per pair, no scan).
    pub(super) fn drop_spill_table(&self, table: u8) -> StoreResult<()> {
        // Earlier builds' tables go with table 0: their pairs are older than any pair of
        // table 1 (which is current first).
        let tables: &[&str] =
            if table == 0 { &["dedup_gen_0", "dedup_pairs", "dedup_spill"] } else { &["dedup_gen_1"] };
        schema::recreate(self.sql, tables).map_err(super::fail)
    }

    /// Whether each spill table holds any pair, and whether earlier builds' tables do.
    pub(super) fn spill_tables_used(&self) -> StoreResult<[bool; 3]> {
        let used = |q: &str| self.number(q, vec![]).map(|v| v == Some(1));
        let earlier =
            used("SELECT EXISTS (SELECT 1 FROM dedup_pairs) OR EXISTS (SELECT 1 FROM dedup_spill) AS v")?;
        let gen0 = used("SELECT EXISTS (SELECT 1 FROM dedup_gen_0) AS v")?;
        Ok([gen0 || earlier, used("SELECT EXISTS (SELECT 1 FROM dedup_gen_1) AS v")?, earlier])
    }
}
