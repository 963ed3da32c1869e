//! The broker's [`Store`] in the topic object's SQLite (`ctx.storage.sql`).
//!
//! Every call is synchronous; the object runs each broker call inside
//! `transactionSync`, so the writes of one call commit together or not at all. Numbers
//! come back from the runtime as JavaScript numbers: every integer stored here stays below
//! 2^53 (seqs, times, counters, socket ids); hashes are stored as hex text.

mod queries;
mod rows;

use super::schema::state_of;
use crate::core::store::*;
use crate::core::ConsumerId;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use worker::{SqlStorage, SqlStorageValue as V};

/// The store of one topic object.
pub struct SqlStore<'a> {
    sql: &'a SqlStorage,
}

pub(super) fn int(v: u64) -> V {
    V::Integer(v as i64)
}

pub(super) fn opt(v: Option<u64>) -> V {
    v.map(int).unwrap_or(V::Null)
}

pub(super) fn fail(e: worker::Error) -> StoreError {
    let message = e.to_string();
    let full = message.contains("SQLITE_FULL") || message.contains("database or disk is full");
    StoreError { full, message }
}

impl<'a> SqlStore<'a> {
    /// The store over an object's SQL storage (the schema must exist: [`schema::open`]).
    pub fn new(sql: &'a SqlStorage) -> Self {
        SqlStore { sql }
    }

    pub(super) fn rows<T: DeserializeOwned>(&self, q: &str, b: Vec<V>) -> StoreResult<Vec<T>> {
        self.sql.exec(q, b).and_then(|c| c.to_array()).map_err(fail)
    }

    /// The first row's `v` column as a whole number.
    pub(super) fn number(&self, q: &str, b: Vec<V>) -> StoreResult<Option<u64>> {
        let r: Vec<One<f64>> = self.rows(q, b)?;
        Ok(r.into_iter().next().and_then(|o| o.v).map(|v| v as u64))
    }

    /// Every row's `v` column as a whole number.
    pub(super) fn numbers(&self, q: &str, b: Vec<V>) -> StoreResult<Vec<u64>> {
        let r: Vec<One<f64>> = self.rows(q, b)?;
        Ok(r.into_iter().filter_map(|o| o.v).map(|v| v as u64).collect())
    }

    pub(super) fn write(&self, q: &str, b: Vec<V>) -> StoreResult<()> {
        let c = self.sql.exec(q, b).map_err(fail)?;
        crate::worker::counters::rows_written(c.rows_written());
        Ok(())
    }
}

#[derive(Deserialize)]
pub(super) struct One<T> {
    pub(super) v: Option<T>,
}

#[derive(Deserialize)]
pub(super) struct HeadRow {
    seq: f64,
    ts: f64,
    okey: Option<String>,
    deliver_at: Option<f64>,
    expires_at: Option<f64>,
    reply: f64,
}

impl From<HeadRow> for EventHead {
    fn from(r: HeadRow) -> Self {
        EventHead {
            seq: r.seq as u64,
            ts: r.ts as u64,
            key: r.okey,
            deliver_at: r.deliver_at.map(|v| v as u64),
            expires_at: r.expires_at.map(|v| v as u64),
            reply: r.reply != 0.0,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct MsgRow {
    channel: f64,
    seq: f64,
    state: f64,
    owner: f64,
    due: f64,
    attempt: f64,
    failures: f64,
    max_attempts: f64,
    timeout: f64,
    okey: Option<String>,
    expires_at: Option<f64>,
    has_cp: f64,
}

impl MsgRow {
    pub(super) fn head(self) -> Option<MessageHead> {
        Some(MessageHead {
            channel: self.channel as u32,
            seq: self.seq as u64,
            state: state_of(self.state as i64)?,
            owner: ConsumerId(self.owner as u64),
            due: self.due as u64,
            attempt: self.attempt as u32,
            failures: self.failures as u32,
            max_attempts: self.max_attempts as u32,
            timeout_ms: self.timeout as u64,
            key: self.okey,
            expires_at: self.expires_at.map(|v| v as u64),
            has_checkpoint: self.has_cp != 0.0,
        })
    }
}

pub(super) const MSG_COLS: &str =
    "channel, seq, state, owner, due, attempt, failures, max_attempts, timeout, okey, expires_at, \
                        has_cp";
pub(super) const HEAD_COLS: &str = "seq, ts, okey, deliver_at, expires_at, reply";

pub(super) fn heads(rows: Vec<MsgRow>) -> Vec<MessageHead> {
    rows.into_iter().filter_map(MsgRow::head).collect()
}
