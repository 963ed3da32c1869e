//! Channel administration: create, delete, pause, seek, dead letters, stats.

use super::channel::Channel;
use super::effect::{ChannelRecord, Effect, MessageRecord, MessageState, Store};
use super::error::CoreError;
use super::topic::Topic;
use super::{Millis, Seq, CLOSE_DELETED};
use crate::proto::http::ChannelStats;
use crate::proto::ChannelName;

impl Topic {
    fn channel_id(&self, name: &str) -> Result<u32, CoreError> {
        self.by_name.get(name).copied().ok_or_else(|| CoreError::NoSuchChannel(name.to_owned()))
    }

    /// Creates a channel that starts at `from_seq` (default: the next event); `oldest` is
    /// the lowest seq still retained. Returns false if it already existed (nothing changes).
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
        let mut ch = Channel::new(record, name.is_ephemeral());
        for (&seq, key) in self.keys.range(floor + 1..) {
            ch.hold_key(seq, Some(key));
        }
        self.by_name.insert(name.as_str().to_owned(), id);
        self.channels.insert(id, ch);
        self.dirty.insert(id);
        true
    }

    /// Deletes a channel with its backlog; its consumers are closed with 4004.
    pub fn delete_channel(&mut self, name: &str) -> Result<(), CoreError> {
        let id = self.channel_id(name)?;
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
        self.keys.clear();
    }

    pub(super) fn drop_channel(&mut self, id: u32, reason: &str) {
        let Some(ch) = self.channels.remove(&id) else { return };
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
        let id = self.channel_id(name)?;
        if let Some(ch) = self.channels.get_mut(&id) {
            ch.record.paused = paused;
        }
        self.dirty.insert(id);
        self.pump(now, id);
        Ok(())
    }

    /// Rewinds or skips a channel: every message from `seq` on (at least `oldest`, the
    /// lowest retained) becomes ready, every earlier one finished. Messages in flight are
    /// taken back from their consumers. Returns the number of ready messages.
    pub fn seek(&mut self, now: Millis, name: &str, seq: Seq, oldest: Seq) -> Result<u64, CoreError> {
        let id = self.channel_id(name)?;
        let target = seq.max(oldest.max(1)).min(self.head + 1);
        let Some(ch) = self.channels.get_mut(&id) else {
            return Err(CoreError::NoSuchChannel(name.to_owned()));
        };
        for m in ch.messages.values() {
            match m.state {
                MessageState::InFlight { consumer, deadline } => {
                    self.timers.remove(&(deadline, id, m.seq));
                    if let Some(c) = self.consumers.get_mut(&consumer) {
                        c.in_flight.remove(&m.seq);
                    }
                }
                MessageState::Deferred { until } => {
                    self.timers.remove(&(until, id, m.seq));
                }
                _ => {}
            }
        }
        ch.messages.clear();
        ch.ready.clear();
        ch.keyed.clear();
        for (&s, key) in self.keys.range(target..) {
            ch.hold_key(s, Some(key));
        }
        ch.record.floor = target - 1;
        ch.record.cursor = target;
        self.effects.push(Effect::Store(Store::ClearMessages(ch.record.name.clone())));
        self.dirty.insert(id);
        let consumers = ch.consumers.clone();
        for c in consumers {
            self.refresh_heartbeat(c);
        }
        let ready = self.head + 1 - target;
        self.pump(now, id);
        Ok(ready)
    }

    /// Dead letters of a channel, lowest seq first, at most `limit`.
    pub fn dead(&self, name: &str, limit: usize) -> Result<Vec<MessageRecord>, CoreError> {
        let ch = self
            .channels
            .get(&self.channel_id(name)?)
            .ok_or_else(|| CoreError::NoSuchChannel(name.into()))?;
        Ok(ch.messages.values().filter(|m| m.state == MessageState::Dead).take(limit).cloned().collect())
    }

    /// Returns dead letters (all, or those in `only`) to ready with failures reset.
    /// Returns how many were redriven.
    pub fn redrive(&mut self, now: Millis, name: &str, only: Option<&[Seq]>) -> Result<u64, CoreError> {
        let id = self.channel_id(name)?;
        let dead: Vec<Seq> = self
            .channels
            .get(&id)
            .map(|ch| ch.messages.values().filter(|m| m.state == MessageState::Dead).map(|m| m.seq).collect())
            .unwrap_or_default();
        let mut n = 0;
        for seq in dead.into_iter().filter(|s| only.is_none_or(|o| o.contains(s))) {
            let key = self.key_of(seq);
            let Some(ch) = self.channels.get_mut(&id) else { break };
            let Some(mut m) = ch.messages.get(&seq).cloned() else { continue };
            m.state = MessageState::Ready;
            m.failures = 0;
            ch.hold_key(seq, key.as_ref());
            // A later message of the same key that was waiting to go waits again.
            if let Some(k) = &key {
                let later: Vec<Seq> =
                    ch.keyed.get(k).map(|s| s.range(seq + 1..).copied().collect()).unwrap_or_default();
                for l in later {
                    ch.ready.remove(&l);
                }
            }
            self.effects
                .push(Effect::Store(Store::Message { channel: ch.record.name.clone(), record: m.clone() }));
            ch.put(m, key.as_ref());
            n += 1;
        }
        self.dirty.insert(id);
        self.pump(now, id);
        Ok(n)
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

    /// Forgets ordering keys of messages no channel needs any more (they were pruned).
    pub fn forget_keys_below(&mut self, seq: Seq) {
        self.keys = self.keys.split_off(&seq);
    }
}
