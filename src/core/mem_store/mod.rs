//! [`MemStore`]: the [`Store`] in memory, for `memory://` and the native tests.
//!
//! Transactions are an undo journal: [`MemStore::begin`] starts one, every write records
//! what it replaced, [`MemStore::rollback`] puts it back. [`MemStore::fail_writes_after`]
//! makes a write fail on purpose, so tests can check that a storage failure changes
//! nothing and acknowledges nothing. Lookups scan a channel's rows: fine for an
//! in-process bus, not a model of SQLite's speed.

mod queries;

use super::store::*;
use super::{Millis, Seq};
use std::collections::BTreeMap;

pub(super) type MessageKey = (u32, Seq);
pub(super) type StoredMessage = (MessageHead, Option<String>);

#[derive(Debug)]
pub(super) enum Undo {
    Meta(String, Option<String>),
    Event(Seq, Option<EventRow>),
    Spill((u8, u64, Seq), Option<Millis>),
    Channel(u32, Option<ChannelRow>),
    Message(MessageKey, Option<StoredMessage>),
    Lease((u32, u64), Option<LeaseRow>),
}

/// An in-memory store.
#[derive(Debug, Default)]
pub struct MemStore {
    pub(super) meta: BTreeMap<String, String>,
    pub(super) events: BTreeMap<Seq, EventRow>,
    /// Spilled dedup pairs' acceptance times by (spill table, hash, seq).
    pub(super) spill: BTreeMap<(u8, u64, Seq), Millis>,
    pub(super) channels: BTreeMap<u32, ChannelRow>,
    pub(super) messages: BTreeMap<MessageKey, StoredMessage>,
    pub(super) leases: BTreeMap<(u32, u64), LeaseRow>,
    journal: Option<Vec<Undo>>,
    fail_after: Option<usize>,
    /// Rows written so far (inserts, updates and deletes), as SQLite counts them.
    pub rows_written: u64,
    /// Lookups in the dedup spill table so far.
    pub spill_lookups: std::cell::Cell<u64>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Dedup pairs held in the spill tables.
    pub fn spilled_pairs(&self) -> usize {
        self.spill.len()
    }

    /// Starts a transaction.
    pub fn begin(&mut self) {
        self.journal = Some(Vec::new());
    }

    /// Keeps every write since [`MemStore::begin`].
    pub fn commit(&mut self) {
        self.journal = None;
    }

    /// Undoes every write since [`MemStore::begin`].
    pub fn rollback(&mut self) {
        let Some(journal) = self.journal.take() else { return };
        for undo in journal.into_iter().rev() {
            match undo {
                Undo::Meta(k, v) => restore(&mut self.meta, k, v),
                Undo::Event(k, v) => restore(&mut self.events, k, v),
                Undo::Spill(k, v) => restore(&mut self.spill, k, v),
                Undo::Channel(k, v) => restore(&mut self.channels, k, v),
                Undo::Message(k, v) => restore(&mut self.messages, k, v),
                Undo::Lease(k, v) => restore(&mut self.leases, k, v),
            }
        }
    }

    /// Makes every write after the next `n` fail (tests of storage failures).
    pub fn fail_writes_after(&mut self, n: Option<usize>) {
        self.fail_after = n;
    }

    /// Events stored (tests).
    pub fn event_count(&self) -> usize {
        self.events.len()
    }

    /// Message rows stored (tests).
    pub fn message_rows(&self) -> usize {
        self.messages.len()
    }

    pub(super) fn write(&mut self, undo: Undo) -> StoreResult<()> {
        if let Some(n) = &mut self.fail_after {
            if *n == 0 {
                return Err(StoreError::other("injected write failure"));
            }
            *n -= 1;
        }
        self.rows_written += 1;
        if let Some(j) = &mut self.journal {
            j.push(undo);
        }
        Ok(())
    }

    pub(super) fn channel_rows(&self, ch: u32) -> impl Iterator<Item = &StoredMessage> {
        self.messages.range((ch, 0)..=(ch, Seq::MAX)).map(|(_, m)| m)
    }

    pub(super) fn set_message(&mut self, key: MessageKey, value: Option<StoredMessage>) -> StoreResult<()> {
        let old = self.messages.get(&key).cloned();
        self.write(Undo::Message(key, old))?;
        restore(&mut self.messages, key, value);
        Ok(())
    }
}

pub(super) fn restore<K: Ord, V>(map: &mut BTreeMap<K, V>, k: K, v: Option<V>) {
    match v {
        Some(v) => {
            map.insert(k, v);
        }
        None => {
            map.remove(&k);
        }
    }
}

pub(super) fn waiting(m: &MessageHead) -> bool {
    m.state.pending() && m.state != RowState::InFlight
}
