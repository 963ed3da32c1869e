//! Channel administration: create (with `from_seq` or a filter), delete, pause, seek,
//! dead letters (listed in pages), redrive, stats; and deleting the whole topic.

use super::broker::Broker;
use super::channel::Channel;
use super::filter::Filter;
use super::output::LogLevel;
use super::store::{ChannelRow, CheckpointWrite, DeadRow, RowCounts, RowState, Store, StoreResult};
use super::timers::Timer;
use super::{ConsumerId, Millis, Seq};
use crate::proto::id::parse_message_id;
use crate::proto::{close, ApiError, ChannelName, ErrorCode};
use std::collections::HashSet;

/// A channel to create.
#[derive(Debug, Clone, Default)]
pub struct NewChannel {
    /// First seq it delivers (default: the topic's next).
    pub from_seq: Option<Seq>,
    /// Its filter (JSON text) and the parsed form.
    pub filter: Option<(String, Filter)>,
    /// Its push endpoint (checked, with its secret): a push channel.
    pub push: Option<crate::proto::push::PushConfig>,
    /// Whether the caller gave the secret (else the bus made one, which an existing
    /// channel's is not compared with).
    pub secret_given: bool,
}

/// The refusal of a socket or a pull on a push channel.
pub(super) fn push_only(name: &str) -> ApiError {
    ApiError::new(
        ErrorCode::Conflict,
        format!("channel {name} is a push channel: its endpoint is its consumer"),
    )
}

impl Broker {
    /// The storage id of a channel.
    pub(super) fn channel_id(&self, name: &str) -> Result<u32, ApiError> {
        self.by_name
            .get(name)
            .copied()
            .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no channel {name:?} on this topic")))
    }

    /// Creates a channel. `Ok(false)`: it existed (with the same filter; another one is
    /// `409 conflict`).
    pub(super) fn create_channel(
        &mut self,
        now: Millis,
        store: &mut dyn Store,
        topic: &str,
        name: &ChannelName,
        new: NewChannel,
    ) -> StoreResult<Result<bool, ApiError>> {
        if let Some(&id) = self.by_name.get(name.as_str()) {
            let Some(c) = self.channels.get(&id) else { return Ok(Ok(false)) };
            let same = c.filter.as_ref() == new.filter.as_ref().map(|f| &f.1);
            if new.filter.is_some() && !same {
                return Ok(Err(ApiError::new(
                    ErrorCode::Conflict,
                    format!("channel {name} exists with another filter; a filter is fixed when the channel is made"),
                )));
            }
            if let Some(p) = &new.push {
                let want = crate::proto::push::PushConfig {
                    secret: if new.secret_given { p.secret.clone() } else { None },
                    ..p.clone()
                };
                if !c.push.as_ref().is_some_and(|have| have.same_as(&want)) {
                    return Ok(Err(ApiError::new(
                        ErrorCode::Conflict,
                        format!("channel {name} exists with other push settings (or none); delete it and make it again"),
                    )));
                }
            }
            return Ok(Ok(false));
        }
        if self.channels.len() >= self.limits.max_channels {
            return Ok(Err(ApiError::new(
                ErrorCode::Conflict,
                format!(
                    "this topic has {} channels, its limit (MAX_CHANNELS); delete one first",
                    self.channels.len()
                ),
            )));
        }
        self.remember_topic(store, topic)?;
        let id = self.next_channel;
        self.next_channel += 1;
        let cursor = new.from_seq.map(|s| s.clamp(1, self.head + 1)).unwrap_or(self.head + 1);
        let (filter_text, filter) = match new.filter {
            Some((t, f)) => (Some(t), Some(f)),
            None => (None, None),
        };
        let row = ChannelRow {
            id,
            name: name.as_str().to_owned(),
            base_seq: self.head,
            cursor,
            judged_from: self.head,
            judged_through: self.head,
            filter: filter_text,
            push: new.push.as_ref().and_then(|p| serde_json::to_string(p).ok()),
            ..Default::default()
        };
        store.put_channel(&row)?;
        self.by_name.insert(row.name.clone(), id);
        self.channels.insert(id, Channel::new(row, filter, RowCounts::default(), None));
        self.log(
            LogLevel::Info,
            "channel.created",
            serde_json::json!({ "topic": topic, "channel": name.as_str() }),
        );
        self.pump(now, store, id)?;
        Ok(Ok(true))
    }

