//! Moving messages: delivering to consumers with credit, finishing, touching, giving back
//! (ready, deferred or dead), and everything time does (deadlines, deferred messages,
//! silent consumers).

use super::consumer::{Consumer, ConsumerSettings};
use super::effect::{Delivery, Effect, MessageRecord, MessageState, Store};
use super::topic::{Checkpoint, Topic};
use super::{ConsumerId, Millis, Seq};
use std::collections::BTreeSet;

impl Topic {
    pub(super) fn pump_all(&mut self, now: Millis) {
        let ids: Vec<u32> = self.channels.keys().copied().collect();
        for id in ids {
            self.pump(now, id);
        }
    }

    /// Delivers ready messages of a channel to its consumers with credit, round robin.
    pub(super) fn pump(&mut self, now: Millis, ch_id: u32) {
        loop {
            let (head, keys) = (self.head, &self.keys);
            let Some(ch) = self.channels.get_mut(&ch_id) else { return };
            if ch.record.paused || ch.consumers.is_empty() {
                return;
            }
            // The message first: the round robin only turns when something is delivered.
            let mut parked = Vec::new();
            let next = ch.next_ready(head, |s| keys.get(&s).cloned(), &mut parked);
            for record in parked {
                self.dirty.insert(ch_id);
                self.effects.push(Effect::Store(Store::Message { channel: ch.record.name.clone(), record }));
            }
            let Some(seq) = next else { return };
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
        let key = self.key_of(seq);
        let (Some(ch), Some(c)) = (self.channels.get_mut(&ch_id), self.consumers.get_mut(&cid)) else {
            return;
        };
        let deadline = now.saturating_add(c.settings.handler_timeout_ms);
        let mut m = ch.messages.get(&seq).cloned().unwrap_or(MessageRecord::fresh(seq));
        m.attempt += 1;
        m.state = MessageState::InFlight { consumer: cid, deadline };
        if seq == ch.record.cursor {
            ch.record.cursor += 1;
        }
        ch.record.delivered_total += 1;
        c.in_flight.insert(seq);
        self.timers.insert((deadline, ch_id, seq));
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
        ch.put(m, key.as_ref());
        self.lazy_row(now, ch_id);
        self.refresh_heartbeat(cid);
    }

    pub(super) fn finish(&mut self, ch_id: u32, seq: Seq) {
        let key = self.key_of(seq);
        let Some(ch) = self.channels.get_mut(&ch_id) else { return };
        let Some(m) = ch.messages.get_mut(&seq) else { return };
        if let MessageState::InFlight { deadline, .. } = m.state {
            self.timers.remove(&(deadline, ch_id, seq));
        }
        m.state = MessageState::Finished;
        let record = m.clone();
        ch.record.finished_total += 1;
        ch.release_key(seq, key.as_ref());
        self.dirty.insert(ch_id);
        let name = ch.record.name.clone();
        if ch.advance_floor() {
            self.effects
                .push(Effect::Store(Store::DropMessagesThrough { channel: name, through: ch.record.floor }));
        } else {
            self.effects.push(Effect::Store(Store::Message { channel: name, record }));
        }
    }

    pub(super) fn touch(
        &mut self,
        now: Millis,
        ch_id: u32,
        seq: Seq,
        s: ConsumerSettings,
        checkpoint: Checkpoint,
    ) -> Millis {
        let new_deadline = now.saturating_add(s.handler_timeout_ms);
        let Some(ch) = self.channels.get_mut(&ch_id) else { return new_deadline };
        let Some(m) = ch.messages.get_mut(&seq) else { return new_deadline };
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
    pub(super) fn give_back(
        &mut self,
        now: Millis,
        ch_id: u32,
        seq: Seq,
        failure: bool,
        max_attempts: u32,
        delay: Millis,
        checkpoint: Checkpoint,
    ) {
        let key = self.key_of(seq);
        let Some(ch) = self.channels.get_mut(&ch_id) else { return };
        let Some(mut m) = ch.messages.get(&seq).cloned() else { return };
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
        let dead = failure && max_attempts > 0 && m.failures >= max_attempts;
        m.state = if dead {
            MessageState::Dead
        } else if delay > 0 {
            let until = now.saturating_add(delay);
            self.timers.insert((until, ch_id, seq));
            MessageState::Deferred { until }
        } else {
            MessageState::Ready
        };
        if !dead {
            ch.record.requeued_total += 1;
        }
        self.dirty.insert(ch_id);
        self.effects
            .push(Effect::Store(Store::Message { channel: ch.record.name.clone(), record: m.clone() }));
        ch.put(m, key.as_ref());
        if dead {
            // A dead letter no longer holds back later messages with its key.
            ch.release_key(seq, key.as_ref());
        }
    }

    /// The earliest time [`Topic::handle_timeout`] has work to do.
    pub fn poll_timeout(&self) -> Option<Millis> {
        let t = self.timers.first().map(|t| t.0);
        let h = self.heartbeats.first().map(|h| h.0);
        [t, h, self.lazy_due].into_iter().flatten().min()
    }

    /// Expires deadlines, makes deferred messages ready, closes silent consumers, and
    /// writes channel rows that waited long enough.
    pub fn handle_timeout(&mut self, now: Millis) {
        if self.lazy_due.is_some_and(|t| t <= now) {
            self.flush_rows();
        }
        let mut touched = BTreeSet::new();
        while let Some(&(when, ch_id, seq)) = self.timers.first() {
            if when > now {
                break;
            }
            self.timers.pop_first();
            touched.insert(ch_id);
            let key = self.key_of(seq);
            let Some(ch) = self.channels.get_mut(&ch_id) else { continue };
            let Some(m) = ch.messages.get(&seq) else { continue };
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
                    ch.put(m, key.as_ref());
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
}
