//! Consumers of a topic: attaching, credit, liveness, and settling the messages they hold
//! (fin / touch / req / shelve).

use super::consumer::{Consumer, ConsumerSettings};
use super::error::CoreError;
use super::topic::{Checkpoint, Topic};
use super::{ConsumerId, Millis, Seq, CLOSE_HEARTBEAT};
use crate::proto::frame::Settle;
use crate::proto::id::message_id;
use crate::proto::ChannelName;
use std::collections::BTreeSet;

impl Topic {
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
        let Some(&ch) = self.by_name.get(channel) else { return false };
        self.next_consumer = self.next_consumer.max(id.0 + 1);
        self.insert_consumer(now, id, ch, settings, rdy);
        true
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
        let Some(c) = self.consumers.remove(&id) else { return };
        if let Some(k) = c.heartbeat_key {
            self.heartbeats.remove(&(k, id));
        }
        for &seq in &c.in_flight {
            let failed = match self.channels.get(&c.channel).and_then(|ch| ch.messages.get(&seq)) {
                Some(m) => {
                    matches!(m.state, super::MessageState::InFlight { deadline, .. } if deadline <= now)
                }
                None => false,
            };
            self.give_back(now, c.channel, seq, failed, c.settings.max_attempts, 0, None);
        }
        let Some(ch) = self.channels.get_mut(&c.channel) else { return };
        ch.consumers.retain(|x| *x != id);
        if ch.consumers.is_empty() && ch.ephemeral {
            self.drop_channel(c.channel, "ephemeral channel has no consumer");
        } else {
            self.pump(now, c.channel);
        }
    }

    /// Whether message `seq` is in flight to consumer `id`.
    pub fn consumer_holds(&self, id: ConsumerId, seq: Seq) -> bool {
        self.consumers.get(&id).is_some_and(|c| c.in_flight.contains(&seq))
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
    /// and shelve. Returns the new deadline for touch. A refused call changes nothing.
    ///
    /// Time passes first: whatever fell due by `now` (an expired deadline above all)
    /// happens before the frame, and a settle of a delivery whose deadline has passed is
    /// refused even if the timer has not run yet (the delivery has already failed; the
    /// redelivery, possibly to the same consumer, comes as a new `msg`).
    pub fn settle(
        &mut self,
        now: Millis,
        id: ConsumerId,
        verb: Settle,
        seq: Seq,
        checkpoint: Checkpoint,
        delay: Millis,
    ) -> Result<Option<Millis>, CoreError> {
        let expired = self.consumers.get(&id).is_some_and(|c| {
            c.in_flight.contains(&seq)
                && self.channels.get(&c.channel).and_then(|ch| ch.messages.get(&seq)).is_some_and(
                    |m| matches!(m.state, super::MessageState::InFlight { deadline, .. } if deadline <= now),
                )
        });
        self.handle_timeout(now);
        let c = self.consumers.get(&id).ok_or(CoreError::NoSuchConsumer)?;
        if expired || !c.in_flight.contains(&seq) {
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

    pub(super) fn close_silent(&mut self, now: Millis, id: ConsumerId) {
        if let Some(c) = self.consumers.get_mut(&id) {
            c.heartbeat_key = None;
        }
        self.effects.push(super::Effect::Close {
            consumer: id,
            code: CLOSE_HEARTBEAT,
            reason: "heartbeat timeout".into(),
        });
        self.detach(now, id);
    }

    /// Keeps a consumer in the heartbeat queue exactly while it holds messages, so idle
    /// consumers never wake the driver.
    pub(super) fn refresh_heartbeat(&mut self, id: ConsumerId) {
        let Some(c) = self.consumers.get_mut(&id) else { return };
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
}
