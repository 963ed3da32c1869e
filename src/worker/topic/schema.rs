//! The topic object's SQLite schema, and the upgrade of topics stored by the first
//! version (a channel row per name, a message row per finished message above a floor,
//! a `requests` table).
//!
//! Indexes are few on purpose: every index entry is a row written. Message rows are the
//! exception (first deliveries live in lease rows), so their indexes cost little.
//! Checkpoints (up to 64 KiB) have their own table: a message row changes state often
//! and stays small; its checkpoint is written only when a consumer saves one.
//!
//! Pairs the dedup filter spills go in `dedup_gen_0` and `dedup_gen_1` (spill tables 0
//! and 1, one generation each, dropped whole: `core::dedup`), keyed by the top 53 bits
//! of their hash (an integer that crosses into JavaScript exactly) and their seq, so two
//! pairs whose keys match are both kept (each is confirmed against its event). Earlier
//! builds (until 2026-12-01) wrote `dedup_pairs` (keyed by the 53 bits alone: a pair
//! could replace another) and before it `dedup_spill` (the hash as hex text): both are
//! still read, and dropped with table 0, so an upgraded topic forgets no pair.

use super::runtime::TxError;
use crate::core::store::RowState;
use crate::core::StoreError;
use worker::{Result, SqlStorage};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, source TEXT NOT NULL, eid TEXT NOT NULL, okey TEXT,
  deliver_at INTEGER, expires_at INTEGER, reply INTEGER NOT NULL DEFAULT 0, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dedup_gen_0 (
  hash INTEGER NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL, PRIMARY KEY (hash, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dedup_gen_1 (
  hash INTEGER NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL, PRIMARY KEY (hash, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dedup_pairs (hash INTEGER PRIMARY KEY, seq INTEGER NOT NULL, ts INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS dedup_spill (hash TEXT PRIMARY KEY, seq INTEGER NOT NULL, ts INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS channels (id INTEGER PRIMARY KEY, name TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
  channel INTEGER NOT NULL, seq INTEGER NOT NULL, state INTEGER NOT NULL, owner INTEGER NOT NULL,
  due INTEGER NOT NULL, attempt INTEGER NOT NULL, failures INTEGER NOT NULL, max_attempts INTEGER NOT NULL,
  timeout INTEGER NOT NULL, okey TEXT, expires_at INTEGER, has_cp INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (channel, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
  channel INTEGER NOT NULL, seq INTEGER NOT NULL, value TEXT NOT NULL, PRIMARY KEY (channel, seq));
CREATE INDEX IF NOT EXISTS messages_state ON messages (channel, state, due, seq);
CREATE INDEX IF NOT EXISTS messages_seq ON messages (seq);
CREATE INDEX IF NOT EXISTS messages_key ON messages (channel, okey, seq) WHERE okey IS NOT NULL;
CREATE TABLE IF NOT EXISTS leases (
  channel INTEGER NOT NULL, id INTEGER NOT NULL, owner INTEGER NOT NULL, deadline INTEGER NOT NULL,
  max_attempts INTEGER NOT NULL, timeout INTEGER NOT NULL, seqs TEXT NOT NULL,
  PRIMARY KEY (channel, id)) WITHOUT ROWID;
";

/// The schema version this build writes.
const VERSION: &str = "2";

/// States that wait in storage (pending and not in flight), for `IN (...)`.
pub const WAITING: &str = "2, 3, 5";

/// A state's code in the `messages` table.
pub fn state_code(s: RowState) -> i64 {
    match s {
        RowState::InFlight => 1,
        RowState::Ready => 2,
        RowState::Deferred => 3,
        RowState::Dead => 4,
        RowState::Parked => 5,
    }
}

/// The state of a code.
pub fn state_of(code: i64) -> Option<RowState> {
    Some(match code {
        1 => RowState::InFlight,
        2 => RowState::Ready,
        3 => RowState::Deferred,
        4 => RowState::Dead,
        5 => RowState::Parked,
        _ => return None,
    })
}

#[derive(serde::Deserialize)]
struct Name {
    name: String,
}

/// Whether the object has ever stored anything (its schema is made with its first write:
/// an object that only saw refused or read-only calls holds no table and no row).
pub fn exists(sql: &SqlStorage) -> Result<bool> {
    has_table(sql, "meta")
}

/// Rows inserted, updated or deleted on this connection so far (SQLite `total_changes()`).
pub fn changes(sql: &SqlStorage) -> Result<u64> {
    #[derive(serde::Deserialize)]
    struct V {
        v: i64,
    }
    let rows: Vec<V> = sql.exec("SELECT total_changes() AS v", None)?.to_array()?;
    Ok(rows.first().map_or(0, |r| r.v.max(0) as u64))
}

fn has_table(sql: &SqlStorage, table: &str) -> Result<bool> {
    let rows: Vec<Name> = sql
        .exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?", vec![table.into()])?
        .to_array()?;
    Ok(!rows.is_empty())
}

fn has_column(sql: &SqlStorage, table: &str, column: &str) -> Result<bool> {
    let rows: Vec<Name> =
        sql.exec(&format!("SELECT name FROM pragma_table_info('{table}')"), None)?.to_array()?;
    Ok(rows.iter().any(|r| r.name == column))
}

/// Empties `tables` by dropping and creating them again: no row written per row held
/// (a `DELETE` counts one per row, a `DROP` none) and no scan. For the dedup spill tables,
/// which hold millions of pairs on a busy topic.
pub fn recreate(sql: &SqlStorage, tables: &[&str]) -> Result<()> {
    for t in tables {
        sql.exec(&format!("DROP TABLE IF EXISTS {t}"), None)?;
    }
    sql.exec(SCHEMA, None)?;
    Ok(())
}

/// Creates the schema, upgrading a first-version topic in place (in the caller's
/// transaction).
pub fn open(sql: &SqlStorage) -> Result<()> {
    if has_table(sql, "channels")? && !has_column(sql, "channels", "data")? {
        upgrade_v1(sql)?;
    }
    sql.exec(SCHEMA, None)?;
    sql.exec("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)", vec![VERSION.into()])?;
    Ok(())
}

/// The first version kept channels by name with a floor and counters in columns,
/// message rows keyed by channel name (finished ones too, above the floor), requests in
/// their own table, spilled dedup hashes as integers, and the last seq given in
/// `pruned_through`. Its channel row could lag behind the rows of delivered messages (it
/// found the cursor from them at start): the cursor carried over is past each of those.
/// Rows of messages never delivered (attempt 0) past that cursor were deferred publishes.
fn upgrade_v1(sql: &SqlStorage) -> Result<()> {
    for (col, ty) in
        [("deliver_at", "INTEGER"), ("expires_at", "INTEGER"), ("reply", "INTEGER NOT NULL DEFAULT 0")]
    {
        if !has_column(sql, "events", col)? {
            sql.exec(&format!("ALTER TABLE events ADD COLUMN {col} {ty}"), None)?;
        }
    }
    // The last seq given, when retention had pruned every event ("head" in this schema):
    // without it seqs would start again below the channels' cursors.
    sql.exec(
        "INSERT OR IGNORE INTO meta (key, value) SELECT 'head', value FROM meta WHERE key = 'pruned_through'",
        None,
    )?;
    if has_table(sql, "requests")? {
        sql.exec(
            "UPDATE events SET reply = 1 WHERE seq IN (SELECT seq FROM requests); DROP TABLE requests;",
            None,
        )?;
    }
    sql.exec(
        "ALTER TABLE channels RENAME TO channels_v1; ALTER TABLE messages RENAME TO messages_v1; \
         DROP TABLE IF EXISTS dedup_spill; DROP INDEX IF EXISTS events_dedup;",
        None,
    )?;
    sql.exec(SCHEMA, None)?;
    sql.exec(
        "INSERT INTO channels (id, name, data) SELECT rowid, name, json_object(\
           'id', rowid, 'name', name, 'base_seq', base_seq, \
           'cursor', max(cursor, coalesce((SELECT max(m.seq) + 1 FROM messages_v1 m WHERE m.channel = c.name AND m.attempt >= 1), 0)), \
           'paused', json(CASE paused WHEN 0 THEN 'false' ELSE 'true' END), \
           'counters', json_object('delivered', delivered_total, 'finished', finished_total, 'requeued', requeued_total, \
             'timed_out', timed_out_total, 'dropped', dropped_total)) FROM channels_v1 c",
        None,
    )?;
    // A row past the cursor was never delivered (the first version wrote one for each
    // channel at a deferred publish): its time goes to the event, whose row this schema
    // makes when the cursor gets there; the row itself is not kept.
    sql.exec(
        "UPDATE events SET deliver_at = d.due FROM (SELECT m.seq, max(m.due) AS due FROM messages_v1 m \
           JOIN channels n ON n.name = m.channel WHERE m.state = 3 AND m.seq >= json_extract(n.data, '$.cursor') \
           GROUP BY m.seq) AS d WHERE events.seq = d.seq",
        None,
    )?;
    // Finished rows are simply gone in this schema (below the cursor, no row = done).
    sql.exec(
        "INSERT INTO messages (channel, seq, state, owner, due, attempt, failures, max_attempts, timeout, okey, has_cp) \
         SELECT c.rowid, m.seq, CASE m.state WHEN 1 THEN 1 WHEN 2 THEN 2 WHEN 3 THEN 3 WHEN 4 THEN 4 END, \
           coalesce(m.consumer, 0), CASE m.state WHEN 1 THEN m.due WHEN 3 THEN m.due ELSE 0 END, m.attempt, m.failures, 0, 60000, \
           (SELECT okey FROM events e WHERE e.seq = m.seq), m.checkpoint IS NOT NULL \
         FROM messages_v1 m JOIN channels_v1 c ON c.name = m.channel JOIN channels n ON n.name = m.channel \
         WHERE m.state IN (1, 2, 3, 4) AND m.seq < json_extract(n.data, '$.cursor')",
        None,
    )?;
    sql.exec(
        "INSERT INTO checkpoints (channel, seq, value) SELECT c.rowid, m.seq, m.checkpoint \
         FROM messages_v1 m JOIN channels_v1 c ON c.name = m.channel JOIN channels n ON n.name = m.channel \
         WHERE m.state IN (1, 2, 3, 4) AND m.checkpoint IS NOT NULL AND m.seq < json_extract(n.data, '$.cursor')",
        None,
    )?;
    sql.exec("DROP TABLE channels_v1; DROP TABLE messages_v1;", None)?;
    Ok(())
}

/// Runs `f` on an object that stores nothing yet: in one transaction with the schema
/// made first, committed only if `f` wrote a row (`true`: the object is no longer
/// fresh), else rolled back, leaving storage as empty as it was.
pub fn first_write<R>(
    rt: &super::runtime::Runtime,
    sql: &SqlStorage,
    f: impl FnOnce(&mut dyn crate::core::Store) -> std::result::Result<R, StoreError>,
) -> std::result::Result<(R, bool), StoreError> {
    enum Undo<R> {
        Failed(StoreError),
        Unwritten(R),
    }
    let sql_error = |e: worker::Error| Undo::Failed(StoreError::other(e.to_string()));
    let result = rt.transaction(|| -> std::result::Result<R, Undo<R>> {
        open(sql).map_err(sql_error)?;
        let before = changes(sql).map_err(sql_error)?;
        let r = f(&mut super::sql::SqlStore::new(sql)).map_err(Undo::Failed)?;
        if changes(sql).map_err(sql_error)? > before {
            Ok(r)
        } else {
            Err(Undo::Unwritten(r))
        }
    });
    match result {
        Ok(r) => Ok((r, true)),
        Err(TxError::Call(Undo::Unwritten(r))) => Ok((r, false)),
        Err(TxError::Call(Undo::Failed(e))) => Err(e),
        Err(TxError::Runtime(m)) => Err(StoreError::other(m)),
    }
}
