//! The broker's [`Store`] in the topic object's SQLite (`ctx.storage.sql`).
//!
//! Every call is synchronous; the object runs each broker call inside
//! `transactionSync`, so the writes of one call commit together or not at all. Rows are
//! read raw (arrays of values, by column position), with no per-row deserializer in the
//! wasm. Numbers come back from the runtime as JavaScript numbers: every integer stored
//! here stays below 2^53 (seqs, times, counters, socket ids); hashes are hex text.

mod insert;
mod queries;
mod spill;

use super::schema::{state_code, state_of};
use crate::core::store::*;
use crate::core::{ConsumerId, Millis};
use wasm_bindgen::JsValue;
use worker::{SqlStorage, SqlStorageValue as V};

/// The store of one topic object.
pub struct SqlStore<'a> {
    sql: &'a SqlStorage,
}

/// One row, by column position.
pub(super) type Row = Vec<V>;

pub(super) fn int(v: u64) -> V {
    V::Integer(v as i64)
}

/// A bound value as the runtime takes it. workers-rs's own conversion calls into
/// JavaScript for every integer (`Number.isSafeInteger`, to log a warning) and owns a
/// copy of every text; each integer bound here is below 2^53 (above), and the inserts
/// bind borrowed text ([`js_int`], [`js_text`]).
fn js(v: V) -> JsValue {
    match v {
        V::Null => JsValue::NULL,
        V::Boolean(b) => JsValue::from_bool(b),
        V::Integer(i) => JsValue::from_f64(i as f64),
        V::Float(f) => JsValue::from_f64(f),
        V::String(s) => JsValue::from_str(&s),
        V::Blob(b) => js_sys::Uint8Array::from(&b[..]).into(),
    }
}

/// A whole number bound to a statement.
pub(super) fn js_int(v: u64) -> JsValue {
    JsValue::from_f64(v as f64)
}

/// A whole number or null bound to a statement.
pub(super) fn js_opt(v: Option<u64>) -> JsValue {
    v.map_or(JsValue::NULL, js_int)
}

/// Text (or null) bound to a statement, from a borrowed `str`.
pub(super) fn js_text(v: Option<&str>) -> JsValue {
    v.map_or(JsValue::NULL, JsValue::from_str)
}

pub(super) fn opt(v: Option<u64>) -> V {
    v.map(int).unwrap_or(V::Null)
}

/// Column `i` as a whole number (0 when null or absent).
pub(super) fn u(r: &Row, i: usize) -> u64 {
    ou(r, i).unwrap_or(0)
}

/// Column `i` as a whole number, or none.
pub(super) fn ou(r: &Row, i: usize) -> Option<u64> {
    match r.get(i)? {
        V::Integer(n) => Some(*n as u64),
        V::Float(f) => Some(*f as u64),
        V::Boolean(b) => Some(u64::from(*b)),
        _ => None,
    }
}

