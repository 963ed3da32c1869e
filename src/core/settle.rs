//! Settling what is in flight: `fin` (the message is done on its channel), `touch` (a new
//! deadline, maybe a checkpoint), and giving a message back (ready, deferred, parked
//! behind its key, or dead), for a `req`, a `shelve`, a passed deadline or a lost
//! consumer. A first delivery leaves its lease here; anything else has its own row.

use super::broker::{Broker, HELD};
use super::channel::{InFlight, ReadyRow};
use super::output::LogLevel;
use super::store::{CheckpointWrite, MessageHead, RowState, Store, StoreResult};
use super::timers::Timer;
use super::{ConsumerId, Millis, Seq};

impl Broker {
    /// The row of an in-flight message that has one.
    pub(super) fn in_flight_row(&self, ch: u32, seq: Seq, f: &InFlight) -> MessageHead {
        MessageHead {
            channel: ch,
            seq,
            state: RowState::InFlight,
            owner: f.owner,
            due: f.deadline,
            attempt: f.attempt,
            failures: f.failures,
            max_attempts: f.max_attempts,
            timeout_ms: f.timeout_ms,
            key: f.key.as_deref().map(str::to_owned),
            expires_at: f.expires_at,
            has_checkpoint: false,
        }
    }

    /// Takes a message out of flight: its timer, its owner's credit, its lease.
    fn take_back(&mut self, ch: u32, seq: Seq) -> Option<InFlight> {
        let f = self.channels.get_mut(&ch)?.release(seq)?;
        self.timers.remove(&(f.deadline, Timer::Deadline(ch, seq)));
        if f.owner.is_socket() {
            if let Some(s) = self.sockets.get_mut(&f.owner.0) {
                s.in_flight.remove(&seq);
            }
            self.refresh_heartbeat(f.owner.0);
        }
        match f.lease {
            // Kept in the channel row: the row no longer lists it.
            Some(HELD) => {
                self.dirty.insert(ch);
            }
            Some(l) => {
                if let Some(lease) = self.leases.get_mut(&(ch, l)) {
                    lease.seqs.remove(&seq);
                    self.dirty_leases.insert((ch, l));
                }
            }
            None => {}
        }
        Some(f)
    }

    /// `fin`: the message is done on this channel.
    pub(super) fn finish_message(&mut self, store: &mut dyn Store, ch: u32, seq: Seq) -> StoreResult<()> {
        let Some(f) = self.take_back(ch, seq) else { return Ok(()) };
        if f.lease.is_none() {
            store.delete_message(ch, seq)?;
        }
        if let Some(s) = self.sockets.get_mut(&f.owner.0).filter(|_| f.owner.is_socket()) {
            s.counts.finished += 1;
        }
        if let Some(c) = self.channels.get_mut(&ch) {
            c.row.counters.finished += 1;
        }
        self.dirty.insert(ch);
        if let Some(k) = f.key.as_deref() {
            self.unblock(store, ch, k)?;
        }
        Ok(())
    }

    /// `touch`: a new deadline (and the checkpoint, if given). Returns the deadline.
    pub(super) fn touch_message(
        &mut self,
        now: Millis,
        store: &mut dyn Store,
        ch: u32,
        seq: Seq,
        checkpoint: &CheckpointWrite,
    ) -> StoreResult<Option<Millis>> {
        let Some(mut f) = self.take_back(ch, seq) else { return Ok(None) };
        f.deadline = now.saturating_add(f.timeout_ms);
        f.lease = None;
        match checkpoint {
            CheckpointWrite::Set(_) => f.has_checkpoint = true,
            CheckpointWrite::Clear => f.has_checkpoint = false,
            CheckpointWrite::Keep => {}
        }
        store.put_message(&self.in_flight_row(ch, seq, &f), checkpoint)?;
        let (deadline, owner) = (f.deadline, f.owner);
        if let Some(c) = self.channels.get_mut(&ch) {
            c.take(seq, f);
        }
        self.timers.insert((deadline, Timer::Deadline(ch, seq)));
        if owner.is_socket() {
            if let Some(s) = self.sockets.get_mut(&owner.0) {
                s.in_flight.insert(seq);
            }
            self.refresh_heartbeat(owner.0);
        }
        Ok(Some(deadline))
    }

    /// Gives a message back: deferred by `delay`, dead when it is a failure that reaches
    /// its `max_attempts`, else ready (parked while an earlier one of its key waits).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn give_back(
        &mut self,
        now: Millis,
        store: &mut dyn Store,
        ch: u32,
        seq: Seq,
        failure: bool,
        delay: Millis,
        checkpoint: &CheckpointWrite,
    ) -> StoreResult<()> {
        let Some(f) = self.take_back(ch, seq) else { return Ok(()) };
        if let Some(s) = self.sockets.get_mut(&f.owner.0).filter(|_| f.owner.is_socket()) {
            s.counts.requeued += 1;
        }
        let failures = f.failures + u32::from(failure);
        let dead = failure && f.max_attempts > 0 && failures >= f.max_attempts;
        let key = f.key.as_deref().map(str::to_owned);
        let blocked = match key.as_deref() {
            Some(k) if !dead && delay == 0 => self.key_blocked(store, ch, k, seq)?,
            _ => false,
        };
        let state = if dead {
            RowState::Dead
        } else if delay > 0 {
            RowState::Deferred
        } else if blocked {
            RowState::Parked
        } else {
            RowState::Ready
        };
        let row = MessageHead {
            channel: ch,
            seq,
            state,
            owner: ConsumerId(0),
            due: if state == RowState::Deferred {
                super::timers::due_by_expiry(now.saturating_add(delay), f.expires_at).max(now)
            } else {
                0
            },
            attempt: f.attempt,
            failures,
            max_attempts: 0,
            timeout_ms: 0,
            key: key.clone(),
            expires_at: f.expires_at,
            has_checkpoint: false,
        };
        store.put_message(&row, checkpoint)?;
        let has_checkpoint = match checkpoint {
            CheckpointWrite::Set(_) => true,
            CheckpointWrite::Clear => false,
            CheckpointWrite::Keep => f.has_checkpoint,
        };
        self.dirty.insert(ch);
        let Some(c) = self.channels.get_mut(&ch) else { return Ok(()) };
        match state {
            RowState::Dead => c.counts.dead += 1,
            RowState::Deferred => c.counts.deferred += 1,
            RowState::Parked => c.counts.parked += 1,
            _ => c.add_ready(
                seq,
                ReadyRow {
                    attempt: f.attempt,
                    failures,
                    key: f.key.clone(),
                    expires_at: f.expires_at,
                    has_checkpoint,
                },
            ),
        }
        if key.is_some() && !dead {
            c.counts.keyed_waiting += 1;
        }
        if dead {
            let name = c.row.name.clone();
            self.log(
                LogLevel::Warn,
                "message.dead",
                serde_json::json!({ "topic": self.topic, "channel": name, "seq": seq, "failures": failures }),
            );
            if let Some(k) = key.as_deref() {
                self.unblock(store, ch, k)?;
            }
        } else {
            if let Some(c) = self.channels.get_mut(&ch) {
                c.row.counters.requeued += 1;
            }
            if state == RowState::Deferred {
                self.note_due(ch, row.due);
            }
        }
        Ok(())
    }
}
