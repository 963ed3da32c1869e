//! A topic: its channels and consumers, and every operation the driver feeds in.
//!
//! Each method that changes state queues [`Effect`]s; [`Topic::drain_effects`] hands them
//! to the driver together with one `Store::Channel` row per channel the call changed, so
//! counters and cursors are written once per call, not once per message.

use super::channel::Channel;
use super::consumer::{Consumer, ConsumerSettings};
use super::effect::{ChannelRecord, Delivery, Effect, MessageRecord, MessageState, Store};
use super::error::CoreError;
use super::{ConsumerId, Millis, Seq, CLOSE_DELETED, CLOSE_HEARTBEAT};
use crate::proto::frame::Settle;
use crate::proto::http::ChannelStats;
use crate::proto::id::message_id;
use crate::proto::{ChannelName, Limits};
use std::collections::{BTreeMap, BTreeSet};

/// A checkpoint update: `None` leaves it, `Some(None)` clears it, `Some(Some(json))` sets it.
pub type Checkpoint = Option<Option<String>>;

/// The state of one topic.
#[derive(Debug, Default)]
pub struct Topic {
    limits: Limits,
    head: Seq,
    channels: BTreeMap<u32, Channel>,
    by_name: BTreeMap<String, u32>,
    next_channel: u32,
    consumers: BTreeMap<ConsumerId, Consumer>,
    next_consumer: u64,
    /// In-flight deadlines and deferred times: (when, channel, seq).
    timers: BTreeSet<(Millis, u32, Seq)>,
    /// When consumers holding messages are considered gone.
    heartbeats: BTreeSet<(Millis, ConsumerId)>,
    dirty: BTreeSet<u32>,
    effects: Vec<Effect>,
}

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

    // ---- restore (driver start-up) ----

    /// Loads persisted state: the head, the channel rows and the message rows. Call
    /// [`Topic::restore_consumer`] for each surviving socket, then [`Topic::finish_restore`].
    pub fn restore(
        &mut self,
        head: Seq,
        channels: Vec<ChannelRecord>,
        messages: Vec<(String, MessageRecord)>,
    ) {
        self.head = head;
        for record in channels {
            let name = record.name.clone();
            let ephemeral = ChannelName::parse(&name).map(|n| n.is_ephemeral()).unwrap_or(false);
            let id = self.next_channel;
            self.next_channel += 1;
            self.by_name.insert(name, id);
            self.channels.insert(id, Channel::new(record, ephemeral));
        }
        for (channel, record) in messages {
            if let Some(ch) = self.by_name.get(&channel).and_then(|id| self.channels.get_mut(id)) {
                ch.put(record);
            }
        }
    }

    /// Re-attaches a consumer whose socket survived (hibernation). Returns false if its
    /// channel is gone: the driver then closes the socket.
    pub fn restore_consumer(
        &mut self,
        now: Millis,
        id: ConsumerId,
        channel: &str,
        settings: ConsumerSettings,
        rdy: u32,
    ) -> bool {
        let Some(&ch) = self.by_name.get(channel) else {
            return false;
        };
        self.next_consumer = self.next_consumer.max(id.0 + 1);
        self.insert_consumer(now, id, ch, settings, rdy);
        true
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

    // ---- channels ----

    /// Creates a channel; `oldest` is the lowest seq still retained. Returns false if it
    /// already existed (nothing changes then).
    pub fn create_channel(&mut self, name: &ChannelName, from_seq: Option<Seq>, oldest: Seq) -> bool {
        if self.by_name.contains_key(name.as_str()) {
            return false;
        }
        let floor = match from_seq {
            Some(s) => s.max(oldest.max(1)).min(self.head + 1) - 1,
            None => self.head,
        };
        let record = ChannelRecord {
            name: name.as_str().to_owned(),
            base_seq: self.head,
            floor,
            cursor: floor + 1,
            ..Default::default()
        };
        let id = self.next_channel;
        self.next_channel += 1;
        self.by_name.insert(record.name.clone(), id);
        self.channels.insert(id, Channel::new(record, name.is_ephemeral()));
        self.dirty.insert(id);
        true
    }

    /// Deletes a channel with its backlog; its consumers are closed with 4004.
    pub fn delete_channel(&mut self, name: &str) -> Result<(), CoreError> {
        let id = *self.by_name.get(name).ok_or_else(|| CoreError::NoSuchChannel(name.to_owned()))?;
        self.drop_channel(id, "channel deleted");
        Ok(())
    }

    /// Closes every consumer (4004) and forgets every channel: the topic is being deleted.
    pub fn delete_all(&mut self) {
        let ids: Vec<u32> = self.channels.keys().copied().collect();
        for id in ids {
            self.drop_channel(id, "topic deleted");
        }
        self.head = 0;
    }

    fn drop_channel(&mut self, id: u32, reason: &str) {
        let Some(ch) = self.channels.remove(&id) else {
            return;
        };
        self.by_name.remove(&ch.record.name);
        self.dirty.remove(&id);
        for c in &ch.consumers {
            if let Some(consumer) = self.consumers.remove(c) {
                if let Some(k) = consumer.heartbeat_key {
                    self.heartbeats.remove(&(k, *c));
                }
            }
            self.effects.push(Effect::Close { consumer: *c, code: CLOSE_DELETED, reason: reason.to_owned() });
        }
        self.timers.retain(|&(_, ch_id, _)| ch_id != id);
        self.effects.push(Effect::Store(Store::DropChannel(ch.record.name)));
    }

    /// Pauses or resumes delivery on a channel.
    pub fn set_paused(&mut self, now: Millis, name: &str, paused: bool) -> Result<(), CoreError> {
        let id = *self.by_name.get(name).ok_or_else(|| CoreError::NoSuchChannel(name.to_owned()))?;
        if let Some(ch) = self.channels.get_mut(&id) {
            ch.record.paused = paused;
        }
        self.dirty.insert(id);
        self.pump(now, id);
        Ok(())
    }

    /// Whether a channel exists.
    pub fn has_channel(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// Stats of every channel, by name.
    pub fn stats(&self) -> Vec<ChannelStats> {
        self.by_name.values().filter_map(|id| self.channels.get(id)).map(|c| c.stats(self.head)).collect()
    }

    /// The lowest seq some channel still needs (not finished everywhere), or `head + 1`.
    pub fn lowest_needed(&self) -> Seq {
        self.channels.values().map(|c| c.record.floor + 1).min().unwrap_or(self.head + 1)
    }

    // ---- publish ----

    /// Appends events; `deliver_at[i]` defers event i. Returns the first new seq.
    pub fn publish(&mut self, now: Millis, deliver_at: &[Option<Millis>]) -> Result<Seq, CoreError> {
        let limit = now.saturating_add(self.limits.max_delay_ms);
        if deliver_at.iter().flatten().any(|&t| t > limit) {
            return Err(CoreError::DelayTooLong(self.limits.max_delay_ms));
        }
        let first = self.head + 1;
        self.head += deliver_at.len() as Seq;
        for (i, at) in deliver_at.iter().enumerate() {
            let Some(until) = at.filter(|&t| t > now) else {
                continue;
            };
            let seq = first + i as Seq;
            for (&ch_id, ch) in self.channels.iter_mut() {
                let record = MessageRecord {
                    seq,
                    state: MessageState::Deferred { until },
                    attempt: 0,
                    failures: 0,
                    checkpoint: None,
                };
                self.effects.push(Effect::Store(Store::Message {
                    channel: ch.record.name.clone(),
                    record: record.clone(),
                }));
                ch.put(record);
                self.timers.insert((until, ch_id, seq));
            }
        }
        self.pump_all(now);
        Ok(first)
    }

    // ---- consumers ----

    /// Attaches a consumer to a channel (made if missing) with `rdy` credit.
    pub fn attach(
        &mut self,
        now: Millis,
        channel: &ChannelName,
        settings: ConsumerSettings,
        rdy: u32,
    ) -> ConsumerId {
        self.create_channel(channel, None, 0);
        let ch = self.by_name.get(channel.as_str()).copied().unwrap_or_default();
        let id = ConsumerId(self.next_consumer);
        self.next_consumer += 1;
        self.insert_consumer(now, id, ch, settings, rdy);
        self.pump(now, ch);
        id
    }

    fn insert_consumer(
        &mut self,
        now: Millis,
        id: ConsumerId,
        ch: u32,
        settings: ConsumerSettings,
        rdy: u32,
    ) {
        let consumer = Consumer {
            channel: ch,
            settings,
            rdy: rdy.min(self.limits.max_in_flight),
            in_flight: BTreeSet::new(),
            last_seen: now,
            heartbeat_key: None,
        };
        self.consumers.insert(id, consumer);
        if let Some(c) = self.channels.get_mut(&ch) {
            c.consumers.push(id);
        }
    }

    /// The consumer's channel name, if it is attached.
    pub fn channel_of(&self, id: ConsumerId) -> Option<&str> {
        let c = self.consumers.get(&id)?;
        self.channels.get(&c.channel).map(|ch| ch.record.name.as_str())
    }

    /// Whether the consumer is attached.
    pub fn has_consumer(&self, id: ConsumerId) -> bool {
        self.consumers.contains_key(&id)
    }

    /// Detaches a consumer (socket closed). Messages it held go back: at once and without
    /// a failure if their deadline had not passed, as a failure otherwise. An ephemeral
    /// channel goes with its last consumer.
    pub fn detach(&mut self, now: Millis, id: ConsumerId) {
        let Some(c) = self.consumers.remove(&id) else {
            return;
        };
        if let Some(k) = c.heartbeat_key {
            self.heartbeats.remove(&(k, id));
        }
        for &seq in &c.in_flight {
            let failed = match self.channels.get(&c.channel).and_then(|ch| ch.messages.get(&seq)) {
                Some(MessageRecord { state: MessageState::InFlight { deadline, .. }, .. }) => {
                    *deadline <= now
                }
                _ => false,
            };
            self.give_back(now, c.channel, seq, failed, c.settings.max_attempts, 0, None);
        }
        let Some(ch) = self.channels.get_mut(&c.channel) else {
            return;
        };
        ch.consumers.retain(|x| *x != id);
        if ch.consumers.is_empty() && ch.ephemeral {
            self.drop_channel(c.channel, "ephemeral channel has no consumer");
        } else {
            self.pump(now, c.channel);
        }
    }

    /// Notes that a consumer sent a frame (it is alive).
    pub fn seen(&mut self, now: Millis, id: ConsumerId) {
        if let Some(c) = self.consumers.get_mut(&id) {
            c.last_seen = now;
        }
        self.refresh_heartbeat(id);
    }

    /// Sets a consumer's credit (`rdy`), capped at the `max_in_flight` limit.
    pub fn rdy(&mut self, now: Millis, id: ConsumerId, count: u32) -> Result<(), CoreError> {
        let c = self.consumers.get_mut(&id).ok_or(CoreError::NoSuchConsumer)?;
        c.rdy = count.min(self.limits.max_in_flight);
        let ch = c.channel;
        self.seen(now, id);
        self.pump(now, ch);
        Ok(())
    }

    /// fin / touch / req / shelve of a message in flight to `id`. `delay` applies to req
    /// and shelve. Returns the new deadline for touch.
    pub fn settle(
        &mut self,
        now: Millis,
        id: ConsumerId,
        verb: Settle,
        seq: Seq,
        checkpoint: Checkpoint,
        delay: Millis,
    ) -> Result<Option<Millis>, CoreError> {
        let c = self.consumers.get(&id).ok_or(CoreError::NoSuchConsumer)?;
        if !c.in_flight.contains(&seq) {
            return Err(CoreError::NotInFlight(message_id(seq)));
        }
        if let Some(Some(cp)) = &checkpoint {
            if cp.len() > self.limits.max_checkpoint_bytes {
                return Err(CoreError::CheckpointTooLarge {
                    size: cp.len(),
                    limit: self.limits.max_checkpoint_bytes,
                });
            }
        }
        if delay > self.limits.max_delay_ms {
            return Err(CoreError::DelayTooLong(self.limits.max_delay_ms));
        }
        let (ch_id, settings) = (c.channel, c.settings);
        self.seen(now, id);
        let mut deadline = None;
        match verb {
            Settle::Fin => self.finish(ch_id, seq),
            Settle::Touch => deadline = Some(self.touch(now, ch_id, seq, settings, checkpoint)),
            Settle::Req => self.give_back(now, ch_id, seq, true, settings.max_attempts, delay, checkpoint),
            Settle::Shelve => self.give_back(now, ch_id, seq, false, 0, delay, checkpoint),
        }
        if verb != Settle::Touch {
            if let Some(c) = self.consumers.get_mut(&id) {
                c.in_flight.remove(&seq);
            }
            self.refresh_heartbeat(id);
        }
        self.pump(now, ch_id);
        Ok(deadline)
    }

    fn finish(&mut self, ch_id: u32, seq: Seq) {
        let Some(ch) = self.channels.get_mut(&ch_id) else {
            return;
        };
        let Some(m) = ch.messages.get_mut(&seq) else {
            return;
        };
        if let MessageState::InFlight { deadline, .. } = m.state {
            self.timers.remove(&(deadline, ch_id, seq));
        }
        m.state = MessageState::Finished;
        let record = m.clone();
        ch.record.finished_total += 1;
        self.dirty.insert(ch_id);
        let name = ch.record.name.clone();
        if ch.advance_floor() {
            self.effects
                .push(Effect::Store(Store::DropMessagesThrough { channel: name, through: ch.record.floor }));
        } else {
            self.effects.push(Effect::Store(Store::Message { channel: name, record }));
        }
    }

    fn touch(
        &mut self,
        now: Millis,
        ch_id: u32,
        seq: Seq,
        s: ConsumerSettings,
        checkpoint: Checkpoint,
    ) -> Millis {
        let new_deadline = now.saturating_add(s.handler_timeout_ms);
        let Some(ch) = self.channels.get_mut(&ch_id) else {
            return new_deadline;
        };
        let Some(m) = ch.messages.get_mut(&seq) else {
            return new_deadline;
        };
        if let MessageState::InFlight { deadline, consumer } = m.state {
            self.timers.remove(&(deadline, ch_id, seq));
            self.timers.insert((new_deadline, ch_id, seq));
            m.state = MessageState::InFlight { consumer, deadline: new_deadline };
        }
        if let Some(cp) = checkpoint {
            m.checkpoint = cp;
        }
        let record = m.clone();
        self.effects.push(Effect::Store(Store::Message { channel: ch.record.name.clone(), record }));
        new_deadline
    }

    /// Returns a message to the channel: ready, deferred by `delay`, or dead when it is a
    /// failure that reaches `max_attempts`.
    #[allow(clippy::too_many_arguments)]
    fn give_back(
        &mut self,
        now: Millis,
        ch_id: u32,
        seq: Seq,
        failure: bool,
        max_attempts: u32,
        delay: Millis,
        checkpoint: Checkpoint,
    ) {
        let Some(ch) = self.channels.get_mut(&ch_id) else {
            return;
        };
        let Some(mut m) = ch.messages.get(&seq).cloned() else {
            return;
        };
        match m.state {
            MessageState::InFlight { deadline, .. } => {
                self.timers.remove(&(deadline, ch_id, seq));
            }
            MessageState::Deferred { until } => {
                self.timers.remove(&(until, ch_id, seq));
            }
            _ => {}
        }
        if failure {
            m.failures += 1;
        }
        if let Some(cp) = checkpoint {
            m.checkpoint = cp;
        }
        m.state = if failure && max_attempts > 0 && m.failures >= max_attempts {
            MessageState::Dead
        } else if delay > 0 {
            let until = now.saturating_add(delay);
            self.timers.insert((until, ch_id, seq));
            MessageState::Deferred { until }
        } else {
            MessageState::Ready
        };
        ch.record.requeued_total += 1;
        self.dirty.insert(ch_id);
        self.effects
            .push(Effect::Store(Store::Message { channel: ch.record.name.clone(), record: m.clone() }));
        ch.put(m);
    }

    // ---- time ----

    /// The earliest time [`Topic::handle_timeout`] has work to do.
    pub fn poll_timeout(&self) -> Option<Millis> {
        let t = self.timers.first().map(|t| t.0);
        let h = self.heartbeats.first().map(|h| h.0);
        match (t, h) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Expires deadlines, makes deferred messages ready, and closes silent consumers.
    pub fn handle_timeout(&mut self, now: Millis) {
        let mut touched = BTreeSet::new();
        while let Some(&(when, ch_id, seq)) = self.timers.first() {
            if when > now {
                break;
            }
            self.timers.pop_first();
            touched.insert(ch_id);
            let Some(ch) = self.channels.get_mut(&ch_id) else {
                continue;
            };
            let Some(m) = ch.messages.get(&seq) else {
                continue;
            };
            match m.state {
                MessageState::InFlight { consumer, deadline } if deadline == when => {
                    ch.record.timed_out_total += 1;
                    let max_attempts = match self.consumers.get_mut(&consumer) {
                        Some(c) => {
                            c.in_flight.remove(&seq);
                            c.settings.max_attempts
                        }
                        None => 0,
                    };
                    self.refresh_heartbeat(consumer);
                    self.give_back(now, ch_id, seq, true, max_attempts, 0, None);
                }
                MessageState::Deferred { until } if until == when => {
                    let mut m = m.clone();
                    m.state = MessageState::Ready;
                    self.effects.push(Effect::Store(Store::Message {
                        channel: ch.record.name.clone(),
                        record: m.clone(),
                    }));
                    ch.put(m);
                }
                _ => {}
            }
        }
        while let Some(&(when, id)) = self.heartbeats.first() {
            if when > now {
                break;
            }
            self.heartbeats.pop_first();
            self.close_silent(now, id);
        }
        for ch in touched {
            self.pump(now, ch);
        }
    }

    fn close_silent(&mut self, now: Millis, id: ConsumerId) {
        if let Some(c) = self.consumers.get_mut(&id) {
            c.heartbeat_key = None;
        }
        self.effects.push(Effect::Close {
            consumer: id,
            code: CLOSE_HEARTBEAT,
            reason: "heartbeat timeout".into(),
        });
        self.detach(now, id);
    }

    /// Keeps a consumer in the heartbeat queue exactly while it holds messages, so idle
    /// consumers never wake the driver.
    fn refresh_heartbeat(&mut self, id: ConsumerId) {
        let Some(c) = self.consumers.get_mut(&id) else {
            return;
        };
        let want = (!c.in_flight.is_empty()).then(|| c.gone_at());
        if want != c.heartbeat_key {
            if let Some(k) = c.heartbeat_key {
                self.heartbeats.remove(&(k, id));
            }
            if let Some(k) = want {
                self.heartbeats.insert((k, id));
            }
            c.heartbeat_key = want;
        }
    }

    // ---- delivery ----

    fn pump_all(&mut self, now: Millis) {
        let ids: Vec<u32> = self.channels.keys().copied().collect();
        for id in ids {
            self.pump(now, id);
        }
    }

    /// Delivers ready messages of a channel to its consumers with credit, round robin.
    fn pump(&mut self, now: Millis, ch_id: u32) {
        loop {
            let Some(ch) = self.channels.get_mut(&ch_id) else { return };
            if ch.record.paused || ch.consumers.is_empty() {
                return;
            }
            // The message first: the round robin only turns when something is delivered.
            let Some(seq) = ch.next_ready(self.head) else { return };
            let consumers = &self.consumers;
            let Some(cid) = ch.pick_consumer(|c| consumers.get(&c).is_some_and(Consumer::has_credit)) else {
                return;
            };
            if consumers.get(&cid).is_some_and(|c| c.gone_at() <= now) {
                self.close_silent(now, cid);
                continue;
            }
            self.deliver(now, ch_id, seq, cid);
        }
    }

    fn deliver(&mut self, now: Millis, ch_id: u32, seq: Seq, cid: ConsumerId) {
        let (Some(ch), Some(c)) = (self.channels.get_mut(&ch_id), self.consumers.get_mut(&cid)) else {
            return;
        };
        let deadline = now.saturating_add(c.settings.handler_timeout_ms);
        let mut m = ch.messages.get(&seq).cloned().unwrap_or(MessageRecord {
            seq,
            state: MessageState::Ready,
            attempt: 0,
            failures: 0,
            checkpoint: None,
        });
        m.attempt += 1;
        m.state = MessageState::InFlight { consumer: cid, deadline };
        if seq == ch.record.cursor {
            ch.record.cursor += 1;
        }
        ch.record.delivered_total += 1;
        c.in_flight.insert(seq);
        self.timers.insert((deadline, ch_id, seq));
        self.dirty.insert(ch_id);
        let delivery = Delivery {
            consumer: cid,
            seq,
            attempt: m.attempt,
            failures: m.failures,
            deadline,
            checkpoint: m.checkpoint.clone(),
        };
        self.effects
            .push(Effect::Store(Store::Message { channel: ch.record.name.clone(), record: m.clone() }));
        self.effects.push(Effect::Deliver(delivery));
        ch.put(m);
        self.refresh_heartbeat(cid);
    }

    // ---- effects ----

    /// Takes the queued effects, ending with one row per channel this call changed.
    pub fn drain_effects(&mut self) -> Vec<Effect> {
        for id in std::mem::take(&mut self.dirty) {
            if let Some(ch) = self.channels.get(&id) {
                self.effects.push(Effect::Store(Store::Channel(ch.record.clone())));
            }
        }
        std::mem::take(&mut self.effects)
    }
}