/// Column `i` as text, or none.
pub(super) fn os(r: &Row, i: usize) -> Option<String> {
    match r.get(i)? {
        V::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// Column `i` as text (empty when null).
pub(super) fn s(r: &Row, i: usize) -> String {
    os(r, i).unwrap_or_default()
}

pub(super) fn fail(e: worker::Error) -> StoreError {
    let message = e.to_string();
    let full = message.contains("SQLITE_FULL") || message.contains("database or disk is full");
    StoreError { full, message }
}

impl<'a> SqlStore<'a> {
    /// The store over an object's SQL storage (the schema must exist: `schema::open`).
    pub fn new(sql: &'a SqlStorage) -> Self {
        SqlStore { sql }
    }

    /// Every row of a query.
    pub(super) fn rows(&self, q: &str, b: Vec<V>) -> StoreResult<Vec<Row>> {
        crate::worker::counters::statement();
        let c = self.sql.exec_raw(q, b.into_iter().map(js).collect::<Vec<_>>()).map_err(fail)?;
        c.raw().collect::<worker::Result<Vec<Row>>>().map_err(fail)
    }

    /// The first row of a query.
    pub(super) fn row(&self, q: &str, b: Vec<V>) -> StoreResult<Option<Row>> {
        Ok(self.rows(q, b)?.into_iter().next())
    }

    /// The first row's first column as a whole number.
    pub(super) fn number(&self, q: &str, b: Vec<V>) -> StoreResult<Option<u64>> {
        Ok(self.row(q, b)?.and_then(|r| ou(&r, 0)))
    }

    /// Every row's first column as a whole number.
    pub(super) fn numbers(&self, q: &str, b: Vec<V>) -> StoreResult<Vec<u64>> {
        Ok(self.rows(q, b)?.iter().filter_map(|r| ou(r, 0)).collect())
    }

    /// The first row's first column as text.
    pub(super) fn text(&self, q: &str, b: Vec<V>) -> StoreResult<Option<String>> {
        Ok(self.row(q, b)?.and_then(|r| os(&r, 0)))
    }

    pub(super) fn write(&self, q: &str, b: Vec<V>) -> StoreResult<()> {
        self.write_js(q, b.into_iter().map(js).collect())
    }

    /// [`Self::write`] with values already converted ([`js_int`], [`js_text`]).
    pub(super) fn write_js(&self, q: &str, b: Vec<JsValue>) -> StoreResult<()> {
        crate::worker::counters::statement();
        let c = self.sql.exec_raw(q, b).map_err(fail)?;
        crate::worker::counters::rows_written(c.rows_written());
        Ok(())
    }
}

/// Event head columns, in [`head`]'s order.
pub(super) const HEAD_COLS: &str = "seq, ts, okey, deliver_at, expires_at, reply";

/// An event head from a row of [`HEAD_COLS`].
pub(super) fn head(r: &Row) -> EventHead {
    EventHead {
        seq: u(r, 0),
        ts: u(r, 1),
        key: os(r, 2),
        deliver_at: ou(r, 3),
        expires_at: ou(r, 4),
        reply: u(r, 5) != 0,
    }
}

/// Message row columns, in [`message`]'s order.
pub(super) const MSG_COLS: &str =
    "channel, seq, state, owner, due, attempt, failures, max_attempts, timeout, okey, expires_at, has_cp";

/// A message head from a row of [`MSG_COLS`].
pub(super) fn message(r: &Row) -> Option<MessageHead> {
    Some(MessageHead {
        channel: u(r, 0) as u32,
        seq: u(r, 1),
        state: state_of(u(r, 2) as i64)?,
        owner: ConsumerId(u(r, 3)),
        due: u(r, 4),
        attempt: u(r, 5) as u32,
        failures: u(r, 6) as u32,
        max_attempts: u(r, 7) as u32,
        timeout_ms: u(r, 8),
        key: os(r, 9),
        expires_at: ou(r, 10),
        has_checkpoint: u(r, 11) != 0,
    })
}

/// Message heads from rows of [`MSG_COLS`].
pub(super) fn messages(rows: Vec<Row>) -> Vec<MessageHead> {
    rows.iter().filter_map(message).collect()
}

impl SqlStore<'_> {
    /// See [`crate::core::Store::count_expired_rows`].
    pub(super) fn expired_rows(&self, ch: u32, now: Millis) -> StoreResult<(u64, u64)> {
        let (ready, parked, deferred) =
            (state_code(RowState::Ready), state_code(RowState::Parked), state_code(RowState::Deferred));
        let q = "SELECT coalesce(sum(m.state IN (?, ?)), 0), coalesce(sum(m.state = ?), 0) \
                 FROM messages m JOIN events e ON e.seq = m.seq \
                 WHERE m.channel = ? AND m.state IN (?, ?, ?) AND e.expires_at <= ?";
        let b = vec![
            V::Integer(ready),
            V::Integer(parked),
            V::Integer(deferred),
            int(u64::from(ch)),
            V::Integer(ready),
            V::Integer(parked),
            V::Integer(deferred),
            int(now),
        ];
        Ok(self.row(q, b)?.map_or((0, 0), |r| (ou(&r, 0).unwrap_or(0), ou(&r, 1).unwrap_or(0))))
    }
}
