//! One channel as the broker holds it in memory: its row, the messages in flight, a page
//! of ready rows, and counts of what lives only in storage (deferred, dead, parked).
//!
//! Memory is O(in flight + one page): the backlog is the events table read from the
//! cursor, deferred and dead messages are rows read when due or listed, and ordering-key
//! blocking is answered by the in-flight keys here plus an indexed lookup in storage.

use super::filter::Filter;
use super::store::{ChannelRow, MessageHead, RowCounts};
use super::{ConsumerId, Millis, Seq};
use crate::proto::http::ChannelStats;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

/// An ordering key, shared by the in-flight entries that carry it.
pub type Key = Rc<str>;

/// Most ready rows a channel keeps in memory; the rest are read in pages.
pub const READY_PAGE: usize = 256;

/// A message in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InFlight {
    /// To whom.
    pub owner: ConsumerId,
    /// When it fails if not settled.
    pub deadline: Millis,
    /// Deliveries so far, this one included.
    pub attempt: u32,
    /// Failures so far.
    pub failures: u32,
    /// Failures after which it is dead (0 = never).
    pub max_attempts: u32,
    /// How long a `touch` extends the deadline.
    pub timeout_ms: Millis,
    /// Its ordering key.
    pub key: Option<Key>,
    /// When its event expires.
    pub expires_at: Option<Millis>,
    /// Whether a checkpoint is stored for it.
    pub has_checkpoint: bool,
    /// The lease it was delivered under (a first delivery), or `None`: it has a row.
    pub lease: Option<u64>,
}

/// A ready row held in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadyRow {
    /// Deliveries so far.
    pub attempt: u32,
    /// Failures so far.
    pub failures: u32,
    /// Its ordering key.
    pub key: Option<Key>,
    /// When its event expires.
    pub expires_at: Option<Millis>,
    /// Whether a checkpoint is stored.
    pub has_checkpoint: bool,
}

impl From<&MessageHead> for ReadyRow {
    fn from(m: &MessageHead) -> Self {
        ReadyRow {
            attempt: m.attempt,
            failures: m.failures,
            key: m.key.as_deref().map(Into::into),
            expires_at: m.expires_at,
            has_checkpoint: m.has_checkpoint,
        }
    }
}

/// The ready rows of a channel: every one with seq <= `complete_through` is in `rows`.
#[derive(Debug, Clone, Default)]
pub struct ReadyPage {
    /// Ready rows held, by seq.
    pub rows: BTreeMap<Seq, ReadyRow>,
    /// Every ready row with a seq at or below this is held (`Seq::MAX`: all of them).
    pub complete_through: Seq,
}

/// A channel's state in memory.
#[derive(Debug)]
pub struct Channel {
    /// The persistent part.
    pub row: ChannelRow,
    /// Deleted with its last consumer.
    pub ephemeral: bool,
    /// Its filter, parsed.
    pub filter: Option<Filter>,
    /// Its push endpoint (a push channel), parsed from the row.
    pub push: Option<crate::proto::push::PushConfig>,
    /// Messages in flight, by seq.
    pub in_flight: BTreeMap<Seq, InFlight>,
    /// Those of them kept in the channel row (lease `HELD`).
    pub held: BTreeSet<Seq>,
    /// Ordering keys of in-flight messages, with how many carry each.
    pub keys_in_flight: HashMap<Key, u32>,
    /// Ready rows held in memory.
    pub ready: ReadyPage,
    /// Row counts (ready, deferred, dead, parked; in-flight rows are in `in_flight`).
    pub counts: RowCounts,
    /// Earliest due time of a deferred row.
    pub next_due: Option<Millis>,
    /// Attached consumers (sockets, push), in attach order.
    pub consumers: Vec<ConsumerId>,
    /// Round-robin position in `consumers`.
    pub turn: usize,
    /// The cursor stored in the channel row.
    pub stored_cursor: Seq,
    /// Heads of the events at and after the cursor, read ahead in a page.
    pub lookahead: std::collections::VecDeque<super::store::EventHead>,
}

impl Channel {
    /// A channel from its row and the counts read at start-up.
    pub fn new(row: ChannelRow, filter: Option<Filter>, counts: RowCounts, next_due: Option<Millis>) -> Self {
        let ephemeral = row.name.ends_with("#ephemeral");
        let stored_cursor = row.cursor;
        let complete_through = if counts.ready == 0 { Seq::MAX } else { 0 };
        let push = row.push.as_deref().and_then(|p| serde_json::from_str(p).ok());
        Channel {
            row,
            ephemeral,
            filter,
            push,
            in_flight: BTreeMap::new(),
            held: BTreeSet::new(),
            keys_in_flight: HashMap::new(),
            ready: ReadyPage { rows: BTreeMap::new(), complete_through },
            counts,
            next_due,
            consumers: Vec::new(),
            turn: 0,
            stored_cursor,
            lookahead: Default::default(),
        }
    }

