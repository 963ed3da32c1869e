//! A topic: its channels and consumers, and the driver's entry points.
//!
//! Each method that changes state queues [`Effect`]s; [`Topic::drain_effects`] hands them
//! to the driver together with one `Store::Channel` row per channel the call changed, so
//! counters and cursors are written once per call, not once per message.
//!
//! The methods are spread by concern: this file (state, start-up, publish), `consumers.rs`
//! (attach, credit, settling), `delivery.rs` (delivering, requeueing, time), and
//! `channels.rs` (channel administration and stats).

use super::channel::{Channel, Key};
use super::consumer::Consumer;
use super::effect::{ChannelRecord, Effect, MessageRecord, MessageState, Store};
use super::error::CoreError;
use super::{ConsumerId, Millis, Seq};
use crate::proto::{ChannelName, Limits};
use std::collections::{BTreeMap, BTreeSet};

/// A checkpoint update: `None` leaves it, `Some(None)` clears it, `Some(Some(json))` sets it.
pub type Checkpoint = Option<Option<String>>;

/// The checkpoint update a settle frame's `state` asks for: absent leaves it, JSON `null`
/// clears it, anything else (JSON text) sets it.
pub fn checkpoint_update(state: Option<&str>) -> Checkpoint {
    state.map(|text| (text != "null").then(|| text.to_owned()))
}

/// Most messages an ephemeral channel keeps; older ones are dropped.
pub const EPHEMERAL_BACKLOG: u64 = 10_000;

/// One event being appended, as the core sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewMessage {
    /// Deliver from this time on (deferred), if later than now.
    pub deliver_at: Option<Millis>,
    /// Ordering key, if any.
    pub key: Option<String>,
}

/// The state of one topic.
#[derive(Debug, Default)]
pub struct Topic {
    pub(super) limits: Limits,
    pub(super) head: Seq,
    pub(super) channels: BTreeMap<u32, Channel>,
    pub(super) by_name: BTreeMap<String, u32>,
    pub(super) next_channel: u32,
    pub(super) consumers: BTreeMap<ConsumerId, Consumer>,
    pub(super) next_consumer: u64,
    /// Ordering keys of messages some channel may still need.
    pub(super) keys: BTreeMap<Seq, Key>,
    /// In-flight deadlines and deferred times: (when, channel, seq).
    pub(super) timers: BTreeSet<(Millis, u32, Seq)>,
    /// When consumers holding messages are considered gone.
    pub(super) heartbeats: BTreeSet<(Millis, ConsumerId)>,
    /// Channels whose row changed in a way the next call must persist.
    pub(super) dirty: BTreeSet<u32>,
    /// Channels whose row changed only in what storage can do without for a moment: the
    /// cursor passing a first delivery (its message row is written, and [`Topic::restore`]
    /// finds the cursor from those rows) and `delivered_total`. Written with the next
    /// dirty row, or at `lazy_due` (a timer of [`Topic::poll_timeout`]).
    pub(super) lazy: BTreeSet<u32>,
    pub(super) lazy_due: Option<Millis>,
    pub(super) effects: Vec<Effect>,
}

/// How long a delivery may leave its channel row unwritten (see `Topic::lazy`): a crash
/// within this time loses at most these deliveries from `delivered_total`.
pub const LAZY_ROW_MS: Millis = 1_000;

impl Topic {
    /// An empty topic.
    pub fn new(limits: Limits) -> Self {
        Topic { limits, next_consumer: 1, ..Default::default() }
    }