    /// The channel a consumer's `hello` attaches to, made if missing.
    pub(super) fn ensure_channel(
        &mut self,
        now: Millis,
        store: &mut dyn Store,
        name: &ChannelName,
    ) -> StoreResult<Result<u32, ApiError>> {
        if let Some(&id) = self.by_name.get(name.as_str()) {
            if self.channels.get(&id).is_some_and(|c| c.push.is_some()) {
                return Ok(Err(push_only(name.as_str())));
            }
            return Ok(Ok(id));
        }
        let topic = self.topic.clone().unwrap_or_default();
        let made = self
            .create_channel(now, store, &topic, name, NewChannel::default())?
            .and_then(|_| self.channel_id(name.as_str()));
        if made.is_ok() && self.partition.count > 1 {
            self.out.push(super::Output::ChannelMade { channel: name.as_str().to_owned() });
        }
        Ok(made)
    }

    /// Deletes a channel with its backlog; its consumers are closed with 4004.
    pub(super) fn drop_channel(&mut self, store: &mut dyn Store, id: u32, reason: &str) -> StoreResult<()> {
        let Some(c) = self.channels.remove(&id) else { return Ok(()) };
        self.by_name.remove(&c.row.name);
        for s in &c.consumers {
            if let Some(sock) = self.sockets.remove(&s.0) {
                if let Some(t) = sock.heartbeat_at {
                    self.timers.remove(&(t, Timer::Heartbeat(s.0)));
                }
            }
            self.close(s.0, close::DELETED, reason);
        }
        self.timers.retain(
            |(_, t)| !matches!(t, Timer::Deadline(ch, _) | Timer::Due(ch) | Timer::Resume(ch) if *ch == id),
        );
        self.leases.retain(|(ch, _), _| *ch != id);
        self.dirty_leases.retain(|(ch, _)| *ch != id);
        self.dirty.remove(&id);
        self.lazy.remove(&id);
        self.waiters.retain(|_, w| w.channel != id);
        store.delete_channel(id)?;
        self.log(
            LogLevel::Info,
            "channel.deleted",
            serde_json::json!({ "topic": self.topic, "channel": c.row.name }),
        );
        Ok(())
    }

    /// Pauses or resumes delivery.
    pub(super) fn set_paused(
        &mut self,
        now: Millis,
        store: &mut dyn Store,
        id: u32,
        paused: bool,
    ) -> StoreResult<()> {
        if let Some(c) = self.channels.get_mut(&id) {
            c.row.paused = paused;
            let event = if paused { "channel.paused" } else { "channel.unpaused" };
            let name = c.row.name.clone();
            self.log(LogLevel::Info, event, serde_json::json!({ "topic": self.topic, "channel": name }));
        }
        self.dirty.insert(id);
        self.pump(now, store, id)
    }