    /// Storage id.
    pub fn id(&self) -> u32 {
        self.row.id
    }

    /// Notes a message going in flight.
    pub fn take(&mut self, seq: Seq, f: InFlight) {
        if let Some(k) = &f.key {
            *self.keys_in_flight.entry(k.clone()).or_default() += 1;
        }
        if f.lease == Some(super::broker::HELD) {
            self.held.insert(seq);
        }
        self.in_flight.insert(seq, f);
    }

    /// Removes a message from in flight.
    pub fn release(&mut self, seq: Seq) -> Option<InFlight> {
        let f = self.in_flight.remove(&seq)?;
        self.held.remove(&seq);
        if let Some(k) = &f.key {
            if let Some(n) = self.keys_in_flight.get_mut(k) {
                *n -= 1;
                if *n == 0 {
                    self.keys_in_flight.remove(k);
                }
            }
        }
        Some(f)
    }

    /// Whether a message with this key is in flight at a lower seq.
    pub fn key_in_flight(&self, key: &str) -> bool {
        self.keys_in_flight.contains_key(key)
    }

    /// Adds a ready row (it is counted by the caller's store write).
    pub fn add_ready(&mut self, seq: Seq, r: ReadyRow) {
        self.counts.ready += 1;
        if seq <= self.ready.complete_through {
            self.ready.rows.insert(seq, r);
            if self.ready.rows.len() > READY_PAGE {
                if let Some((&last, _)) = self.ready.rows.iter().next_back() {
                    self.ready.rows.remove(&last);
                    self.ready.complete_through = last - 1;
                }
            }
        }
    }

    /// Removes a ready row from memory and the count.
    pub fn remove_ready(&mut self, seq: Seq) {
        self.ready.rows.remove(&seq);
        self.counts.ready = self.counts.ready.saturating_sub(1);
    }

    /// Whether ready rows exist in storage that are not held in memory.
    pub fn ready_unloaded(&self) -> bool {
        (self.ready.rows.len() as u64) < self.counts.ready && self.ready.complete_through != Seq::MAX
    }

    /// Picks the next consumer that `has_credit`, round robin.
    pub fn pick(&mut self, has_credit: impl Fn(ConsumerId) -> bool) -> Option<ConsumerId> {
        let n = self.consumers.len();
        for i in 0..n {
            let idx = (self.turn + i) % n;
            let c = self.consumers[idx];
            if has_credit(c) {
                self.turn = (idx + 1) % n;
                return Some(c);
            }
        }
        None
    }

    /// Stats, with `fresh` the number of stored events at or after the cursor and `head`
    /// the topic's last seq.
    pub fn stats(&self, head: Seq, fresh: u64, expired: (u64, u64)) -> ChannelStats {
        let c = &self.row.counters;
        let in_flight = self.in_flight.len() as u64;
        let deferred = self.counts.deferred.saturating_sub(expired.1);
        let rows = (self.counts.ready + self.counts.parked).saturating_sub(expired.0);
        let ready = fresh.saturating_sub(self.row.filtered_ahead) + rows;
        ChannelStats {
            channel: self.row.name.clone(),
            depth: ready + in_flight + deferred,
            ready,
            in_flight,
            deferred,
            dead: self.counts.dead,
            consumers: self.consumers.iter().filter(|c| c.is_socket()).count() as u64,
            attached: Vec::new(), // the broker fills it (it has the sockets)
            paused: self.row.paused,
            published_total: head.saturating_sub(self.row.base_seq),
            delivered_total: c.delivered,
            finished_total: c.finished,
            requeued_total: c.requeued,
            timed_out_total: c.timed_out,
            dropped_total: c.dropped,
            filtered_total: c.filtered,
            expired_total: c.expired,
            filter: self.row.filter.as_deref().and_then(|f| serde_json::from_str(f).ok()),
            push: self.push.as_ref().map(crate::proto::push::PushConfig::view),
            push_ok_total: c.push_ok,
            push_failed_total: c.push_failed,
            push_error: self.row.push_error.clone(),
            partition: None,
            partitions: None,
        }
    }
}