    /// The last seq given (0 for none).
    pub fn head(&self) -> Seq {
        self.head
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub(super) fn key_of(&self, seq: Seq) -> Option<Key> {
        self.keys.get(&seq).cloned()
    }

    // ---- start-up ----

    /// Loads persisted state: the head, the channel rows, the message rows, and the
    /// ordering keys of events above the lowest floor. Then call
    /// [`Topic::restore_consumer`] for each surviving socket, then [`Topic::finish_restore`].
    pub fn restore(
        &mut self,
        head: Seq,
        channels: Vec<ChannelRecord>,
        messages: Vec<(String, MessageRecord)>,
        keys: Vec<(Seq, String)>,
    ) {
        self.head = head;
        for (seq, key) in keys {
            self.keys.insert(seq, key.into());
        }
        for record in channels {
            let name = record.name.clone();
            let ephemeral = ChannelName::parse(&name).map(|n| n.is_ephemeral()).unwrap_or(false);
            let id = self.next_channel;
            self.next_channel += 1;
            self.by_name.insert(name, id);
            self.channels.insert(id, Channel::new(record, ephemeral));
        }
        let mut by_channel: BTreeMap<String, Vec<MessageRecord>> = BTreeMap::new();
        for (channel, record) in messages {
            by_channel.entry(channel).or_default().push(record);
        }
        for ch in self.channels.values_mut() {
            let rows = by_channel.remove(&ch.record.name).unwrap_or_default();
            let settled: BTreeSet<Seq> = rows
                .iter()
                .filter(|m| matches!(m.state, MessageState::Finished | MessageState::Dead))
                .map(|m| m.seq)
                .collect();
            for (&seq, key) in self.keys.range(ch.record.floor + 1..) {
                if !settled.contains(&seq) {
                    ch.hold_key(seq, Some(key));
                }
            }
            // Every delivered message has a row (attempt >= 1) and lies below the cursor of
            // its time, so the cursor is past them even when the channel row is older.
            let delivered = rows.iter().filter(|m| m.attempt >= 1).map(|m| m.seq).max();
            if let Some(seq) = delivered {
                ch.record.cursor = ch.record.cursor.max(seq + 1);
            }
            for record in rows {
                let key = self.keys.get(&record.seq).cloned();
                ch.put(record, key.as_ref());
            }
        }
    }

    /// Rebuilds timers, hands in-flight messages back to surviving consumers, requeues the
    /// rest (as a disconnect would), and delivers what can be delivered.
    pub fn finish_restore(&mut self, now: Millis) {
        let mut orphans = Vec::new();
        for (&ch_id, ch) in &self.channels {
            for m in ch.messages.values() {
                match m.state {
                    MessageState::InFlight { consumer, deadline } => {
                        self.next_consumer = self.next_consumer.max(consumer.0 + 1);
                        match self.consumers.get_mut(&consumer) {
                            Some(c) if c.channel == ch_id => {
                                c.in_flight.insert(m.seq);
                                self.timers.insert((deadline, ch_id, m.seq));
                            }
                            _ => orphans.push((ch_id, m.seq, deadline <= now)),
                        }
                    }
                    MessageState::Deferred { until } => {
                        self.timers.insert((until, ch_id, m.seq));
                    }
                    _ => {}
                }
            }
        }
        for (ch, seq, failed) in orphans {
            self.give_back(now, ch, seq, failed, 0, 0, None);
        }
        let ids: Vec<ConsumerId> = self.consumers.keys().copied().collect();
        for id in ids {
            self.refresh_heartbeat(id);
        }
        self.pump_all(now);
    }

    // ---- publish ----

    /// Appends events. Returns the first new seq.
    pub fn publish(&mut self, now: Millis, items: &[NewMessage]) -> Result<Seq, CoreError> {
        let limit = now.saturating_add(self.limits.max_delay_ms);
        if items.iter().filter_map(|m| m.deliver_at).any(|t| t > limit) {
            return Err(CoreError::DelayTooLong(self.limits.max_delay_ms));
        }
        let first = self.head + 1;
        self.head += items.len() as Seq;
        for (i, item) in items.iter().enumerate() {
            let seq = first + i as Seq;
            let key: Option<Key> = item.key.as_deref().filter(|k| !k.is_empty()).map(Into::into);
            if let Some(k) = &key {
                self.keys.insert(seq, k.clone());
            }
            let until = item.deliver_at.filter(|&t| t > now);
            for (&ch_id, ch) in self.channels.iter_mut() {
                ch.hold_key(seq, key.as_ref());
                if let Some(until) = until {
                    let record = MessageRecord {
                        state: MessageState::Deferred { until },
                        ..MessageRecord::fresh(seq)
                    };
                    self.effects.push(Effect::Store(Store::Message {
                        channel: ch.record.name.clone(),
                        record: record.clone(),
                    }));
                    ch.put(record, key.as_ref());
                    self.timers.insert((until, ch_id, seq));
                }
            }
        }
        let ephemeral: Vec<u32> =
            self.channels.iter().filter(|(_, c)| c.ephemeral).map(|(&id, _)| id).collect();
        for id in ephemeral {
            self.trim(id);
        }
        self.pump_all(now);
        Ok(first)
    }

    /// Drops the oldest undelivered messages of an ephemeral channel over its backlog cap.
    fn trim(&mut self, ch_id: u32) {
        let head = self.head;
        let Some(ch) = self.channels.get(&ch_id) else { return };
        let mut excess = ch.stats(head).depth.saturating_sub(EPHEMERAL_BACKLOG);
        let mut seq = ch.record.floor + 1;
        while excess > 0 && seq <= head {
            let key = self.key_of(seq);
            let Some(ch) = self.channels.get_mut(&ch_id) else { return };
            let droppable = match ch.messages.get(&seq).map(|m| m.state) {
                None => true,
                Some(MessageState::Ready) => true,
                Some(MessageState::Deferred { until }) => {
                    self.timers.remove(&(until, ch_id, seq));
                    true
                }
                Some(_) => false,
            };
            if droppable {
                let record = MessageRecord { state: MessageState::Finished, ..MessageRecord::fresh(seq) };
                ch.put(record.clone(), key.as_ref());
                ch.release_key(seq, key.as_ref());
                if ch.record.cursor == seq {
                    ch.record.cursor += 1;
                }
                ch.record.dropped_total += 1;
                self.effects.push(Effect::Store(Store::Message { channel: ch.record.name.clone(), record }));
                excess -= 1;
            }
            seq += 1;
        }
        if let Some(ch) = self.channels.get_mut(&ch_id) {
            if ch.advance_floor() {
                let (channel, through) = (ch.record.name.clone(), ch.record.floor);
                self.effects.push(Effect::Store(Store::DropMessagesThrough { channel, through }));
            }
        }
        self.dirty.insert(ch_id);
    }

    // ---- effects ----

    /// Takes the queued effects, ending with one row per channel this call changed.
    pub fn drain_effects(&mut self) -> Vec<Effect> {
        for id in std::mem::take(&mut self.dirty) {
            self.lazy.remove(&id);
            if let Some(ch) = self.channels.get(&id) {
                self.effects.push(Effect::Store(Store::Channel(ch.record.clone())));
            }
        }
        if self.lazy.is_empty() {
            self.lazy_due = None;
        }
        std::mem::take(&mut self.effects)
    }

    /// Notes a channel row change that may wait (see `Topic::lazy`).
    pub(super) fn lazy_row(&mut self, now: Millis, ch_id: u32) {
        if !self.dirty.contains(&ch_id) {
            self.lazy.insert(ch_id);
            self.lazy_due.get_or_insert(now.saturating_add(LAZY_ROW_MS));
        }
    }

    /// Makes every waiting channel row due with the next [`Topic::drain_effects`].
    pub(super) fn flush_rows(&mut self) {
        self.dirty.append(&mut self.lazy);
        self.lazy_due = None;
    }
}
