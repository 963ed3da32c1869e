//! One channel of a topic: where each message stands for this channel, and which
//! consumers share it.
//!
//! Messages in `(floor, cursor)` have an entry in `messages` unless finished and below
//! the floor; messages in `[cursor, head]` are ready and were never delivered, unless an
//! entry says otherwise (a deferred publish). This keeps memory and storage proportional
//! to the work in progress, not to the backlog.
//!
//! Ordering keys: `keyed` holds, per key, the messages of that key that are still pending
//! here (not finished, not dead). Only the lowest of them may be delivered; a later one
//! that is ready waits "parked" (an entry in state `Ready` kept out of the `ready` set)
//! until the ones before it are finished or dead.

use super::effect::{ChannelRecord, MessageRecord, MessageState};
use super::{ConsumerId, Seq};
use crate::proto::http::ChannelStats;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

/// An ordering key, shared between the topic and its channels.
pub type Key = Rc<str>;

/// A channel's state.
#[derive(Debug, Clone)]
pub struct Channel {
    /// Persistent fields (name, floor, cursor, counters).
    pub record: ChannelRecord,
    /// Whether the channel is deleted with its last consumer.
    pub ephemeral: bool,
    /// Messages that are not simply "never delivered", by seq.
    pub messages: BTreeMap<Seq, MessageRecord>,
    /// Entries in state `Ready` that may be delivered now (not parked behind a key).
    pub ready: BTreeSet<Seq>,
    /// Pending messages with an ordering key, by key.
    pub keyed: HashMap<Key, BTreeSet<Seq>>,
    /// Attached consumers, in attach order.
    pub consumers: Vec<ConsumerId>,
    /// Round-robin position in `consumers`.
    pub next_consumer: usize,
}

impl Channel {
    /// A channel from its persisted record.
    pub fn new(record: ChannelRecord, ephemeral: bool) -> Self {
        Channel {
            record,
            ephemeral,
            messages: BTreeMap::new(),
            ready: BTreeSet::new(),
            keyed: HashMap::new(),
            consumers: Vec::new(),
            next_consumer: 0,
        }
    }

    /// Whether `seq` must wait for an earlier message with the same key.
    pub fn blocked(&self, seq: Seq, key: Option<&Key>) -> bool {
        key.and_then(|k| self.keyed.get(k)).and_then(|s| s.first()).is_some_and(|&first| first < seq)
    }

    /// Notes that `seq` (with `key`) is pending on this channel.
    pub fn hold_key(&mut self, seq: Seq, key: Option<&Key>) {
        if let Some(k) = key {
            self.keyed.entry(k.clone()).or_default().insert(seq);
        }
    }

    /// Notes that `seq` is finished or dead: its key no longer waits for it. A parked
    /// message that becomes first of its key is made deliverable.
    pub fn release_key(&mut self, seq: Seq, key: Option<&Key>) {
        let Some(k) = key else { return };
        let Some(set) = self.keyed.get_mut(k) else { return };
        set.remove(&seq);
        match set.first().copied() {
            Some(next) => {
                if self.messages.get(&next).is_some_and(|m| m.state == MessageState::Ready) {
                    self.ready.insert(next);
                }
            }
            None => {
                self.keyed.remove(k);
            }
        }
    }

    /// Inserts or replaces an entry, keeping `ready` in step (parked if its key waits).
    pub fn put(&mut self, record: MessageRecord, key: Option<&Key>) {
        if record.state == MessageState::Ready && !self.blocked(record.seq, key) {
            self.ready.insert(record.seq);
        } else {
            self.ready.remove(&record.seq);
        }
        self.messages.insert(record.seq, record);
    }

    /// The lowest seq that may be delivered now, if any. Moves the cursor past seqs that
    /// have entries of their own, and parks never-delivered messages whose key waits:
    /// those get a `Ready` entry, returned in `parked` for the driver to persist.
    pub fn next_ready(
        &mut self,
        head: Seq,
        key_of: impl Fn(Seq) -> Option<Key>,
        parked: &mut Vec<MessageRecord>,
    ) -> Option<Seq> {
        loop {
            while self.record.cursor <= head && self.messages.contains_key(&self.record.cursor) {
                self.record.cursor += 1;
            }
            let fresh = (self.record.cursor <= head).then_some(self.record.cursor);
            let requeued = self.ready.first().copied();
            match (requeued, fresh) {
                (Some(r), Some(f)) if r < f => return Some(r),
                (Some(r), None) => return Some(r),
                (_, Some(f)) => {
                    let key = key_of(f);
                    if !self.blocked(f, key.as_ref()) {
                        return Some(f);
                    }
                    let record = MessageRecord::fresh(f);
                    parked.push(record.clone());
                    self.messages.insert(f, record);
                    self.record.cursor += 1;
                }
                (None, None) => return None,
            }
        }
    }

    /// Advances the floor over finished entries. Returns whether it moved.
    pub fn advance_floor(&mut self) -> bool {
        let start = self.record.floor;
        loop {
            let next = self.record.floor + 1;
            if next >= self.record.cursor {
                break;
            }
            match self.messages.get(&next) {
                Some(m) if m.state == MessageState::Finished => {
                    self.messages.remove(&next);
                    self.record.floor = next;
                }
                _ => break,
            }
        }
        self.record.floor != start
    }

    /// Picks the next consumer with credit, round robin.
    pub fn pick_consumer(&mut self, has_credit: impl Fn(ConsumerId) -> bool) -> Option<ConsumerId> {
        let n = self.consumers.len();
        for i in 0..n {
            let idx = (self.next_consumer + i) % n;
            let c = self.consumers[idx];
            if has_credit(c) {
                self.next_consumer = (idx + 1) % n;
                return Some(c);
            }
        }
        None
    }

    /// Counters and gauges, with `head` the topic's last seq.
    pub fn stats(&self, head: Seq) -> ChannelStats {
        let (mut in_flight, mut deferred, mut dead, mut finished) = (0, 0, 0, 0);
        for m in self.messages.values() {
            match m.state {
                MessageState::InFlight { .. } => in_flight += 1,
                MessageState::Deferred { .. } => deferred += 1,
                MessageState::Dead => dead += 1,
                MessageState::Finished => finished += 1,
                MessageState::Ready => {}
            }
        }
        let depth = head.saturating_sub(self.record.floor).saturating_sub(finished + dead);
        let r = &self.record;
        ChannelStats {
            channel: r.name.clone(),
            depth,
            ready: depth.saturating_sub(in_flight + deferred),
            in_flight,
            deferred,
            dead,
            consumers: self.consumers.len() as u64,
            paused: r.paused,
            published_total: head.saturating_sub(r.base_seq),
            delivered_total: r.delivered_total,
            finished_total: r.finished_total,
            requeued_total: r.requeued_total,
            timed_out_total: r.timed_out_total,
            dropped_total: r.dropped_total,
        }
    }
}