    /// The first stored seq accepted at or after `ts` (acceptance times grow with seq).
    pub(super) fn seq_at_time(&self, store: &dyn Store, ts: Millis) -> StoreResult<Seq> {
        let (mut lo, mut hi) = (1, self.head + 1);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match store.event_at_or_after(mid)? {
                Some((s, t)) if t >= ts => hi = mid.min(s),
                Some((s, _)) => lo = s + 1,
                None => hi = mid,
            }
        }
        Ok(lo)
    }

    /// Rewinds or skips a channel: every retained message from `target` on becomes ready
    /// again, every earlier one finished; messages in flight are taken back from their
    /// consumers. Returns the number of ready messages.
    pub(super) fn seek(
        &mut self,
        now: Millis,
        store: &mut dyn Store,
        id: u32,
        target: Seq,
    ) -> StoreResult<u64> {
        let target = target.clamp(1, self.head + 1);
        let Some(c) = self.channels.get_mut(&id) else { return Ok(0) };
        let taken: Vec<(Seq, ConsumerId, Millis)> =
            c.in_flight.iter().map(|(&s, f)| (s, f.owner, f.deadline)).collect();
        c.in_flight.clear();
        c.held.clear();
        c.keys_in_flight.clear();
        c.ready = Default::default();
        c.ready.complete_through = Seq::MAX;
        c.counts = RowCounts::default();
        c.lookahead.clear();
        c.row.cursor = target;
        // Events judged at publish are behind or ahead of the new cursor: judged again there.
        c.row.judged_from = self.head;
        c.row.judged_through = self.head;
        c.row.filtered_ahead = 0;
        if let Some(t) = c.next_due.take() {
            self.timers.remove(&(t, Timer::Due(id)));
        }
        for (seq, owner, deadline) in taken {
            self.timers.remove(&(deadline, Timer::Deadline(id, seq)));
            if let Some(s) = self.sockets.get_mut(&owner.0) {
                s.in_flight.remove(&seq);
            }
            self.refresh_heartbeat(owner.0);
        }
        self.leases.retain(|(ch, _), _| *ch != id);
        self.dirty_leases.retain(|(ch, _)| *ch != id);
        store.clear_messages(id)?;
        self.dirty.insert(id);
        let ready = self.live_events_from(now, store, target, None)?;
        self.pump(now, store, id)?;
        Ok(ready)
    }

    /// Dead letters with seq after `after`, at most `limit` and about `max_bytes`.
    /// Returns them and the seq to continue after, if there are more.
    pub(super) fn dead_page(
        &self,
        store: &dyn Store,
        id: u32,
        after: Seq,
        limit: usize,
        max_bytes: usize,
    ) -> StoreResult<(Vec<DeadRow>, Option<Seq>)> {
        let rows = store.dead_rows(id, after, limit + 1)?;
        let mut out = Vec::new();
        let mut bytes = 0;
        for r in rows {
            let size = r.body.as_ref().map_or(0, String::len) + r.checkpoint.as_ref().map_or(0, String::len);
            if out.len() == limit || (!out.is_empty() && bytes + size > max_bytes) {
                let next = out.last().map(|d: &DeadRow| d.seq);
                return Ok((out, next));
            }
            bytes += size;
            out.push(r);
        }
        Ok((out, None))
    }

    /// Returns dead letters (all, or the ids in `only`) to ready with failures reset.
    pub(super) fn redrive(
        &mut self,
        now: Millis,
        store: &mut dyn Store,
        id: u32,
        only: Option<&[String]>,
    ) -> StoreResult<u64> {
        let mut seqs: Vec<Seq> = Vec::new();
        match only {
            Some(ids) => {
                let wanted: HashSet<Seq> = ids
                    .iter()
                    .filter_map(|i| parse_message_id(i))
                    .filter(|(p, _)| *p == self.partition.index)
                    .map(|(_, s)| s)
                    .collect();
                seqs.extend(wanted);
                seqs.sort_unstable();
            }
            None => {
                let mut after = 0;
                loop {
                    let page = store.dead_seqs(id, after, 1_000)?;
                    let Some(&last) = page.last() else { break };
                    seqs.extend(page);
                    after = last;
                }
            }
        }
        let mut n = 0;
        for seq in seqs {
            let Some((mut m, _)) = store.message(id, seq)? else { continue };
            if m.state != RowState::Dead {
                continue;
            }
            let blocked = match m.key.as_deref() {
                Some(k) => self.key_blocked(store, id, k, seq)?,
                None => false,
            };
            m.state = if blocked { RowState::Parked } else { RowState::Ready };
            m.failures = 0;
            store.put_message(&m, &CheckpointWrite::Keep)?;
            let parked_later = match m.key.as_deref() {
                Some(k) if !blocked => store.park_after(id, k, seq)?,
                _ => 0,
            };
            let Some(c) = self.channels.get_mut(&id) else { break };
            c.counts.dead = c.counts.dead.saturating_sub(1);
            if m.key.is_some() {
                c.counts.keyed_waiting += 1;
            }
            if blocked {
                c.counts.parked += 1;
            } else {
                c.add_ready(seq, (&m).into());
            }
            if parked_later > 0 {
                // Later ready rows of its key wait again for it.
                let key = m.key.clone();
                let later: Vec<Seq> = c
                    .ready
                    .rows
                    .range(seq + 1..)
                    .filter(|(_, r)| r.key.as_deref() == key.as_deref())
                    .map(|(&s, _)| s)
                    .collect();
                for s in later {
                    c.ready.rows.remove(&s);
                }
                c.counts.ready = c.counts.ready.saturating_sub(parked_later);
                c.counts.parked += parked_later;
            }
            n += 1;
        }
        self.dirty.insert(id);
        let name = self.channels.get(&id).map(|c| c.row.name.clone());
        self.log(
            LogLevel::Info,
            "channel.redriven",
            serde_json::json!({ "topic": self.topic, "channel": name, "redriven": n }),
        );
        self.pump(now, store, id)?;
        Ok(n)
    }

    /// Whether the topic has stored anything.
    pub fn exists(&self) -> bool {
        self.topic.is_some() || self.head > 0 || !self.channels.is_empty()
    }

    /// Deletes the topic: every socket is closed (4004), every row deleted.
    pub(super) fn delete_topic(&mut self, store: &mut dyn Store) -> StoreResult<()> {
        let name = self.topic.clone();
        let sockets: Vec<u64> = self.sockets.keys().copied().collect();
        for s in sockets {
            self.close(s, close::DELETED, "topic deleted");
        }
        store.wipe()?;
        let out = std::mem::take(&mut self.out);
        let (recheck_ms, pushes) = (self.recheck_ms, self.pushes);
        *self = Broker::new(self.limits.clone(), super::Partition::default());
        self.out = out;
        self.recheck_ms = recheck_ms;
        self.pushes = pushes;
        self.log(LogLevel::Info, "topic.deleted", serde_json::json!({ "topic": name }));
        Ok(())
    }
}
